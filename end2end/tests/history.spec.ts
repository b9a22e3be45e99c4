// History and alerts in the browser (JavaScript on). The scenarios live in history-flow.ts.

import { test } from './helpers';
import { exportScenario, failedSignInAndNewDeviceScenario } from './history-flow';

test('history: a failed sign-in is listed; a new device raises the banner; "This wasn\'t me" signs it out', async ({
  browser,
  baseURL,
}) => {
  await failedSignInAndNewDeviceScenario(browser, baseURL);
});

test('history: downloads as JSON and CSV after the password prompt', async ({ browser, baseURL }) => {
  await exportScenario(browser, baseURL);
});
