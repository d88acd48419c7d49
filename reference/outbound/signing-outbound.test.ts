/**
 * Outbound signing: every OCM POST of a reference instance to a peer that
 * advertises `http-sig` carries one OCM-profile signature that verifies with
 * the instance's published JWK Set; peers that do not advertise it get
 * unsigned requests; token requests are always signed. The peers are fake
 * servers on loopback addresses that record what they receive.
 */
import { test, expect } from '@playwright/test';
import { verifyOcmSignature, type Jwk } from '../signatures/index.ts';
import type { ReceivedShareRecord } from '../stores/records.ts';
import type { ReferenceConfig } from '../base/config.ts';
import { basicAuth, buildTestApp, EINSTEIN, type TestApp } from '../testing/harness.ts';
import { SigningPeer, type ReceivedRequest } from '../testing/signing-peer.ts';

const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';
const OUR_KID = '127.0.0.2:8080#key-1';

let t: TestApp;
test.afterEach(async () => {
  await t?.close();
});

async function ourJwks(): Promise<Jwk[]> {
  return (await t.app.inject({ method: 'GET', url: '/ocm/jwks' })).json().keys;
}

/** Verifies a request the peer received as the peer would (target URI = peer origin + raw url). */
async function verifyAtPeer(peer: SigningPeer, received: ReceivedRequest) {
  const keys = await ourJwks();
  return verifyOcmSignature(
    { method: received.method, url: `${peer.origin}${received.url}`, headers: received.headers, body: received.body },
    { lookupKey: async (kid) => keys.find((k) => k.kid === kid) },
  );
}

async function expectSigned(peer: SigningPeer, received: ReceivedRequest | undefined) {
  expect(received).toBeDefined();
  const result = await verifyAtPeer(peer, received!);
  expect(result).toMatchObject({
    status: 'valid',
    keyid: OUR_KID,
    alg: 'ed25519',
    components: ['"@method"', '"@target-uri"', '"content-digest"', '"content-length"'],
  });
  expect(String(received!.headers['signature-input'])).toMatch(/;created=\d+;keyid="127\.0\.0\.2:8080#key-1";alg="ed25519";tag="ocm"$/);
  expect(String(received!.headers['content-digest'])).toMatch(/^sha-256=:/);
}

function expectUnsigned(received: ReceivedRequest | undefined) {
  expect(received).toBeDefined();
  expect(received!.headers['signature-input']).toBeUndefined();
  expect(received!.headers.signature).toBeUndefined();
}

/** einstein accepts an invite of marie@peer: POST /invite-accepted to the peer. */
async function befriend(peer: SigningPeer) {
  peer.replies.set('/ocm/invite-accepted', () => ({ status: 200, body: { userID: 'marie', email: 'marie@example.org', name: 'Marie' } }));
  const response = await t.app.inject({
    method: 'POST',
    url: '/sciencemesh/accept-invite',
    headers: { authorization: basicAuth(EINSTEIN) },
    payload: { token: 'an-invite-token', providerDomain: peer.domain },
  });
  expect(response.statusCode, response.body).toBe(200);
}

async function shareWith(peer: SigningPeer, path = '/welcome.txt') {
  peer.replies.set('/ocm/shares', () => ({ status: 201, body: { recipientDisplayName: 'Marie' } }));
  const response = await t.app.inject({
    method: 'POST',
    url: `${OCS}/shares?format=json`,
    headers: { authorization: basicAuth(EINSTEIN), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ shareType: '6', path, shareWith: 'marie', shareWithProvider: peer.domain }).toString(),
  });
  return response;
}

test.describe('to a peer that advertises http-sig', () => {
  let peer: SigningPeer;
  test.beforeAll(async () => {
    peer = await SigningPeer.start({ host: '127.0.0.3' });
  });
  test.afterAll(async () => {
    await peer.close();
  });
  test.beforeEach(() => {
    peer.received.length = 0;
  });

  test('invite acceptance, share creation and notifications are all signed', async () => {
    t = await buildTestApp({}, [peer.origin]);
    await befriend(peer);
    await expectSigned(peer, peer.requestsTo('/ocm/invite-accepted')[0]);

    const created = await shareWith(peer);
    expect(created.statusCode, created.body).toBe(200);
    const sharePost = peer.requestsTo('/ocm/shares')[0];
    await expectSigned(peer, sharePost);
    expect(JSON.parse(sharePost!.body.toString()).protocol.webdav.requirements).toBeUndefined();

    const id = created.json().ocs.data.id;
    const update = await t.app.inject({
      method: 'PUT',
      url: `${OCS}/shares/${id}`,
      headers: { authorization: basicAuth(EINSTEIN), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'permissions=3',
    });
    expect(update.statusCode, update.body).toBe(200);
    const removed = await t.app.inject({ method: 'DELETE', url: `${OCS}/shares/${id}`, headers: { authorization: basicAuth(EINSTEIN) } });
    expect(removed.statusCode).toBe(200);
    const notifications = peer.requestsTo('/ocm/notifications');
    expect(notifications.map((n) => JSON.parse(n.body.toString()).notificationType)).toEqual([
      'RESHARE_CHANGE_PERMISSION',
      'SHARE_UNSHARED',
    ]);
    for (const notification of notifications) await expectSigned(peer, notification);
  });

  test('a signature made for the peer does not verify with a changed body (the peer would refuse it)', async () => {
    t = await buildTestApp({}, [peer.origin]);
    await befriend(peer);
    const received = peer.requestsTo('/ocm/invite-accepted')[0]!;
    const tampered = { ...received, body: Buffer.from(received.body.toString().replace('an-invite-token', 'an-invite-tokeN')) };
    expect(await verifyAtPeer(peer, tampered)).toMatchObject({ status: 'invalid', reason: 'digest-mismatch' });
  });

  test('with signing switched off nothing is signed and http-sig is not advertised', async () => {
    t = await buildTestApp(
      {
        signatures: { sign: false } as ReferenceConfig['signatures'],
        tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'],
      },
      [peer.origin],
    );
    await befriend(peer);
    expectUnsigned(peer.requestsTo('/ocm/invite-accepted')[0]);
  });
});

test.describe('to a peer that does not advertise http-sig', () => {
  let plain: SigningPeer;
  test.beforeAll(async () => {
    plain = await SigningPeer.start({ host: '127.0.0.4', capabilities: ['invites', 'notifications'], advertiseJwksUri: false });
  });
  test.afterAll(async () => {
    await plain.close();
  });

  test('requests are sent unsigned', async () => {
    t = await buildTestApp({}, [plain.origin]);
    await befriend(plain);
    expectUnsigned(plain.requestsTo('/ocm/invite-accepted')[0]);
    expect((await shareWith(plain)).statusCode).toBe(200);
    expectUnsigned(plain.requestsTo('/ocm/shares')[0]);
  });
});

test.describe('to a peer that demands must-use-http-sig', () => {
  let strict: SigningPeer;
  test.beforeAll(async () => {
    strict = await SigningPeer.start({ host: '127.0.0.5', capabilities: ['invites'], criteria: ['must-use-http-sig'] });
  });
  test.afterAll(async () => {
    await strict.close();
  });

  test('requests are signed even without the http-sig capability', async () => {
    t = await buildTestApp({}, [strict.origin]);
    await befriend(strict);
    await expectSigned(strict, strict.requestsTo('/ocm/invite-accepted').at(-1));
  });

  test('with signing off, a share is refused locally and never sent', async () => {
    t = await buildTestApp(
      {
        signatures: { sign: false } as ReferenceConfig['signatures'],
        tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'],
      },
      [strict.origin],
    );
    await befriend(strict);
    const before = strict.requestsTo('/ocm/shares').length;
    const response = await shareWith(strict);
    expect(response.statusCode).toBe(400);
    expect(strict.requestsTo('/ocm/shares').length).toBe(before);
    expect(t.core.stores.sentShares.size).toBe(0);
  });
});

test.describe('must-exchange-token as sender', () => {
  let demanding: SigningPeer;
  let relaxed: SigningPeer;
  test.beforeAll(async () => {
    demanding = await SigningPeer.start({
      host: '127.0.0.6',
      capabilities: ['http-sig', 'exchange-token', 'invites'],
      criteria: ['must-exchange-token'],
    });
    relaxed = await SigningPeer.start({ host: '127.0.0.7' });
  });
  test.afterAll(async () => {
    await Promise.all([demanding.close(), relaxed.close()]);
  });

  test('a receiver whose criteria demand it gets the requirement in the share', async () => {
    t = await buildTestApp({}, [demanding.origin, relaxed.origin]);
    await befriend(demanding);
    expect((await shareWith(demanding)).statusCode).toBe(200);
    const payload = JSON.parse(demanding.requestsTo('/ocm/shares').at(-1)!.body.toString());
    expect(payload.protocol.webdav.requirements).toEqual(['must-exchange-token']);
    const stored = [...t.core.stores.sentShares.filter(() => true)][0]!;
    expect(stored.requirements).toEqual(['must-exchange-token']);
    // the raw secret no longer opens it
    expect(
      (await t.app.inject({ method: 'GET', url: `/dav/ocm/${stored.id}`, headers: { authorization: `Bearer ${stored.sharedSecret}` } }))
        .statusCode,
    ).toBe(401);
  });

  test('alwaysRequireExchange puts it in every share', async () => {
    t = await buildTestApp({ tokenExchange: { alwaysRequireExchange: true } as ReferenceConfig['tokenExchange'] }, [relaxed.origin]);
    await befriend(relaxed);
    expect((await shareWith(relaxed)).statusCode).toBe(200);
    expect(JSON.parse(relaxed.requestsTo('/ocm/shares').at(-1)!.body.toString()).protocol.webdav.requirements).toEqual([
      'must-exchange-token',
    ]);
  });

  test('without token exchange here, a receiver that demands it cannot be sent a share', async () => {
    t = await buildTestApp({ tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'] }, [demanding.origin]);
    await befriend(demanding);
    const response = await shareWith(demanding);
    expect(response.statusCode).toBe(400);
    expect(t.core.stores.sentShares.size).toBe(0);
  });
});

test.describe('token requests (receiving side of the code flow)', () => {
  let sender: SigningPeer;
  let offering: SigningPeer;
  let silent: SigningPeer;
  test.beforeAll(async () => {
    sender = await SigningPeer.start({ host: '127.0.0.3', capabilities: ['http-sig', 'exchange-token', 'notifications'] });
    sender.options.discovery = { tokenEndPoint: `${sender.origin}/ocm/token` };
    offering = await SigningPeer.start({ host: '127.0.0.4', capabilities: ['http-sig', 'exchange-token'] });
    offering.options.discovery = { tokenEndPoint: `${offering.origin}/ocm/token` };
    silent = await SigningPeer.start({ host: '127.0.0.5', capabilities: ['http-sig'] });
  });
  test.afterAll(async () => {
    await Promise.all([sender.close(), offering.close(), silent.close()]);
  });
  test.beforeEach(() => {
    for (const p of [sender, offering, silent]) p.received.length = 0;
  });

  /** A share from `from` stored here through a signed POST /ocm/shares. */
  async function receivedFrom(from: SigningPeer, requirements?: string[]): Promise<ReceivedShareRecord> {
    const body = JSON.stringify({
      shareWith: `${EINSTEIN.id}@127.0.0.2:8080`,
      name: 'doc.txt',
      providerId: `p-${Math.random().toString(36).slice(2)}`,
      owner: `alice@${from.domain}`,
      sender: `alice@${from.domain}`,
      shareType: 'user',
      resourceType: 'file',
      protocol: {
        name: 'multi',
        webdav: {
          uri: `${from.origin}/dav/ocm/x`,
          sharedSecret: 'the-shared-secret-00000000000000',
          permissions: ['read'],
          ...(requirements ? { requirements } : {}),
        },
      },
    });
    const response = await t.app.inject({
      method: 'POST',
      url: '/ocm/shares',
      headers: from.sign('http://127.0.0.2:8080/ocm/shares', body),
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(201);
    return t.core.stores.receivedShares.find((r) => r.senderDomain === from.domain)!;
  }

  test('a share that requires exchange: a signed form with client_id = our host and code = the secret; the token is cached', async () => {
    t = await buildTestApp({}, [sender.origin]);
    sender.replies.set('/ocm/token', () => ({
      status: 200,
      body: { access_token: 'issued-token-1', token_type: 'Bearer', expires_in: 300 },
    }));
    const share = await receivedFrom(sender, ['must-exchange-token']);
    expect(await t.core.tokenClient.exchangeForShare(share)).toBe('issued-token-1');
    const [tokenRequest] = sender.requestsTo('/ocm/token');
    await expectSigned(sender, tokenRequest);
    expect(tokenRequest!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest!.body.toString()))).toEqual({
      grant_type: 'authorization_code',
      client_id: '127.0.0.2:8080',
      code: 'the-shared-secret-00000000000000',
    });
    expect(await t.core.tokenClient.exchangeForShare(share)).toBe('issued-token-1');
    expect(sender.requestsTo('/ocm/token')).toHaveLength(1);
  });

  test('a required exchange that fails yields no token (the secret must not be used)', async () => {
    t = await buildTestApp({}, [sender.origin]);
    sender.replies.set('/ocm/token', () => ({ status: 400, body: { error: 'invalid_grant' } }));
    const share = await receivedFrom(sender, ['must-exchange-token']);
    expect(await t.core.tokenClient.exchange(share)).toMatchObject({ kind: 'failed', why: expect.stringContaining('invalid_grant') });
  });

  test('with tryWhenOffered, an offered exchange is tried, and a failure means: fall back on the secret', async () => {
    t = await buildTestApp({ tokenExchange: { tryWhenOffered: true } as ReferenceConfig['tokenExchange'] }, [offering.origin]);
    offering.replies.set('/ocm/token', () => ({ status: 400, body: { error: 'invalid_client' } }));
    const share = await receivedFrom(offering);
    expect(await t.core.tokenClient.exchangeForShare(share)).toBeUndefined();
    expect(offering.requestsTo('/ocm/token')).toHaveLength(1);
    offering.replies.set('/ocm/token', () => ({
      status: 200,
      body: { access_token: 'offered-token', token_type: 'Bearer', expires_in: 60 },
    }));
    expect(await t.core.tokenClient.exchangeForShare(share)).toBe('offered-token');
  });

  test('no exchange when neither required nor offered, or when offered but tryWhenOffered is off (the default)', async () => {
    t = await buildTestApp({ tokenExchange: { tryWhenOffered: true } as ReferenceConfig['tokenExchange'] }, [
      silent.origin,
      offering.origin,
    ]);
    const fromSilent = await receivedFrom(silent);
    expect(await t.core.tokenClient.exchange(fromSilent)).toMatchObject({ kind: 'not-attempted' });
    expect(silent.requestsTo('/ocm/token')).toHaveLength(0);
    await t.close();
    t = await buildTestApp({}, [offering.origin]);
    const fromOffering = await receivedFrom(offering);
    expect(await t.core.tokenClient.exchange(fromOffering)).toMatchObject({ kind: 'not-attempted' });
    expect(offering.requestsTo('/ocm/token')).toHaveLength(0);
  });

  test('a tokenEndPoint on another origin is never called', async () => {
    t = await buildTestApp({}, [sender.origin]);
    sender.options.discovery = { tokenEndPoint: 'http://127.0.0.9:1/ocm/token' };
    try {
      const share = await receivedFrom(sender, ['must-exchange-token']);
      expect(await t.core.tokenClient.exchange(share)).toMatchObject({ kind: 'failed', why: expect.stringContaining('another origin') });
    } finally {
      sender.options.discovery = { tokenEndPoint: `${sender.origin}/ocm/token` };
    }
  });
});
