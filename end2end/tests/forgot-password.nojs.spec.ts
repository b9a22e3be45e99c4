// "Forgot your password?" with JavaScript off: plain forms that POST and redirect.

import { test } from './helpers';
import { forgotPasswordScenario } from './forgot-password-flow';
import { mailDir } from './mail';

test.use({ javaScriptEnabled: false });
test.skip(!mailDir, 'needs the SMTP sink that scripts/test starts (E2E_MAIL_DIR)');

test('without JavaScript: the mailed link sets a new password once', async ({ browser }) => {
  await forgotPasswordScenario(browser);
});
