/**
 * The five CS3 services over real gRPC on a loopback port: success and every
 * documented error status per rpc, callers from metadata, and malformed
 * requests (missing fields, unknown enum values, bytes that do not decode),
 * which must answer with a status while the server keeps serving.
 */
import { test, expect } from '@playwright/test';
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCore, type Core } from '../app.ts';
import { buildConfig } from '../base/config.ts';
import type { IncomingShare } from '../core/received-shares.ts';
import type { LocalUser } from '../stores/records.ts';
import { startPair, providerEntry, type Pair } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { basicAuth, buildTestApp, EINSTEIN, MARIE, PEER_DOMAIN, validShare, type TestApp } from '../testing/harness.ts';
import { authProviderApi, callUnary, inviteApi, ocmApi, ocmCoreApi, providerApi } from './protos.ts';
import { startGrpcServer, type RunningGrpcServer } from './server.ts';
import { readCatalogueDetail } from './status.ts';

const OUR_DOMAIN = '127.0.0.2:8080';
const UNPROTECTED = new Set([
  'IsProviderAllowed',
  'GetInfoByDomain',
  'ListAllProviders',
  'AcceptInvite',
  'GetAcceptedUser',
  'GetOCMShareByToken',
  'CreateOCMCoreShare',
  'UpdateOCMCoreShare',
  'DeleteOCMCoreShare',
  'Authenticate',
]);

type Any = Record<string, any>;

interface Clients {
  provider: grpc.Client;
  invite: grpc.Client;
  ocm: grpc.Client;
  core: grpc.Client;
  auth: grpc.Client;
}

function clientsFor(target: string): Clients {
  const insecure = grpc.credentials.createInsecure();
  return {
    provider: new providerApi(target, insecure),
    invite: new inviteApi(target, insecure),
    ocm: new ocmApi(target, insecure),
    core: new ocmCoreApi(target, insecure),
    auth: new authProviderApi(target, insecure),
  };
}

function closeClients(clients: Clients) {
  for (const client of Object.values(clients)) client.close();
}

function as(user: { username: string; password: string }): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', basicAuth(user));
  return metadata;
}

const einstein = () => as(EINSTEIN);
const marie = () => as(MARIE);

function rpc(client: grpc.Client, method: string, request: Any = {}, metadata?: grpc.Metadata): Promise<Any> {
  return callUnary(client, method, request, { deadlineMs: 10_000, ...(metadata ? { metadata } : {}) });
}

function code(response: Any): string {
  return response.status?.code;
}

const plain = (value: string) => ({ decoder: 'plain', value: Buffer.from(value) });
const json = (value: unknown) => ({ decoder: 'json', value: Buffer.from(JSON.stringify(value)) });

function webdavProtocol(extra: Any = {}, permissions: Any = { initiate_file_download: true, stat: true }): Any {
  return {
    webdav_options: {
      shared_secret: 'a-secret-of-enough-length-000000',
      permissions: { permissions },
      uri: `http://${PEER_DOMAIN}/dav/ocm/abc`,
      ...extra,
    },
  };
}

function coreShare(overrides: Any = {}): Any {
  return {
    name: 'report.pdf',
    description: 'quarterly report',
    resource_id: `remote-${Math.random().toString(36).slice(2)}`,
    owner: { idp: `https://${PEER_DOMAIN}`, opaque_id: 'owner-1', type: 'USER_TYPE_FEDERATED' },
    sender: { idp: `https://${PEER_DOMAIN}`, opaque_id: 'sender-1', type: 'USER_TYPE_FEDERATED' },
    share_with: { idp: OUR_DOMAIN, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' },
    resource_type: 'RESOURCE_TYPE_FILE',
    share_type: 'SHARE_TYPE_USER',
    protocols: [webdavProtocol()],
    ...overrides,
  };
}

// ---------------------------------------------------------------------------
// one instance (the trusted peer 127.0.0.3:9999 does not listen)

test.describe('one instance', () => {
  let t: TestApp;
  let server: RunningGrpcServer;
  let c: Clients;
  let core: Core;

  test.beforeEach(async () => {
    t = await buildTestApp();
    core = t.core;
    server = await startGrpcServer(core, { host: '127.0.0.1', port: 0 });
    c = clientsFor(`127.0.0.1:${server.port}`);
  });
  test.afterEach(async () => {
    closeClients(c);
    await server.close();
    await t.close();
  });

  const user = (id: string): LocalUser => core.users.get(id)!;

  test('ProviderAPI: IsProviderAllowed, GetInfoByDomain, ListAllProviders', async () => {
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { domain: PEER_DOMAIN } }))).toBe('CODE_OK');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { domain: `https://${PEER_DOMAIN}/` } }))).toBe('CODE_OK');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { domain: 'evil.example.org' } }))).toBe('CODE_UNAUTHENTICATED');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', {}))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { name: 'x' } }))).toBe('CODE_INVALID_ARGUMENT');

    const info = await rpc(c.provider, 'GetInfoByDomain', { domain: PEER_DOMAIN });
    expect(code(info)).toBe('CODE_OK');
    expect(info.provider_info).toMatchObject({ name: 'peer-0', domain: PEER_DOMAIN });
    expect(info.provider_info.services[0].endpoint).toMatchObject({
      type: { name: 'OCM' },
      path: `http://${PEER_DOMAIN}/ocm/`,
      is_monitored: true,
    });
    const miss = await rpc(c.provider, 'GetInfoByDomain', { domain: 'nowhere.example.org' });
    expect(code(miss)).toBe('CODE_NOT_FOUND');
    expect(miss.provider_info).toBeNull();
    expect(code(await rpc(c.provider, 'GetInfoByDomain', { domain: '' }))).toBe('CODE_INVALID_ARGUMENT');

    const all = await rpc(c.provider, 'ListAllProviders');
    expect(code(all)).toBe('CODE_OK');
    expect(all.providers.map((p: Any) => p.domain)).toEqual([PEER_DOMAIN]);
  });

  test('InviteAPI: GenerateInviteToken and ListInviteTokens act for the caller', async () => {
    const generated = await rpc(c.invite, 'GenerateInviteToken', { description: 'for marie' }, einstein());
    expect(code(generated)).toBe('CODE_OK');
    const token = generated.invite_token;
    expect(token.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(token.user_id).toEqual({ idp: OUR_DOMAIN, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' });
    expect(Number(token.expiration.seconds)).toBeGreaterThan(Date.now() / 1000);
    expect(token.description).toBe('for marie');
    expect(core.stores.invites.get(token.token)?.userId).toBe(EINSTEIN.id);

    const listed = await rpc(c.invite, 'ListInviteTokens', {}, einstein());
    expect(code(listed)).toBe('CODE_OK');
    expect(listed.invite_tokens.map((i: Any) => i.token)).toEqual([token.token]);
    expect((await rpc(c.invite, 'ListInviteTokens', {}, marie())).invite_tokens).toEqual([]);

    expect(code(await rpc(c.invite, 'GenerateInviteToken', {}))).toBe('CODE_UNAUTHENTICATED');
    expect(code(await rpc(c.invite, 'ListInviteTokens', {}))).toBe('CODE_UNAUTHENTICATED');
    expect(code(await rpc(c.invite, 'GenerateInviteToken', {}, as({ username: 'einstein', password: 'wrong' })))).toBe(
      'CODE_UNAUTHENTICATED',
    );
    const garbage = new grpc.Metadata();
    garbage.set('authorization', 'Bearer something');
    expect(code(await rpc(c.invite, 'ListInviteTokens', {}, garbage))).toBe('CODE_UNAUTHENTICATED');
  });

  test('InviteAPI: AcceptInvite redeems a token (unprotected) with each refusal', async () => {
    const invite = await core.invites.generate(user(EINSTEIN.id), {});
    const remoteUser = (idp: string) => ({
      id: { idp, opaque_id: 'remote-1', type: 'USER_TYPE_FEDERATED' },
      mail: 'r@example.org',
      display_name: 'Remote One',
    });

    expect(
      code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: invite.token }, remote_user: remoteUser('evil.example.org') })),
    ).toBe('CODE_PERMISSION_DENIED');
    const accepted = await rpc(c.invite, 'AcceptInvite', {
      invite_token: { token: invite.token },
      remote_user: remoteUser(`https://${PEER_DOMAIN}`),
    });
    expect(code(accepted)).toBe('CODE_OK');
    expect(accepted).toMatchObject({
      user_id: { idp: OUR_DOMAIN, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' },
      email: 'einstein@example.org',
      display_name: 'Albert Einstein',
    });
    expect(core.invites.findContact(EINSTEIN.id, 'remote-1', PEER_DOMAIN)).toMatchObject({ name: 'Remote One', email: 'r@example.org' });

    expect(code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: invite.token }, remote_user: remoteUser(PEER_DOMAIN) }))).toBe(
      'CODE_ALREADY_EXISTS',
    );
    expect(
      code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: 'no-such-token' }, remote_user: remoteUser(PEER_DOMAIN) })),
    ).toBe('CODE_NOT_FOUND');

    const old = await core.invites.generate(user(EINSTEIN.id), {});
    await core.stores.invites.put(old.token, { ...old, expiresAt: old.createdAt - 1 });
    expect(code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: old.token }, remote_user: remoteUser(PEER_DOMAIN) }))).toBe(
      'CODE_INVALID_ARGUMENT',
    );

    expect(code(await rpc(c.invite, 'AcceptInvite', { remote_user: remoteUser(PEER_DOMAIN) }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: old.token } }))).toBe('CODE_INVALID_ARGUMENT');
    expect(
      code(await rpc(c.invite, 'AcceptInvite', { invite_token: { token: old.token }, remote_user: { id: { idp: PEER_DOMAIN } } })),
    ).toBe('CODE_INVALID_ARGUMENT');
  });

  test('InviteAPI: GetAcceptedUser, FindAcceptedUsers, DeleteAcceptedUser', async () => {
    const invite = await core.invites.generate(user(EINSTEIN.id), {});
    await core.invites.redeem({
      recipientProvider: PEER_DOMAIN,
      token: invite.token,
      userID: 'remote-1',
      email: 'r@example.org',
      name: 'Remote One',
    });
    const remoteId = { idp: `https://${PEER_DOMAIN}`, opaque_id: 'remote-1' };
    const expected = {
      id: { idp: PEER_DOMAIN, opaque_id: 'remote-1', type: 'USER_TYPE_FEDERATED' },
      mail: 'r@example.org',
      display_name: 'Remote One',
    };

    const asCaller = await rpc(c.invite, 'GetAcceptedUser', { remote_user_id: remoteId }, einstein());
    expect(code(asCaller)).toBe('CODE_OK');
    expect(asCaller.remote_user).toMatchObject(expected);
    const byFilter = await rpc(c.invite, 'GetAcceptedUser', {
      remote_user_id: remoteId,
      opaque: { map: { 'user-filter': json({ idp: OUR_DOMAIN, opaque_id: EINSTEIN.id, type: 1 }) } },
    });
    expect(code(byFilter)).toBe('CODE_OK');
    expect(byFilter.remote_user).toMatchObject(expected);
    expect(code(await rpc(c.invite, 'GetAcceptedUser', { remote_user_id: remoteId }, marie()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.invite, 'GetAcceptedUser', { remote_user_id: { idp: PEER_DOMAIN, opaque_id: 'nobody' } }, einstein()))).toBe(
      'CODE_NOT_FOUND',
    );
    expect(
      code(
        await rpc(c.invite, 'GetAcceptedUser', {
          remote_user_id: remoteId,
          opaque: { map: { 'user-filter': json({ opaque_id: 'nobody' }) } },
        }),
      ),
    ).toBe('CODE_NOT_FOUND');
    expect(
      code(await rpc(c.invite, 'GetAcceptedUser', { remote_user_id: remoteId, opaque: { map: { 'user-filter': plain('{not json') } } })),
    ).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.invite, 'GetAcceptedUser', { remote_user_id: remoteId }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.invite, 'GetAcceptedUser', {}, einstein()))).toBe('CODE_INVALID_ARGUMENT');

    const all = await rpc(c.invite, 'FindAcceptedUsers', { filter: '' }, einstein());
    expect(code(all)).toBe('CODE_OK');
    expect(all.accepted_users).toHaveLength(1);
    expect(all.accepted_users[0]).toMatchObject(expected);
    expect((await rpc(c.invite, 'FindAcceptedUsers', { filter: 'REMOTE one' }, einstein())).accepted_users).toHaveLength(1);
    expect((await rpc(c.invite, 'FindAcceptedUsers', { filter: 'zzz' }, einstein())).accepted_users).toHaveLength(0);
    expect((await rpc(c.invite, 'FindAcceptedUsers', {}, marie())).accepted_users).toHaveLength(0);
    expect(code(await rpc(c.invite, 'FindAcceptedUsers', {}))).toBe('CODE_UNAUTHENTICATED');

    expect(code(await rpc(c.invite, 'DeleteAcceptedUser', { remote_user_id: remoteId }, marie()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.invite, 'DeleteAcceptedUser', { remote_user_id: remoteId }, einstein()))).toBe('CODE_OK');
    expect(core.invites.findContacts(user(EINSTEIN.id))).toEqual([]);
    expect(code(await rpc(c.invite, 'DeleteAcceptedUser', { remote_user_id: remoteId }, einstein()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.invite, 'DeleteAcceptedUser', {}, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.invite, 'DeleteAcceptedUser', { remote_user_id: remoteId }))).toBe('CODE_UNAUTHENTICATED');
  });

  test('InviteAPI: ForwardInvite refusals that need no live peer', async () => {
    const forward = (domain: string, token = 'some-token') =>
      rpc(c.invite, 'ForwardInvite', { invite_token: { token }, origin_system_provider: { domain } }, marie());
    expect(code(await forward(OUR_DOMAIN))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await forward('evil.example.org'))).toBe('CODE_PERMISSION_DENIED');
    expect(code(await forward(`https://${PEER_DOMAIN}`))).toBe('CODE_UNAVAILABLE');
    expect(code(await forward(PEER_DOMAIN, ''))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.invite, 'ForwardInvite', { invite_token: { token: 'x' } }, marie()))).toBe('CODE_INVALID_ARGUMENT');
    expect(
      code(await rpc(c.invite, 'ForwardInvite', { invite_token: { token: 'x' }, origin_system_provider: { domain: PEER_DOMAIN } })),
    ).toBe('CODE_UNAUTHENTICATED');
  });

  test('OcmCoreAPI: CreateOCMCoreShare stores a pending received share, with each refusal', async () => {
    const request = coreShare();
    const created = await rpc(c.core, 'CreateOCMCoreShare', request);
    expect(code(created), created.status.message).toBe('CODE_OK');
    expect(Number(created.created.seconds)).toBeGreaterThan(0);
    const record = core.stores.receivedShares.get(created.id)!;
    expect(record).toMatchObject({
      providerId: request.resource_id,
      localUserId: EINSTEIN.id,
      owner: `owner-1@${PEER_DOMAIN}`,
      sender: `sender-1@${PEER_DOMAIN}`,
      shareType: 'user',
      resourceType: 'file',
      state: 'pending',
      description: 'quarterly report',
      protocols: {
        webdav: { sharedSecret: 'a-secret-of-enough-length-000000', permissions: ['read'], uri: `http://${PEER_DOMAIN}/dav/ocm/abc` },
      },
    });

    const again = await rpc(c.core, 'CreateOCMCoreShare', request);
    expect(code(again)).toBe('CODE_ALREADY_EXISTS');
    const untrusted = { idp: 'evil.example.org', opaque_id: 'sender-1' };
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ sender: untrusted, owner: untrusted })))).toBe(
      'CODE_PERMISSION_DENIED',
    );
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_with: { idp: OUR_DOMAIN, opaque_id: 'nobody' } })))).toBe(
      'CODE_NOT_FOUND',
    );
    expect(
      code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_with: { idp: 'elsewhere.example.org', opaque_id: EINSTEIN.id } }))),
    ).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_type: 'SHARE_TYPE_GROUP' })))).toBe('CODE_UNIMPLEMENTED');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ resource_type: 'RESOURCE_TYPE_SYMLINK' })))).toBe('CODE_UNIMPLEMENTED');
    expect(
      code(
        await rpc(
          c.core,
          'CreateOCMCoreShare',
          coreShare({ protocols: [{ webapp_options: { uri_template: 'https://x/{token}', view_mode: 'VIEW_MODE_READ_ONLY' } }] }),
        ),
      ),
    ).toBe('CODE_UNIMPLEMENTED');
    // malformed: missing fields, unset or unknown enums, an empty secret, no protocols
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ name: '' })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ resource_id: '' })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ owner: null })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_with: null })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_type: 'SHARE_TYPE_INVALID' })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ share_type: 42 })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ resource_type: 77 })))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ protocols: [webdavProtocol({ shared_secret: '' })] })))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', coreShare({ protocols: [] })))).toBe('CODE_INVALID_ARGUMENT');
    // the depth check the HTTP POST /shares gets (core/request-bodies.ts), on the opaque protocol object a front passes on
    let deep: Any = { permissions: ['read'] };
    for (let i = 0; i < 200; i++) deep = { nested: deep };
    const tooDeep = await rpc(
      c.core,
      'CreateOCMCoreShare',
      coreShare({
        opaque: { map: { 'ocm-protocol': { decoder: 'json', value: Buffer.from(JSON.stringify({ name: 'webdav', webdav: deep })) } } },
      }),
    );
    expect(code(tooDeep)).toBe('CODE_INVALID_ARGUMENT');
    expect(JSON.parse(Buffer.from(tooDeep.status.InnerError.value).toString('utf8'))).toMatchObject({ ocmErrorCode: 'BODY_TOO_DEEP' });
    expect(code(await rpc(c.core, 'CreateOCMCoreShare', {}))).toBe('CODE_INVALID_ARGUMENT');
    // reva's ocmd sends the resource type in opaque as well; it is enough on its own
    const viaOpaque = await rpc(
      c.core,
      'CreateOCMCoreShare',
      coreShare({ resource_type: 'RESOURCE_TYPE_INVALID', opaque: { map: { resourceType: plain('folder') } } }),
    );
    expect(code(viaOpaque)).toBe('CODE_OK');
    expect(core.stores.receivedShares.get(viaOpaque.id)?.resourceType).toBe('folder');
  });

  test('OcmCoreAPI: UpdateOCMCoreShare and DeleteOCMCoreShare need the grantee', async () => {
    const request = coreShare();
    const { id } = await rpc(c.core, 'CreateOCMCoreShare', request);
    const grantee = { map: { grantee: plain(`${EINSTEIN.id}@${OUR_DOMAIN}`) } };
    const readWrite = [webdavProtocol({}, { initiate_file_download: true, initiate_file_upload: true })];

    expect(code(await rpc(c.core, 'UpdateOCMCoreShare', { ocm_share_id: request.resource_id, protocols: readWrite }))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await rpc(c.core, 'UpdateOCMCoreShare', { ocm_share_id: request.resource_id, opaque: grantee }))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(
      code(
        await rpc(c.core, 'UpdateOCMCoreShare', {
          ocm_share_id: request.resource_id,
          opaque: grantee,
          protocols: [{ webapp_options: { uri_template: 'x' } }],
        }),
      ),
    ).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'UpdateOCMCoreShare', { ocm_share_id: 'unknown', opaque: grantee, protocols: readWrite }))).toBe(
      'CODE_NOT_FOUND',
    );
    expect(
      code(
        await rpc(c.core, 'UpdateOCMCoreShare', {
          ocm_share_id: request.resource_id,
          opaque: { map: { grantee: plain(`${MARIE.id}@${OUR_DOMAIN}`) } },
          protocols: readWrite,
        }),
      ),
    ).toBe('CODE_NOT_FOUND');
    expect(
      code(
        await rpc(c.core, 'UpdateOCMCoreShare', {
          ocm_share_id: request.resource_id,
          opaque: { map: { grantee: plain(`${EINSTEIN.id}@elsewhere.example.org`) } },
          protocols: readWrite,
        }),
      ),
    ).toBe('CODE_NOT_FOUND');
    const updated = await rpc(c.core, 'UpdateOCMCoreShare', { ocm_share_id: request.resource_id, opaque: grantee, protocols: readWrite });
    expect(code(updated)).toBe('CODE_OK');
    expect(core.stores.receivedShares.get(id)?.protocols.webdav?.permissions).toEqual(['read', 'write']);
    expect(core.stores.receivedShares.get(id)?.protocols.webdav?.sharedSecret).toBe('a-secret-of-enough-length-000000');

    expect(code(await rpc(c.core, 'DeleteOCMCoreShare', { id: request.resource_id }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'DeleteOCMCoreShare', { opaque: grantee }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.core, 'DeleteOCMCoreShare', { id: 'unknown', opaque: grantee }))).toBe('CODE_NOT_FOUND');
    // the grantee as a JSON UserId works too
    const jsonGrantee = { map: { grantee: json({ idp: `https://${OUR_DOMAIN}`, opaque_id: EINSTEIN.id }) } };
    expect(code(await rpc(c.core, 'DeleteOCMCoreShare', { id: request.resource_id, opaque: jsonGrantee }))).toBe('CODE_OK');
    expect(core.stores.receivedShares.get(id)).toBeUndefined();
    expect(code(await rpc(c.core, 'DeleteOCMCoreShare', { id: request.resource_id, opaque: grantee }))).toBe('CODE_NOT_FOUND');
  });

  test('OcmAPI receiver side: ListReceivedOCMShares pages, GetReceivedOCMShare finds by id or remote id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await core.receivedShares.receive(validShare({ name: `file-${i}.txt` }) as unknown as IncomingShare)).record.id);

    const all = await rpc(c.ocm, 'ListReceivedOCMShares', {}, einstein());
    expect(code(all)).toBe('CODE_OK');
    expect(all.shares).toHaveLength(3);
    expect(all.next_page_token).toBe('');
    const first = core.stores.receivedShares.get(ids[0]!)!;
    const shown = all.shares.find((s: Any) => s.id.opaque_id === first.id);
    expect(shown).toMatchObject({
      name: first.name,
      remote_share_id: first.providerId,
      grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: OUR_DOMAIN, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' } },
      owner: { idp: PEER_DOMAIN, opaque_id: 'owner-1', type: 'USER_TYPE_FEDERATED' },
      creator: { idp: PEER_DOMAIN, opaque_id: 'sender-1', type: 'USER_TYPE_FEDERATED' },
      share_type: 'SHARE_TYPE_USER',
      state: 'SHARE_STATE_PENDING',
      resource_type: 'RESOURCE_TYPE_FILE',
    });
    expect(shown.protocols[0].webdav_options).toMatchObject({
      shared_secret: first.protocols.webdav!.sharedSecret,
      uri: first.protocols.webdav!.uri,
      permissions: { permissions: { stat: true, initiate_file_download: true, initiate_file_upload: false }, reshare: false },
    });

    const page1 = await rpc(c.ocm, 'ListReceivedOCMShares', { page_size: 2 }, einstein());
    expect(page1.shares).toHaveLength(2);
    expect(page1.next_page_token).not.toBe('');
    const page2 = await rpc(c.ocm, 'ListReceivedOCMShares', { page_size: 2, page_token: page1.next_page_token }, einstein());
    expect(page2.shares).toHaveLength(1);
    expect(page2.next_page_token).toBe('');
    expect([...page1.shares, ...page2.shares].map((s: Any) => s.id.opaque_id).sort()).toEqual([...ids].sort());
    expect(code(await rpc(c.ocm, 'ListReceivedOCMShares', { page_token: 'not*a*token' }, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.ocm, 'ListReceivedOCMShares', { page_size: -1 }, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect((await rpc(c.ocm, 'ListReceivedOCMShares', {}, marie())).shares).toEqual([]);
    expect(code(await rpc(c.ocm, 'ListReceivedOCMShares', {}))).toBe('CODE_UNAUTHENTICATED');

    const byId = await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: first.id } } }, einstein());
    expect(code(byId)).toBe('CODE_OK');
    expect(byId.share.id.opaque_id).toBe(first.id);
    const byRemote = await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: first.providerId } } }, einstein());
    expect(byRemote.share.id.opaque_id).toBe(first.id);
    expect(code(await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: 'unknown' } } }, einstein()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: first.id } } }, marie()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { token: 'x' } }, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.ocm, 'GetReceivedOCMShare', {}, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: first.id } } }))).toBe('CODE_UNAUTHENTICATED');
  });

  test('OcmAPI receiver side: UpdateReceivedOCMShare accepts and declines through the state mask', async () => {
    const a = (await core.receivedShares.receive(validShare() as unknown as IncomingShare)).record;
    const b = (await core.receivedShares.receive(validShare() as unknown as IncomingShare)).record;
    const update = (id: string, state: unknown, paths: unknown[] = ['state'], metadata = einstein()) =>
      rpc(c.ocm, 'UpdateReceivedOCMShare', { share: { id: { opaque_id: id }, state }, update_mask: { paths } }, metadata);

    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED'))).toBe('CODE_OK');
    expect(core.stores.receivedShares.get(a.id)?.state).toBe('accepted');
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED'))).toBe('CODE_OK');
    expect(code(await update(a.id, 'SHARE_STATE_REJECTED'))).toBe('CODE_FAILED_PRECONDITION');
    expect(code(await update(a.id, 'SHARE_STATE_PENDING'))).toBe('CODE_FAILED_PRECONDITION');
    expect(code(await update(b.providerId, 'SHARE_STATE_REJECTED'))).toBe('CODE_OK');
    expect(core.stores.receivedShares.get(b.id)?.state).toBe('declined');

    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', ['mount_point']))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', ['state', 'hidden']))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', ['protocols']))).toBe('CODE_UNIMPLEMENTED');
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', []))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await update(a.id, 99))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await update(a.id, 'SHARE_STATE_INVALID'))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await update('unknown', 'SHARE_STATE_ACCEPTED'))).toBe('CODE_NOT_FOUND');
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', ['state'], marie()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.ocm, 'UpdateReceivedOCMShare', { update_mask: { paths: ['state'] } }, einstein()))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await rpc(c.ocm, 'UpdateReceivedOCMShare', { share: { id: { opaque_id: a.id } } }, einstein()))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await update(a.id, 'SHARE_STATE_ACCEPTED', ['state'], new grpc.Metadata()))).toBe('CODE_UNAUTHENTICATED');
  });

  test('OcmAPI sharer side: refusals that need no live peer', async () => {
    const create = (overrides: Any = {}, metadata = einstein()) =>
      rpc(
        c.ocm,
        'CreateOCMShare',
        {
          resource_id: { storage_id: 'home', opaque_id: 'welcome.txt' },
          grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: PEER_DOMAIN, opaque_id: 'remote-1', type: 'USER_TYPE_FEDERATED' } },
          access_methods: [{ webdav_options: { permissions: { initiate_file_download: true, stat: true } } }],
          ...overrides,
        },
        metadata,
      );
    expect(code(await create({}, new grpc.Metadata()))).toBe('CODE_UNAUTHENTICATED');
    expect(code(await create({ resource_id: { storage_id: 'home', opaque_id: 'missing.txt' } }))).toBe('CODE_NOT_FOUND');
    expect(code(await create())).toBe('CODE_NOT_FOUND'); // not an accepted contact
    expect(code(await create({ grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: 'evil.example.org', opaque_id: 'x' } } }))).toBe(
      'CODE_PERMISSION_DENIED',
    );
    expect(code(await create({ grantee: { type: 'GRANTEE_TYPE_GROUP', group_id: { idp: PEER_DOMAIN, opaque_id: 'g' } } }))).toBe(
      'CODE_UNIMPLEMENTED',
    );
    expect(code(await create({ grantee: { type: 'GRANTEE_TYPE_USER', user_id: { opaque_id: 'x' } } }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ grantee: null }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ grantee: { type: 17, user_id: { idp: PEER_DOMAIN, opaque_id: 'x' } } }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ resource_id: null }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ resource_id: { storage_id: 'elsewhere', opaque_id: 'welcome.txt' } }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ resource_id: { storage_id: 'home', space_id: MARIE.id, opaque_id: 'welcome.txt' } }))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await create({ resource_id: { storage_id: 'home', opaque_id: '/' } }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ access_methods: [] }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ access_methods: [{ webapp_options: { view_mode: 'VIEW_MODE_READ_ONLY' } }] }))).toBe(
      'CODE_INVALID_ARGUMENT',
    );
    expect(code(await create({ access_methods: [{ webdav_options: { permissions: { stat: true } } }] }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await create({ access_methods: [{ transfer_options: {} }] }))).toBe('CODE_UNIMPLEMENTED');
    expect(code(await create({ recipient_mesh_provider: { domain: 'other.example.org' } }))).toBe('CODE_INVALID_ARGUMENT');
    // only the peer's domain in recipient_mesh_provider is fine (and the peer is down)
    const meshOnly = await create({
      grantee: { type: 'GRANTEE_TYPE_USER', user_id: { opaque_id: 'remote-1' } },
      recipient_mesh_provider: { domain: PEER_DOMAIN },
    });
    expect(code(meshOnly)).toBe('CODE_NOT_FOUND');
    expect(core.stores.sentShares.size).toBe(0);

    for (const method of ['GetOCMShare', 'RemoveOCMShare', 'UpdateOCMShare']) {
      expect(code(await rpc(c.ocm, method, { ref: { id: { opaque_id: 'unknown' } } }, einstein()))).toBe('CODE_NOT_FOUND');
      expect(code(await rpc(c.ocm, method, {}, einstein()))).toBe('CODE_INVALID_ARGUMENT');
      expect(code(await rpc(c.ocm, method, { ref: { id: { opaque_id: 'unknown' } } }))).toBe('CODE_UNAUTHENTICATED');
    }
    expect(code(await rpc(c.ocm, 'GetOCMShareByToken', { token: 'unknown' }))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.ocm, 'GetOCMShareByToken', {}))).toBe('CODE_INVALID_ARGUMENT');
    const none = await rpc(c.ocm, 'ListOCMShares', {}, einstein());
    expect(code(none)).toBe('CODE_OK');
    expect(none.shares).toEqual([]);
    expect(code(await rpc(c.ocm, 'ListOCMShares', {}))).toBe('CODE_UNAUTHENTICATED');
  });

  test('every rpc answers an empty request with a status, never a transport error', async () => {
    const services: Array<[grpc.Client, grpc.ServiceClientConstructor]> = [
      [c.provider, providerApi],
      [c.invite, inviteApi],
      [c.ocm, ocmApi],
      [c.core, ocmCoreApi],
      [c.auth, authProviderApi],
    ];
    const OK_WHEN_EMPTY = new Set([
      'ListAllProviders',
      'ListInviteTokens',
      'FindAcceptedUsers',
      'ListOCMShares',
      'ListReceivedOCMShares',
      'GenerateInviteToken',
    ]);
    let count = 0;
    for (const [client, serviceConstructor] of services) {
      for (const method of Object.keys(serviceConstructor.service)) {
        count++;
        const anonymous = await rpc(client, method, {});
        if (UNPROTECTED.has(method)) {
          expect(code(anonymous), method).toBe(method === 'ListAllProviders' ? 'CODE_OK' : 'CODE_INVALID_ARGUMENT');
        } else {
          expect(code(anonymous), method).toBe('CODE_UNAUTHENTICATED');
          expect(anonymous.status.message, method).toContain('authorization');
        }
        const authenticated = await rpc(client, method, {}, einstein());
        expect(code(authenticated), method).toBe(OK_WHEN_EMPTY.has(method) ? 'CODE_OK' : 'CODE_INVALID_ARGUMENT');
      }
    }
    expect(count).toBe(23);
  });

  test('bytes that do not decode give CODE_INVALID_ARGUMENT on every rpc, and the server keeps serving', async () => {
    const raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const broken = [
        Buffer.from([0xc7, 0x3e]), // field 1000 with wire type 7, which does not exist
        Buffer.from([0x80]), // a field key whose varint never ends
      ];
      for (const bytes of broken) {
        for (const serviceConstructor of [providerApi, inviteApi, ocmApi, ocmCoreApi, authProviderApi]) {
          for (const [method, definition] of Object.entries(serviceConstructor.service)) {
            const response = await new Promise<Any>((resolve, reject) => {
              raw.makeUnaryRequest(
                definition.path,
                (b: Buffer) => b,
                definition.responseDeserialize,
                bytes,
                einstein(),
                { deadline: Date.now() + 5000 },
                (error, value) => (error ? reject(error) : resolve(value as Any)),
              );
            });
            expect(code(response), method).toBe('CODE_INVALID_ARGUMENT');
            expect(response.status.message).toContain('not a valid');
          }
        }
      }
    } finally {
      raw.close();
    }
    expect(code(await rpc(c.provider, 'ListAllProviders'))).toBe('CODE_OK');
  });
});

// ---------------------------------------------------------------------------
// wildcard trust entries

test('ProviderAPI: a wildcard entry answers for the queried domain, never by substring', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocm-grpc-'));
  const wildcard = { ...providerEntry('wild', 'https://cloud.example.org'), domain: '*.example.org' };
  const core = await buildCore(buildConfig({ dataDir }), { providers: new TrustedProviders([wildcard]) });
  const server = await startGrpcServer(core, { host: '127.0.0.1', port: 0 });
  const c = clientsFor(`127.0.0.1:${server.port}`);
  try {
    const hit = await rpc(c.provider, 'GetInfoByDomain', { domain: 'https://a.b.example.org/some/path' });
    expect(code(hit)).toBe('CODE_OK');
    expect(hit.provider_info.domain).toBe('a.b.example.org');
    expect(hit.provider_info.services[0].endpoint.path).toBe('https://a.b.example.org/ocm/');
    expect(hit.provider_info.services[0].host).toBe('a.b.example.org');
    expect(code(await rpc(c.provider, 'GetInfoByDomain', { domain: 'example.org' }))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.provider, 'GetInfoByDomain', { domain: 'evil-example.org' }))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { domain: 'x.example.org' } }))).toBe('CODE_OK');
    expect(code(await rpc(c.provider, 'IsProviderAllowed', { provider: { domain: 'badexample.org' } }))).toBe('CODE_UNAUTHENTICATED');
    expect((await rpc(c.provider, 'ListAllProviders')).providers[0].domain).toBe('*.example.org');
  } finally {
    closeClients(c);
    await server.close();
    await core.stores.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// the sharer side against a live receiver (B), with A served over gRPC

test.describe('sharer side with a live receiver', () => {
  let pair: Pair;
  let server: RunningGrpcServer;
  let c: Clients;

  test.beforeEach(async () => {
    pair = await startPair();
    const invite = await pair.a.core.invites.generate(pair.a.core.users.get(EINSTEIN.id)!, {});
    await pair.b.core.invites.acceptRemote(pair.b.core.users.get(MARIE.id)!, { token: invite.token, providerDomain: pair.a.core.domain });
    server = await startGrpcServer(pair.a.core, { host: '127.0.0.2', port: 0 });
    c = clientsFor(`127.0.0.2:${server.port}`);
  });
  test.afterEach(async () => {
    closeClients(c);
    await server.close();
    await pair.close();
  });

  const shareTo = (path: string, permissions: Any = { initiate_file_download: true, stat: true }, extra: Any = {}) =>
    rpc(
      c.ocm,
      'CreateOCMShare',
      {
        resource_id: { storage_id: 'home', opaque_id: path },
        grantee: {
          type: 'GRANTEE_TYPE_USER',
          user_id: { idp: `https://${pair.b.core.domain}`, opaque_id: MARIE.id, type: 'USER_TYPE_FEDERATED' },
        },
        access_methods: [{ webdav_options: { permissions } }, { webapp_options: { view_mode: 'VIEW_MODE_READ_ONLY' } }],
        ...extra,
      },
      einstein(),
    );

  test('CreateOCMShare, GetOCMShare (id, key, token), GetOCMShareByToken, ListOCMShares with filters and pages', async () => {
    const created = await shareTo('/project/notes.md', undefined, {
      expiration: { seconds: String(Math.floor(Date.now() / 1000) + 3600) },
    });
    expect(code(created), created.status.message).toBe('CODE_OK');
    const share = created.share;
    const record = pair.a.core.stores.sentShares.get(share.id.opaque_id)!;
    expect(record).toMatchObject({
      path: 'project/notes.md',
      recipientUserId: MARIE.id,
      recipientDomain: pair.b.core.domain,
      permissions: ['read'],
      state: 'pending',
    });
    expect(created.recipient_display_name).toBe('Marie Curie');
    expect(share).toMatchObject({
      resource_id: { storage_id: 'home', space_id: EINSTEIN.id, opaque_id: 'project/notes.md' },
      name: 'notes.md',
      token: record.sharedSecret,
      grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: pair.b.core.domain, opaque_id: MARIE.id, type: 'USER_TYPE_FEDERATED' } },
      owner: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' },
      creator: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id, type: 'USER_TYPE_PRIMARY' },
      expiration: { seconds: String(record.expiration) },
      share_type: 'SHARE_TYPE_USER',
    });
    expect(share.access_methods[0].webdav_options.permissions).toMatchObject({
      initiate_file_download: true,
      stat: true,
      initiate_file_upload: false,
    });
    expect(share.opaque.map.state.value.toString()).toBe('pending');
    expect(pair.b.core.receivedShares.listFor(pair.b.core.users.get(MARIE.id)!)).toHaveLength(1);

    const byId = await rpc(c.ocm, 'GetOCMShare', { ref: { id: { opaque_id: record.id } } }, einstein());
    expect(code(byId)).toBe('CODE_OK');
    expect(byId.share.id.opaque_id).toBe(record.id);
    const key = {
      owner: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id },
      resource_id: { storage_id: 'home', opaque_id: '/project/notes.md' },
      grantee: share.grantee,
    };
    expect((await rpc(c.ocm, 'GetOCMShare', { ref: { key } }, einstein())).share.id.opaque_id).toBe(record.id);
    expect(code(await rpc(c.ocm, 'GetOCMShare', { ref: { key: { ...key, resource_id: { opaque_id: 'welcome.txt' } } } }, einstein()))).toBe(
      'CODE_NOT_FOUND',
    );
    expect(code(await rpc(c.ocm, 'GetOCMShare', { ref: { key: { ...key, owner: { opaque_id: MARIE.id } } } }, einstein()))).toBe(
      'CODE_NOT_FOUND',
    );
    expect((await rpc(c.ocm, 'GetOCMShare', { ref: { token: record.sharedSecret } }, einstein())).share.id.opaque_id).toBe(record.id);
    expect(
      code(
        await rpc(c.ocm, 'GetOCMShare', { ref: { id: { opaque_id: record.id } } }, as({ username: 'richard', password: 'superfluidity' })),
      ),
    ).toBe('CODE_NOT_FOUND');

    const byToken = await rpc(c.ocm, 'GetOCMShareByToken', { token: record.sharedSecret });
    expect(code(byToken)).toBe('CODE_OK');
    expect(byToken.share.id.opaque_id).toBe(record.id);
    expect(code(await rpc(c.ocm, 'GetOCMShareByToken', { token: `${record.sharedSecret}x` }))).toBe('CODE_NOT_FOUND');
    // with must-exchange-token the secret alone is no credential
    await pair.a.core.stores.sentShares.put(record.id, { ...record, requirements: ['must-exchange-token'] });
    expect(code(await rpc(c.ocm, 'GetOCMShareByToken', { token: record.sharedSecret }))).toBe('CODE_PERMISSION_DENIED');
    const withRequirements = await rpc(c.ocm, 'GetOCMShare', { ref: { id: { opaque_id: record.id } } }, einstein());
    expect(JSON.parse(withRequirements.share.opaque.map.requirements.value.toString())).toEqual(['must-exchange-token']);
    await pair.a.core.stores.sentShares.put(record.id, record);

    expect(code(await shareTo('welcome.txt'))).toBe('CODE_OK');
    expect(code(await shareTo('project', { initiate_file_download: true, initiate_file_upload: true }))).toBe('CODE_OK');
    const list = (request: Any) => rpc(c.ocm, 'ListOCMShares', request, einstein());
    const names = (response: Any) => response.shares.map((s: Any) => s.name).sort();
    expect(names(await list({}))).toEqual(['notes.md', 'project', 'welcome.txt']);
    const resource = (path: string) => ({ type: 'TYPE_RESOURCE_ID', resource_id: { storage_id: 'home', opaque_id: path } });
    const owner = (id: string) => ({ type: 'TYPE_OWNER', owner: { idp: pair.a.core.domain, opaque_id: id } });
    expect(names(await list({ filters: [resource('welcome.txt')] }))).toEqual(['welcome.txt']);
    expect(names(await list({ filters: [resource('welcome.txt'), resource('/project')] }))).toEqual(['project', 'welcome.txt']);
    expect(names(await list({ filters: [owner(EINSTEIN.id)] }))).toHaveLength(3);
    expect(names(await list({ filters: [{ type: 'TYPE_CREATOR', creator: { opaque_id: EINSTEIN.id } }, resource('project')] }))).toEqual([
      'project',
    ]);
    expect(names(await list({ filters: [owner(MARIE.id)] }))).toEqual([]);
    expect(names(await list({ filters: [owner(EINSTEIN.id), resource('nothing')] }))).toEqual([]);
    expect(names(await list({ filters: [{ type: 'TYPE_OWNER_PROVIDER', owner: { idp: `https://${pair.a.core.domain}` } }] }))).toHaveLength(
      3,
    );
    expect(names(await list({ filters: [{ type: 'TYPE_CREATOR_PROVIDER', creator: { idp: pair.b.core.domain } }] }))).toEqual([]);
    expect(names(await list({ filters: [{ type: 'TYPE_NO' }] }))).toHaveLength(3);
    expect(code(await list({ filters: [{ type: 'TYPE_INVALID' }] }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await list({ filters: [{ type: 99 }] }))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await list({ filters: [{ type: 'TYPE_OWNER', resource_id: { opaque_id: 'x' } }] }))).toBe('CODE_INVALID_ARGUMENT');
    const page1 = await list({ page_size: 2 });
    expect(page1.shares).toHaveLength(2);
    const page2 = await list({ page_size: 2, page_token: page1.next_page_token });
    expect(page2.shares).toHaveLength(1);
    expect(page2.next_page_token).toBe('');
    expect(names({ shares: [...page1.shares, ...page2.shares] })).toEqual(['notes.md', 'project', 'welcome.txt']);
    expect(code(await list({ page_token: Buffer.from('garbage').toString('base64url') }))).toBe('CODE_INVALID_ARGUMENT');
    expect((await rpc(c.ocm, 'ListOCMShares', {}, marie())).shares).toEqual([]);
  });

  test('UpdateOCMShare changes permissions and expiration and tells the receiver; RemoveOCMShare unshares', async () => {
    const created = await shareTo('welcome.txt');
    const id = created.share.id.opaque_id;
    const marieOnB = pair.b.core.users.get(MARIE.id)!;
    const ref = { id: { opaque_id: id } };

    expect(code(await rpc(c.ocm, 'UpdateOCMShare', { ref }, einstein()))).toBe('CODE_OK');
    const expiration = Math.floor(Date.now() / 1000) + 7200;
    const updated = await rpc(
      c.ocm,
      'UpdateOCMShare',
      {
        ref,
        field: [
          { access_methods: { webdav_options: { permissions: { initiate_file_download: true, initiate_file_upload: true } } } },
          { expiration: { seconds: String(expiration) } },
        ],
      },
      einstein(),
    );
    expect(code(updated)).toBe('CODE_OK');
    expect(pair.a.core.stores.sentShares.get(id)).toMatchObject({ permissions: ['read', 'write'], expiration });
    expect(pair.b.core.receivedShares.listFor(marieOnB)[0]!.protocols.webdav!.permissions).toEqual(['read', 'write']);
    const shown = await rpc(c.ocm, 'GetOCMShare', { ref }, einstein());
    expect(shown.share.access_methods[0].webdav_options.permissions.initiate_file_upload).toBe(true);
    expect(
      code(
        await rpc(
          c.ocm,
          'UpdateOCMShare',
          { ref, field: [{ access_methods: { webdav_options: { permissions: { stat: true } } } }] },
          einstein(),
        ),
      ),
    ).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.ocm, 'UpdateOCMShare', { ref, field: [{}] }, einstein()))).toBe('CODE_INVALID_ARGUMENT');
    expect(code(await rpc(c.ocm, 'UpdateOCMShare', { ref, field: [{ expiration: { seconds: '1' } }] }, marie()))).toBe('CODE_NOT_FOUND');

    expect(code(await rpc(c.ocm, 'RemoveOCMShare', { ref }, marie()))).toBe('CODE_NOT_FOUND');
    expect(code(await rpc(c.ocm, 'RemoveOCMShare', { ref }, einstein()))).toBe('CODE_OK');
    expect(pair.a.core.stores.sentShares.get(id)).toBeUndefined();
    expect(pair.b.core.receivedShares.listFor(marieOnB)).toEqual([]);
    expect(code(await rpc(c.ocm, 'RemoveOCMShare', { ref }, einstein()))).toBe('CODE_NOT_FOUND');
  });

  test('Authenticate checks a share id and secret like WebDAV access does', async () => {
    const viewer = await shareTo('welcome.txt');
    const editor = await shareTo('project', { initiate_file_download: true, initiate_file_upload: true });
    const secret = (response: Any) => response.share.token as string;
    const id = (response: Any) => response.share.id.opaque_id as string;

    const ok = await rpc(c.auth, 'Authenticate', { client_id: id(viewer), client_secret: secret(viewer) });
    expect(code(ok)).toBe('CODE_OK');
    expect(ok.user).toMatchObject({
      id: { idp: pair.b.core.domain, opaque_id: MARIE.id, type: 'USER_TYPE_FEDERATED' },
      mail: 'marie@example.org',
      display_name: 'Marie Curie',
    });
    expect(ok.user.opaque.map['ocm-share-role'].value.toString()).toBe('viewer');
    const scope = ok.token_scope[`ocmshare:${id(viewer)}`];
    expect(scope.role).toBe('ROLE_VIEWER');
    expect(scope.resource.decoder).toBe('json');
    expect(JSON.parse(scope.resource.value.toString())).toMatchObject({
      id: { opaqueId: id(viewer) },
      resourceId: { opaqueId: 'welcome.txt' },
    });
    const edit = await rpc(c.auth, 'Authenticate', { client_id: id(editor), client_secret: secret(editor) });
    expect(edit.token_scope[`ocmshare:${id(editor)}`].role).toBe('ROLE_EDITOR');

    // Each refusal: reva's CS3 code, and the catalogue code in the status's details like every other rpc's.
    const refusal = (response: Any) => [code(response), readCatalogueDetail(response.status)?.ocmErrorCode];
    const badCredentials = ['CODE_PERMISSION_DENIED', 'INVALID_SHARE_CREDENTIALS'];
    expect(refusal(await rpc(c.auth, 'Authenticate', { client_id: id(viewer), client_secret: 'wrong' }))).toEqual(badCredentials);
    expect(refusal(await rpc(c.auth, 'Authenticate', { client_id: id(viewer), client_secret: secret(editor) }))).toEqual(badCredentials);
    expect(refusal(await rpc(c.auth, 'Authenticate', { client_id: 'unknown', client_secret: secret(viewer) }))).toEqual([
      'CODE_NOT_FOUND',
      'SHARE_NOT_FOUND',
    ]);
    expect(code(await rpc(c.auth, 'Authenticate', { client_id: id(viewer) }))).toBe('CODE_INVALID_ARGUMENT');

    // expired: reva never checks (oCIS issue 11033); we do
    const record = pair.a.core.stores.sentShares.get(id(viewer))!;
    await pair.a.core.stores.sentShares.put(record.id, { ...record, expiration: Math.floor(Date.now() / 1000) - 1 });
    expect(refusal(await rpc(c.auth, 'Authenticate', { client_id: id(viewer), client_secret: secret(viewer) }))).toEqual(badCredentials);
    // no longer a contact: access ends
    await pair.a.core.invites.deleteContact(pair.a.core.users.get(EINSTEIN.id)!, pair.b.core.domain, MARIE.id);
    expect(refusal(await rpc(c.auth, 'Authenticate', { client_id: id(editor), client_secret: secret(editor) }))).toEqual(badCredentials);
  });
});
