// Passkeys in Chromium with a virtual authenticator: add one (behind the re-authentication prompt), sign in with
// it alone, use it at the code step instead of a code, rename it and remove it; the devices page and the history
// name the method. See passkeys-flow.ts for why these tests run at http://localhost:3000.

import { expect, expectAccountHome, expectPath, signOut, signUp, test, uniqueEmail } from './helpers';
import {
  PASSKEYS_PATH,
  PASSKEY_ORIGIN,
  addPasskey,
  addVirtualAuthenticator,
  passkeyItems,
  withoutPasskeyAutofill,
} from './passkeys-flow';
import { codeAt, enrol, passwordStep } from './two-step-flow';

test.use({ baseURL: PASSKEY_ORIGIN });

test('passkeys: add, sign in with a passkey alone, rename, remove', async ({ page }) => {
  await withoutPasskeyAutofill(page);
  await addVirtualAuthenticator(page);
  const email = uniqueEmail();
  await signUp(page, email);
  await page.getByRole('link', { name: 'Passkeys', exact: true }).click();
  await expectPath(page, PASSKEYS_PATH);
  await expect(page.getByText('You have no passkeys yet.')).toBeVisible();
  await addPasskey(page, 'Test laptop');
  const item = passkeyItems(page).filter({ hasText: 'Test laptop' });
  await expect(item).toContainText('never used yet');
  await expect(item).toContainText('Passkey on one device');

  // Signed out, the passkey alone signs in: no email, no password.
  await signOut(page);
  await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
  await expectAccountHome(page, email);

  // The devices page and the history name the method.
  await page.goto('/devices');
  const thisDevice = page.getByRole('list', { name: 'Devices' }).getByRole('listitem').filter({ hasText: 'This device' });
  await expect(thisDevice).toContainText('Passkey');
  await page.goto('/history');
  await expect(page.getByRole('list', { name: 'History' }).getByText('Passkey added').first()).toBeVisible();

  // Rename (no prompt: a name grants nothing), then remove (the passkey sign-in just now counts as a fresh proof).
  await page.goto(PASSKEYS_PATH);
  await expect(passkeyItems(page).filter({ hasText: 'Test laptop' })).toContainText('last used');
  await page.getByLabel('New name for Test laptop', { exact: true }).fill('Work laptop');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await expect(passkeyItems(page).filter({ hasText: 'Work laptop' })).toHaveCount(1);
  await passkeyItems(page).filter({ hasText: 'Work laptop' }).getByRole('button', { name: 'Remove', exact: true }).click();
  await expectPath(page, PASSKEYS_PATH);
  await expect(page.getByText('You have no passkeys yet.')).toBeVisible();
  await page.goto('/history');
  await expect(page.getByRole('list', { name: 'History' }).getByText('Passkey removed').first()).toBeVisible();

  // With it gone, the same authenticator's passkey no longer signs in.
  await signOut(page);
  await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Keycard does not know that passkey' })).toBeVisible();
  await expectPath(page, '/login');
});

test('passkeys: a passkey instead of a code at the code step', async ({ page }) => {
  await withoutPasskeyAutofill(page);
  await addVirtualAuthenticator(page);
  const email = uniqueEmail();
  await signUp(page, email);
  const { secret } = await enrol(page);
  await addPasskey(page, 'Phone', { code: codeAt(secret, 1) });

  await signOut(page);
  await passwordStep(page, email);
  await page.getByRole('button', { name: 'Use a passkey instead', exact: true }).click();
  await expectAccountHome(page, email);
  await page.goto('/devices');
  const thisDevice = page.getByRole('list', { name: 'Devices' }).getByRole('listitem').filter({ hasText: 'This device' });
  await expect(thisDevice).toContainText('Password and passkey');
  // The checkup counts it.
  await page.goto('/security');
  await expect(page.getByText('1 passkey.')).toBeVisible();
});

test("passkeys: the browser's autofill offers the passkey on the sign-in page (conditional UI)", async ({ page }) => {
  await addVirtualAuthenticator(page);
  const email = uniqueEmail();
  await signUp(page, email);
  await addPasskey(page, 'Autofill');
  // Signing out opens /login, which asks the browser for passkeys to offer in the email field; the virtual
  // authenticator picks the one it has, as a person choosing it from the suggestions would.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectAccountHome(page, email);
  await page.goto('/devices');
  const thisDevice = page.getByRole('list', { name: 'Devices' }).getByRole('listitem').filter({ hasText: 'This device' });
  await expect(thisDevice).toContainText('Passkey');
});

test("passkeys: confirming it's you with a passkey instead of the password", async ({ page }) => {
  await addVirtualAuthenticator(page);
  await signUp(page, uniqueEmail());
  await addPasskey(page, 'Laptop');
  // The prompt a sensitive change sends people to offers the passkey beside the password.
  await page.goto(`/security/confirm?next=${encodeURIComponent(PASSKEYS_PATH)}`);
  await page.getByRole('button', { name: 'Confirm with a passkey', exact: true }).click();
  await expectPath(page, PASSKEYS_PATH);
  await page.goto('/history');
  await expect(page.getByRole('list', { name: 'History' }).getByText('Passkey added').first()).toBeVisible();
});

test('passkeys: at another address of this Keycard the sign-in page says where passkeys work', async ({ page }) => {
  await page.goto('http://127.0.0.1:3000/login');
  const elsewhere = page.getByText('Passkeys for this Keycard work at');
  await expect(elsewhere).toBeVisible();
  await expect(elsewhere.getByRole('link')).toHaveAttribute('href', `${PASSKEY_ORIGIN}/login`);
  await expect(page.getByRole('button', { name: 'Sign in with a passkey', exact: true })).toBeHidden();
  // The password still works there.
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
});
