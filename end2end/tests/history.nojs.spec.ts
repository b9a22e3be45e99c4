// History and alerts with JavaScript off: the filter is a GET form, the banner's buttons and the prompt are
// plain forms that POST and redirect, the downloads are plain links.

import { test } from './helpers';
import { exportScenario, failedSignInAndNewDeviceScenario } from './history-flow';

test.use({ javaScriptEnabled: false });

test('without JavaScript: failed sign-in listed, new-device banner, "This wasn\'t me"', async ({ browser, baseURL }) => {
  await failedSignInAndNewDeviceScenario(browser, baseURL);
});

test('without JavaScript: history downloads after the password prompt', async ({ browser, baseURL }) => {
  await exportScenario(browser, baseURL);
});
