/**
 * The code flow's token endpoint (`POST /ocm/token`) of one reference
 * instance, called by fake receiving servers that sign with their own keys:
 * every OAuth error code, reuse, expiry, unsigned requests, a client_id that
 * is not the signer, and what the issued tokens open over WebDAV.
 */
import { test, expect } from '@playwright/test';
import { Writable } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../app.ts';
import { buildConfig, PROJECT_ROOT, type ReferenceConfig } from '../base/config.ts';
import type { SentShareRecord } from '../stores/records.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { buildTestApp, EINSTEIN, type TestApp } from '../testing/harness.ts';
import { SigningPeer } from '../testing/signing-peer.ts';

const TOKEN_URL = 'http://127.0.0.2:8080/ocm/token';
const FORM = 'application/x-www-form-urlencoded';
const NOW = () => Math.floor(Date.now() / 1000);

let client: SigningPeer; // the receiving server asking for tokens
let other: SigningPeer; // another trusted server
let legacy: SigningPeer; // a 1.2-era server that signs with draft-cavage
let t: TestApp;

test.beforeAll(async () => {
  client = await SigningPeer.start({ host: '127.0.0.3' });
  other = await SigningPeer.start({ host: '127.0.0.4' });
  legacy = await SigningPeer.start({ host: '127.0.0.5', capabilities: ['invites'], advertiseJwksUri: false });
  legacy.options.discovery = { publicKey: { keyId: legacy.legacyKey.keyId, publicKeyPem: legacy.legacyKey.publicKeyPem } };
});
test.afterAll(async () => {
  await Promise.all([client.close(), other.close(), legacy.close()]);
});
test.afterEach(async () => {
  await t?.close();
});

async function app(overrides: Partial<ReferenceConfig> = {}): Promise<TestApp> {
  return buildTestApp({ allowSharesWithoutInvite: true, ...overrides }, [client.origin, other.origin, legacy.origin]);
}

let counter = 0;
async function sentShare(to: SigningPeer, extra: Partial<SentShareRecord> = {}): Promise<SentShareRecord> {
  const id = `share-${++counter}-${Math.random().toString(36).slice(2)}`;
  const record: SentShareRecord = {
    id,
    providerId: id,
    ownerId: EINSTEIN.id,
    path: 'welcome.txt',
    name: 'welcome.txt',
    resourceType: 'file',
    shareWith: `marie@${to.domain}`,
    recipientUserId: 'marie',
    recipientDomain: to.domain,
    sharedSecret: `secret-${id}-0000000000000000000000`,
    permissions: ['read'],
    state: 'accepted',
    createdAt: NOW(),
    updatedAt: NOW(),
    ...extra,
  };
  await t.core.stores.sentShares.put(id, record);
  return record;
}

function form(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  return params.toString();
}

/** A token request signed by `signer` (default: the client). */
function request(fields: Record<string, string | string[]>, signer: SigningPeer | null = client) {
  const body = form(fields);
  const headers = signer ? signer.sign(TOKEN_URL, body, { contentType: FORM }) : { 'content-type': FORM };
  return t.app.inject({ method: 'POST', url: '/ocm/token', headers, payload: body });
}

const grant = (code: string, extra: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  client_id: client.domain,
  code,
  ...extra,
});

async function expectError(response: Awaited<ReturnType<typeof request>>, error: string) {
  expect(response.statusCode, response.body).toBe(400);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers['cache-control']).toBe('no-store');
  const body = response.json();
  expect(body.error).toBe(error);
  expect(Object.keys(body).every((k) => k === 'error' || k === 'error_description')).toBe(true);
  expect(t.core.tokens!.size).toBe(0);
}

const dav = (shareId: string, authorization: string) =>
  t.app.inject({ method: 'GET', url: `/dav/ocm/${shareId}`, headers: { authorization } });

test.describe('a valid signed request', () => {
  test('gets a Bearer token that opens the share over WebDAV', async () => {
    t = await app();
    const share = await sentShare(client);
    const response = await request(grant(share.sharedSecret));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json();
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300 });
    expect(Buffer.from(body.access_token, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(body.access_token).not.toContain(share.sharedSecret);
    const read = await dav(share.id, `Bearer ${body.access_token}`);
    expect(read.statusCode).toBe(200);
    expect(read.body).toBe(await readFile(join(PROJECT_ROOT, 'fixtures/files/welcome.txt'), 'utf8'));
    // a token opens only its own share
    const second = await sentShare(client);
    expect((await dav(second.id, `Bearer ${body.access_token}`)).statusCode).toBe(401);
  });

  test('discovery advertises the endpoint, the capability and the keys', async () => {
    t = await app();
    const discovery = (await t.app.inject({ method: 'GET', url: '/.well-known/ocm' })).json();
    expect(discovery.capabilities).toEqual(expect.arrayContaining(['exchange-token', 'http-sig']));
    expect(discovery.tokenEndPoint).toBe(TOKEN_URL);
    expect(discovery.jwksUri).toBe('http://127.0.0.2:8080/ocm/jwks');
    for (const url of ['/ocm/jwks', '/.well-known/jwks.json']) {
      const jwks = await t.app.inject({ method: 'GET', url });
      expect(jwks.statusCode).toBe(200);
      expect(jwks.json()).toEqual({
        keys: [{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: '127.0.0.2:8080#key-1', alg: 'Ed25519', use: 'sig' }],
      });
      expect(jwks.body).not.toContain('"d"');
    }
  });

  test('a reused code is exchanged again for a new token; both stay valid until they expire', async () => {
    t = await app();
    const share = await sentShare(client);
    const first = (await request(grant(share.sharedSecret))).json().access_token;
    const again = await request(grant(share.sharedSecret));
    expect(again.statusCode).toBe(200);
    const second = again.json().access_token;
    expect(second).not.toBe(first);
    expect((await dav(share.id, `Bearer ${first}`)).statusCode).toBe(200);
    expect((await dav(share.id, `Bearer ${second}`)).statusCode).toBe(200);
  });

  test('unknown extra parameters (redirect_uri, scope) are ignored', async () => {
    t = await app();
    const share = await sentShare(client);
    const response = await request(grant(share.sharedSecret, { redirect_uri: 'https://elsewhere.example/cb', scope: 'everything' }));
    expect(response.statusCode, response.body).toBe(200);
  });

  test('an expired token no longer opens the share', async () => {
    t = await app({ tokenExchange: { tokenLifetimeSeconds: 1 } as ReferenceConfig['tokenExchange'] });
    const share = await sentShare(client);
    const response = await request(grant(share.sharedSecret));
    expect(response.json().expires_in).toBe(1);
    const token = response.json().access_token;
    expect((await dav(share.id, `Bearer ${token}`)).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = await dav(share.id, `Bearer ${token}`);
    expect(late.statusCode).toBe(401);
    // the code still works: a new token
    expect((await request(grant(share.sharedSecret))).statusCode).toBe(200);
  });

  test('with must-exchange-token on the share only a token opens it, never the raw secret', async () => {
    t = await app();
    const share = await sentShare(client, { requirements: ['must-exchange-token'] });
    expect((await dav(share.id, `Bearer ${share.sharedSecret}`)).statusCode).toBe(401);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/dav/ocm/',
          headers: { authorization: `Basic ${Buffer.from(`${share.sharedSecret}:`).toString('base64')}` },
        })
      ).statusCode,
    ).toBe(401);
    const token = (await request(grant(share.sharedSecret))).json().access_token;
    expect((await dav(share.id, `Bearer ${token}`)).statusCode).toBe(200);
  });

  test('tokens are never logged', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ocm-token-log-'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const providers = new TrustedProviders([providerEntry('client', client.origin)]);
    const config = buildConfig({ host: '127.0.0.2', port: 8080, dataDir, allowSharesWithoutInvite: true });
    const built = await buildApp(config, { logger: pino({ level: 'trace' }, sink), providers });
    t = {
      ...built,
      dataDir,
      close: async () => {
        await built.app.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    const share = await sentShare(client);
    const token = (await request(grant(share.sharedSecret))).json().access_token;
    await dav(share.id, `Bearer ${token}`);
    await request(grant('wrong-code'));
    expect(lines.length).toBeGreaterThan(0);
    const log = lines.join('');
    expect(log).toContain('access token issued');
    expect(log).not.toContain(token);
    expect(log).not.toContain(share.sharedSecret);
  });
});

test.describe('OAuth errors (400, TokenError body, nothing issued)', () => {
  test('unsupported_grant_type: another grant type, checked before the other fields', async () => {
    t = await app();
    const share = await sentShare(client);
    await expectError(await request(grant(share.sharedSecret, { grant_type: 'client_credentials' })), 'unsupported_grant_type');
    await expectError(await request({ grant_type: 'ocm_authorization_code' }), 'unsupported_grant_type');
  });

  for (const missing of ['grant_type', 'client_id', 'code']) {
    test(`invalid_request: ${missing} missing`, async () => {
      t = await app();
      const share = await sentShare(client);
      const fields: Record<string, string> = grant(share.sharedSecret);
      delete fields[missing];
      await expectError(await request(fields), 'invalid_request');
    });
  }

  test('invalid_request: a parameter given twice, a client_id that is not host[:port], an empty body', async () => {
    t = await app();
    const share = await sentShare(client);
    await expectError(await request({ ...grant(share.sharedSecret), code: [share.sharedSecret, share.sharedSecret] }), 'invalid_request');
    await expectError(await request(grant(share.sharedSecret, { client_id: 'https://127.0.0.3/x' })), 'invalid_request');
    const empty = await t.app.inject({ method: 'POST', url: '/ocm/token', headers: { 'content-type': FORM }, payload: '' });
    await expectError(empty, 'invalid_request');
  });

  test('invalid_client: an unsigned request', async () => {
    t = await app();
    const share = await sentShare(client);
    await expectError(await request(grant(share.sharedSecret), null), 'invalid_client');
  });

  test('invalid_client: a signature that does not verify', async () => {
    t = await app();
    const share = await sentShare(client);
    const body = form(grant(share.sharedSecret, { redirect_uri: 'a' }));
    const headers = client.sign(TOKEN_URL, body, { contentType: FORM });
    const tampered = body.replace('redirect_uri=a', 'redirect_uri=b');
    expect(tampered).not.toBe(body);
    await expectError(await t.app.inject({ method: 'POST', url: '/ocm/token', headers, payload: tampered }), 'invalid_client');
    await expectError(
      await t.app.inject({
        method: 'POST',
        url: '/ocm/token',
        headers: client.sign(TOKEN_URL, body, { contentType: FORM, created: NOW() - 86_400 }),
        payload: body,
      }),
      'invalid_client',
    );
  });

  test('invalid_client: client_id is not the signer', async () => {
    t = await app();
    const share = await sentShare(other);
    // signed by `client`, claiming to be `other` (to whom the share was made)
    await expectError(
      await request({ grant_type: 'authorization_code', client_id: other.domain, code: share.sharedSecret }),
      'invalid_client',
    );
  });

  test('invalid_client: a client_id that is not a trusted provider', async () => {
    t = await app();
    const share = await sentShare(client);
    await expectError(
      await request({ grant_type: 'authorization_code', client_id: 'unknown.example.org', code: share.sharedSecret }),
      'invalid_client',
    );
  });

  test('invalid_grant: an unknown code', async () => {
    t = await app();
    await sentShare(client);
    await expectError(await request(grant('no-such-code')), 'invalid_grant');
  });

  test('invalid_grant: the code of a share made to another server', async () => {
    t = await app();
    const share = await sentShare(other);
    await expectError(await request(grant(share.sharedSecret)), 'invalid_grant');
  });

  test('invalid_grant: the code of an expired share, and of a declined one', async () => {
    t = await app();
    const expired = await sentShare(client, { expiration: NOW() - 60 });
    await expectError(await request(grant(expired.sharedSecret)), 'invalid_grant');
    const declined = await sentShare(client, { state: 'declined' });
    await expectError(await request(grant(declined.sharedSecret)), 'invalid_grant');
  });

  test('invalid_grant: the code of a removed share (and its tokens stop working)', async () => {
    t = await app();
    const share = await sentShare(client);
    const token = (await request(grant(share.sharedSecret))).json().access_token;
    await t.core.stores.sentShares.delete(share.id);
    expect((await dav(share.id, `Bearer ${token}`)).statusCode).toBe(404);
    const before = t.core.tokens!.size;
    const response = await request(grant(share.sharedSecret));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_grant');
    expect(t.core.tokens!.size).toBe(before);
  });

  test('unauthorized_client: authenticated only by a legacy draft-cavage signature', async () => {
    t = await app();
    const share = await sentShare(legacy);
    const body = form({ grant_type: 'authorization_code', client_id: legacy.domain, code: share.sharedSecret });
    const headers = { ...legacy.signLegacy(TOKEN_URL, body), 'content-type': FORM };
    await expectError(await t.app.inject({ method: 'POST', url: '/ocm/token', headers, payload: body }), 'unauthorized_client');
  });

  test('a JSON body is 415 with the OCM error shape, as declared', async () => {
    t = await app();
    const response = await t.app.inject({
      method: 'POST',
      url: '/ocm/token',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ grant_type: 'authorization_code' }),
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

test.describe('switched off', () => {
  test('no endpoint, no capability, no tokenEndPoint; the signature keys stay', async () => {
    t = await app({ tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'] });
    const discovery = (await t.app.inject({ method: 'GET', url: '/.well-known/ocm' })).json();
    expect(discovery.capabilities).not.toContain('exchange-token');
    expect(discovery.capabilities).toContain('http-sig');
    expect(discovery.tokenEndPoint).toBeUndefined();
    const response = await t.app.inject({
      method: 'POST',
      url: '/ocm/token',
      headers: { 'content-type': FORM },
      payload: 'grant_type=authorization_code',
    });
    expect(response.statusCode).toBe(404);
  });

  test('no signing: no http-sig, no jwksUri, no JWKS', async () => {
    t = await app({
      signatures: { sign: false } as ReferenceConfig['signatures'],
      tokenExchange: { enabled: false } as ReferenceConfig['tokenExchange'],
    });
    const discovery = (await t.app.inject({ method: 'GET', url: '/.well-known/ocm' })).json();
    expect(discovery.capabilities).not.toContain('http-sig');
    expect(discovery.jwksUri).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: '/ocm/jwks' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode).toBe(404);
  });
});
