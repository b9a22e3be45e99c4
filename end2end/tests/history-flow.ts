// The history scenarios, shared by history.spec.ts (JavaScript on) and history.nojs.spec.ts (off): a failed
// sign-in shows in the account's history; a sign-in from a browser never seen on the account raises the
// "New sign-in" banner in the other browser; "This wasn't me" signs the new browser out and leads to the
// password change; the history downloads as JSON and CSV after the password prompt.

import * as fs from 'node:fs';
import type { Browser, Locator, Page } from '@playwright/test';
import { CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, device, expectSignedOutElsewhere } from './devices-flow';
import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectPath,
  gotoHydrated,
  signIn,
  signUp,
  uniqueEmail,
  waitForHydration,
} from './helpers';

/// The events on /history, newest first.
export function historyEvents(page: Page): Locator {
  return page.getByRole('list', { name: 'History' }).getByRole('listitem');
}

/// The alert callout at the top of signed-in pages (its heading names what happened).
export function newSignInBanner(page: Page): Locator {
  return page.getByRole('region', { name: /^(New sign-in|Failed two-step sign-in|New sign-ins and activity to check)/ });
}

/// Signs up in `page` and signs the same account in from a second browser (an iPhone's user agent), so `page`'s
/// account lists two sessions and shows the new-sign-in callout.
export async function accountWithTwoDevices(browser: Browser, baseURL: string | undefined, page: Page): Promise<void> {
  const email = uniqueEmail();
  await signUp(page, email);
  const phone = await device(browser, baseURL, SAFARI_IPHONE);
  try {
    await signIn(phone, email);
    await expectAccountHome(phone, email);
  } finally {
    await phone.context().close();
  }
  await gotoHydrated(page, '/');
  await expect(newSignInBanner(page)).toBeVisible();
}

export async function failedSignInAndNewDeviceScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);

  // Someone on another browser types a wrong password.
  const stranger = await device(browser, baseURL, CHROME_WINDOWS);
  await signIn(stranger, email, 'not-the-right-password-at-all');
  await expect(stranger.getByRole('alert')).toHaveText('Email or password is incorrect.');

  await gotoHydrated(laptop, '/');
  await laptop.getByRole('link', { name: 'History', exact: true }).click();
  await expectPath(laptop, '/history');
  const newest = historyEvents(laptop).first();
  await expect(newest).toContainText('Sign-in failed');
  await expect(newest).toContainText('Wrong password');
  await expect(newest).toContainText('Chrome');
  await expect(newest.locator('time')).toHaveAttribute('title', /UTC$/);
  await expect(historyEvents(laptop).last()).toContainText('Signed in');
  await expect(laptop.getByText('not-the-right-password-at-all')).toHaveCount(0);

  // Filtered by kind: only the failure.
  await waitForHydration(laptop);
  await laptop.getByLabel('Show').selectOption('sign_in_failed');
  await laptop.getByRole('button', { name: 'Filter', exact: true }).click();
  await expect(laptop).toHaveURL((url) => url.searchParams.get('kind') === 'sign_in_failed');
  await expect(historyEvents(laptop)).toHaveCount(1);

  // The phone was never seen on this account: the laptop gets the banner, the phone does not.
  const phone = await device(browser, baseURL, SAFARI_IPHONE);
  await signIn(phone, email);
  await expectAccountHome(phone, email);
  await expect(newSignInBanner(phone)).toHaveCount(0);
  await gotoHydrated(laptop, '/');
  const banner = newSignInBanner(laptop);
  await expect(banner).toContainText('New sign-in to your account from Safari 17 on iPhone');
  await expect(banner.getByRole('link', { name: 'What to do if something looks wrong' })).toHaveAttribute(
    'href',
    '/security#something-wrong',
  );
  // It stays on every page until answered.
  await gotoHydrated(laptop, '/devices');
  await expect(newSignInBanner(laptop)).toBeVisible();

  // "This wasn't me": the phone is signed out and the laptop is taken towards a new password.
  await banner.getByRole('button', { name: "This wasn't me", exact: true }).click();
  await expect(laptop).toHaveURL((url) => url.pathname === '/security/confirm' || url.pathname === '/security/password');
  await expectSignedOutElsewhere(phone, () => phone.goto('/'));
  await gotoHydrated(laptop, '/history');
  await expect(newSignInBanner(laptop)).toHaveCount(0);
  await expect(historyEvents(laptop).first()).toContainText('Session signed out');
}

export async function exportScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const page = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(page, email);
  await gotoHydrated(page, '/history');

  // The first download asks for the password, then comes back to the links.
  await page.getByRole('link', { name: 'JSON', exact: true }).click();
  await expectPath(page, '/security/confirm');
  await waitForHydration(page);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/history' && url.hash === '#export');
  await waitForHydration(page);

  for (const [name, check] of [
    ['JSON', (text: string) => expect(JSON.parse(text)[0].kind).toBe('signed_in')],
    ['CSV', (text: string) => expect(text).toMatch(/^id,kind,event,at,at_utc,detail,ip,user_agent,new_device\r\n\d+,signed_in,/)],
  ] as const) {
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name, exact: true }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`keycard-history.${name.toLowerCase()}`);
    check(fs.readFileSync(await file.path(), 'utf8'));
  }
}
