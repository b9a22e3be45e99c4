// Two-step sign-in in the browser (JavaScript on): enrol by reading the setup key from the page, sign in with a
// code, a replayed code refused, recovery codes (single use), and turning two-step on and off behind
// re-authentication (the prompt at /security/confirm, which returns to the two-step page).
// Codes are computed here with otplib; to avoid waiting for a new 30-second step, the tests use the next step's
// code (Keycard accepts one step either side) rather than sleeping.

import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectConfirmPrompt,
  expectPath,
  gotoHydrated,
  signIn,
  signOut,
  signUp,
  test,
  uniqueEmail,
  waitForHydration,
} from './helpers';
import { TWO_STEP_PATH, beginEnrolment, codeAt, enrol, passwordStep, submitCode } from './two-step-flow';

test('two-step sign-in: enrol, code, replay refused, recovery codes once, turn off', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.getByRole('link', { name: 'Two-step sign-in' }).click();
  await expectPath(page, TWO_STEP_PATH);
  await waitForHydration(page);

  // Turning it on is a sensitive change: the first click asks for the password (no code: two-step is off).
  await page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true }).click();
  await expectConfirmPrompt(page, TWO_STEP_PATH);
  await expect(page.getByLabel('Password', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Authentication code', { exact: true })).toHaveCount(0);
  await gotoHydrated(page, TWO_STEP_PATH);
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is off.');

  const { secret, recoveryCodes } = await enrol(page);

  // Nothing of the account is reachable before the code.
  await signOut(page);
  await passwordStep(page, email);
  await page.goto('/security/two-step');
  await expectPath(page, '/login/code');
  await waitForHydration(page);
  // The next step's code, kept: replaying it later must be refused even if a 30-second step has passed.
  const usedCode = codeAt(secret, 1);
  await submitCode(page, usedCode);
  await expectPath(page, '/security/two-step');

  // The same code again is refused.
  await signOut(page);
  await passwordStep(page, email);
  await submitCode(page, usedCode);
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

  // Signed in with the password and a code moments ago: that is proof enough, so turning off asks nothing more
  // than "Are you sure?".
  await gotoHydrated(page, TWO_STEP_PATH);
  await expect(page.getByText('You have 8 recovery codes left.')).toBeVisible();
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
  await gotoHydrated(page, TWO_STEP_PATH);
  await beginEnrolment(page);
  await signOut(page);
  await signIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});
