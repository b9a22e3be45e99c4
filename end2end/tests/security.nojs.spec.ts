// The Security page with JavaScript off: every form is a plain POST answered with a redirect.

import { databaseFile } from './db';
import { test } from './helpers';
import { deletionScenario, passwordChangeScenario, staleSessionScenario } from './security-flow';

test.use({ javaScriptEnabled: false });

test('without JavaScript: an unused session can be signed out from the checkup', async ({ browser, baseURL }) => {
  test.skip(!databaseFile(), 'needs the server database to age a session');
  await staleSessionScenario(browser, baseURL);
});

test('without JavaScript: password change behind the prompt signs out the other browser', async ({
  browser,
  baseURL,
}) => {
  test.skip(!databaseFile(), 'needs the server database to age the re-authentication');
  await passwordChangeScenario(browser, baseURL);
});

test('without JavaScript: account deletion', async ({ browser, baseURL }) => {
  await deletionScenario(browser, baseURL);
});
