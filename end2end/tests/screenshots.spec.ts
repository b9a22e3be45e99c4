// Full-page screenshots of every main page at phone (360×740) and desktop (1280×800) width, in the light scheme,
// plus the devices and sign-in pages in the dark scheme, saved as PNG files in end2end/screenshots/ (not
// committed; a few are copied to docs/screenshots/ by hand). They check nothing beyond the pages loading; run them
// with `npx playwright test screenshots`.
//
// The account has a second device (another user agent) signed in, so /devices lists two sessions and the
// first browser's pages show the new-sign-in callout.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { FIREFOX_LINUX, SAFARI_IPHONE, device } from './devices-flow';
import { newSignInBanner } from './history-flow';
import {
  confirmItsYou,
  expect,
  expectAccountHome,
  expectPath,
  gotoHydrated,
  signIn,
  signUp,
  test,
  uniqueEmail,
} from './helpers';
import { TWO_STEP_PATH, codeAt } from './two-step-flow';

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

/// Signs up in `page` and signs the same account in from a second browser (an iPhone's user agent).
async function accountWithTwoDevices(browser: Browser, baseURL: string | undefined, page: Page): Promise<void> {
  const email = uniqueEmail();
  await signUp(page, email);
  const phone = await device(browser, baseURL, SAFARI_IPHONE);
  try {
    await signIn(phone, email);
    await expectAccountHome(phone, email);
  } finally {
    await phone.context().close();
  }
  await gotoHydrated(page, '/');
  await expect(newSignInBanner(page)).toBeVisible();
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

      const turnOn = page.getByRole('button', { name: 'Turn on two-step sign-in', exact: true });
      await gotoHydrated(page, TWO_STEP_PATH);
      await turnOn.click();
      await expectPath(page, '/security/confirm');
      await shoot(page, 'confirm');
      await confirmItsYou(page, TWO_STEP_PATH);
      await turnOn.click();
      const key = page.getByLabel('Setup key', { exact: true });
      await expect(key).toBeVisible();
      await shoot(page, 'two-step-setup');
      const secret = ((await key.textContent()) ?? '').replace(/\s+/g, '');
      await page.getByLabel('Authentication code', { exact: true }).fill(codeAt(secret, 0));
      await page.getByRole('button', { name: 'Confirm', exact: true }).click();
      await expect(page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem')).toHaveCount(10);
      await shoot(page, 'two-step-recovery-codes');
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
