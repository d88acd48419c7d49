/**
 * Two reference instances with signatures on complete the invite and share
 * lifecycle over real HTTP, every server-to-server request signed by one and
 * verified by the other; then again with `must-use-http-sig` and
 * `must-exchange-token` on both sides, where the receiver reaches the shared
 * file only with an exchanged token.
 */
import { test, expect } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT, type ReferenceConfig } from '../base/config.ts';
import type { AuthEvent } from '../core/inbound-auth.ts';
import { startPair, type Pair } from '../pair.ts';
import { call } from '../testing/client.ts';
import { EINSTEIN, MARIE } from '../testing/harness.ts';

const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';

interface Outbound {
  url: string;
  headers: Record<string, string>;
  body: string;
}

let pair: Pair;
let outbound: Outbound[];
let verdicts: { at: 'a' | 'b'; event: AuthEvent }[];
const originalFetch = globalThis.fetch;

test.beforeEach(() => {
  outbound = [];
  verdicts = [];
  // Spy on every server-to-server POST (both instances run in this process).
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (init?.method === 'POST' && new URL(url).pathname.startsWith('/ocm/')) {
      outbound.push({ url, headers: { ...(init.headers as Record<string, string>) }, body: String(init.body) });
    }
    return originalFetch(input, init);
  };
});
test.afterEach(async () => {
  globalThis.fetch = originalFetch;
  await pair?.close();
});

async function start(config: Partial<ReferenceConfig> = {}) {
  pair = await startPair({ configure: () => config });
  pair.a.core.inboundAuth.observer = (event) => verdicts.push({ at: 'a', event });
  pair.b.core.inboundAuth.observer = (event) => verdicts.push({ at: 'b', event });
}

async function befriend() {
  const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
  expect(invite.status).toBe(200);
  const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
    method: 'POST',
    user: MARIE,
    json: { token: invite.body.token, providerDomain: pair.a.core.domain },
  });
  expect(accepted.status, accepted.text).toBe(200);
}

async function shareFromAToB(path: string) {
  const created = await call(`${pair.a.url}${OCS}/shares?format=json`, {
    method: 'POST',
    user: EINSTEIN,
    form: { shareType: '6', path, shareWith: MARIE.id, shareWithProvider: pair.b.core.domain },
  });
  expect(created.status, created.text).toBe(200);
  return created.body.ocs.data as { id: string };
}

/** Every recorded OCM POST carries one OCM signature, and the receiving instance verified it as the sender's. */
function expectAllSignedAndVerified(paths: string[]) {
  expect(outbound.map((o) => new URL(o.url).pathname)).toEqual(paths);
  for (const request of outbound) {
    expect(request.headers['signature-input'], request.url).toMatch(/tag="ocm"$/);
    expect(request.headers['content-digest'], request.url).toMatch(/^sha-256=:/);
  }
  expect(verdicts).toHaveLength(outbound.length);
  for (const [i, { at, event }] of verdicts.entries()) {
    const from = at === 'a' ? pair.b.core.domain : pair.a.core.domain;
    expect(event.outcome, `${event.method} ${event.url}`).toEqual({
      status: 'signed',
      signerDomain: from,
      scheme: 'rfc9421',
      keyid: `${from}#key-1`,
    });
    expect(new URL(event.url).pathname).toBe(new URL(outbound[i]!.url).pathname);
  }
}

test('with signatures on, the invite and share lifecycle is signed and verified end to end', async () => {
  await start({ tokenExchange: { tryWhenOffered: true } as ReferenceConfig['tokenExchange'] });
  for (const instance of [pair.a, pair.b]) {
    expect(instance.core.discovery.capabilities).toEqual(expect.arrayContaining(['http-sig', 'exchange-token']));
    expect(instance.core.discovery.jwksUri).toBe(`${instance.core.config.publicUrl}/ocm/jwks`);
  }
  await befriend();
  const data = await shareFromAToB('/sample.bin');
  const pending = await call(`${pair.b.url}${OCS}/shares?shared_with_me=true&state=1`, { user: MARIE });
  const received = pending.body.ocs.data[0];
  const accepted = await call(`${pair.b.url}${OCS}/shares/pending/${received.id}`, { method: 'POST', user: MARIE });
  expect(accepted.status).toBe(200);
  expect(pair.a.core.stores.sentShares.get(data.id)!.state).toBe('accepted');

  // optional exchange (A offers it): B gets a token, and it opens the file at A
  const record = pair.b.core.stores.receivedShares.get(received.id)!;
  const token = await pair.b.core.tokenClient.exchangeForShare(record);
  expect(token).toBeDefined();
  const sent = pair.a.core.stores.sentShares.get(data.id)!;
  const read = await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(200);
  expect(read.bytes.equals(await readFile(join(PROJECT_ROOT, 'fixtures/files/sample.bin')))).toBe(true);

  const removed = await call(`${pair.a.url}${OCS}/shares/${data.id}`, { method: 'DELETE', user: EINSTEIN });
  expect(removed.status).toBe(200);
  expect(pair.b.core.stores.receivedShares.size).toBe(0);
  expectAllSignedAndVerified(['/ocm/invite-accepted', '/ocm/shares', '/ocm/notifications', '/ocm/token', '/ocm/notifications']);
});

test('with must-use-http-sig and must-exchange-token on both sides, only signed requests and exchanged tokens work', async () => {
  await start({ criteria: ['must-use-http-sig', 'must-exchange-token'] });
  await befriend();
  const data = await shareFromAToB('/welcome.txt');
  const sent = pair.a.core.stores.sentShares.get(data.id)!;
  expect(sent.requirements).toEqual(['must-exchange-token']);
  const record = pair.b.core.stores.receivedShares.find((r) => r.providerId === sent.providerId)!;
  expect(record.protocols.webdav?.requirements).toEqual(['must-exchange-token']);

  const accepted = await call(`${pair.b.url}${OCS}/shares/pending/${record.id}`, { method: 'POST', user: MARIE });
  expect(accepted.status).toBe(200);

  // the secret alone no longer opens the share; the exchanged token does
  expect((await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${sent.sharedSecret}` } })).status).toBe(401);
  const token = await pair.b.core.tokenClient.exchangeForShare(record);
  expect(token).toBeDefined();
  const read = await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(200);
  expect(read.text).toBe(await readFile(join(PROJECT_ROOT, 'fixtures/files/welcome.txt'), 'utf8'));

  const declinedLater = await call(`${pair.a.url}${OCS}/shares/${data.id}`, { method: 'DELETE', user: EINSTEIN });
  expect(declinedLater.status).toBe(200);
  expectAllSignedAndVerified(['/ocm/invite-accepted', '/ocm/shares', '/ocm/notifications', '/ocm/token', '/ocm/notifications']);

  // A request captured on the wire and replayed with a changed body is refused; nothing is stored.
  const sharePost = outbound.find((o) => o.url.endsWith('/ocm/shares'))!;
  const before = pair.b.core.stores.receivedShares.size;
  const tampered = sharePost.body.replace('"welcome.txt"', '"welcome.txT"');
  const replay = await call(sharePost.url, { method: 'POST', headers: sharePost.headers, body: tampered });
  expect(replay.status).toBe(401);
  expect(pair.b.core.stores.receivedShares.size).toBe(before);
  // and an unsigned one is refused outright
  const unsigned = await call(sharePost.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sharePost.body });
  expect(unsigned.status).toBe(401);
  expect(unsigned.body.code).toBe('SIGNATURE_REQUIRED');
  expect(pair.b.core.stores.receivedShares.size).toBe(before);
});
