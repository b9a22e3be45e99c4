// The devices page with JavaScript off (project `no-js`): the same flow with plain forms and redirects.

import { devicesScenario } from './devices-flow';
import { test } from './helpers';

// The project already turns JavaScript off; repeated here so the file means the same under any project.
test.use({ javaScriptEnabled: false });

test('without JavaScript: devices lists each browser, signs out one, then all others', async ({ browser, baseURL }) => {
  // Three browsers signing in and several full page loads on a debug build: allow more than the default.
  test.setTimeout(150_000);
  await devicesScenario(browser, baseURL);
});
