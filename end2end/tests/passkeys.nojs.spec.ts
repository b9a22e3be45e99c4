// Passkeys without JavaScript: the browser makes and uses passkeys only through script, so the pages say so, show
// no button that could not work, and every other way in (password, code) keeps working.

import { PASSWORD, expect, expectAccountHome, signOut, signUp, submitSignIn, test, uniqueEmail } from './helpers';
import { PASSKEYS_PATH, PASSKEY_ORIGIN } from './passkeys-flow';

test.use({ baseURL: PASSKEY_ORIGIN });

test('passkeys without JavaScript: the pages explain, the password still signs in', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.goto(PASSKEYS_PATH);
  await expect(page.getByRole('heading', { level: 1, name: 'Passkeys' })).toBeVisible();
  await expect(page.getByText('Adding a passkey and signing in with one need JavaScript')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add a passkey', exact: true })).toBeHidden();
  await expect(page.getByText('You have no passkeys yet.')).toBeVisible();

  await signOut(page);
  await expect(page.getByText('Signing in with a passkey needs JavaScript; every other way in works without it.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in with a passkey', exact: true })).toBeHidden();
  await submitSignIn(page, email, PASSWORD);
  await expectAccountHome(page, email);
});
