// "Forgot your password?" with JavaScript on (the hydrated forms submit in the background).

import { test } from './helpers';
import { forgotPasswordScenario } from './forgot-password-flow';
import { mailDir } from './mail';

test.skip(!mailDir, 'needs the SMTP sink that scripts/test starts (E2E_MAIL_DIR)');

test('forgot password: the mailed link sets a new password once', async ({ browser }) => {
  await forgotPasswordScenario(browser);
});
