// Connecting an app, shared by apps.spec.ts (JavaScript on) and apps.nojs.spec.ts (off): the example client
// `keycard-cli` asks for a pairing code, the signed-in browser enters it on /connect and approves, the client
// receives its tokens and calls the API, the connection is listed on /devices, and **Sign out** there makes the
// client's next call fail with 401.
//
// The client is the binary the Rust tests build (target/debug/keycard-cli); scripts/test builds it and passes
// its path in KEYCARD_CLI.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, expectConfirmPrompt, gotoHydrated, PASSWORD, signUp, uniqueEmail, waitForHydration } from './helpers';

const CLI = process.env.KEYCARD_CLI || path.resolve(__dirname, '../../target/debug/keycard-cli');

function cliArgs(baseURL: string, tokenFile: string, command: string[]): string[] {
  return ['--server', baseURL, '--token-file', tokenFile, ...command];
}

/// Runs the client to its end: its exit status and what it printed.
function runCli(baseURL: string, tokenFile: string, command: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(CLI, cliArgs(baseURL, tokenFile, command), { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const failed = err as { status: number; stdout: string; stderr: string };
    return { status: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

export async function connectAppScenario(page: Page, baseURL: string | undefined): Promise<void> {
  if (!fs.existsSync(CLI)) {
    throw new Error(`the example client is missing at ${CLI}: run \`cargo build --features ssr --bin keycard-cli\``);
  }
  const server = baseURL ?? 'http://127.0.0.1:3000';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keycard-cli-'));
  const tokenFile = path.join(dir, 'tokens.json');
  const email = uniqueEmail();
  await signUp(page, email);

  // The client asks for a code and waits for the person.
  const connecting = spawn(CLI, cliArgs(server, tokenFile, ['connect']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  let complaints = '';
  connecting.stderr.on('data', (chunk) => (complaints += chunk));
  const exited = new Promise<number>((resolve) => connecting.on('exit', (code) => resolve(code ?? -1)));
  const code = await new Promise<string>((resolve, reject) => {
    connecting.stdout.on('data', (chunk) => {
      printed += chunk;
      const match = printed.match(/enter ([A-Z]{4}-[A-Z]{4})/);
      if (match) resolve(match[1]);
    });
    connecting.on('exit', () => reject(new Error(`keycard-cli connect ended early: ${printed}${complaints}`)));
  });
  expect(printed).toContain(`Open ${server}/connect and enter ${code}`);

  try {
    // The person types the code (any case); connecting hands out a lasting credential, so Keycard asks for the
    // password first and comes back; then it shows which app asks, and the person connects it.
    const typed = code.toLowerCase();
    await gotoHydrated(page, '/connect');
    await page.getByLabel('Code').fill(typed);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectConfirmPrompt(page, `/connect?code=${typed}`);
    await waitForHydration(page);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await expect(page).toHaveURL((url) => url.pathname === '/connect' && url.searchParams.get('code') === typed);
    await waitForHydration(page);
    await expect(page.getByText('keycard-cli wants to connect to your account.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Deny' })).toBeVisible();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect(page.getByText('Connected. You can go back to your app.')).toBeVisible();

    // The client's next poll (within its 5-second interval) receives the tokens.
    expect(await exited, `${printed}${complaints}`).toBe(0);
    expect(printed).toContain('Connected.');
    const me = runCli(server, tokenFile, ['me']);
    expect(me.status, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout).email).toBe(email);

    // The devices page lists the app beside this browser; Sign out there ends it.
    await gotoHydrated(page, '/devices');
    const rows = page.getByRole('list', { name: 'Devices' }).getByRole('listitem');
    const appRow = rows.filter({ hasText: 'keycard-cli' });
    await expect(appRow).toHaveCount(1);
    await expect(appRow).toContainText('Connected app');
    await expect(rows.filter({ hasText: 'This device' })).toHaveCount(1);
    await appRow.getByRole('button', { name: 'Sign out keycard-cli' }).click();
    await expect(rows.filter({ hasText: 'keycard-cli' })).toHaveCount(0);

    const after = runCli(server, tokenFile, ['me']);
    expect(after.status).toBe(3);
    expect(after.stderr).toContain('Signed out (401)');

    // The history tells the story.
    await gotoHydrated(page, '/history');
    await expect(page.locator('li.event[data-kind="app_connected"]')).toContainText('keycard-cli');
    await expect(page.locator('li.event[data-kind="session_ended"]').first()).toContainText('Signed out from another device');
  } finally {
    connecting.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
