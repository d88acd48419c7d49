/**
 * The HTTP front over gRPC (front/front-app.ts, decisions/0009), in one process
 * but on separate sockets: instance A is split (a back with the stores and
 * the CS3 services, a front that reaches it only through its gRPC and HTTP
 * ports), instance B is a plain instance. Checks which rpcs each surface
 * uses, that errors keep their HTTP answers across the split, that the front
 * checks signatures before it calls the unprotected rpcs, what happens when
 * the back is down or misconfigured, the `backend` settings, and that the
 * front's data dir stays empty.
 */
import { test, expect } from '@playwright/test';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { flagsToConfig } from './serve.ts';
import { buildConfig, PROJECT_ROOT, type ReferenceConfig } from '../reference/base/config.ts';
import { startInstance, type RunningInstance } from '../reference/main.ts';
import { freePort, providerEntry } from '../reference/pair.ts';
import { TrustedProviders } from '../reference/providers/trusted-providers.ts';
import { call } from '../reference/testing/client.ts';
import { EINSTEIN, MARIE } from '../reference/testing/harness.ts';
import { startFront, type RunningFront } from '../reference/front/front-app.ts';
import { createCoreShareRequest } from '../reference/front/from-cs3.ts';
import { RemoteReceivedShareService } from '../reference/front/backend-services.ts';
import { callUnary, ocmCoreApi } from '../reference/grpc/protos.ts';
import type { IncomingShare } from '../reference/core/received-shares.ts';
import * as grpc from '@grpc/grpc-js';

const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';
const logger = pino({ level: 'silent' });

let dir: string;
let backA: RunningInstance;
let frontA: RunningFront;
let b: RunningInstance;
let frontDir: string;
const rpcs: string[] = [];

function frontConfig(port: number, back: RunningInstance, extra: Partial<ReferenceConfig> = {}): ReferenceConfig {
  return buildConfig({ host: '127.0.0.2', port, dataDir: frontDir, backend: { grpc: back.grpcAddress!, http: back.url }, ...extra });
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-front-'));
  frontDir = join(dir, 'a-front');
  await mkdir(frontDir);
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const origins = [`http://127.0.0.2:${portA}`, `http://127.0.0.3:${portB}`];
  const providers = new TrustedProviders(origins.map((origin, i) => providerEntry(`p${i}`, origin)));
  // A's back listens elsewhere but advertises the front's URL: it is the same OCM server.
  backA = await startInstance(
    buildConfig({ host: '127.0.0.2', port: 0, grpcPort: 0, publicUrl: origins[0], dataDir: join(dir, 'a-back') }),
    { logger, providers },
  );
  frontA = await startFront(frontConfig(portA, backA), { logger, observer: (service, rpc) => rpcs.push(`${service}.${rpc}`) });
  b = await startInstance(buildConfig({ host: '127.0.0.3', port: portB, dataDir: join(dir, 'b') }), { logger, providers });
});

test.afterAll(async () => {
  await frontA?.close();
  await backA?.close();
  await b?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The rpcs the front made while `action` ran. */
async function rpcsDuring(action: () => Promise<unknown>): Promise<string[]> {
  const start = rpcs.length;
  await action();
  return rpcs.slice(start);
}

test('each surface of the front uses its rpcs; the other instance sees one OCM server', async () => {
  // sciencemesh over InviteAPI; B's accept-invite reaches A's front, whose /ocm/invite-accepted checks B's signature and calls AcceptInvite
  let invite: any;
  expect(
    await rpcsDuring(
      async () =>
        (invite = await call(`${frontA.url}/sciencemesh/generate-invite`, {
          method: 'POST',
          user: EINSTEIN,
          json: { recipient: 'marie@example.org' },
        })),
    ),
  ).toEqual(['inviteApi.GenerateInviteToken']);
  expect(invite.status).toBe(200);
  expect(invite.body.recipient).toBe('marie@example.org');
  expect((await call(`${frontA.url}/sciencemesh/list-invite`, { user: EINSTEIN })).body).toEqual([
    expect.objectContaining({ token: invite.body.token, invite_string: invite.body.invite_string }),
  ]);
  const accepted = await rpcsDuring(async () => {
    const answer = await call(`${b.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: MARIE,
      json: { invite: invite.body.invite_string },
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({
      user_id: EINSTEIN.id,
      idp: frontA.domain,
      display_name: 'Albert Einstein',
      mail: 'einstein@example.org',
    });
  });
  expect(accepted).toContain('inviteApi.AcceptInvite');
  expect(await rpcsDuring(() => call(`${frontA.url}/sciencemesh/find-accepted-users?search=curie`, { user: EINSTEIN }))).toEqual([
    'inviteApi.FindAcceptedUsers',
  ]);
  const providers = await call(`${frontA.url}/sciencemesh/list-providers`, { user: EINSTEIN });
  expect(providers.body.map((p: { domain: string }) => p.domain)).toEqual([frontA.domain, b.core.domain]);

  // OCS over OcmAPI: A shares with B
  let created: any;
  expect(
    await rpcsDuring(
      async () =>
        (created = await call(`${frontA.url}${OCS}/shares?format=json`, {
          method: 'POST',
          user: EINSTEIN,
          form: { shareType: '6', path: '/welcome.txt', shareWith: MARIE.id, shareWithProvider: b.core.domain },
        })),
    ),
  ).toEqual(['ocmApi.CreateOCMShare']);
  expect(created.status, created.text).toBe(200);
  expect(created.body.ocs.data).toMatchObject({
    item_type: 'file',
    share_with: MARIE.id,
    share_with_displayname: 'Marie Curie',
    permissions: 1,
    state: 1,
  });
  const received = b.core.receivedShares.listFor(b.core.users.get(MARIE.id)!)[0]!;
  await b.core.receivedShares.respond(b.core.users.get(MARIE.id)!, received.id, 'accepted');
  const listed = await call(`${frontA.url}${OCS}/shares`, { user: EINSTEIN });
  expect(listed.body.ocs.data).toEqual([
    expect.objectContaining({ id: created.body.ocs.data.id, state: 0, name: 'welcome.txt', path: '/welcome.txt' }),
  ]);

  // B reads A's share through A's front: Authenticate decides, the back serves the bytes
  const sent = backA.core.stores.sentShares.get(created.body.ocs.data.id)!;
  let read: any;
  expect(
    await rpcsDuring(
      async () => (read = await call(`${frontA.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${sent.sharedSecret}` } })),
    ),
  ).toEqual(['authProviderApi.Authenticate']);
  expect(read.status).toBe(200);
  expect(read.text).toBe(await readFile(join(PROJECT_ROOT, 'fixtures/files/welcome.txt'), 'utf8'));
  let wrong: any;
  expect(
    await rpcsDuring(async () => (wrong = await call(`${frontA.url}/dav/ocm/${sent.id}`, { headers: { authorization: 'Bearer wrong' } }))),
  ).toEqual(['authProviderApi.Authenticate']);
  expect(wrong.status).toBe(401);
  expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
  expect((await call(`${frontA.url}/dav/ocm/unknown-share`, { headers: { authorization: 'Bearer x' } })).status).toBe(404);

  // B shares with A: B's POST /ocm/shares is checked (signed by B) at A's front and becomes CreateOCMCoreShare
  const toA = await rpcsDuring(async () => {
    const answer = await call(`${b.url}${OCS}/shares?format=json`, {
      method: 'POST',
      user: MARIE,
      form: { shareType: '6', path: '/project', shareWith: EINSTEIN.id, shareWithProvider: frontA.domain, role: 'editor' },
    });
    expect(answer.status, answer.text).toBe(200);
    // the recipient's display name came back from A's front
    expect(answer.body.ocs.data.share_with_displayname).toBe('Albert Einstein');
  });
  expect(toA).toEqual(['ocmCoreApi.CreateOCMCoreShare']);
  const pending = await call(`${frontA.url}${OCS}/shares?shared_with_me=true&state=1`, { user: EINSTEIN });
  expect(pending.body.ocs.data).toEqual([
    expect.objectContaining({ name: 'project', item_type: 'folder', state: 1, displayname_owner: 'Marie Curie', permissions: 15 }),
  ]);
  const incoming = pending.body.ocs.data[0];
  // not accepted yet: the gate answers from GetReceivedOCMShare
  expect(
    await rpcsDuring(async () =>
      expect((await call(`${frontA.url}/dav/ocm-received/${incoming.id}`, { method: 'PROPFIND', user: EINSTEIN })).status).toBe(403),
    ),
  ).toEqual(['ocmApi.GetReceivedOCMShare']);
  const acceptRpcs = await rpcsDuring(async () =>
    expect((await call(`${frontA.url}${OCS}/shares/pending/${incoming.id}`, { method: 'POST', user: EINSTEIN })).status).toBe(200),
  );
  expect(acceptRpcs).toEqual(['ocmApi.GetReceivedOCMShare', 'ocmApi.UpdateReceivedOCMShare', 'ocmApi.GetReceivedOCMShare']);
  expect(b.core.stores.sentShares.filter((s) => s.state === 'accepted')).toHaveLength(1);
  const child = await call(`${frontA.url}/dav/ocm-received/${incoming.id}/notes.md`, { user: EINSTEIN });
  expect(child.status).toBe(200);
  // the second accept is refused as in-process (409), not answered OK as UpdateReceivedOCMShare would
  const again = await call(`${frontA.url}${OCS}/shares/pending/${incoming.id}`, { method: 'POST', user: EINSTEIN });
  expect(again.status).toBe(409);
  expect(again.body.ocs.meta.message).toContain('already accepted');
  // B unshares: its notification reaches A's front and is relayed to A's back (no rpc expresses it)
  const notified = await rpcsDuring(async () =>
    expect((await call(`${b.url}${OCS}/shares/${incoming.remote_id}`, { method: 'DELETE', user: MARIE })).status).toBe(200),
  );
  expect(notified).toEqual([]);
  expect(backA.core.stores.receivedShares.size).toBe(0);
});

test('errors keep their HTTP answers across the split', async () => {
  const bad = await call(`${frontA.url}/sciencemesh/generate-invite`, {
    method: 'POST',
    user: { username: 'einstein', password: 'wrong' },
  });
  expect(bad.status).toBe(401);
  expect(bad.headers.get('www-authenticate')).toContain('Basic');
  const accept = (json: Record<string, string>) =>
    call(`${frontA.url}/sciencemesh/accept-invite`, { method: 'POST', user: EINSTEIN, json });
  expect((await accept({ token: 'x', providerDomain: frontA.domain })).body.code).toBe('SELF_INVITE');
  expect(await accept({ token: 'x', providerDomain: 'unknown.example.org' })).toMatchObject({
    status: 403,
    body: { code: 'PROVIDER_NOT_TRUSTED' },
  });
  expect(await accept({ token: 'no-such-token', providerDomain: b.core.domain })).toMatchObject({
    status: 400,
    body: { code: 'INVITE_TOKEN_INVALID' },
  });
  const used = await call(`${b.url}/sciencemesh/generate-invite`, { method: 'POST', user: MARIE });
  await b.core.invites.redeem({
    recipientProvider: frontA.domain,
    token: used.body.token,
    userID: 'someone-else',
    email: 'x@example.org',
    name: 'X',
  });
  expect(await accept({ token: used.body.token, providerDomain: b.core.domain })).toMatchObject({
    status: 409,
    body: { code: 'INVITE_ALREADY_ACCEPTED' },
  });
  const deleted = await call(`${frontA.url}/sciencemesh/delete-accepted-user`, {
    method: 'DELETE',
    user: EINSTEIN,
    json: { idp: b.core.domain, user_id: 'nobody' },
  });
  expect(deleted).toMatchObject({ status: 404, body: { code: 'CONTACT_NOT_FOUND' } });

  const share = (form: Record<string, string>) =>
    call(`${frontA.url}${OCS}/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', shareWith: MARIE.id, shareWithProvider: b.core.domain, path: '/welcome.txt', ...form },
    });
  expect((await share({ shareWith: 'nobody' })).status).toBe(404);
  expect((await share({ shareWithProvider: 'unknown.example.org' })).status).toBe(403);
  expect((await share({ path: '/no/such/file' })).status).toBe(404);
  expect((await share({ path: '/' })).status).toBe(404);
  expect((await share({ path: '/../../etc/passwd' })).status).toBe(404);
  expect((await share({ shareWithProvider: frontA.domain })).status).toBe(400);
  // the same resource again with the same grantee: CreateOCMShare refuses it (the cs3apis contract; in process OCS allows it)
  const duplicate = await share({});
  expect(duplicate.status).toBe(409);
  expect(duplicate.body.ocs.meta.message).toContain('already shared');
  expect((await call(`${frontA.url}${OCS}/shares/unknown`, { user: EINSTEIN })).status).toBe(404);
  expect((await call(`${frontA.url}${OCS}/shares/unknown`, { method: 'DELETE', user: EINSTEIN })).status).toBe(404);
  expect((await call(`${frontA.url}${OCS}/shares/pending/unknown`, { method: 'POST', user: EINSTEIN })).status).toBe(404);
  expect(await call(`${frontA.url}/dav/ocm-received/unknown`, { user: EINSTEIN })).toMatchObject({
    status: 404,
    body: { code: 'SHARE_NOT_FOUND' },
  });
  expect((await call(`${frontA.url}/dav/ocm-received/unknown`)).status).toBe(401);

  // the front checks signatures before the unprotected rpcs: an unsigned acceptance in the name of B (which signs) never reaches AcceptInvite
  const forged = await rpcsDuring(async () => {
    const answer = await call(`${frontA.url}/ocm/invite-accepted`, {
      method: 'POST',
      json: { recipientProvider: b.core.domain, token: 'guess', userID: 'mallory', email: 'm@example.org', name: 'Mallory' },
    });
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('SIGNATURE_REQUIRED');
  });
  expect(forged).toEqual([]);
  // and schema-checks them: a share without fields is a 400 without an rpc
  expect(
    await rpcsDuring(async () =>
      expect((await call(`${frontA.url}/ocm/shares`, { method: 'POST', json: { name: 'x' } })).status).toBe(400),
    ),
  ).toEqual([]);
});

test('what CS3 cannot say travels in opaque: the OCM protocol object with its requirements, display names', async () => {
  const incoming: IncomingShare = {
    shareWith: `${EINSTEIN.id}@${frontA.domain}`,
    name: 'needs-exchange.txt',
    providerId: `p-${Date.now()}`,
    owner: `${MARIE.id}@${b.core.domain}`,
    sender: `${MARIE.id}@${b.core.domain}`,
    ownerDisplayName: 'Marie Curie',
    senderDisplayName: 'Marie Curie',
    shareType: 'user',
    resourceType: 'file',
    protocol: {
      name: 'webdav',
      webdav: { uri: `${b.url}/dav/ocm/x`, sharedSecret: 's3cret', permissions: ['read'], requirements: ['must-exchange-token'] },
    },
  };
  const client = new ocmCoreApi(backA.grpcAddress!, grpc.credentials.createInsecure());
  try {
    const request = createCoreShareRequest(incoming);
    const created = await callUnary(client, 'CreateOCMCoreShare', request, { deadlineMs: 10_000 });
    expect(created.status.code, created.status.message).toBe('CODE_OK');
    const stored = backA.core.stores.receivedShares.get(created.id)!;
    expect(stored.protocols).toEqual({
      encoding: 'single',
      webdav: { uri: `${b.url}/dav/ocm/x`, sharedSecret: 's3cret', permissions: ['read'], requirements: ['must-exchange-token'] },
    });
    expect(stored.ownerDisplayName).toBe('Marie Curie');
    // and back out through GetReceivedOCMShare, as the front reads it
    const einstein = backA.core.users.get(EINSTEIN.id)!;
    const front = new RemoteReceivedShareService(frontA.backend, backA.core.users);
    const seen = await front.getFor(einstein, created.id);
    expect(seen).toMatchObject({
      id: created.id,
      providerId: incoming.providerId,
      senderDomain: b.core.domain,
      ownerDisplayName: 'Marie Curie',
      state: 'pending',
      resourceType: 'file',
    });
    expect(seen!.protocols.webdav).toEqual({
      uri: `${b.url}/dav/ocm/x`,
      sharedSecret: 's3cret',
      permissions: ['read'],
      requirements: ['must-exchange-token'],
    });
    // opaque that is not an OCM protocol object is bad input, not a crash
    for (const value of ['{nope', '[1]', '"text"']) {
      const bad = await callUnary(
        client,
        'CreateOCMCoreShare',
        { ...request, resource_id: `other-${value}`, opaque: { map: { 'ocm-protocol': { decoder: 'json', value: Buffer.from(value) } } } },
        { deadlineMs: 10_000 },
      );
      expect(bad.status.code, value).toBe('CODE_INVALID_ARGUMENT');
    }
    // a protocol object that breaks the OCM schema is refused like the HTTP body would be
    const invalid = await callUnary(
      client,
      'CreateOCMCoreShare',
      {
        ...request,
        resource_id: 'schema',
        opaque: { map: { 'ocm-protocol': { decoder: 'json', value: Buffer.from('{"name":"webdav","webdav":{"permissions":"all"}}') } } },
      },
      { deadlineMs: 10_000 },
    );
    expect(invalid.status.code).toBe('CODE_INVALID_ARGUMENT');
    await backA.core.receivedShares.removeReceived(created.id);
  } finally {
    client.close();
  }
});

test("the front's data dir stays empty; the back has the stores and keys", async () => {
  expect(await readdir(frontDir)).toEqual([]);
  expect((await readdir(join(dir, 'a-back'))).some((name) => name.startsWith('sent-shares'))).toBe(true);
  const discovery = await call(`${frontA.url}/.well-known/ocm`);
  expect(discovery.body).toMatchObject({ endPoint: `${frontA.url}/ocm`, jwksUri: `${frontA.url}/ocm/jwks` });
  const jwks = await call(`${frontA.url}/ocm/jwks`);
  expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual(backA.core.signingKeys!.keys.map((k) => k.kid));
});

test('a back that advertises another public URL, or none at all, stops the front from starting', async () => {
  const port = await freePort('127.0.0.2');
  await expect(startFront(frontConfig(port, backA), { logger })).rejects.toThrow(`start it with --public-url http://127.0.0.2:${port}`);
  const down = buildConfig({
    host: '127.0.0.2',
    port,
    dataDir: frontDir,
    backend: { grpc: `127.0.0.2:${await freePort('127.0.0.2')}`, http: 'http://127.0.0.2:9' },
  });
  await expect(startFront(down, { logger })).rejects.toThrow(/cannot read the trust list from the gRPC backend/);
});

test('the back going down: the front answers 500 (a fault of this server), it does not fall back on anything local', async () => {
  await backA.close();
  const list = await call(`${frontA.url}/sciencemesh/find-accepted-users`, { user: EINSTEIN });
  // find-accepted-users declares no 500: the response check replaces the answer, still a 500
  expect(list.status).toBe(500);
  const invite = await call(`${frontA.url}/sciencemesh/accept-invite`, {
    method: 'POST',
    user: EINSTEIN,
    json: { token: 't', providerDomain: b.core.domain },
  });
  expect(invite.status).toBe(500);
  const ocs = await call(`${frontA.url}${OCS}/shares`, { user: EINSTEIN });
  expect(ocs.status).toBe(500);
  expect(ocs.body.ocs.meta.message).toBe('This server cannot reach its gRPC backend');
  const relayed = await call(`${frontA.url}/.well-known/ocm`);
  expect(relayed).toMatchObject({ status: 500, body: { code: 'INTERNAL', message: 'This server cannot reach its HTTP backend' } });
  expect(relayed.text).not.toContain(backA.url);
  expect(await readdir(frontDir)).toEqual([]);
});

test('backend settings: both addresses, checked up front, merged across layers, from flags', () => {
  const base = { host: '127.0.0.2', port: 8080 };
  expect(() => buildConfig({ ...base, backend: { grpc: 'nohost', http: 'http://127.0.0.1:1' } })).toThrow('backend.grpc must be host:port');
  expect(() => buildConfig({ ...base, backend: { grpc: '127.0.0.1:99999', http: 'http://127.0.0.1:1' } })).toThrow('backend.grpc');
  expect(() => buildConfig({ ...base, backend: { grpc: '127.0.0.1:5000' } as never })).toThrow('backend.http must be the origin');
  expect(() => buildConfig({ ...base, backend: { grpc: '127.0.0.1:5000', http: 'http://127.0.0.1:1/path' } })).toThrow('backend.http');
  expect(() => buildConfig({ ...base, backend: { grpc: '127.0.0.1:5000', http: 'http://127.0.0.1:1', other: 1 } as never })).toThrow(
    'unknown setting "backend.other"',
  );
  expect(() => buildConfig({ ...base, grpcPort: 9000, backend: { grpc: '127.0.0.1:5000', http: 'http://127.0.0.1:1' } })).toThrow(
    'grpcPort and backend exclude each other',
  );
  expect(
    buildConfig(base, { backend: { grpc: '[::1]:5000' } as never }, { backend: { http: 'http://127.0.0.1:1/' } as never }).backend,
  ).toEqual({ grpc: '[::1]:5000', http: 'http://127.0.0.1:1' });
  expect(buildConfig(base).backend).toBeUndefined();
  expect(flagsToConfig({ grpcBackend: '127.0.0.1:5000', httpBackend: 'http://127.0.0.1:8081' }).backend).toEqual({
    grpc: '127.0.0.1:5000',
    http: 'http://127.0.0.1:8081',
  });
  expect(flagsToConfig({}).backend).toBeUndefined();
});
