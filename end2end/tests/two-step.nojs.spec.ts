// Two-step sign-in with JavaScript off (project `no-js`): enrolment (behind the re-authentication prompt) and the
// code step are plain forms answered with redirects. Codes come from otplib; the next step's code stands in for
// waiting 30 seconds.

import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectConfirmPrompt,
  expectPath,
  signIn,
  signOut,
  signUp,
  test,
  uniqueEmail,
} from './helpers';
import { TWO_STEP_PATH, codeAt, enrol, submitCode } from './two-step-flow';

test.use({ javaScriptEnabled: false });

test('without JavaScript: enrol, sign in with a code, replay refused, recovery code once', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  // Turning it on is a sensitive change: the first click lands on the password prompt (no code: two-step is off).
  await page.goto(TWO_STEP_PATH);
  await page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true }).click();
  await expectConfirmPrompt(page, TWO_STEP_PATH);
  await expect(page.getByLabel('Password', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Authentication code', { exact: true })).toHaveCount(0);
  // The whole enrolment: prompt, back to the page, turn on again, confirm a code.
  const { secret, recoveryCodes } = await enrol(page);

  await signOut(page);
  await page.goto('/security/two-step');
  await expectPath(page, '/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expectPath(page, '/login/code');
  // The next step's code, kept: replaying it later must be refused even if a 30-second step has passed.
  const usedCode = codeAt(secret, 1);
  await submitCode(page, usedCode);
  await expectPath(page, '/security/two-step');
  await expect(page.getByRole('status')).toHaveText('Two-step sign-in is on.');

  await signOut(page);
  await signIn(page, email, PASSWORD);
  await expectPath(page, '/login/code');
  await submitCode(page, usedCode);
  await expect(page.getByRole('alert')).toHaveText('That code was already used. Wait for the next code.');
  await submitCode(page, recoveryCodes[5]);
  await expectAccountHome(page, email);

  await signOut(page);
  await signIn(page, email, PASSWORD);
  await submitCode(page, recoveryCodes[5]);
  await expect(page.getByRole('alert')).toContainText('That code is not correct.');
  await expectPath(page, '/login/code');
});
