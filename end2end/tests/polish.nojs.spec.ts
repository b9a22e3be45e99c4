// The same details without JavaScript (project `no-js`): Download works, Copy is not offered, times are UTC with
// the zone named, and the alert callout is the same HTML.

import { test } from './helpers';
import { groupedAlertsScenario, localTimeScenario, recoveryCodesScenario } from './polish-flow';

test.use({ javaScriptEnabled: false });

test('without JavaScript: recovery codes download; Copy is not offered', async ({ browser, baseURL }) => {
  await recoveryCodesScenario(browser, baseURL);
});

test('without JavaScript: times are UTC, named so', async ({ browser, baseURL }) => {
  await localTimeScenario(browser, baseURL);
});

test('without JavaScript: several new sign-ins make one callout listing each', async ({ browser, baseURL }) => {
  await groupedAlertsScenario(browser, baseURL);
});
