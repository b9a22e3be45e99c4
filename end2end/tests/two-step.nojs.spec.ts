// Two-step sign-in with JavaScript off (project `no-js`): enrolment and the code step are plain forms answered
// with redirects. Codes come from otplib; the next step's code stands in for waiting 30 seconds.

import { PASSWORD, expect, expectAccountHome, expectPath, signIn, signOut, signUp, test, uniqueEmail } from './helpers';
import { codeAt, submitCode } from './two-step-flow';

test.use({ javaScriptEnabled: false });

test('without JavaScript: enrol, sign in with a code, replay refused, recovery code once', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.goto('/security/two-step');
  await page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true }).click();
  const secret = ((await page.getByLabel('Setup key', { exact: true }).textContent()) ?? '').replace(/\s+/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeAt(secret, 0));
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  const list = page.getByRole('list', { name: 'Recovery codes' });
  await expect(list.getByRole('listitem')).toHaveCount(10);
  const recoveryCodes = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());

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
