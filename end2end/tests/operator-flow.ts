// An operator disables an account with `keycard admin disable` (the server's own binary, on its database): the
// person's browser finds itself signed out with the reason, and signing in says the account is disabled, until
// `keycard admin enable`. Shared by operator.spec.ts (JavaScript on) and operator.nojs.spec.ts (off).

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Browser } from '@playwright/test';
import { databaseFile } from './db';
import { FIREFOX_LINUX, device } from './devices-flow';
import { PASSWORD, expect, expectAccountHome, signIn, signUp, uniqueEmail } from './helpers';

const DISABLED = 'This account is disabled. Ask your Keycard administrator for help.';

/// Runs `keycard admin <args>` (the binary the tests serve: KEYCARD_BIN, default target/release/keycard) against the server's data directory, as an
/// operator on that machine would; returns what it printed.
export function admin(...args: string[]): string {
  const file = databaseFile();
  if (!file) throw new Error('the server database is not reachable from the test');
  const root = path.resolve(process.cwd(), '..');
  return execFileSync(process.env.KEYCARD_BIN || path.join(root, 'target/release/keycard'), ['admin', ...args], {
    cwd: root,
    env: { ...process.env, KEYCARD_DATA_DIR: path.dirname(file), RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
}

export async function disabledAccountScenario(browser: Browser, baseURL: string | undefined): Promise<void> {
  const email = uniqueEmail();
  const laptop = await device(browser, baseURL, FIREFOX_LINUX);
  await signUp(laptop, email);

  expect(admin('disable', email)).toBe(`disabled ${email}; 1 session signed out\n`);
  await laptop.goto('/devices');
  await expect(laptop).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('ended') === 'disabled');
  await expect(laptop.getByText(DISABLED)).toBeVisible();

  // The right password only learns the account is disabled; it signs nothing in.
  await signIn(laptop, email, PASSWORD);
  await expect(laptop.getByRole('main').getByRole('alert')).toHaveText(DISABLED);
  await laptop.goto('/');
  await expect(laptop).toHaveURL((url) => url.pathname === '/login');

  expect(admin('enable', email)).toBe(`enabled ${email}; they can sign in again\n`);
  await signIn(laptop, email, PASSWORD);
  await expectAccountHome(laptop, email);
}
