// Sign-up, sign-in, sign-out and the signed-in guard, with JavaScript on (project `js`).
// Every test creates its own account: the server's database may hold accounts from earlier runs.

import type { Browser } from '@playwright/test';
import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectLoginWithNext,
  expectPath,
  gotoHydrated,
  isJsEnabled,
  signIn,
  signOut,
  signUp,
  submitSignIn,
  test,
  uniqueEmail,
  waitForHydration,
} from './helpers';

const WRONG_CREDENTIALS = 'Email or password is incorrect.';
const SESSION_COOKIE = 'keycard_session';

/// Creates an account in a separate, throw-away browser context, so the test's own page starts signed out.
async function createAccount(browser: Browser, baseURL: string | undefined): Promise<string> {
  const email = uniqueEmail();
  const context = await browser.newContext({ baseURL, javaScriptEnabled: isJsEnabled() });
  try {
    await signUp(await context.newPage(), email);
  } finally {
    await context.close();
  }
  return email;
}

test('sign-up lands on the account home', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await expectAccountHome(page, email);
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
});

test('sign-in with the right password lands on the account home', async ({ page, browser, baseURL }) => {
  const email = await createAccount(browser, baseURL);
  await signIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});

test('sign-in with "Remember this device" ticked lands on the account home', async ({ page, browser, baseURL }) => {
  const email = await createAccount(browser, baseURL);
  await signIn(page, email, PASSWORD, { remember: true });
  await expectAccountHome(page, email);
});

test('a wrong password shows the generic message and stays on sign-in', async ({ page, browser, baseURL }) => {
  const email = await createAccount(browser, baseURL);
  await signIn(page, email, 'wrong-harbor-lantern-1972');
  await expect(page.getByText(WRONG_CREDENTIALS)).toBeVisible();
  await expectPath(page, '/login');
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toHaveCount(0);
});

test('an unknown email shows the same message', async ({ page }) => {
  await signIn(page, uniqueEmail(), PASSWORD);
  await expect(page.getByText(WRONG_CREDENTIALS)).toBeVisible();
  await expectPath(page, '/login');
});

test('opening / signed out goes to sign-in and back to / afterwards', async ({ page, browser, baseURL }) => {
  const email = await createAccount(browser, baseURL);
  await page.goto('/');
  // The server sends `next=/` (INTERFACE.md) — `%2F` would be the same value; compare it decoded.
  await expectLoginWithNext(page, '/');
  await waitForHydration(page);
  await submitSignIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});

test('a protected page signed out goes to sign-in and back to it afterwards', async ({ page, browser, baseURL }) => {
  const email = await createAccount(browser, baseURL);
  await page.goto('/security');
  await expectLoginWithNext(page, '/security');
  await waitForHydration(page);
  await submitSignIn(page, email, PASSWORD);
  // The page itself may not exist yet; only where sign-in leads is checked here.
  await expectPath(page, '/security');
});

test('sign-out ends on sign-in and / then asks to sign in again', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signOut(page);
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toHaveCount(0);
  await page.goto('/');
  await expectLoginWithNext(page, '/');
});

test('a cookie copied before sign-out no longer works after it', async ({ page, browser, baseURL }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
  expect(cookie, `a "${SESSION_COOKIE}" cookie after sign-up`).toBeDefined();

  // Control: before sign-out the copied cookie does sign another browser in.
  const before = await browser.newContext({ baseURL });
  try {
    await before.addCookies([cookie!]);
    const other = await before.newPage();
    await gotoHydrated(other, '/');
    await expectAccountHome(other, email);
  } finally {
    await before.close();
  }

  await signOut(page);

  const after = await browser.newContext({ baseURL });
  try {
    await after.addCookies([cookie!]);
    const other = await after.newPage();
    await other.goto('/');
    await expectPath(other, '/login');
    await expect(other.getByRole('heading', { name: /Hello,/ })).toHaveCount(0);
  } finally {
    await after.close();
  }
});
