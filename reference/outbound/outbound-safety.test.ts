/**
 * Outbound safety rules (issue 9): internal addresses behind host names,
 * token guessing, and secrets in logs. Redirects, size and time caps, trust
 * and endPoint moves are covered in ocm-client.test.ts.
 */
import { test, expect } from '@playwright/test';
import { Writable } from 'node:stream';
import pino from 'pino';
import Fastify from 'fastify';
import { assertAllowedDestination, isInternalAddress, PrivateAddressError } from './address-guard.ts';
import { OcmClient, OutboundError } from './ocm-client.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { providerEntry, startPair, freePort } from '../pair.ts';
import { getRegistry } from '../../openapi/registry.ts';
import { buildTestApp, EINSTEIN, MARIE, PEER_DOMAIN } from '../testing/harness.ts';
import { call } from '../testing/client.ts';
import { secretsEqual } from '../base/secrets.ts';

test('internal addresses are recognised', () => {
  for (const internal of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:10.0.0.1',
  ]) {
    expect(isInternalAddress(internal), internal).toBe(true);
  }
  for (const external of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    expect(isInternalAddress(external), external).toBe(false);
  }
});

test("a host NAME resolving to an internal address is refused unless allowed; an IP literal is the operator's choice", async () => {
  await expect(assertAllowedDestination('http://localhost:1/x', false)).rejects.toBeInstanceOf(PrivateAddressError);
  await expect(assertAllowedDestination('http://localhost:1/x', true)).resolves.toBeUndefined();
  await expect(assertAllowedDestination('http://127.0.0.2:1/x', false)).resolves.toBeUndefined();
  await expect(assertAllowedDestination('http://[::1]:1/x', false)).resolves.toBeUndefined();
});

test('the OCM client refuses a trusted peer whose name resolves to loopback, and talks to it when allowed', async () => {
  const port = await freePort('127.0.0.1');
  const peer = Fastify();
  let hits = 0;
  peer.get('/.well-known/ocm', async () => {
    hits++;
    return { enabled: true, apiVersion: '1.4.0', endPoint: `http://localhost:${port}/ocm`, resourceTypes: [] };
  });
  await peer.listen({ host: '127.0.0.1', port });
  try {
    const providers = new TrustedProviders([providerEntry('named', `http://localhost:${port}`)]);
    const strict = new OcmClient({ providers, registry: getRegistry(), timeoutMs: 2000, maxResponseBytes: 65536 });
    const refused = await strict.discover(`localhost:${port}`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OutboundError);
    expect((refused as OutboundError).kind).toBe('private-address');
    expect(hits, 'nothing was sent').toBe(0);
    const allowed = new OcmClient({
      providers,
      registry: getRegistry(),
      timeoutMs: 2000,
      maxResponseBytes: 65536,
      allowPrivateAddresses: true,
    });
    expect((await allowed.discover(`localhost:${port}`)).endPoint.href).toBe(`http://localhost:${port}/ocm`);
  } finally {
    await peer.close();
  }
});

test('token guessing: after 20 failed redemptions a provider gets 429 with Retry-After, even for a valid token', async () => {
  const t = await buildTestApp();
  try {
    const token = (await t.core.invites.generate(t.core.users.get(EINSTEIN.id)!, {})).token;
    const attempt = (tok: string) =>
      t.app.inject({
        method: 'POST',
        url: '/ocm/invite-accepted',
        payload: { recipientProvider: PEER_DOMAIN, token: tok, userID: 'guesser', email: 'g@x.org', name: 'G' },
      });
    for (let i = 0; i < 20; i++) expect((await attempt(`guess-${i}`)).statusCode).toBe(400);
    const blocked = await attempt(token);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(t.core.stores.contacts.size).toBe(0);
  } finally {
    await t.close();
  }
});

test('secret comparison is by value whatever the lengths', () => {
  expect(secretsEqual('abc', 'abc')).toBe(true);
  expect(secretsEqual('abc', 'abd')).toBe(false);
  expect(secretsEqual('abc', 'abcd')).toBe(false);
  expect(secretsEqual('', '')).toBe(true);
});

test('secrets and tokens never reach the logs, even at trace level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const pair = await startPair({ logger: pino({ level: 'trace' }, sink) });
  try {
    const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
    expect(
      (await call(`${pair.b.url}/sciencemesh/accept-invite`, { method: 'POST', user: MARIE, json: { invite: invite.body.invite_string } }))
        .status,
    ).toBe(200);
    const shared = await call(`${pair.a.url}/ocs/v2.php/apps/files_sharing/api/v1/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path: '/welcome.txt', shareWith: MARIE.id, shareWithProvider: pair.b.core.domain },
    });
    expect(shared.status).toBe(200);
    const received = pair.b.core.stores.receivedShares.values().next().value!;
    await call(`${pair.b.url}/ocs/v2.php/apps/files_sharing/api/v1/shares/pending/${received.id}`, { method: 'POST', user: MARIE });
    expect((await call(`${pair.b.url}/dav/ocm-received/${received.id}`, { user: MARIE })).status).toBe(200);
    const secret = pair.a.core.stores.sentShares.values().next().value!.sharedSecret;
    const log = lines.join('');
    expect(log.length, 'the trace logger saw the traffic').toBeGreaterThan(1000);
    for (const value of [secret, invite.body.token, 'relativity', 'radioactivity']) expect(log, `a secret in the log`).not.toContain(value);
  } finally {
    await pair.close();
  }
});
