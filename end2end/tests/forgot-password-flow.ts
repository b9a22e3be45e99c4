// "Forgot your password?" from the sign-in page to signing in with the new password, through the
// reset link that arrives by mail. Shared by the JavaScript and no-JavaScript specs.

import type { Browser } from '@playwright/test';
import {
  expect,
  expectAccountHome,
  expectPath,
  gotoHydrated,
  signOut,
  signUp,
  submitSignIn,
  uniqueEmail,
  waitForHydration,
} from './helpers';
import { linkIn, waitForMail } from './mail';

const NEW_PASSWORD = 'copper-meadow-violin-8841';

export async function forgotPasswordScenario(browser: Browser): Promise<void> {
  const email = uniqueEmail();
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, email);
  await signOut(page);

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expectPath(page, '/login/forgot');
  await waitForHydration(page);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send reset link', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('If an account uses that address, we sent it a link');

  const mail = await waitForMail(email, 'Reset your Keycard password');
  expect(mail.text).not.toContain('quiet-harbor-lantern-1972');
  await gotoHydrated(page, linkIn(mail, '/login/reset?token='));
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password', exact: true }).click();
  await expectPath(page, '/login');
  await expect(page.getByRole('status')).toContainText('Sign in with your new password.');

  await waitForHydration(page);
  await submitSignIn(page, email, NEW_PASSWORD);
  await expectAccountHome(page, email);

  // The link works once.
  await gotoHydrated(page, linkIn(mail, '/login/reset?token='));
  await expect(page.getByRole('alert')).toContainText('This link has expired or was already used.');
  await context.close();
}
