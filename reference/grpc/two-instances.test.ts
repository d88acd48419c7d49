/**
 * Two reference instances (A on 127.0.0.2, B on 127.0.0.3), each with its
 * CS3 gRPC server: the invitation workflow and the share lifecycle driven
 * entirely over gRPC, with the OCM HTTP calls between A and B underneath.
 */
import { test, expect } from '@playwright/test';
import * as grpc from '@grpc/grpc-js';
import { startPair, type Pair } from '../pair.ts';
import { basicAuth, EINSTEIN, MARIE } from '../testing/harness.ts';
import { authProviderApi, callUnary, inviteApi, ocmApi } from './protos.ts';
import { startGrpcServer, type RunningGrpcServer } from './server.ts';

type Any = Record<string, any>;

interface Side {
  server: RunningGrpcServer;
  invite: grpc.Client;
  ocm: grpc.Client;
  auth: grpc.Client;
}

async function serve(core: Pair['a']['core'], host: string): Promise<Side> {
  const server = await startGrpcServer(core, { host, port: 0 });
  const target = `${host}:${server.port}`;
  const insecure = grpc.credentials.createInsecure();
  return {
    server,
    invite: new inviteApi(target, insecure),
    ocm: new ocmApi(target, insecure),
    auth: new authProviderApi(target, insecure),
  };
}

async function stop(side: Side | undefined) {
  if (!side) return;
  for (const client of [side.invite, side.ocm, side.auth]) client.close();
  await side.server.close();
}

function as(user: { username: string; password: string }): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', basicAuth(user));
  return metadata;
}

function rpc(client: grpc.Client, method: string, request: Any, metadata?: grpc.Metadata): Promise<Any> {
  return callUnary(client, method, request, { deadlineMs: 15_000, ...(metadata ? { metadata } : {}) });
}

test.describe('two instances over gRPC', () => {
  let pair: Pair;
  let a: Side;
  let b: Side;

  test.beforeEach(async () => {
    pair = await startPair();
    a = await serve(pair.a.core, '127.0.0.2');
    b = await serve(pair.b.core, '127.0.0.3');
  });
  test.afterEach(async () => {
    await stop(a);
    await stop(b);
    await pair.close();
  });

  async function befriend() {
    const generated = await rpc(a.invite, 'GenerateInviteToken', { description: 'for marie' }, as(EINSTEIN));
    expect(generated.status.code).toBe('CODE_OK');
    const forwarded = await rpc(
      b.invite,
      'ForwardInvite',
      { invite_token: { token: generated.invite_token.token }, origin_system_provider: { domain: pair.a.core.domain } },
      as(MARIE),
    );
    expect(forwarded.status.code, forwarded.status.message).toBe('CODE_OK');
    return { token: generated.invite_token.token as string, forwarded };
  }

  test('the invitation workflow: GenerateInviteToken on A, ForwardInvite on B, FindAcceptedUsers on both', async () => {
    const { token, forwarded } = await befriend();
    expect(forwarded).toMatchObject({
      user_id: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id, type: 'USER_TYPE_FEDERATED' },
      email: 'einstein@example.org',
      display_name: 'Albert Einstein',
    });
    // B's ForwardInvite reached A's POST /ocm/invite-accepted
    expect(pair.a.core.stores.invites.get(token)?.acceptedBy).toMatchObject({ userId: MARIE.id, domain: pair.b.core.domain });
    expect((await rpc(a.invite, 'ListInviteTokens', {}, as(EINSTEIN))).invite_tokens).toEqual([]);

    const onA = await rpc(a.invite, 'FindAcceptedUsers', { filter: '' }, as(EINSTEIN));
    expect(onA.status.code).toBe('CODE_OK');
    expect(onA.accepted_users).toEqual([
      expect.objectContaining({
        id: { idp: pair.b.core.domain, opaque_id: MARIE.id, type: 'USER_TYPE_FEDERATED' },
        mail: 'marie@example.org',
        display_name: 'Marie Curie',
      }),
    ]);
    const onB = await rpc(b.invite, 'FindAcceptedUsers', { filter: 'einstein' }, as(MARIE));
    expect(onB.accepted_users).toEqual([
      expect.objectContaining({
        id: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id, type: 'USER_TYPE_FEDERATED' },
        mail: 'einstein@example.org',
        display_name: 'Albert Einstein',
      }),
    ]);
    // GetAcceptedUser as reva's ocmd asks it on A: no caller, opaque user-filter
    const filter = { decoder: 'json', value: Buffer.from(JSON.stringify({ idp: pair.a.core.domain, opaque_id: EINSTEIN.id })) };
    const known = await rpc(a.invite, 'GetAcceptedUser', {
      remote_user_id: { idp: `https://${pair.b.core.domain}`, opaque_id: MARIE.id },
      opaque: { map: { 'user-filter': filter } },
    });
    expect(known.status.code).toBe('CODE_OK');

    // the same token again: A says it was already accepted
    const again = await rpc(
      b.invite,
      'ForwardInvite',
      { invite_token: { token }, origin_system_provider: { domain: pair.a.core.domain } },
      as(MARIE),
    );
    expect(again.status.code).toBe('CODE_ALREADY_EXISTS');
    const bogus = await rpc(
      b.invite,
      'ForwardInvite',
      { invite_token: { token: 'no-such-token' }, origin_system_provider: { domain: `https://${pair.a.core.domain}` } },
      as(MARIE),
    );
    expect(bogus.status.code).toBe('CODE_INVALID_ARGUMENT');
    // a second invite between the same two users: the contact exists already on A
    const second = await rpc(a.invite, 'GenerateInviteToken', {}, as(EINSTEIN));
    const twice = await rpc(
      b.invite,
      'ForwardInvite',
      { invite_token: { token: second.invite_token.token }, origin_system_provider: { domain: pair.a.core.domain } },
      as(MARIE),
    );
    expect(twice.status.code).toBe('CODE_ALREADY_EXISTS');
  });

  test('the share lifecycle: CreateOCMShare on A, accept on B, access, permission change, RemoveOCMShare', async () => {
    await befriend();
    const created = await rpc(
      a.ocm,
      'CreateOCMShare',
      {
        resource_id: { storage_id: 'home', opaque_id: 'welcome.txt' },
        grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: pair.b.core.domain, opaque_id: MARIE.id, type: 'USER_TYPE_FEDERATED' } },
        recipient_mesh_provider: { domain: pair.b.core.domain },
        access_methods: [{ webdav_options: { permissions: { initiate_file_download: true, stat: true, get_path: true } } }],
      },
      as(EINSTEIN),
    );
    expect(created.status.code, created.status.message).toBe('CODE_OK');
    const shareId = created.share.id.opaque_id as string;
    expect(created.recipient_display_name).toBe('Marie Curie');

    // B's POST /ocm/shares ran: Marie sees a pending share
    const listed = await rpc(b.ocm, 'ListReceivedOCMShares', {}, as(MARIE));
    expect(listed.status.code).toBe('CODE_OK');
    expect(listed.shares).toHaveLength(1);
    const received = listed.shares[0];
    expect(received).toMatchObject({
      name: 'welcome.txt',
      remote_share_id: shareId,
      state: 'SHARE_STATE_PENDING',
      owner: { idp: pair.a.core.domain, opaque_id: EINSTEIN.id, type: 'USER_TYPE_FEDERATED' },
      resource_type: 'RESOURCE_TYPE_FILE',
    });
    const webdav = received.protocols[0].webdav_options;
    expect(webdav.shared_secret).toBe(created.share.token);
    expect(webdav.uri).toBe(`${pair.a.url}/dav/ocm/${shareId}`);
    expect((await rpc(b.ocm, 'ListReceivedOCMShares', {}, as(EINSTEIN))).shares).toEqual([]);

    // accept on B: A hears about it
    const accept = await rpc(
      b.ocm,
      'UpdateReceivedOCMShare',
      { share: { id: received.id, state: 'SHARE_STATE_ACCEPTED' }, update_mask: { paths: ['state'] } },
      as(MARIE),
    );
    expect(accept.status.code).toBe('CODE_OK');
    expect((await rpc(b.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: shareId } } }, as(MARIE))).share.state).toBe(
      'SHARE_STATE_ACCEPTED',
    );
    const onA = await rpc(a.ocm, 'GetOCMShare', { ref: { id: { opaque_id: shareId } } }, as(EINSTEIN));
    expect(onA.share.opaque.map.state.value.toString()).toBe('accepted');
    expect(pair.a.core.stores.sentShares.get(shareId)?.state).toBe('accepted');

    // B uses what it received to get in at A (the authprovider role)
    const access = await rpc(a.auth, 'Authenticate', { client_id: received.remote_share_id, client_secret: webdav.shared_secret });
    expect(access.status.code).toBe('CODE_OK');
    expect(access.token_scope[`ocmshare:${shareId}`].role).toBe('ROLE_VIEWER');

    // A grants write: B's copy follows, and access becomes editor
    const update = await rpc(
      a.ocm,
      'UpdateOCMShare',
      {
        ref: { id: { opaque_id: shareId } },
        field: [{ access_methods: { webdav_options: { permissions: { initiate_file_download: true, initiate_file_upload: true } } } }],
      },
      as(EINSTEIN),
    );
    expect(update.status.code).toBe('CODE_OK');
    const after = await rpc(b.ocm, 'GetReceivedOCMShare', { ref: { id: received.id } }, as(MARIE));
    expect(after.share.protocols[0].webdav_options.permissions.permissions).toMatchObject({
      initiate_file_download: true,
      initiate_file_upload: true,
    });
    expect(
      (await rpc(a.auth, 'Authenticate', { client_id: shareId, client_secret: webdav.shared_secret })).token_scope[`ocmshare:${shareId}`]
        .role,
    ).toBe('ROLE_EDITOR');

    // A unshares: B's list is empty, access is gone
    const removed = await rpc(a.ocm, 'RemoveOCMShare', { ref: { id: { opaque_id: shareId } } }, as(EINSTEIN));
    expect(removed.status.code).toBe('CODE_OK');
    expect((await rpc(b.ocm, 'ListReceivedOCMShares', {}, as(MARIE))).shares).toEqual([]);
    expect((await rpc(a.ocm, 'ListOCMShares', {}, as(EINSTEIN))).shares).toEqual([]);
    expect((await rpc(a.auth, 'Authenticate', { client_id: shareId, client_secret: webdav.shared_secret })).status.code).toBe(
      'CODE_NOT_FOUND',
    );
  });

  test('declining on B reaches A', async () => {
    await befriend();
    const created = await rpc(
      a.ocm,
      'CreateOCMShare',
      {
        resource_id: { storage_id: 'home', opaque_id: 'project' },
        grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: pair.b.core.domain, opaque_id: MARIE.id } },
        access_methods: [{ webdav_options: { permissions: { initiate_file_download: true } } }],
      },
      as(EINSTEIN),
    );
    expect(created.status.code, created.status.message).toBe('CODE_OK');
    const shareId = created.share.id.opaque_id as string;
    const received = await rpc(b.ocm, 'GetReceivedOCMShare', { ref: { id: { opaque_id: shareId } } }, as(MARIE));
    expect(received.share.resource_type).toBe('RESOURCE_TYPE_CONTAINER');
    const decline = await rpc(
      b.ocm,
      'UpdateReceivedOCMShare',
      { share: { id: received.share.id, state: 'SHARE_STATE_REJECTED' }, update_mask: { paths: ['state'] } },
      as(MARIE),
    );
    expect(decline.status.code).toBe('CODE_OK');
    expect(pair.a.core.stores.sentShares.get(shareId)?.state).toBe('declined');
    const onA = await rpc(a.ocm, 'GetOCMShare', { ref: { id: { opaque_id: shareId } } }, as(EINSTEIN));
    expect(onA.share.opaque.map.state.value.toString()).toBe('declined');
  });
});
