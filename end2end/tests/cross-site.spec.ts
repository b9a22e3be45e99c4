import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, expect, uniqueEmail, signUp, signIn, expectAccountHome, PASSWORD } from './helpers';

/// A page on another origin (same host, another port: "same-site" to the browser, so SameSite=Lax cookies are
/// still sent — only Keycard's Origin / Sec-Fetch-Site check stands between it and the account) with forms that
/// post to Keycard's "Sign out all other devices" and "Sign out".
function attackerServer(keycard: string): Promise<{ url: string; close: () => void }> {
  const page = `<!DOCTYPE html><html><body>
    <form id="others" method="post" action="${keycard}/api/devices/sign-out-others"><button>Win a prize</button></form>
    <form id="logout" method="post" action="${keycard}/api/logout"><button>Claim</button></form>
  </body></html>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => server.close() });
    });
  });
}

test('posts from another site are refused and change nothing', async ({ page, browser, baseURL }) => {
  const keycard = (baseURL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const email = uniqueEmail();
  await signUp(page, email);

  // A second device of the same account, which "Sign out all other devices" would end.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, email, PASSWORD);

  const attacker = await attackerServer(keycard);
  try {
    for (const form of ['#others', '#logout']) {
      await page.goto(attacker.url);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${keycard}/api/`)),
        page.locator(`${form} button`).click(),
      ]);
      expect(response.status()).toBe(403);
      await expect(page.getByText('This request came from another site and was refused.')).toBeVisible();
    }
  } finally {
    attacker.close();
  }

  // Both sessions are still signed in.
  await page.goto('/');
  await expectAccountHome(page, email);
  await otherPage.goto('/');
  await expectAccountHome(otherPage, email);
  await other.close();
});
