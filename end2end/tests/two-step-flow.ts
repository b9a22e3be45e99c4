// Two-step helpers shared by the specs: compute codes with otplib, enrol from the two-step page, and the
// code step of sign-in.

import { authenticator } from 'otplib';
import type { Page } from '@playwright/test';
import { PASSWORD, expect, expectPath, gotoHydrated, signIn, waitForHydration } from './helpers';

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
