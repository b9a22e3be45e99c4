// The devices page with JavaScript on (project `js`): several browsers signed in to one account, each listed
// with its browser and system; signing out one, then all others, takes effect on their next request.

import { devicesScenario } from './devices-flow';
import { expect, signUp, test, uniqueEmail } from './helpers';

test('devices: list each browser, sign out one, then all others', async ({ browser, baseURL }) => {
  // Three browsers signing in and several full page loads on a debug build: allow more than the default.
  test.setTimeout(150_000);
  await devicesScenario(browser, baseURL);
});

test('devices: a lone session is marked "This device" and cannot sign itself out by handle', async ({ page }) => {
  await signUp(page, uniqueEmail());
  await page.goto('/devices');
  const rows = page.getByRole('list', { name: 'Devices' }).getByRole('listitem');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('This device');
  await expect(rows.first().getByRole('button', { name: /^Sign out/ })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Sign out all other devices' })).toBeVisible();
});

test('devices: signed-out visitors are sent to sign-in', async ({ page }) => {
  await page.goto('/devices');
  await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/devices');
});
