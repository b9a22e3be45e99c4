// The Security page in the browser (JavaScript on). The scenarios live in security-flow.ts.

import { databaseFile } from './db';
import { test } from './helpers';
import { checkupScenario, deletionScenario, passwordChangeScenario, staleSessionScenario } from './security-flow';

test('security: the checkup reflects turning two-step on', async ({ browser, baseURL }) => {
  await checkupScenario(browser, baseURL);
});

test('security: an unused session shows in the checkup and can be signed out', async ({ browser, baseURL }) => {
  test.skip(!databaseFile(), 'needs the server database to age a session');
  await staleSessionScenario(browser, baseURL);
});

test('security: password change signs out the other browser; the prompt returns to the page', async ({
  browser,
  baseURL,
}) => {
  test.skip(!databaseFile(), 'needs the server database to age the re-authentication');
  await passwordChangeScenario(browser, baseURL);
});

test('security: deleting the account makes its old cookie useless', async ({ browser, baseURL }) => {
  await deletionScenario(browser, baseURL);
});
