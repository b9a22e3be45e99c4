// Connecting an app with JavaScript on (project `js`); the flow is in apps-flow.ts.

import { connectAppScenario } from './apps-flow';
import { test } from './helpers';

test('apps: the example client connects through /connect, works, and is signed out from /devices', async ({ page, baseURL }) => {
  // The client polls every 5 seconds.
  test.setTimeout(90_000);
  await connectAppScenario(page, baseURL);
});
