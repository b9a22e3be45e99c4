// Connecting an app with JavaScript off (project `no-js`): the same flow with plain forms and redirects.

import { connectAppScenario } from './apps-flow';
import { test } from './helpers';

// The project already turns JavaScript off; repeated here so the file means the same under any project.
test.use({ javaScriptEnabled: false });

test('without JavaScript: the example client connects through /connect and is signed out from /devices', async ({ page, baseURL }) => {
  test.setTimeout(90_000);
  await connectAppScenario(page, baseURL);
});
