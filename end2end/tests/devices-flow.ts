// The devices scenario, shared by devices.spec.ts (JavaScript on) and devices.nojs.spec.ts (off): one account
// signed in from several browsers with different user agents; one signs out another, then all others.

import type { Browser, BrowserContext, Locator, Page } from '@playwright/test';
import { expect, expectAccountHome, gotoHydrated, isJsEnabled, signIn, signUp, uniqueEmail, waitForHydration } from './helpers';

export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
export const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export const SIGNED_OUT_ELSEWHERE = 'You were signed out from another device.';

/// A fresh browser (its own cookies) presenting `userAgent`.
export async function device(browser: Browser, baseURL: string | undefined, userAgent: string): Promise<Page> {
  const context: BrowserContext = await browser.newContext({ baseURL, userAgent, javaScriptEnabled: isJsEnabled() });
  return context.newPage();
}

/// The list of signed-in sessions on /devices (labelled by the page's heading).
export function sessionList(page: Page): Locator {
  return page.getByRole('list', { name: 'Devices' });
}

export function sessionRows(page: Page): Locator {
  return sessionList(page).getByRole('listitem');
}

/// Opens /devices from the account home's link, as a person would.
export async function openDevices(page: Page): Promise<void> {
  await gotoHydrated(page, '/');
  await page.getByRole('link', { name: 'Devices', exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/devices');
  await expect(page.getByRole('heading', { level: 1, name: 'Devices' })).toBeVisible();
  await waitForHydration(page);
}

/// The browser's next navigation lands on sign-in with the "signed out from another device" message.
export async function expectSignedOutElsewhere(page: Page, action: () => Promise<unknown>): Promise<void> {
  await action();
  await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('ended') === 'elsewhere');
  await expect(page.getByText(SIGNED_OUT_ELSEWHERE)).toBeVisible();
}

export async function devicesScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  const phone = await device(browser, baseURL, SAFARI_IPHONE);
  const desktop = await device(browser, baseURL, CHROME_WINDOWS);
  // Relative times are worded on the server: hydration must not find different text.
  const consoleErrors: string[] = [];
  laptop.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleErrors.push(message.text());
  });
  try {
    await signUp(laptop, email);
    for (const other of [phone, desktop]) {
      await signIn(other, email, undefined, { remember: other === phone });
      await expectAccountHome(other, email);
      await waitForHydration(other);
    }

    await openDevices(laptop);
    const rows = sessionRows(laptop);
    await expect(rows).toHaveCount(3);
    const here = rows.filter({ hasText: 'This device' });
    await expect(here).toHaveCount(1);
    await expect(here).toContainText('Firefox 133 on Linux');
    await expect(here.getByRole('button', { name: /^Sign out/ })).toHaveCount(0);
    const phoneRow = rows.filter({ hasText: 'Safari 17 on iPhone' });
    await expect(phoneRow).toContainText('Phone');
    await expect(phoneRow).toContainText('Remembered');
    await expect(phoneRow).toContainText('Password');
    await expect(rows.filter({ hasText: 'Chrome 131 on Windows 10' })).toHaveCount(1);
    // Last active: relative text with the exact time on hover.
    await expect(phoneRow.locator('time').first()).toHaveAttribute('title', /UTC$/);

    // Sign out the phone: the list loses it, and the phone's next click lands on sign-in with the message.
    await phoneRow.getByRole('button', { name: 'Sign out Safari 17 on iPhone' }).click();
    await expect(rows).toHaveCount(2);
    await waitForHydration(laptop);
    await expectSignedOutElsewhere(phone, () => phone.getByRole('link', { name: 'Devices', exact: true }).click());

    // Ended sessions are kept, collapsed, under "Recently signed out".
    await laptop.getByText('Recently signed out').click();
    await expect(laptop.locator('details')).toContainText('Signed out from another device');

    // Sign out all other devices: only this one is left.
    await laptop.getByRole('button', { name: 'Sign out all other devices' }).click();
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('This device');
    await expectSignedOutElsewhere(desktop, () => desktop.goto('/devices'));

    // This browser is still signed in.
    await gotoHydrated(laptop, '/devices');
    await expect(sessionRows(laptop)).toHaveCount(1);
    expect(consoleErrors.filter((text) => /hydrat/i.test(text))).toEqual([]);
  } finally {
    for (const page of [laptop, phone, desktop]) {
      await page.context().close();
    }
  }
}
