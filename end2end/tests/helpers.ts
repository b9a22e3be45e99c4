import { test as base, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

/// A password strong enough for Keycard's checks (zxcvbn score ≥ 3).
export const PASSWORD = 'quiet-harbor-lantern-1972';

/// Whether JavaScript is on in the running test (set by the auto fixture below; one test runs at a time per
/// worker, so a module variable is enough).
let jsEnabled = true;

/// A made-up client address for one test, in 198.18.0.0/15 (reserved for benchmarking).
function randomClientIp(): string {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return `198.${18 + Math.floor(Math.random() * 2)}.${octet()}.${octet()}`;
}

/// Use this `test` (not the one from @playwright/test):
/// - the helpers learn whether JavaScript is on;
/// - every test's browser contexts (including `browser.newContext()`) send `X-Forwarded-For` with an address of
///   their own (`clientIp`). Keycard lets each IP create only 10 accounts an hour and throttles failed sign-ins per
///   IP, and all tests come from 127.0.0.1; when the server trusts that peer and reads that header
///   (`KEYCARD_TRUSTED_PROXIES=127.0.0.1` and `KEYCARD_CLIENT_IP_HEADER=x-forwarded-for`, set by
///   playwright.config.ts and by scripts/test for the server each starts) each test
///   counts as a separate client. A server without both settings ignores the header.
export const test = base.extend<{ _jsFlag: void; _confirmDialogs: void; clientIp: string }>({
  _jsFlag: [
    async ({ javaScriptEnabled }, use) => {
      jsEnabled = javaScriptEnabled !== false;
      await use();
    },
    { auto: true },
  ],
  // Destructive buttons ask "Are you sure?" (window.confirm) once the page has JavaScript; the flows answer
  // yes, in every page of every context the test opens, unless a test answers itself (`answerDialogsYourself`).
  _confirmDialogs: [
    async ({ browser, context }, use) => {
      const acceptOn = (page: Page) =>
        page.on('dialog', async (dialog) => {
          if (!pagesAnsweringThemselves.has(page)) await dialog.accept();
        });
      const watch = (ctx: BrowserContext) => {
        ctx.pages().forEach(acceptOn);
        ctx.on('page', acceptOn);
      };
      watch(context);
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
        const created = await newContext.apply(browser, args);
        watch(created);
        return created;
      };
      await use();
      browser.newContext = newContext;
    },
    { auto: true },
  ],
  clientIp: async ({}, use) => {
    await use(randomClientIp());
  },
  extraHTTPHeaders: async ({ extraHTTPHeaders, clientIp }, use) => {
    await use({ ...extraHTTPHeaders, 'X-Forwarded-For': clientIp });
  },
});

export { expect };

const pagesAnsweringThemselves = new WeakSet<Page>();

/// From now on `page`'s dialogs are left to the test (which must answer them).
export function answerDialogsYourself(page: Page): void {
  pagesAnsweringThemselves.add(page);
}

export function isJsEnabled(): boolean {
  return jsEnabled;
}

/// An email address no earlier run has used (a server started outside the suite may keep its database between runs).
export function uniqueEmail(): string {
  const random = Math.random().toString(36).slice(2, 10);
  return `e2e-${Date.now()}-${random}@example.com`;
}

/// Waits until the client has hydrated the page (no-op without JavaScript).
export async function waitForHydration(page: Page): Promise<void> {
  if (jsEnabled) {
    await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached' });
  }
}

/// Opens `path` and, with JavaScript on, waits for hydration before anyone touches the page.
export async function gotoHydrated(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await waitForHydration(page);
}

/// The URL's path, e.g. "/login".
export function pathOf(page: Page): string {
  return new URL(page.url()).pathname;
}

/// Waits until the browser is on `path` (exact path, any query string).
export async function expectPath(page: Page, path: string): Promise<void> {
  await expect(page).toHaveURL((url) => url.pathname === path);
}

/// Waits until the browser is on the sign-in page with `next` (decoded) equal to `next`.
export async function expectLoginWithNext(page: Page, next: string): Promise<void> {
  await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === next);
}

/// The signed-in account home: its heading greets the account.
export async function expectAccountHome(page: Page, email: string): Promise<void> {
  await expectPath(page, '/');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Hello,');
  await expect(page.getByRole('heading', { level: 1 })).toContainText(email);
}

/// Creates an account through the sign-up page; ends on the account home, signed in.
export async function signUp(page: Page, email: string, password: string = PASSWORD): Promise<void> {
  await gotoHydrated(page, '/signup');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await expectAccountHome(page, email);
  await waitForHydration(page);
}

/// Fills and submits the sign-in form on the page the browser is on (it must be /login). Does not wait for
/// the outcome.
export async function submitSignIn(
  page: Page,
  email: string,
  password: string,
  options: { remember?: boolean } = {},
): Promise<void> {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (options.remember) {
    await page.getByLabel('Remember this device').check();
  }
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/// Opens /login and signs in; does not wait for the outcome (callers assert where they land).
export async function signIn(
  page: Page,
  email: string,
  password: string = PASSWORD,
  options: { remember?: boolean } = {},
): Promise<void> {
  await gotoHydrated(page, '/login');
  await submitSignIn(page, email, password, options);
}

/// The re-authentication prompt that a sensitive change sends the browser to first: `/security/confirm`, returning
/// to `returnTo` (its `next`, decoded).
export async function expectConfirmPrompt(page: Page, returnTo: string): Promise<void> {
  await expect(page).toHaveURL(
    (url) => url.pathname === '/security/confirm' && url.searchParams.get('next') === returnTo,
  );
  await expect(page.getByRole('heading', { level: 1, name: "Confirm it's you" })).toBeVisible();
}

/// On the re-authentication prompt (see `expectConfirmPrompt`): enters the password and, when two-step is on, a code
/// (`code`; without it the prompt must not ask for one), confirms, and waits until the browser is back on
/// `returnTo`. Re-authentication gives the session a new id; the browser keeps it.
export async function confirmItsYou(
  page: Page,
  returnTo: string,
  options: { password?: string; code?: string } = {},
): Promise<void> {
  await expectConfirmPrompt(page, returnTo);
  await waitForHydration(page);
  await page.getByLabel('Password', { exact: true }).fill(options.password ?? PASSWORD);
  const codeField = page.getByLabel('Authentication code', { exact: true });
  if (options.code === undefined) {
    await expect(codeField).toHaveCount(0);
  } else {
    await codeField.fill(options.code);
  }
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  await expectPath(page, returnTo);
  await waitForHydration(page);
}

/// Clicks the header's **Sign out** button and waits for the sign-in page.
export async function signOut(page: Page): Promise<void> {
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectPath(page, '/login');
  await waitForHydration(page);
}
