// Two-step helpers shared by the specs: compute codes with otplib, enrol from the two-step page (through the
// re-authentication prompt), and the code step of sign-in. They work with JavaScript on and off.

import { authenticator } from 'otplib';
import type { Page } from '@playwright/test';
import {
  PASSWORD,
  confirmItsYou,
  expect,
  expectConfirmPrompt,
  expectPath,
  gotoHydrated,
  signIn,
  waitForHydration,
} from './helpers';

/// The two-step page.
export const TWO_STEP_PATH = '/security/two-step';

/// The code for the current time step plus `offset` steps.
export function codeAt(secret: string, offset: number): string {
  return authenticator.clone({ epoch: Date.now() + offset * 30_000 }).generate(secret);
}

/// A 6-digit code that is certainly wrong: none of the steps Keycard accepts now (one either side) or
/// soon gives it.
export function wrongCode(secret: string): string {
  const near = new Set([-2, -1, 0, 1, 2].map((offset) => codeAt(secret, offset)));
  let n = 123456;
  while (near.has(String(n).padStart(6, '0'))) n = (n + 111111) % 1_000_000;
  return String(n).padStart(6, '0');
}

/// The screens of an enrolment, for callers that look at each one (accessibility checks, screenshots).
export type EnrolmentStep = 'password prompt' | 'setup key' | 'recovery codes';
export type AtEnrolmentStep = (step: EnrolmentStep) => Promise<void>;

/// On the two-step page with two-step off, clicks **Turn on two-step sign-in**. Turning it on is a sensitive change:
/// the first click lands on the re-authentication prompt (the password only, since two-step is off), which
/// returns to the two-step page, where the person clicks again and gets the setup key. Returns the key.
export async function beginEnrolment(
  page: Page,
  password: string = PASSWORD,
  atStep: AtEnrolmentStep = async () => {},
): Promise<string> {
  const status = page.getByRole('status');
  const turnOn = page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true });
  await expect(status).toHaveText('Two-step sign-in is off.');
  await waitForHydration(page);
  await turnOn.click();
  await expectConfirmPrompt(page, TWO_STEP_PATH);
  await atStep('password prompt');
  await confirmItsYou(page, TWO_STEP_PATH, { password });
  // Back on the two-step page, still off: the prompt alone turns nothing on.
  await expect(status).toHaveText('Two-step sign-in is off.');
  await expect(page.getByLabel('Setup key', { exact: true })).toHaveCount(0);
  await turnOn.click();
  await expectPath(page, TWO_STEP_PATH);
  const key = page.getByLabel('Setup key', { exact: true });
  await expect(key).toBeVisible();
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  const secret = ((await key.textContent()) ?? '').replace(/\s+/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await waitForHydration(page);
  await atStep('setup key');
  return secret;
}

/// Turns two-step on from the two-step page (through the prompt); returns the setup key and the recovery codes
/// shown. `atStep` is called on each screen of the way.
export async function enrol(
  page: Page,
  password: string = PASSWORD,
  atStep: AtEnrolmentStep = async () => {},
): Promise<{ secret: string; recoveryCodes: string[] }> {
  await gotoHydrated(page, TWO_STEP_PATH);
  const secret = await beginEnrolment(page, password, atStep);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeAt(secret, 0));
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  const list = page.getByRole('list', { name: 'Recovery codes' });
  await expect(list.getByRole('listitem')).toHaveCount(10);
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is on.');
  const recoveryCodes = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());
  for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
  await waitForHydration(page);
  await atStep('recovery codes');
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
