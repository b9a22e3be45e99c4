// Operator commands as a person meets them, with JavaScript on (see operator-flow.ts).

import { databaseFile } from './db';
import { test } from './helpers';
import { disabledAccountScenario } from './operator-flow';

test('a disabled account is signed out and told so until it is enabled again', async ({ browser, baseURL }) => {
  test.skip(!databaseFile(), 'needs the server database (and its binary) for the admin command');
  await disabledAccountScenario(browser, baseURL);
});
