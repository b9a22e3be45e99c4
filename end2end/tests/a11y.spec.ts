// Accessibility checks with axe-core (WCAG 2.0 and 2.1, levels A and AA) on every main page, with JavaScript on,
// in the light and the dark colour scheme: the signed-out pages in a fresh browser, the signed-in ones for a new
// account that also has a second device (so the new-sign-in callout and two sessions are on the pages), and the
// two-step enrolment (the password prompt, the setup key and QR code, the recovery codes).
// Each page's violations are collected with `expect.soft`, so one run lists every page's problems.

import AxeBuilder from '@axe-core/playwright';
import type { Page, TestInfo } from '@playwright/test';
import { FIREFOX_LINUX } from './devices-flow';
import { accountWithTwoDevices } from './history-flow';
import { PASSWORD, expect, expectPath, gotoHydrated, test, waitForHydration } from './helpers';
import { TWO_STEP_PATH, enrol } from './two-step-flow';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const SIGNED_OUT_PAGES = ['/login', '/signup', '/login/forgot'];
const SIGNED_IN_PAGES = [
  '/',
  '/devices',
  '/history',
  '/security',
  TWO_STEP_PATH,
  '/security/password',
  '/connect',
];

// The main browser's user agent does not matter to axe; it differs from the second browser's, so the account sees
// a new device.
test.use({ userAgent: FIREFOX_LINUX });

type AxeResults = Awaited<ReturnType<AxeBuilder['analyze']>>;
type Violation = AxeResults['violations'][number];

/// One line per offending element: rule, impact, what to fix, the element and axe's summary.
function readable(violations: Violation[]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) =>
      [
        `${violation.id} (${violation.impact ?? 'unknown impact'}): ${violation.help}`,
        `  element: ${node.target.join(' ')}`,
        `  html:    ${node.html.replace(/\s+/g, ' ').slice(0, 300)}`,
        `  fix:     ${(node.failureSummary ?? '').replace(/\s*\n\s*/g, ' | ')}`,
        `  see:     ${violation.helpUrl}`,
      ].join('\n'),
    ),
  );
}

/// Runs axe on the page as it is now and records (softly) that it found nothing; the full results are attached to
/// the test report.
async function expectNoViolations(page: Page, label: string, testInfo: TestInfo): Promise<void> {
  await waitForHydration(page);
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const scheme = (await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)) ? 'dark' : 'light';
  await testInfo.attach(`axe ${label} (${scheme})`, {
    body: JSON.stringify(results.violations, null, 2),
    contentType: 'application/json',
  });
  expect.soft(readable(results.violations), `axe violations on ${label} (${scheme} scheme)`).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`accessibility (${colorScheme} scheme)`, () => {
    test.use({ colorScheme });

    test('signed-out pages have no axe violations', async ({ page }, testInfo) => {
      for (const path of SIGNED_OUT_PAGES) {
        await gotoHydrated(page, path);
        await expectPath(page, path);
        await expectNoViolations(page, path, testInfo);
      }
    });

    test('signed-in pages and two-step enrolment have no axe violations', async ({ browser, baseURL, page }, testInfo) => {
      test.setTimeout(150_000);
      await accountWithTwoDevices(browser, baseURL, page);
      for (const path of SIGNED_IN_PAGES) {
        await gotoHydrated(page, path);
        await expectPath(page, path);
        await expectNoViolations(page, path, testInfo);
      }

      // Two-step enrolment after a sign-up: the password prompt, the setup key and QR code, the recovery codes.
      await enrol(page, PASSWORD, (step) => expectNoViolations(page, `${TWO_STEP_PATH} enrolment: ${step}`, testInfo));
    });
  });
}
