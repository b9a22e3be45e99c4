import { defineConfig, type PlaywrightTestConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Keycard end-to-end tests.
//
// Two ways to run them:
// - `scripts/test` (from the repository root) starts the server itself (target/debug/keycard beside the site that
//   `cargo xtask build` made) with mail going to an SMTP sink, then runs `E2E_EXTERNAL_SERVER=1 npx playwright test`
//   here. Keycard allows 10 sign-ups an hour per IP and the suite creates more than that, so the server must trust
//   127.0.0.1 as a proxy and read the X-Forwarded-For header from it; each test then sends its own address there
//   (KEYCARD_TRUSTED_PROXIES=127.0.0.1 KEYCARD_CLIENT_IP_HEADER=x-forwarded-for; without the second the server
//   ignores every forwarding header, even from a trusted proxy). Every test creates its own unique account (see
//   tests/helpers.ts).
// - `npx playwright test` here, with E2E_EXTERNAL_SERVER unset, starts the server binary (KEYCARD_BIN, default
//   target/release/keycard: `cargo xtask build` first) with a fresh, empty data directory.
// Point the tests at a server that is already running with `E2E_EXTERNAL_SERVER=1` (and `KEYCARD_E2E_URL=…`
// when it is not at http://127.0.0.1:3000).
//
// Chromium is Debian's (/usr/bin/chromium); never run `npx playwright install`.
//
// Projects:
// - `js`    (default): every test file except `*.nojs.spec.ts`, JavaScript on.
// - `no-js`: only files named `*.nojs.spec.ts`, with JavaScript disabled (plain HTML forms and redirects).
// Run one of them with `npx playwright test --project=no-js`.

const baseURL = process.env.KEYCARD_E2E_URL || 'http://127.0.0.1:3000';
const externalServer = !!process.env.E2E_EXTERNAL_SERVER || !!process.env.KEYCARD_E2E_URL;

function webServer(): PlaywrightTestConfig['webServer'] {
  if (externalServer) return undefined;
  // The config is loaded again in every worker process; they inherit this variable, so the directory is
  // created once per run.
  if (!process.env.KEYCARD_E2E_DATA_DIR) {
    process.env.KEYCARD_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'keycard-e2e-'));
  }
  return {
    command: process.env.KEYCARD_BIN || './target/release/keycard',
    cwd: '..',
    url: 'http://127.0.0.1:3000/healthz',
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      KEYCARD_DATA_DIR: process.env.KEYCARD_E2E_DATA_DIR,
      KEYCARD_ADDR: '127.0.0.1:3000',
      // Lets each test act as its own client through X-Forwarded-For (see tests/helpers.ts): sign-ups are
      // limited to 10 an hour per IP. The server reads the header only from a trusted proxy and only when it
      // is named as the client-IP header: both settings are needed.
      KEYCARD_TRUSTED_PROXIES: '127.0.0.1',
      KEYCARD_CLIENT_IP_HEADER: 'x-forwarded-for',
      LEPTOS_SITE_ADDR: '127.0.0.1:3000',
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_OUTPUT_NAME: 'keycard',
    },
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: 'list',
  // The machine has 2 cores and the server may be a debug build: allow some time for hydration.
  timeout: 60_000,
  expect: { timeout: 15_000 },
  use: {
    baseURL,
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'js',
      testIgnore: /\.nojs\.spec\.ts$/,
      use: { javaScriptEnabled: true },
    },
    {
      name: 'no-js',
      testMatch: /\.nojs\.spec\.ts$/,
      use: { javaScriptEnabled: false },
    },
  ],
  webServer: webServer(),
});
