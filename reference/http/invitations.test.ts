import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildConfig } from '../base/config.ts';
import { startInstance, type RunningInstance } from '../main.ts';
import { freePort, providerEntry, startPair, type Pair } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { basicAuth, buildTestApp, EINSTEIN, MARIE, PEER_DOMAIN, type TestApp } from '../testing/harness.ts';
import { spawnServe, writeProvidersFile } from '../testing/processes.ts';
import { encodeInviteString } from '../core/addresses.ts';

async function call(url: string, init: { method?: string; user?: { username: string; password: string }; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (init.user) headers.authorization = basicAuth(init.user);
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

test.describe('the invitation workflow between two instances over real HTTP', () => {
  let pair: Pair;
  test.beforeEach(async () => {
    pair = await startPair();
  });
  test.afterEach(async () => {
    await pair.close();
  });

  test('A invites, B accepts, each lists the other', async () => {
    const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, {
      method: 'POST',
      user: EINSTEIN,
      json: { description: 'hello', recipient: 'marie@example.org' },
    });
    expect(invite.status).toBe(200);
    expect(invite.body.token.length).toBeGreaterThanOrEqual(22);
    expect(invite.body.expiration).toBeGreaterThan(Date.now() / 1000 + 23 * 3600);
    expect(Buffer.from(invite.body.invite_string, 'base64url').toString()).toBe(`${invite.body.token}@${pair.a.core.domain}`);
    const listed = await call(`${pair.a.url}/sciencemesh/list-invite`, { user: EINSTEIN });
    expect(listed.body.map((i: { token: string }) => i.token)).toEqual([invite.body.token]);

    const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: invite.body.token, providerDomain: pair.a.core.domain },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({
      user_id: EINSTEIN.id,
      idp: pair.a.core.domain,
      display_name: EINSTEIN.displayName,
      mail: 'einstein@example.org',
    });

    const onA = await call(`${pair.a.url}/sciencemesh/find-accepted-users`, { user: EINSTEIN });
    expect(onA.body).toEqual([{ user_id: MARIE.id, idp: pair.b.core.domain, display_name: MARIE.displayName, mail: 'marie@example.org' }]);
    const onB = await call(`${pair.b.url}/sciencemesh/find-accepted-users`, { user: MARIE });
    expect(onB.body).toEqual([accepted.body]);
    // the accepted token is no longer open
    expect((await call(`${pair.a.url}/sciencemesh/list-invite`, { user: EINSTEIN })).body).toEqual([]);
  });

  test('the canonical invite string is accepted too', async () => {
    const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
    const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { invite: invite.body.invite_string },
    });
    expect(accepted.status).toBe(200);
  });

  test('reusing an accepted token is a 409, and nothing is stored twice', async () => {
    const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
    const body = { token: invite.body.token, providerDomain: pair.a.core.domain };
    expect((await call(`${pair.b.url}/sciencemesh/accept-invite`, { method: 'POST', user: MARIE, json: body })).status).toBe(200);
    const again = await call(`${pair.b.url}/sciencemesh/accept-invite`, { method: 'POST', user: MARIE, json: body });
    expect(again.status).toBe(409);
    const other = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: { username: 'richard', password: 'superfluidity' },
      json: body,
    });
    expect(other.status).toBe(409);
    expect((await call(`${pair.a.url}/sciencemesh/find-accepted-users`, { user: EINSTEIN })).body).toHaveLength(1);
    expect((await call(`${pair.b.url}/sciencemesh/find-accepted-users`, { user: MARIE })).body).toHaveLength(1);
  });

  test('an unknown token is a 400 and an expired one too', async () => {
    const unknown = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: 'no-such-token', providerDomain: pair.a.core.domain },
    });
    expect(unknown.status).toBe(400);
    await pair.a.core.stores.invites.put('expired-token', { token: 'expired-token', userId: EINSTEIN.id, createdAt: 1, expiresAt: 2 });
    const expired = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: 'expired-token', providerDomain: pair.a.core.domain },
    });
    expect(expired.status).toBe(400);
    expect((await call(`${pair.b.url}/sciencemesh/find-accepted-users`, { user: MARIE })).body).toEqual([]);
  });

  test('accepting an invite of a provider this server does not trust is a 403, and nothing is sent', async () => {
    const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: 'x', providerDomain: 'evil.example.org' },
    });
    expect(accepted.status).toBe(403);
  });

  test('an inviter that does not trust the accepting server refuses with 403', async () => {
    // C trusts A, but A does not trust C.
    const host = '127.0.0.4';
    const port = await freePort(host);
    const dataDir = await mkdtemp(join(tmpdir(), 'ocm-c-'));
    let c: RunningInstance | undefined;
    try {
      c = await startInstance(buildConfig({ host, port, dataDir }), {
        logger: pino({ level: 'silent' }),
        providers: new TrustedProviders([providerEntry('a', pair.a.url)]),
      });
      const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
      const accepted = await call(`${c.url}/sciencemesh/accept-invite`, {
        method: 'POST',
        user: MARIE,
        json: { token: invite.body.token, providerDomain: pair.a.core.domain },
      });
      expect(accepted.status).toBe(403);
      expect(accepted.body.code).toBe('REMOTE_REFUSED');
      expect((await call(`${pair.a.url}/sciencemesh/find-accepted-users`, { user: EINSTEIN })).body).toEqual([]);
    } finally {
      await c?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('an inviter that is down gives a 504, not a hang', async () => {
    await pair.a.close();
    const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: 'x', providerDomain: pair.a.core.domain },
    });
    expect(accepted.status).toBe(504);
  });
});

test.describe('POST /ocm/invite-accepted (inviter side)', () => {
  let t: TestApp;
  let token: string;
  test.beforeEach(async () => {
    t = await buildTestApp();
    token = (await t.core.invites.generate(t.core.users.get(EINSTEIN.id)!, {})).token;
  });
  test.afterEach(async () => {
    await t.close();
  });
  const accept = (body: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/ocm/invite-accepted', payload: body });
  const valid = () => ({ recipientProvider: PEER_DOMAIN, token, userID: 'remote-user-1', email: 'remote@example.org', name: 'Remote One' });

  test('a valid acceptance answers 200 with the inviter', async () => {
    const response = await accept(valid());
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ userID: EINSTEIN.id, email: 'einstein@example.org', name: EINSTEIN.displayName });
  });
  for (const field of ['recipientProvider', 'token', 'userID', 'email', 'name']) {
    test(`a missing ${field} is a 400 naming it`, async () => {
      const body: Record<string, unknown> = valid();
      delete body[field];
      const response = await accept(body);
      expect(response.statusCode).toBe(400);
      expect(response.json().validationErrors).toContainEqual({ name: field, message: 'REQUIRED' });
    });
  }
  test('recipientProvider must be host[:port], not a URL', async () => {
    const response = await accept({ ...valid(), recipientProvider: 'https://127.0.0.3:9999/' });
    expect(response.statusCode).toBe(400);
  });
  test('an unknown token is a 400', async () => {
    expect((await accept({ ...valid(), token: 'nope' })).statusCode).toBe(400);
  });
  test('an expired token is a 400', async () => {
    const invite = t.core.stores.invites.get(token)!;
    await t.core.stores.invites.put(token, { ...invite, expiresAt: invite.createdAt - 1 });
    expect((await accept(valid())).statusCode).toBe(400);
  });
  test('an untrusted provider is a 403', async () => {
    expect((await accept({ ...valid(), recipientProvider: 'evil.example.org' })).statusCode).toBe(403);
  });
  test('a second acceptance is a 409, even by another user', async () => {
    expect((await accept(valid())).statusCode).toBe(200);
    expect((await accept(valid())).statusCode).toBe(409);
    expect((await accept({ ...valid(), userID: 'remote-user-2' })).statusCode).toBe(409);
    expect(t.core.stores.contacts.size).toBe(1);
  });
  test('concurrent acceptances of one token: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => accept({ ...valid(), userID: `racer-${i}` })));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(19);
    expect(t.core.stores.contacts.size).toBe(1);
  });
});

test.describe('sciencemesh API', () => {
  let t: TestApp;
  test.beforeEach(async () => {
    t = await buildTestApp();
  });
  test.afterEach(async () => {
    await t.close();
  });
  for (const [method, url] of [
    ['POST', '/sciencemesh/generate-invite'],
    ['GET', '/sciencemesh/list-invite'],
    ['POST', '/sciencemesh/accept-invite'],
    ['GET', '/sciencemesh/find-accepted-users'],
    ['DELETE', '/sciencemesh/delete-accepted-user'],
    ['GET', '/sciencemesh/list-providers'],
  ] as const) {
    test(`${method} ${url} without a login is a 401 with a challenge`, async () => {
      const response = await t.app.inject({ method, url });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic/);
    });
  }
  test('a wrong password is a 401', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/sciencemesh/list-invite',
      headers: { authorization: basicAuth({ username: 'einstein', password: 'wrong' }) },
    });
    expect(response.statusCode).toBe(401);
  });
  test('generate-invite validates the recipient e-mail', async () => {
    for (const bad of ['user.example.com', 'user@.com', '@domain.com', 'user@domain..com']) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/sciencemesh/generate-invite',
        headers: { authorization: basicAuth(EINSTEIN) },
        payload: { recipient: bad },
      });
      expect(response.statusCode, bad).toBe(400);
    }
  });
  test("list-invite shows only the caller's unexpired tokens", async () => {
    const einstein = t.core.users.get(EINSTEIN.id)!;
    const mine = await t.core.invites.generate(einstein, {});
    await t.core.invites.generate(t.core.users.get(MARIE.id)!, {});
    await t.core.stores.invites.put('old', { token: 'old', userId: EINSTEIN.id, createdAt: 1, expiresAt: 2 });
    const response = await t.app.inject({
      method: 'GET',
      url: '/sciencemesh/list-invite',
      headers: { authorization: basicAuth(EINSTEIN) },
    });
    expect(response.json().map((i: { token: string }) => i.token)).toEqual([mine.token]);
  });
  test('accept-invite takes form fields too, and refuses a malformed invite string', async () => {
    const form = await t.app.inject({
      method: 'POST',
      url: '/sciencemesh/accept-invite',
      headers: { authorization: basicAuth(MARIE), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=x&providerDomain=evil.example.org',
    });
    expect(form.statusCode).toBe(403);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/sciencemesh/accept-invite',
      headers: { authorization: basicAuth(MARIE) },
      payload: { invite: '!!!' },
    });
    expect(bad.statusCode).toBe(400);
    const self = await t.app.inject({
      method: 'POST',
      url: '/sciencemesh/accept-invite',
      headers: { authorization: basicAuth(MARIE) },
      payload: { invite: encodeInviteString('t', t.core.domain) },
    });
    expect(self.statusCode).toBe(400);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/sciencemesh/accept-invite',
      headers: { authorization: basicAuth(MARIE) },
      payload: { token: 'x' },
    });
    expect(missing.statusCode).toBe(400);
  });
  test('delete-accepted-user removes a contact and answers 404 when nothing matched', async () => {
    await t.core.stores.contacts.put('c1', {
      id: 'c1',
      localUserId: EINSTEIN.id,
      remoteUserId: 'r1',
      remoteDomain: PEER_DOMAIN,
      name: 'R',
      email: 'r@x.org',
      createdAt: 1,
      origin: 'invite-sent',
    });
    const headers = { authorization: basicAuth(EINSTEIN) };
    const missing = await t.app.inject({
      method: 'DELETE',
      url: '/sciencemesh/delete-accepted-user',
      headers,
      payload: { idp: PEER_DOMAIN, user_id: 'nobody' },
    });
    expect(missing.statusCode).toBe(404);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: '/sciencemesh/delete-accepted-user',
      headers,
      payload: { idp: PEER_DOMAIN, user_id: 'r1' },
    });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().deleted.user_id).toBe('r1');
    expect(t.core.stores.contacts.size).toBe(0);
    // marie cannot delete einstein's contacts
    await t.core.stores.contacts.put('c2', {
      id: 'c2',
      localUserId: EINSTEIN.id,
      remoteUserId: 'r2',
      remoteDomain: PEER_DOMAIN,
      name: 'R',
      email: 'r@x.org',
      createdAt: 1,
      origin: 'invite-sent',
    });
    const other = await t.app.inject({
      method: 'DELETE',
      url: '/sciencemesh/delete-accepted-user',
      headers: { authorization: basicAuth(MARIE) },
      payload: { idp: PEER_DOMAIN, user_id: 'r2' },
    });
    expect(other.statusCode).toBe(404);
  });
  test('list-providers searches names and domains', async () => {
    const headers = { authorization: basicAuth(EINSTEIN) };
    const all = await t.app.inject({ method: 'GET', url: '/sciencemesh/list-providers', headers });
    expect(all.json()).toEqual([{ full_name: 'OCM conformance reference peer-0', domain: PEER_DOMAIN }]);
    const none = await t.app.inject({ method: 'GET', url: '/sciencemesh/list-providers?search=zzz', headers });
    expect(none.json()).toEqual([]);
  });
});

test('two `serve` processes on two loopback addresses complete the invitation workflow', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-procs-'));
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const origins = [`http://127.0.0.2:${portA}`, `http://127.0.0.3:${portB}`];
  const providers = await writeProvidersFile(dir, origins);
  const a = await spawnServe(['--host', '127.0.0.2', '--port', String(portA), '--data-dir', join(dir, 'a'), '--providers', providers]);
  const b = await spawnServe([
    '--host',
    '127.0.0.3',
    '--port',
    String(portB),
    '--data-dir',
    join(dir, 'b'),
    '--providers',
    providers,
  ]).catch(async (error) => {
    await a.stop();
    throw error;
  });
  try {
    const invite = await call(`${a.url}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
    const accepted = await call(`${b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { token: invite.body.token, providerDomain: `127.0.0.2:${portA}` },
    });
    expect(accepted.status).toBe(200);
    expect((await call(`${a.url}/sciencemesh/find-accepted-users`, { user: EINSTEIN })).body).toHaveLength(1);
    expect((await call(`${b.url}/sciencemesh/find-accepted-users`, { user: MARIE })).body).toHaveLength(1);
  } finally {
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  }
});
