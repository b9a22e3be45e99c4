// What people notice beyond the flows themselves, with JavaScript on and off: recovery codes that can be copied
// and downloaded, destructive buttons that ask first, times in the person's own zone, the alert callout
// grouping several alerts, and the password page asking for the password once.

import { readFileSync } from 'node:fs';
import type { Browser } from '@playwright/test';
import { CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, device } from './devices-flow';
import { answerDialogsYourself, expect, expectPath, gotoHydrated, isJsEnabled, signIn, signUp, uniqueEmail } from './helpers';
import { newSignInBanner } from './history-flow';
import { TWO_STEP_PATH, enrol } from './two-step-flow';

/// Fresh recovery codes: **Copy** (with JavaScript) puts them on the clipboard, **Download** (with or without)
/// saves them as a text file; **Turn off two-step sign-in** is styled as destructive and, with JavaScript, asks
/// first: answering no changes nothing.
export async function recoveryCodesScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: isJsEnabled() });
  if (isJsEnabled()) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const page = await context.newPage();
  await signUp(page, uniqueEmail());
  const { recoveryCodes } = await enrol(page);
  const region = page.getByRole('region', { name: 'Save your recovery codes' });

  const copy = region.getByRole('button', { name: 'Copy', exact: true });
  if (isJsEnabled()) {
    await copy.click();
    await expect(region.getByText('Copied.', { exact: true })).toBeVisible();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.trim().split('\n').slice(-10)).toEqual(recoveryCodes);
  } else {
    // It could do nothing without JavaScript, so it is not offered.
    await expect(copy).toBeHidden();
  }

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    region.getByRole('link', { name: 'Download', exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('keycard-recovery-codes.txt');
  const saved = readFileSync(await download.path(), 'utf8');
  expect(saved.trim().split('\n').slice(-10)).toEqual(recoveryCodes);

  const turnOff = page.getByRole('button', { name: 'Turn off two-step sign-in', exact: true });
  await expect(turnOff).toHaveClass(/danger/);
  if (isJsEnabled()) {
    answerDialogsYourself(page);
    let asked = '';
    page.once('dialog', async (dialog) => {
      asked = dialog.message();
      await dialog.dismiss();
    });
    await turnOff.click();
    await expect.poll(() => asked).toContain('Turn off two-step sign-in?');
    await expectPath(page, TWO_STEP_PATH);
    await expect(page.getByRole('status')).toHaveText('Two-step sign-in is on.');
  }
  await context.close();
}

/// History times: UTC with the zone named without JavaScript, the browser's own zone (here Tokyo) with it.
export async function localTimeScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: isJsEnabled(), timezoneId: 'Asia/Tokyo', locale: 'en-US' });
  const page = await context.newPage();
  await signUp(page, uniqueEmail());
  await gotoHydrated(page, '/history');
  const exact = page.getByRole('list', { name: 'History' }).getByRole('listitem').first().locator('time .exact');
  if (isJsEnabled()) {
    await expect(exact).toHaveText(/GMT\+9/);
  } else {
    await expect(exact).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  }
  await context.close();
}

/// Two new sign-ins make one callout inside the page that lists both, each with its device and both answers.
export async function groupedAlertsScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);
  for (const agent of [SAFARI_IPHONE, CHROME_WINDOWS]) {
    const other = await device(browser, baseURL, agent);
    await signIn(other, email);
    await expectPath(other, '/');
  }
  await gotoHydrated(laptop, '/devices');
  const callout = newSignInBanner(laptop);
  await expect(callout).toHaveCount(1);
  await expect(callout.getByRole('heading')).toHaveText('New sign-ins and activity to check (2)');
  // Inside the page frame, above the page's own content.
  await expect(laptop.getByRole('main').getByRole('region', { name: /New sign-ins/ })).toHaveCount(1);
  const items = callout.getByRole('listitem');
  await expect(items).toHaveCount(2);
  await expect(items.filter({ hasText: 'Safari 17 on iPhone' })).toHaveCount(1);
  await expect(items.filter({ hasText: /Chrome \d+ on Windows/ })).toHaveCount(1);
  for (const item of await items.all()) {
    await expect(item.getByRole('button', { name: 'It was me', exact: true })).toBeVisible();
    await expect(item.getByRole('button', { name: "This wasn't me", exact: true })).toBeVisible();
  }
  await items.first().getByRole('button', { name: 'It was me', exact: true }).click();
  await expect(newSignInBanner(laptop).getByRole('listitem')).toHaveCount(1);
  await expect(newSignInBanner(laptop).getByRole('heading')).toHaveText('New sign-in');
}
