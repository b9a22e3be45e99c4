// Mailed links with JavaScript on.

import { test } from './helpers';
import { verifyThenNotMeScenario } from './mail-links-flow';
import { mailDir } from './mail';

test.skip(!mailDir, 'needs the SMTP sink that scripts/test starts (E2E_MAIL_DIR)');

test('the sign-up link confirms the address; "This wasn\'t me" from a notice signs that browser out', async ({
  browser,
  baseURL,
}) => {
  await verifyThenNotMeScenario(browser, baseURL);
});
