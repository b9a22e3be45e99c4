// Links that arrive by mail, shared by the JavaScript and no-JavaScript specs: confirming the
// address from the sign-up mail (the banner then goes away), and a new-sign-in notice whose
// "This wasn't me" link signs that browser out from anywhere.

import type { Browser } from '@playwright/test';
import { FIREFOX_LINUX, SAFARI_IPHONE, device, expectSignedOutElsewhere } from './devices-flow';
import { expect, expectAccountHome, expectPath, gotoHydrated, signIn, signUp, uniqueEmail, waitForHydration } from './helpers';
import { linkIn, waitForMail } from './mail';

export async function verifyThenNotMeScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);
  const banner = laptop.getByRole('complementary', { name: 'Confirm your email address' });
  await expect(banner).toContainText(`we sent a link to ${email}`);

  // The sign-up mail's link: opening it changes nothing; its button confirms the address.
  const welcome = await waitForMail(email, 'Confirm your email address for Keycard');
  await gotoHydrated(laptop, linkIn(welcome, '/verify-email?token='));
  await laptop.getByRole('button', { name: 'Confirm my email address', exact: true }).click();
  await expectAccountHome(laptop, email);
  await waitForHydration(laptop);
  await expect(banner).toHaveCount(0);

  // A sign-in from a phone never seen on the account: the notice goes to the confirmed address.
  const phone = await device(browser, baseURL, SAFARI_IPHONE);
  await signIn(phone, email);
  await expectAccountHome(phone, email);
  const notice = await waitForMail(email, 'New sign-in to your Keycard account');
  expect(notice.text).toContain('Safari 17 on iPhone');

  // "This wasn't me", followed from the mail in yet another browser (not signed in).
  const reader = await device(browser, baseURL, FIREFOX_LINUX);
  await gotoHydrated(reader, linkIn(notice, '/login/not-me?token='));
  await reader.getByRole('button', { name: 'Sign it out', exact: true }).click();
  await expectPath(reader, '/login/forgot');
  await expect(reader.getByRole('status')).toContainText('That sign-in was signed out.');
  await expectSignedOutElsewhere(phone, () => phone.goto('/'));
  await gotoHydrated(laptop, '/');
  await expectAccountHome(laptop, email);

  for (const page of [laptop, phone, reader]) {
    await page.context().close();
  }
}
