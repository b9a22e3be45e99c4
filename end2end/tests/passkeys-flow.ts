// Passkey helpers shared by the specs: Chromium's virtual authenticator (through the DevTools protocol), and
// adding a passkey on /security/passkeys through the re-authentication prompt.
//
// Passkeys belong to one origin. Keycard serves the tests at 127.0.0.1:3000, and browsers refuse passkeys for an
// IP address, so Keycard ties them to http://localhost:3000 (the same server): the passkey specs run there.

import type { Page } from '@playwright/test';
import { confirmItsYou, expect, expectPath } from './helpers';

export const PASSKEYS_PATH = '/security/passkeys';
export const PASSKEY_ORIGIN = 'http://localhost:3000';

/// A platform authenticator in this page's browser: it keeps discoverable credentials, verifies the user
/// (as a fingerprint reader would) and answers without anyone touching it.
export async function addVirtualAuthenticator(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}

/// Turns off the browser's passkey autofill (conditional UI) in this page: Chromium's virtual authenticator answers
/// such a request at once, as if the person had picked the passkey from the email field's suggestions, which
/// would sign in as soon as /login opens. Tests that click **Sign in with a passkey** call this first.
export async function withoutPasskeyAutofill(page: Page): Promise<void> {
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) window.PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
}

/// The list of passkeys on the passkeys page.
export function passkeyItems(page: Page) {
  return page.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem');
}

/// On /security/passkeys: names and adds a passkey. The first time after signing in with a password (or signing
/// up) the server sends the browser to the prompt first (`code` when two-step is on); then the person adds it.
export async function addPasskey(page: Page, name: string, options: { code?: string } = {}): Promise<void> {
  await page.goto(PASSKEYS_PATH);
  const field = page.getByLabel('Passkey name', { exact: true });
  await field.fill(name);
  await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
  // Either the prompt comes first, or the page reloads with the new passkey listed.
  await Promise.race([
    page.waitForURL((url) => url.pathname === '/security/confirm'),
    passkeyItems(page).filter({ hasText: name }).first().waitFor(),
  ]);
  if (new URL(page.url()).pathname === '/security/confirm') {
    await confirmItsYou(page, PASSKEYS_PATH, options);
    await field.fill(name);
    await page.getByRole('button', { name: 'Add a passkey', exact: true }).click();
  }
  await expectPath(page, PASSKEYS_PATH);
  await expect(passkeyItems(page).filter({ hasText: name })).toHaveCount(1);
}
