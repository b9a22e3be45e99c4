// The second-factor lock in the browser (JavaScript on; the forms post as plain forms either way), with two browsers of one account: the owner's, signed in
// with two-step on, and an attacker's, who knows the password but not the codes. Wrong codes count per account:
// the 5th wrong one ends the attacker's half-signed-in session, a fresh password sign-in then has to wait at the
// code step (whatever code it types), and the owner's browser is told with a banner.

import type { Page } from '@playwright/test';
import { CHROME_WINDOWS, FIREFOX_LINUX, device } from './devices-flow';
import { expect, expectPath, gotoHydrated, signUp, test, uniqueEmail } from './helpers';
import { newSignInBanner } from './history-flow';
import { codeAt, enrol, passwordStep, submitCode, wrongCode } from './two-step-flow';

const WRONG_CODE = 'That code is not correct. Enter the current code from your authenticator app, or a recovery code.';
const TOO_MANY_CODES = 'Too many wrong codes. Sign in with your password again.';
/// The wait is 1 minute from the 5th wrong code; the message counts down what is left of it.
const WAIT = /^Too many attempts\. Try again in (1 minute|[1-5]?[0-9] seconds?)\.$/;

/// Types `code` at the code step and waits for the page the server answers with (a plain form post, with or
/// without JavaScript: the answer is a redirect back to the code step carrying the message).
async function submitCodeAnswered(page: Page, code: string): Promise<void> {
  await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/login/code' && r.request().method() === 'GET'),
    submitCode(page, code),
  ]);
}

test('second-factor lock: 5 wrong codes end the code step, the next sign-in must wait, the owner sees a banner', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const email = uniqueEmail();
  const owner = await device(browser, baseURL, FIREFOX_LINUX);
  const attacker = await device(browser, baseURL, CHROME_WINDOWS);
  try {
    await signUp(owner, email);
    const { secret } = await enrol(owner);

    // The attacker has the password: the code step. Four wrong codes are refused one by one.
    await passwordStep(attacker, email);
    const wrong = wrongCode(secret);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await submitCodeAnswered(attacker, wrong);
      await expect(attacker.getByRole('alert')).toHaveText(WRONG_CODE);
      await expectPath(attacker, '/login/code');
    }

    // The 5th ends the half-signed-in session: back to the password.
    await submitCode(attacker, wrong);
    await expect(attacker).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('ended') === 'codes');
    await expect(attacker.getByRole('status')).toHaveText(TOO_MANY_CODES);
    await attacker.goto('/');
    await expect(attacker).toHaveURL((url) => url.pathname === '/login');

    // The password still leads to the code step, but the account's codes are locked: even the right code waits.
    await passwordStep(attacker, email);
    await submitCodeAnswered(attacker, codeAt(secret, 0));
    await expect(attacker.getByRole('alert')).toHaveText(WAIT);
    await expectPath(attacker, '/login/code');

    // The owner's browser, signed in before all this, is told on its next page.
    await owner.reload();
    const banner = newSignInBanner(owner);
    await expect(banner).toContainText('Someone entered your password but failed the two-step code');
    await expect(banner.getByRole('link', { name: 'change your password' })).toHaveAttribute('href', '/security/password');
    // The attacker's browser, never fully signed in, shows no banner.
    await gotoHydrated(attacker, '/login');
    await expect(newSignInBanner(attacker)).toHaveCount(0);
  } finally {
    await owner.context().close();
    await attacker.context().close();
  }
});
