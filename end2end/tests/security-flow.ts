// The Security page scenarios, shared by security.spec.ts (JavaScript on) and security.nojs.spec.ts (off):
// the checkup follows the account (two-step, an unused session), password change signs out the other
// browsers, the re-authentication prompt guards sensitive pages and returns to them, and deleting the account
// makes its old cookie useless.

import type { Browser, Page } from '@playwright/test';
import { CHROME_WINDOWS, FIREFOX_LINUX, SIGNED_OUT_ELSEWHERE, device, expectSignedOutElsewhere } from './devices-flow';
import { ageReauthentication, makeSessionIdle } from './db';
import {
  PASSWORD,
  confirmItsYou,
  expect,
  expectAccountHome,
  expectLoginWithNext,
  expectPath,
  gotoHydrated,
  signIn,
  signUp,
  uniqueEmail,
  waitForHydration,
} from './helpers';
import { enrol } from './two-step-flow';

const NEW_PASSWORD = 'amber-falcon-meadow-4821';
const DAY = 24 * 3600;

/// A user agent no other test uses, so the test can find this browser's session in the database.
function uniqueAgent(base: string): string {
  return `${base} KeycardE2E/${Math.random().toString(36).slice(2, 10)}`;
}

/// The checkup line whose title (its bold first words) is exactly `title`.
function checkupItem(page: Page, title: string) {
  const exactTitle = page.locator('strong').getByText(title, { exact: true });
  return page.getByRole('list', { name: 'Checkup' }).getByRole('listitem').filter({ has: exactTitle });
}

async function openSecurity(page: Page): Promise<void> {
  await gotoHydrated(page, '/');
  await page.getByRole('link', { name: 'Security checkup and advice' }).click();
  await expectPath(page, '/security');
  await expect(page.getByRole('heading', { level: 1, name: 'Security checkup' })).toBeVisible();
  await waitForHydration(page);
}

export async function checkupScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);
  await openSecurity(laptop);
  await expect(checkupItem(laptop, 'Two-step sign-in')).toContainText('Needs attention');
  await expect(checkupItem(laptop, 'Two-step sign-in')).toContainText('Two-step sign-in is off.');
  await expect(checkupItem(laptop, 'Unused sessions')).toContainText('No sessions unused for more than 30 days.');
  await expect(laptop.getByRole('heading', { name: 'Recognise phishing' })).toBeVisible();

  // Turning two-step on (through the password prompt) shows in the checkup, with the recovery codes left.
  await checkupItem(laptop, 'Two-step sign-in').getByRole('link', { name: 'Turn on two-step sign-in' }).click();
  await expectPath(laptop, '/security/two-step');
  await enrol(laptop);
  await openSecurity(laptop);
  await expect(checkupItem(laptop, 'Two-step sign-in')).toContainText('Two-step sign-in is on.');
  await expect(checkupItem(laptop, 'Recovery codes')).toContainText('10 recovery codes left.');
}

export async function staleSessionScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);
  const oldAgent = uniqueAgent(CHROME_WINDOWS);
  const old = await device(browser, baseURL, oldAgent);
  await signIn(old, email, PASSWORD, { remember: true });
  await expectAccountHome(old, email);
  // That browser was last used 31 days ago (its remembered lifetime would run on).
  makeSessionIdle(oldAgent, 31 * DAY);

  await openSecurity(laptop);
  const item = checkupItem(laptop, 'Unused sessions');
  await expect(item).toContainText('1 session unused for more than 30 days.');
  await item.getByRole('button', { name: 'Sign out unused sessions', exact: true }).click();
  await expect(checkupItem(laptop, 'Unused sessions')).toContainText('No sessions unused for more than 30 days.');
  await expectSignedOutElsewhere(old, () => old.goto('/'));
}

export async function passwordChangeScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptopAgent = uniqueAgent(FIREFOX_LINUX);
  const laptop = await device(browser, baseURL, laptopAgent);
  await signUp(laptop, email);
  const desktop = await device(browser, baseURL, CHROME_WINDOWS);
  await signIn(desktop, email);
  await expectAccountHome(desktop, email);

  // The password page is its own confirmation: no prompt before it, the current password is asked once.
  await openSecurity(laptop);
  await checkupItem(laptop, 'Password').getByRole('link', { name: 'Change password' }).click();
  await expectPath(laptop, '/security/password');
  await expect(laptop.getByLabel('Password', { exact: true })).toHaveCount(0);
  await laptop.getByLabel('Current password', { exact: true }).fill('not-my-password-at-all');
  await laptop.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await laptop.getByRole('button', { name: 'Change password', exact: true }).click();
  await expect(laptop.getByRole('main').getByRole('alert')).toHaveText('Your current password is not correct.');
  await laptop.getByLabel('Current password', { exact: true }).fill(PASSWORD);
  await laptop.getByLabel('New password', { exact: true }).fill('password123');
  await laptop.getByRole('button', { name: 'Change password', exact: true }).click();
  await expect(laptop.getByRole('main').getByRole('alert')).toContainText('This password is too easy to guess');
  await laptop.getByLabel('Current password', { exact: true }).fill(PASSWORD);
  await laptop.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await laptop.getByRole('button', { name: 'Change password', exact: true }).click();
  await expectPath(laptop, '/security');
  await expect(laptop.getByRole('status')).toHaveText('Your password was changed. Every other device was signed out.');

  // The other browser is signed out; this one stays signed in.
  await expectSignedOutElsewhere(desktop, () => desktop.goto('/devices'));
  await expect(desktop.getByText(SIGNED_OUT_ELSEWHERE)).toBeVisible();
  await gotoHydrated(laptop, '/');
  await expectAccountHome(laptop, email);

  // Ten minutes later the page still asks nothing before its own form (two-step is off: no code either).
  ageReauthentication(laptopAgent, 11 * 60);
  await gotoHydrated(laptop, '/security/password');
  await expectPath(laptop, '/security/password');
  await expect(laptop.getByLabel('Current password', { exact: true })).toBeVisible();
  await expect(laptop.getByLabel('Authentication code', { exact: true })).toHaveCount(0);
  // The new password works; the old one no longer does.
  const fresh = await device(browser, baseURL, FIREFOX_LINUX);
  await signIn(fresh, email, PASSWORD);
  await expect(fresh.getByRole('main').getByRole('alert')).toHaveText('Email or password is incorrect.');
  await signIn(fresh, email, NEW_PASSWORD);
  await expectAccountHome(fresh, email);
}

export async function deletionScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);
  const cookies = await laptop.context().cookies();

  await openSecurity(laptop);
  await laptop.getByRole('link', { name: 'Delete your account' }).click();
  await confirmItsYou(laptop, '/security/delete');
  await laptop.getByLabel('Type your email address to confirm').fill('someone-else@example.com');
  await laptop.getByRole('button', { name: 'Delete account', exact: true }).click();
  await expect(laptop.getByRole('main').getByRole('alert')).toBeVisible();
  await laptop.getByLabel('Type your email address to confirm').fill(email);
  await laptop.getByRole('button', { name: 'Delete account', exact: true }).click();
  await expectPath(laptop, '/login');
  await expect(laptop.getByRole('status')).toContainText('deleted');

  // The old cookie, replayed in a fresh browser, is worth nothing; nor is the password.
  const replay = await device(browser, baseURL, FIREFOX_LINUX);
  await replay.context().addCookies(cookies);
  await replay.goto('/devices');
  await expectLoginWithNext(replay, '/devices');
  await signIn(replay, email, PASSWORD);
  await expect(replay.getByRole('main').getByRole('alert')).toHaveText('Email or password is incorrect.');
}
