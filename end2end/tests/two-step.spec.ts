// Two-step sign-in in the browser (JavaScript on): enrol by reading the setup key from the page, sign in with a
// code, a replayed code refused, recovery codes (single use), and turning two-step off behind re-authentication.
// Codes are computed here with otplib; to avoid waiting for a new 30-second step, the tests use the next step's
// code (Keycard accepts one step either side) rather than sleeping.

import { authenticator } from 'otplib';
import type { Page } from '@playwright/test';
import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectPath,
  gotoHydrated,
  signIn,
  signOut,
  signUp,
  test,
  uniqueEmail,
  waitForHydration,
} from './helpers';

/// The code for the current time step plus `offset` steps.
export function codeAt(secret: string, offset: number): string {
  return authenticator.clone({ epoch: Date.now() + offset * 30_000 }).generate(secret);
}

/// Turns two-step on from the two-step page; returns the setup key and the recovery codes shown.
export async function enrol(page: Page): Promise<{ secret: string; recoveryCodes: string[] }> {
  await gotoHydrated(page, '/security/two-step');
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is off.');
  await page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true }).click();
  const key = page.getByLabel('Setup key', { exact: true });
  await expect(key).toBeVisible();
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  const secret = ((await key.textContent()) ?? '').replace(/\s+/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await waitForHydration(page);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeAt(secret, 0));
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  const list = page.getByRole('list', { name: 'Recovery codes' });
  await expect(list.getByRole('listitem')).toHaveCount(10);
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is on.');
  const recoveryCodes = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());
  for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
  await waitForHydration(page);
  return { secret, recoveryCodes };
}

/// Signs in with the password and lands on the code step.
export async function passwordStep(page: Page, email: string): Promise<void> {
  await signIn(page, email, PASSWORD);
  await expectPath(page, '/login/code');
  await waitForHydration(page);
}

export async function submitCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('Authentication code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
}

test('two-step sign-in: enrol, code, replay refused, recovery codes once, turn off', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.getByRole('link', { name: 'Two-step sign-in' }).click();
  await expectPath(page, '/security/two-step');
  const { secret, recoveryCodes } = await enrol(page);

  // Nothing of the account is reachable before the code.
  await signOut(page);
  await passwordStep(page, email);
  await page.goto('/security/two-step');
  await expectPath(page, '/login/code');
  await waitForHydration(page);
  await submitCode(page, codeAt(secret, 1));
  await expectPath(page, '/security/two-step');

  // The same code again is refused.
  await signOut(page);
  await passwordStep(page, email);
  await submitCode(page, codeAt(secret, 1));
  await expect(page.getByRole('alert')).toHaveText('That code was already used. Wait for the next code.');
  await expectPath(page, '/login/code');

  // A recovery code instead, typed loosely; it works once.
  await submitCode(page, recoveryCodes[0].toUpperCase().replace('-', ' '));
  await expectAccountHome(page, email);
  await signOut(page);
  await passwordStep(page, email);
  await submitCode(page, recoveryCodes[0]);
  await expect(page.getByRole('alert')).toContainText('That code is not correct.');
  await submitCode(page, recoveryCodes[1]);
  await expectAccountHome(page, email);

  // Turning off asks for the password (and a code) again, then returns to the two-step page.
  await gotoHydrated(page, '/security/two-step');
  await expect(page.getByText('You have 8 recovery codes left.')).toBeVisible();
  await page.getByRole('button', { name: 'Turn off two-step sign-in', exact: true }).click();
  await expectPath(page, '/security/confirm');
  await waitForHydration(page);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Authentication code', { exact: true }).fill(recoveryCodes[2]);
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  await expectPath(page, '/security/two-step');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Turn off two-step sign-in', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is off.');
  await expect(page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true })).toBeVisible();

  // Now the password alone signs in.
  await signOut(page);
  await signIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});

test('two-step sign-in: abandoning the enrolment leaves it off', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await gotoHydrated(page, '/security/two-step');
  await page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true }).click();
  await expect(page.getByLabel('Setup key', { exact: true })).toBeVisible();
  await signOut(page);
  await signIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});
