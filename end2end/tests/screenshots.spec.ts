// Full-page screenshots of every main page at phone (360×740) and desktop (1280×800) width, in the light scheme,
// plus the devices and sign-in pages in the dark scheme, saved as PNG files in end2end/screenshots/ (not
// committed; a few are copied to docs/screenshots/ by hand). They check nothing beyond the pages loading; run them
// with `npx playwright test screenshots`.
//
// The account has a second device (another user agent) signed in, so /devices lists two sessions and the
// first browser's pages show the new-sign-in callout.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from '@playwright/test';
import { FIREFOX_LINUX } from './devices-flow';
import { accountWithTwoDevices } from './history-flow';
import { PASSWORD, expectPath, gotoHydrated, test } from './helpers';
import { TWO_STEP_PATH, enrol } from './two-step-flow';

const OUT_DIR = path.join(__dirname, '..', 'screenshots');

const VIEWPORTS = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;

/// File name stem of each page.
const SIGNED_OUT_PAGES: Record<string, string> = {
  '/login': 'login',
  '/signup': 'signup',
  '/login/forgot': 'forgot-password',
};
const SIGNED_IN_PAGES: Record<string, string> = {
  '/': 'home',
  '/devices': 'devices',
  '/history': 'history',
  '/security': 'security',
  [TWO_STEP_PATH]: 'two-step',
  '/security/password': 'password',
  '/connect': 'connect',
};

test.use({ userAgent: FIREFOX_LINUX });

async function shoot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const { width } = page.viewportSize() ?? VIEWPORTS.desktop;
  const size = width < 600 ? 'phone' : 'desktop';
  const dark = await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches);
  // No hover or focus ring from the last click in the picture.
  await page.mouse.move(0, 0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({
    path: path.join(OUT_DIR, `${name}-${size}${dark ? '-dark' : ''}.png`),
    fullPage: true,
    animations: 'disabled',
    caret: 'hide',
  });
}

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test.describe(`screenshots at ${size} width`, () => {
    test.use({ viewport, colorScheme: 'light' });

    test('signed-out pages', async ({ page }) => {
      for (const [pagePath, name] of Object.entries(SIGNED_OUT_PAGES)) {
        await gotoHydrated(page, pagePath);
        await shoot(page, name);
      }
    });

    test('signed-in pages and two-step enrolment', async ({ browser, baseURL, page }) => {
      test.setTimeout(150_000);
      await accountWithTwoDevices(browser, baseURL, page);
      for (const [pagePath, name] of Object.entries(SIGNED_IN_PAGES)) {
        await gotoHydrated(page, pagePath);
        await expectPath(page, pagePath);
        await shoot(page, name);
      }

      const names = { 'password prompt': 'confirm', 'setup key': 'two-step-setup', 'recovery codes': 'two-step-recovery-codes' };
      await enrol(page, PASSWORD, (step) => shoot(page, names[step]));
    });

    test('dark scheme: sign-in and devices', async ({ browser, baseURL, page }) => {
      await page.emulateMedia({ colorScheme: 'dark' });
      await gotoHydrated(page, '/login');
      await shoot(page, 'login');
      await accountWithTwoDevices(browser, baseURL, page);
      await gotoHydrated(page, '/devices');
      await shoot(page, 'devices');
    });
  });
}
