/**
 * The OCM inspector end to end in a real browser (project `browser`:
 * Debian's chromium, no download): `serve --inspect` as a process, the page
 * open, a signing test peer sending a malformed share (no
 * protocol.webdav.uri) and a correctly signed valid one. Both rows must show
 * within a second with their status, schema verdict, signature verdict and
 * requirement IDs; the expanded valid share shows no secret; "only problems"
 * hides it. A missing chromium fails this test; it never skips it.
 */
import { test, expect } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerEntry } from './pair.ts';
import { spawnServeProcess, type ServeChild } from './testing/serve-process.ts';
import { SigningPeer } from './testing/signing-peer.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SECRET = 'inspector-test-shared-secret-0123456789';
const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

let peer: SigningPeer;
let serve: ServeChild;
let origin: string;
let dir: string;

test.beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium is missing at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  peer = await SigningPeer.start({ host: '127.0.0.63' });
  dir = await mkdtemp(join(tmpdir(), 'ocm-inspector-'));
  const providers = join(dir, 'providers.json');
  await writeFile(providers, JSON.stringify([providerEntry('peer-a', peer.origin)]));
  serve = await spawnServeProcess(
    ['--host', '127.0.0.62', '--port', '0', '--data-dir', join(dir, 'data'), '--providers', providers, '--inspect'],
    {
      ready: /inspector: +http:\/\/\S+\/_inspector/,
    },
  );
  origin = /listening on (http:\/\/\S+)/.exec(serve.stdout())![1]!;
});

test.afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  await peer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function share(webdav: Record<string, unknown>): string {
  const domain = new URL(origin).host;
  return JSON.stringify({
    shareWith: `${EINSTEIN}@${domain}`,
    name: 'report.pdf',
    providerId: `share-${Math.random().toString(36).slice(2)}`,
    owner: `alice@${peer.domain}`,
    sender: `alice@${peer.domain}`,
    shareType: 'user',
    resourceType: 'file',
    protocol: { name: 'multi', webdav },
  });
}

async function postSigned(body: string): Promise<{ status: number; headers: Record<string, string> }> {
  const url = `${origin}/ocm/shares`;
  const headers = peer.sign(url, body);
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return { status: response.status, headers };
}

test('the inspector page shows a malformed and a signed valid share live, with their verdicts and no secret', async ({ page }) => {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/_inspector`);
  await expect(page.locator('#live')).toHaveText('live');

  const malformed = await postSigned(share({ sharedSecret: SECRET, permissions: ['read'] }));
  expect(malformed.status).toBe(400);
  const valid = await postSigned(share({ uri: `${peer.origin}/dav/ocm/abc`, sharedSecret: SECRET, permissions: ['read'] }));
  expect(valid.status).toBe(201);

  const shareRows = page.locator('.row', { hasText: 'POST /ocm/shares' });
  await expect(shareRows).toHaveCount(2, { timeout: 1000 });
  // Newest first: the valid share is on top.
  const validRow = shareRows.nth(0);
  const malformedRow = shareRows.nth(1);
  await expect(validRow).toHaveAttribute('data-status', '201');
  await expect(validRow.locator('.verdict')).toHaveText(`POST /ocm/shares 201 · schema ✔ · signed ✔ ${peer.key.kid}`);
  await expect(malformedRow).toHaveAttribute('data-status', '400');
  // Refused at the schema check, before the signature was looked at: the page says it was not checked.
  await expect(malformedRow.locator('.verdict')).toHaveText(
    'POST /ocm/shares 400 · schema ✘ protocol.webdav.uri is required (SHR-13) · signature –',
  );
  await expect(malformedRow.locator('.status')).toHaveCSS('background-color', 'rgb(188, 76, 0)');
  await expect(validRow.locator('.status')).toHaveCSS('background-color', 'rgb(26, 127, 55)');

  // Expanded: the transcript, the verdicts, the requirement links.
  await malformedRow.locator('.line').click();
  await expect(malformedRow.locator('.schema').first()).toContainText('/protocol/webdav/uri');
  await expect(malformedRow.locator('.req a.failed')).toHaveText(['SHR-13 ✘']);
  await validRow.locator('.line').click();
  await expect(validRow.locator('.signature')).toHaveText(`Signature: signed ✔ by ${peer.domain} with ${peer.key.kid} (rfc9421)`);
  await expect(validRow.locator('.req a')).toContainText(['SHR-1', 'SHR-2', 'SHR-27']);
  await expect(validRow.locator('.req a', { hasText: 'SHR-27' })).toHaveAttribute('href', '/_inspector/requirements#SHR-27');
  await expect(validRow.locator('.transcript').first()).toContainText('"sharedSecret": "[redacted]"');
  await expect(validRow.locator('.curl')).toContainText("-H 'signature: ocm=:[redacted]:'");
  // "Copy as curl" puts the masked command on the clipboard.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await validRow.locator('button.copy').click();
  await expect(validRow.locator('button.copy')).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toMatch(/^curl -X POST '.*\/ocm\/shares'/);
  expect(copied).toContain('[redacted]');
  expect(copied).not.toContain(SECRET);

  // No secret value anywhere on the page: neither the shared secret nor the signature.
  const signatureValue = /:([^:]+):/.exec(valid.headers.signature!)![1]!;
  const html = await page.content();
  const text = (await page.locator('body').textContent()) ?? '';
  for (const secret of [SECRET, signatureValue]) {
    expect(html).not.toContain(secret);
    expect(text).not.toContain(secret);
  }

  // "only problems" hides the valid share and keeps the malformed one.
  await page.getByLabel('only problems').check();
  await expect(validRow).toBeHidden();
  await expect(malformedRow).toBeVisible();

  // The requirement texts the links lead to.
  await page.goto(`${origin}/_inspector/requirements#SHR-13`);
  await expect(page.locator('dt#SHR-13 + dd')).toContainText('webdav');

  expect(errors).toEqual([]);
  expect(requests.every((url) => url.startsWith(`${origin}/`))).toBe(true);
});
