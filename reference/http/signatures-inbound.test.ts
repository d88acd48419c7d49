/**
 * Inbound HTTP message signatures on the OCM routes of one reference
 * instance (inject()), with real fake peers on loopback addresses that serve
 * discovery and their JWK Set. Every refusal is a 401 with a catalogue body,
 * and nothing is stored.
 */
import { test, expect } from '@playwright/test';
import {
  appendSignature,
  computeContentDigest,
  createMessageSignature,
  generateEd25519SigningKey,
  signRequest,
} from '../signatures/index.ts';
import type { AuthEvent } from '../core/inbound-auth.ts';
import { buildTestApp, EINSTEIN, type TestApp } from '../testing/harness.ts';
import { SigningPeer } from '../testing/signing-peer.ts';
import { buildConfig, type ReferenceConfig } from '../base/config.ts';
import { createPublicKey } from 'node:crypto';

const SHARES_URL = 'http://127.0.0.2:8080/ocm/shares';
const NOW = () => Math.floor(Date.now() / 1000);

let peer: SigningPeer; // trusted, advertises http-sig
let other: SigningPeer; // another trusted signer
let plain: SigningPeer; // trusted, does not advertise http-sig
let t: TestApp;
let events: AuthEvent[];

test.beforeAll(async () => {
  peer = await SigningPeer.start({ host: '127.0.0.3' });
  other = await SigningPeer.start({ host: '127.0.0.4' });
  plain = await SigningPeer.start({ host: '127.0.0.5', capabilities: ['invites', 'notifications'], advertiseJwksUri: false });
});
test.afterAll(async () => {
  await Promise.all([peer.close(), other.close(), plain.close()]);
});

async function app(overrides: Partial<ReferenceConfig> = {}): Promise<TestApp> {
  const built = await buildTestApp(overrides, [peer.origin, other.origin, plain.origin]);
  events = [];
  built.core.inboundAuth.observer = (event) => events.push(event);
  return built;
}

test.afterEach(async () => {
  await t?.close();
});

function share(from: SigningPeer, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    shareWith: `${EINSTEIN.id}@127.0.0.2:8080`,
    name: 'report.pdf',
    providerId: `share-${Math.random().toString(36).slice(2)}`,
    owner: `owner-1@${from.domain}`,
    sender: `owner-1@${from.domain}`,
    shareType: 'user',
    resourceType: 'file',
    protocol: {
      name: 'multi',
      webdav: { uri: `${from.origin}/dav/ocm/abc`, sharedSecret: 'a-secret-of-enough-length-000000', permissions: ['read'] },
    },
    ...overrides,
  });
}

const post = (url: string, headers: Record<string, string>, payload: string | Buffer) =>
  t.app.inject({ method: 'POST', url, headers, payload });

async function expectRefused(response: Awaited<ReturnType<typeof post>>, code: string, reason?: string) {
  expect(response.statusCode, response.body).toBe(401);
  if (reason !== undefined) expect(events.at(-1)?.outcome).toMatchObject({ status: 'refused', reason });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json();
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  // details stay in the log
  expect(response.body).not.toMatch(/digest|keyid|created|bad-signature/i);
  expect(t.core.stores.receivedShares.size).toBe(0);
}

test.describe('a correctly signed share', () => {
  test('is verified against the JWKS at the sender jwksUri and stored', async () => {
    t = await app();
    const body = share(peer);
    const response = await post('/ocm/shares', peer.sign(SHARES_URL, body), body);
    expect(response.statusCode, response.body).toBe(201);
    expect(t.core.stores.receivedShares.size).toBe(1);
    expect(events.map((e) => e.outcome)).toEqual([{ status: 'signed', signerDomain: peer.domain, scheme: 'rfc9421', keyid: peer.key.kid }]);
  });

  test('an extra non-OCM signature with a garbage value next to a valid OCM one is accepted', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.sign(SHARES_URL, body);
    const proxy = createMessageSignature(
      { method: 'POST', url: SHARES_URL, headers },
      { key: peer.key, components: ['@method'], params: { created: NOW(), keyid: 'proxy-key' } },
    );
    const both = appendSignature(headers, 'proxy', { input: proxy.input, signature: Buffer.from('this is not a signature at all') });
    const response = await post('/ocm/shares', { ...headers, ...both }, body);
    expect(response.statusCode, response.body).toBe(201);
    expect(t.core.stores.receivedShares.size).toBe(1);
  });

  test('with the key found through /.well-known/jwks.json when the sender advertises no jwksUri (1.3-1.4.0 peers)', async () => {
    const legacy = await SigningPeer.start({ host: '127.0.0.6', advertiseJwksUri: false });
    try {
      const built = await buildTestApp({}, [legacy.origin]);
      t = built;
      const body = share(legacy);
      const response = await post('/ocm/shares', legacy.sign(SHARES_URL, body), body);
      expect(response.statusCode, response.body).toBe(201);
    } finally {
      await legacy.close();
    }
  });
});

test.describe('refused with 401 and nothing stored', () => {
  test('no signature while our criteria include must-use-http-sig', async () => {
    t = await app({ criteria: ['must-use-http-sig'] });
    const body = share(plain);
    await expectRefused(await post('/ocm/shares', { 'content-type': 'application/json' }, body), 'SIGNATURE_REQUIRED', 'unsigned');
  });

  test('no signature from a sender whose discovery advertises http-sig', async () => {
    t = await app();
    const body = share(peer);
    await expectRefused(
      await post('/ocm/shares', { 'content-type': 'application/json' }, body),
      'SIGNATURE_REQUIRED',
      'unsigned-from-signer',
    );
  });

  test('a tampered body', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.sign(SHARES_URL, body);
    const tampered = body.replace('report.pdf', 'REPORT.pdf');
    expect(tampered.length).toBe(body.length);
    await expectRefused(await post('/ocm/shares', headers, tampered), 'SIGNATURE_INVALID', 'rfc9421: digest-mismatch');
  });

  test('a tampered Content-Digest (matching the tampered body)', async () => {
    t = await app();
    const body = share(peer);
    const tampered = body.replace('report.pdf', 'REPORT.pdf');
    const headers = { ...peer.sign(SHARES_URL, body), 'content-digest': computeContentDigest(tampered) };
    await expectRefused(await post('/ocm/shares', headers, tampered), 'SIGNATURE_INVALID', 'rfc9421: bad-signature');
  });

  test('two digest algorithms, one wrong', async () => {
    t = await app();
    const body = share(peer);
    const wrong = computeContentDigest('something else', ['sha-512']);
    const headers = peer.craft(SHARES_URL, body, { contentDigest: `${computeContentDigest(body)}, ${wrong}` });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: digest-mismatch');
  });

  test('a missing covered component (content-length)', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.craft(SHARES_URL, body, { components: ['@method', '@target-uri', 'content-digest'] });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: missing-component');
  });

  test('a missing covered component (@target-uri)', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.craft(SHARES_URL, body, { components: ['@method', 'content-digest', 'content-length'] });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: missing-component');
  });

  test('missing created', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.craft(SHARES_URL, body, { params: { keyid: peer.key.kid, alg: 'ed25519', tag: 'ocm' } });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: missing-created');
  });

  test('missing keyid', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.craft(SHARES_URL, body, { params: { created: NOW(), alg: 'ed25519', tag: 'ocm' } });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: missing-keyid');
  });

  test('created an hour ahead', async () => {
    t = await app();
    const body = share(peer);
    await expectRefused(
      await post('/ocm/shares', peer.sign(SHARES_URL, body, { created: NOW() + 3600 }), body),
      'SIGNATURE_INVALID',
      'rfc9421: created-in-future',
    );
  });

  test('created a day ago', async () => {
    t = await app();
    const body = share(peer);
    await expectRefused(
      await post('/ocm/shares', peer.sign(SHARES_URL, body, { created: NOW() - 86_400 }), body),
      'SIGNATURE_INVALID',
      'rfc9421: created-too-old',
    );
  });

  test('two tag="ocm" signatures', async () => {
    t = await app();
    const body = share(peer);
    const first = peer.sign(SHARES_URL, body);
    const second = signRequest({ method: 'POST', url: SHARES_URL, body, headers: first }, peer.key, { label: 'second' });
    await expectRefused(await post('/ocm/shares', { ...first, ...second }, body), 'SIGNATURE_INVALID', 'rfc9421: multiple-ocm-signatures');
  });

  test('an unknown kid', async () => {
    t = await app();
    const body = share(peer);
    const stranger = generateEd25519SigningKey(`${peer.domain}#key-99`);
    await expectRefused(
      await post('/ocm/shares', peer.sign(SHARES_URL, body, { key: stranger }), body),
      'SIGNATURE_INVALID',
      'rfc9421: unknown-key',
    );
  });

  test('an alg parameter contradicting the JWK alg', async () => {
    t = await app();
    const body = share(peer);
    const headers = peer.craft(SHARES_URL, body, { params: { created: NOW(), keyid: peer.key.kid, alg: 'ecdsa-p256-sha256', tag: 'ocm' } });
    await expectRefused(await post('/ocm/shares', headers, body), 'SIGNATURE_INVALID', 'rfc9421: alg-mismatch');
  });

  test('a valid signature by a trusted host whose payload claims another host (sender)', async () => {
    t = await app();
    const body = share(peer, { sender: `someone@${other.domain}`, owner: `someone@${other.domain}` });
    await expectRefused(await post('/ocm/shares', peer.sign(SHARES_URL, body), body), 'SIGNER_MISMATCH');
    expect(events.at(-1)?.outcome).toMatchObject({ status: 'refused', reason: 'signer-mismatch' });
  });

  test('a valid signature by the sender host whose payload names an owner on another host', async () => {
    t = await app();
    const body = share(peer, { owner: `someone@${other.domain}` });
    await expectRefused(await post('/ocm/shares', peer.sign(SHARES_URL, body), body), 'SIGNER_MISMATCH');
  });

  test('a signature for another target URI (replayed at another server)', async () => {
    t = await app();
    const body = share(peer);
    await expectRefused(
      await post('/ocm/shares', peer.sign('http://127.0.0.9:8080/ocm/shares', body), body),
      'SIGNATURE_INVALID',
      'rfc9421: bad-signature',
    );
  });

  test('a signature by a key of an untrusted host', async () => {
    const untrusted = await SigningPeer.start({ host: '127.0.0.7' });
    try {
      t = await app();
      const body = share(peer);
      await expectRefused(await post('/ocm/shares', untrusted.sign(SHARES_URL, body), body), 'SIGNATURE_INVALID', 'rfc9421: unknown-key');
      expect(untrusted.received).toEqual([]);
    } finally {
      await untrusted.close();
    }
  });
});

test.describe('unsigned requests without must-use-http-sig', () => {
  test('are accepted from a sender that does not advertise http-sig', async () => {
    t = await app();
    const body = share(plain);
    const response = await post('/ocm/shares', { 'content-type': 'application/json' }, body);
    expect(response.statusCode, response.body).toBe(201);
    expect(events.at(-1)?.outcome.status).toBe('unsigned');
  });

  test('are accepted from a sender that advertises http-sig when refuseUnsignedFromSigners is off', async () => {
    t = await app({ signatures: { refuseUnsignedFromSigners: false } as ReferenceConfig['signatures'] });
    const body = share(peer);
    expect((await post('/ocm/shares', { 'content-type': 'application/json' }, body)).statusCode).toBe(201);
  });

  test('a broken signature is refused even from a sender that does not advertise http-sig', async () => {
    t = await app();
    const body = share(plain);
    const headers = plain.sign(SHARES_URL, body);
    await expectRefused(
      await post('/ocm/shares', headers, body.replace('report', 'REPORT')),
      'SIGNATURE_INVALID',
      'rfc9421: digest-mismatch',
    );
  });

  test('with verification switched off every request counts as unsigned', async () => {
    t = await app({
      signatures: { verify: false } as ReferenceConfig['signatures'],
      tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'],
    });
    const body = share(peer);
    const response = await post('/ocm/shares', { ...peer.sign(SHARES_URL, body), 'content-digest': 'sha-256=:AAAA:' }, body);
    expect(response.statusCode, response.body).toBe(201);
  });
});

test.describe('legacy draft-cavage signatures (1.2-era peers)', () => {
  let legacy: SigningPeer;
  test.beforeAll(async () => {
    legacy = await SigningPeer.start({ host: '127.0.0.8', capabilities: ['invites'], advertiseJwksUri: false });
    legacy.options.discovery = { publicKey: { keyId: legacy.legacyKey.keyId, publicKeyPem: legacy.legacyKey.publicKeyPem } };
  });
  test.afterAll(async () => {
    await legacy.close();
  });

  test('are verified with the discovery publicKey', async () => {
    t = await buildTestApp({}, [legacy.origin]);
    events = [];
    t.core.inboundAuth.observer = (event) => events.push(event);
    const body = share(legacy);
    const response = await post('/ocm/shares', legacy.signLegacy(SHARES_URL, body), body);
    expect(response.statusCode, response.body).toBe(201);
    expect(events[0]?.outcome).toMatchObject({ status: 'signed', scheme: 'cavage', signerDomain: legacy.domain });
  });

  test('a tampered one is refused', async () => {
    t = await buildTestApp({}, [legacy.origin]);
    const body = share(legacy);
    await expectRefused(
      await post('/ocm/shares', legacy.signLegacy(SHARES_URL, body), body.replace('report', 'REPORT')),
      'SIGNATURE_INVALID',
    );
  });

  test('signatures.legacyPublicKey publishes an RSA publicKey on our own host, and needs legacyCavage', async () => {
    t = await buildTestApp({ signatures: { legacyPublicKey: true } as ReferenceConfig['signatures'] }, [legacy.origin]);
    const discovery = (await t.app.inject({ method: 'GET', url: '/.well-known/ocm' })).json();
    expect(discovery.publicKey.keyId).toBe(`${discovery.endPoint}#signature`);
    expect(createPublicKey(discovery.publicKey.publicKeyPem).asymmetricKeyType).toBe('rsa');
    expect(() => buildConfig({ signatures: { legacyCavage: false, legacyPublicKey: true } as ReferenceConfig['signatures'] })).toThrow(
      'signatures.legacyPublicKey needs signatures.legacyCavage and signatures.verify',
    );
    const plainDiscovery = await buildTestApp({}, [legacy.origin]);
    expect((await plainDiscovery.app.inject({ method: 'GET', url: '/.well-known/ocm' })).json().publicKey).toBeUndefined();
    await plainDiscovery.close();
  });

  test('a cavage signature whose bytes do not verify (forged) is refused', async () => {
    t = await buildTestApp({}, [legacy.origin]);
    events = [];
    t.core.inboundAuth.observer = (event) => events.push(event);
    const body = share(legacy);
    const headers = legacy.signLegacy(SHARES_URL, body);
    const forged = { ...headers, signature: headers.signature!.replace(/signature="[^"]*"/, `signature="${'A'.repeat(342)}=="`) };
    await expectRefused(await post('/ocm/shares', forged, body), 'SIGNATURE_INVALID', 'cavage: bad-signature');
  });

  test('with legacyCavage off a cavage signature counts as no signature', async () => {
    t = await buildTestApp({ criteria: ['must-use-http-sig'], signatures: { legacyCavage: false } as ReferenceConfig['signatures'] }, [
      legacy.origin,
    ]);
    const body = share(legacy);
    await expectRefused(await post('/ocm/shares', legacy.signLegacy(SHARES_URL, body), body), 'SIGNATURE_REQUIRED');
  });
});

test.describe('/ocm/invite-accepted', () => {
  const URL = 'http://127.0.0.2:8080/ocm/invite-accepted';
  async function invite(): Promise<string> {
    const user = t.core.users.byIdentifier(EINSTEIN.id)!;
    return (await t.core.invites.generate(user, {})).token;
  }

  test('signed by recipientProvider: accepted', async () => {
    t = await app();
    const token = await invite();
    const body = JSON.stringify({ recipientProvider: peer.domain, token, userID: 'marie', email: 'marie@example.org', name: 'Marie' });
    const response = await post('/ocm/invite-accepted', peer.sign(URL, body), body);
    expect(response.statusCode, response.body).toBe(200);
    expect(t.core.stores.contacts.size).toBe(1);
  });

  test('signed by another host than recipientProvider: 401, invite still open', async () => {
    t = await app();
    const token = await invite();
    const body = JSON.stringify({ recipientProvider: other.domain, token, userID: 'marie', email: 'marie@example.org', name: 'Marie' });
    const response = await post('/ocm/invite-accepted', peer.sign(URL, body), body);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('SIGNER_MISMATCH');
    expect(t.core.stores.contacts.size).toBe(0);
    expect(t.core.stores.invites.get(token)?.acceptedBy).toBeUndefined();
  });

  test('unsigned from a recipientProvider that advertises http-sig: 401', async () => {
    t = await app();
    const token = await invite();
    const body = JSON.stringify({ recipientProvider: peer.domain, token, userID: 'marie', email: 'marie@example.org', name: 'Marie' });
    const response = await post('/ocm/invite-accepted', { 'content-type': 'application/json' }, body);
    expect(response.statusCode).toBe(401);
    expect(t.core.stores.contacts.size).toBe(0);
  });
});

test.describe('/ocm/notifications', () => {
  const URL = 'http://127.0.0.2:8080/ocm/notifications';
  async function sentShareTo(domain: string) {
    const id = `sent-${Math.random().toString(36).slice(2)}`;
    const record = {
      id,
      providerId: id,
      ownerId: EINSTEIN.id,
      path: 'welcome.txt',
      name: 'welcome.txt',
      resourceType: 'file' as const,
      shareWith: `marie@${domain}`,
      recipientUserId: 'marie',
      recipientDomain: domain,
      sharedSecret: 'sent-share-secret-000000000000000',
      permissions: ['read'],
      state: 'pending' as const,
      createdAt: NOW(),
      updatedAt: NOW(),
    };
    await t.core.stores.sentShares.put(id, record);
    return record;
  }
  const accepted = (providerId: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ notificationType: 'SHARE_ACCEPTED', resourceType: 'file', providerId, notification: { ...extra } });

  test('signed by the other party: accepted without the secret', async () => {
    t = await app();
    const sent = await sentShareTo(peer.domain);
    const body = accepted(sent.providerId);
    const response = await post('/ocm/notifications', peer.sign(URL, body), body);
    expect(response.statusCode, response.body).toBe(201);
    expect(t.core.stores.sentShares.get(sent.id)?.state).toBe('accepted');
  });

  test('signed by another trusted server, even with the right secret: 401, nothing changes', async () => {
    t = await app();
    const sent = await sentShareTo(peer.domain);
    const body = accepted(sent.providerId, { sharedSecret: sent.sharedSecret });
    const response = await post('/ocm/notifications', other.sign(URL, body), body);
    expect(response.statusCode, response.body).toBe(401);
    expect(response.json().code).toBe('SIGNER_MISMATCH');
    expect(t.core.stores.sentShares.get(sent.id)?.state).toBe('pending');
  });

  test('unsigned with the secret, in the name of a party that advertises http-sig: 401', async () => {
    t = await app();
    const sent = await sentShareTo(peer.domain);
    const body = accepted(sent.providerId, { sharedSecret: sent.sharedSecret });
    const response = await post('/ocm/notifications', { 'content-type': 'application/json' }, body);
    expect(response.statusCode, response.body).toBe(401);
    expect(response.json().code).toBe('SIGNATURE_REQUIRED');
    expect(t.core.stores.sentShares.get(sent.id)?.state).toBe('pending');
  });

  test('unsigned with the secret, from a party that does not sign: accepted', async () => {
    t = await app();
    const sent = await sentShareTo(plain.domain);
    const body = accepted(sent.providerId, { sharedSecret: sent.sharedSecret });
    const response = await post('/ocm/notifications', { 'content-type': 'application/json' }, body);
    expect(response.statusCode, response.body).toBe(201);
    expect(t.core.stores.sentShares.get(sent.id)?.state).toBe('accepted');
  });
});

test.describe('body parsing keeps its answers', () => {
  test('413, 415 and 400 bodies are unchanged on the OCM routes', async () => {
    t = await app({ bodyLimitBytes: 2048 });
    const big = await post('/ocm/shares', { 'content-type': 'application/json' }, share(plain, { description: 'x'.repeat(4096) }));
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('BODY_TOO_LARGE');
    const text = await post('/ocm/shares', { 'content-type': 'text/plain' }, 'hello');
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const bad = await post('/ocm/shares', { 'content-type': 'application/json' }, '{"a": ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_JSON');
    const proto = await post('/ocm/invite-accepted', { 'content-type': 'application/json' }, '{"__proto__": {"x": 1}}');
    expect(proto.statusCode).toBe(400);
  });
});
