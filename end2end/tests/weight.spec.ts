// Page weight as the browser sees it (JavaScript on, Chromium's network events): the first load of /devices in a
// fresh browser transfers at most 150 KB compressed (HTML, CSS, JS, wasm, icon), and a later page load fetches no
// asset again (hashed names, cached for good).

import type { CDPSession, Page } from '@playwright/test';
import { expect, gotoHydrated, signUp, test, uniqueEmail } from './helpers';

const FIRST_LOAD_BUDGET = 150 * 1024;

/// Bytes received per URL (encoded, as on the wire) and the URLs answered from the browser's cache.
async function watchNetwork(page: Page): Promise<{ cdp: CDPSession; bytes: Map<string, number>; cached: Set<string> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  const bytes = new Map<string, number>();
  const cached = new Set<string>();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.requestServedFromCache', (e) => cached.add(urls.get(e.requestId) ?? e.requestId));
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) cached.add(e.response.url);
  });
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId);
    if (url) bytes.set(url, (bytes.get(url) ?? 0) + e.encodedDataLength);
  });
  return { cdp, bytes, cached };
}

test('weight: the first load of /devices is at most 150 KB; the next page fetches no asset again', async ({
  browser,
  baseURL,
}) => {
  // Signed in through a first browser; the measured browser starts with an empty cache and that session's cookie.
  const setup = await browser.newContext({ baseURL });
  const signer = await setup.newPage();
  await signUp(signer, uniqueEmail());
  const cookies = await setup.cookies();
  await setup.close();

  const context = await browser.newContext({ baseURL });
  await context.addCookies(cookies);
  const page = await context.newPage();
  const first = await watchNetwork(page);
  await gotoHydrated(page, '/devices');
  await page.waitForLoadState('networkidle');
  const assets = [...first.bytes.keys()].filter((url) => new URL(url).pathname.startsWith('/pkg/'));
  expect(assets.some((url) => url.endsWith('.wasm'))).toBe(true);
  const total = [...first.bytes.values()].reduce((a, b) => a + b, 0);
  expect(total, `first load: ${JSON.stringify(Object.fromEntries(first.bytes))}`).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
  await first.cdp.detach();

  // Another page: only its HTML comes over the network; everything else is served from the cache.
  const second = await watchNetwork(page);
  await gotoHydrated(page, '/history');
  await page.waitForLoadState('networkidle');
  const fetched = [...second.bytes.keys()].filter((url) => {
    const path = new URL(url).pathname;
    return path !== '/history' && !second.cached.has(url);
  });
  expect(fetched, 'assets fetched again on the second page').toEqual([]);
  await context.close();
});
