// Mailed links with JavaScript off: plain forms that POST and redirect.

import { test } from './helpers';
import { verifyThenNotMeScenario } from './mail-links-flow';
import { mailDir } from './mail';

test.use({ javaScriptEnabled: false });
test.skip(!mailDir, 'needs the SMTP sink that scripts/test starts (E2E_MAIL_DIR)');

test('without JavaScript: the sign-up link confirms the address; "This wasn\'t me" signs that browser out', async ({
  browser,
  baseURL,
}) => {
  await verifyThenNotMeScenario(browser, baseURL);
});
