// Recovery codes' Copy and Download, confirming destructive buttons, local times and the grouped alert callout,
// with JavaScript on. The scenarios live in polish-flow.ts.

import { test } from './helpers';
import { groupedAlertsScenario, localTimeScenario, recoveryCodesScenario } from './polish-flow';

test('polish: recovery codes copy and download; turning two-step off asks first', async ({ browser, baseURL }) => {
  await recoveryCodesScenario(browser, baseURL);
});

test("polish: times are shown in the browser's time zone", async ({ browser, baseURL }) => {
  await localTimeScenario(browser, baseURL);
});

test('polish: several new sign-ins make one callout listing each', async ({ browser, baseURL }) => {
  await groupedAlertsScenario(browser, baseURL);
});
