/**
 * The five CS3 gRPC services of reva's OCM deployment, as the target serves
 * them (cs3apis a5f193a2: cs3.ocm.provider.v1beta1.ProviderAPI,
 * cs3.ocm.invite.v1beta1.InviteAPI, cs3.sharing.ocm.v1beta1.OcmAPI,
 * cs3.ocm.core.v1beta1.OcmCoreAPI, cs3.auth.provider.v1beta1.ProviderAPI).
 *
 * Every check needs `exposes.grpc` (host:port) in the target config and calls
 * the services with grpc-js clients built from our pinned protos
 * (suites/cs3-grpc/cs3-protos.ts, from the top-level proto/), each call with a deadline. The caller is the
 * target's first user, named in the call metadata `authorization: Basic …`
 * (decisions/0007 §2); the rpcs reva leaves unprotected are called without it.
 * The simulated peers play the remote servers: they receive what
 * CreateOCMShare, RemoveOCMShare, UpdateOCMShare and ForwardInvite send, and
 * send the shares the target receives.
 *
 * Every rpc is recorded in the check's transcript as the HTTP/2 POST it is
 * (`<service>/<rpc>`), with the decoded request and response (secrets redacted).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { check, expect, notRun, type CheckFixtures, type TargetHandle } from '../harness/fixtures.ts';
import { becomeContact, eventually, peerPost, sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import type { PeerShare, PeerSimulator, PeerUser, RecordedRequest } from '../harness/peer-simulator.ts';
import { redactText, registerSecret, type Exchange, type Transcript } from '../../results/transcript.ts';
import type { TargetUser } from '../harness/target.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';
import { authProviderApi, callUnary, CS3_SERVICES, inviteApi, ocmApi, ocmCoreApi, providerApi } from './cs3-protos.ts';
import type { TestInfo } from '@playwright/test';
import { StepFailed, stepRequest } from '../harness/step.ts';

type Any = Record<string, any>;
type ServiceKey = keyof typeof CS3_SERVICES;

const registry = getLazyRegistry();

const CONSTRUCTORS: Record<ServiceKey, grpc.ServiceClientConstructor> = { providerApi, inviteApi, ocmApi, ocmCoreApi, authProviderApi };

/** Every rpc of the five services at cs3apis a5f193a2, in .proto order (CS3-6). */
const CS3APIS_RPCS: Record<ServiceKey, string[]> = {
  providerApi: ['IsProviderAllowed', 'GetInfoByDomain', 'ListAllProviders'],
  inviteApi: [
    'GenerateInviteToken',
    'ListInviteTokens',
    'ForwardInvite',
    'AcceptInvite',
    'GetAcceptedUser',
    'FindAcceptedUsers',
    'DeleteAcceptedUser',
  ],
  ocmApi: [
    'CreateOCMShare',
    'RemoveOCMShare',
    'GetOCMShare',
    'GetOCMShareByToken',
    'ListOCMShares',
    'UpdateOCMShare',
    'ListReceivedOCMShares',
    'UpdateReceivedOCMShare',
    'GetReceivedOCMShare',
  ],
  ocmCoreApi: ['CreateOCMCoreShare', 'UpdateOCMCoreShare', 'DeleteOCMCoreShare'],
  authProviderApi: ['Authenticate'],
};

/** Deadline of every rpc. */
const DEADLINE_MS = 10_000;

/** `ResourcePermissions` of a viewer (reva's read set) and the write additions for a file. */
const READ = { get_path: true, get_quota: true, initiate_file_download: true, list_container: true, list_recycle: true, stat: true };
const WRITE = { initiate_file_upload: true, restore_recycle_item: true };

/** What a share refusal may be (CS3-14, CS3-15, CS3-16). */
const REFUSED = ['CODE_PERMISSION_DENIED', 'CODE_NOT_FOUND'];

// ---------------------------------------------------------------- the gRPC session of one check

interface CallOptions {
  /** The caller named in the metadata: the target's first user by default, `null` for none. */
  as?: TargetUser | null;
  /** Metadata as is (overrides `as`). */
  metadata?: grpc.Metadata;
}

function basic(user: Pick<TargetUser, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/** A decoded message made printable: bytes as UTF-8 text (opaque values are mostly text or JSON). */
function printable(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(printable);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v)]));
  return value;
}

/** Registers every secret a message carries (share tokens, shared secrets), so no transcript shows it, even inside opaque JSON. */
function registerSecrets(value: unknown, key = ''): void {
  if (typeof value === 'string') {
    if (/^(token|shared_secret|client_secret|sharedSecret)$/.test(key)) registerSecret(value);
    return;
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return;
  if (Array.isArray(value)) for (const v of value) registerSecrets(v, key);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) registerSecrets(v, k);
}

/** The clients of one check, on the target's gRPC address; every call is bounded and recorded. */
class Cs3Session {
  private readonly clients = new Map<ServiceKey, grpc.Client>();

  constructor(
    readonly address: string,
    private readonly ocm: Transcript,
    private readonly defaultUser: TargetUser,
  ) {}

  private client(key: ServiceKey): grpc.Client {
    let client = this.clients.get(key);
    if (!client) {
      client = new CONSTRUCTORS[key](this.address, grpc.credentials.createInsecure());
      this.clients.set(key, client);
    }
    return client;
  }

  /** One unary call; resolves with the decoded response, rejects (naming the rpc) on a transport-level failure. */
  async call(key: ServiceKey, method: string, request: Any, options: CallOptions = {}): Promise<Any> {
    const user = options.as === undefined ? this.defaultUser : options.as;
    const metadata = options.metadata ?? new grpc.Metadata();
    if (!options.metadata && user) metadata.set('authorization', basic(user));
    const path = `/${CS3_SERVICES[key]}/${method}`;
    registerSecrets(request);
    const started = Date.now();
    const headers: Record<string, string> = { 'content-type': 'application/grpc' };
    for (const [name, values] of Object.entries(metadata.getMap()))
      headers[name] = /^authorization$/i.test(name) ? `${String(values).split(' ')[0]} [redacted]` : String(values);
    const exchange: Exchange = {
      at: new Date(started).toISOString(),
      request: {
        method: 'POST',
        url: `grpc://${this.address}${path}`,
        headers,
        body: redactText(JSON.stringify(printable(request), null, 1)),
      },
      durationMs: 0,
    };
    this.ocm.exchanges.push(exchange);
    try {
      const response = await callUnary(this.client(key), method, request, { deadlineMs: DEADLINE_MS, metadata });
      registerSecrets(response);
      exchange.durationMs = Date.now() - started;
      exchange.response = {
        status: 200,
        headers: { 'grpc-status': '0' },
        body: redactText(JSON.stringify(printable(response), null, 1).slice(0, 8000)),
      };
      return response;
    } catch (error) {
      const e = error as grpc.ServiceError;
      exchange.durationMs = Date.now() - started;
      exchange.error = `gRPC transport error ${e.code ?? '?'} (${grpc.status[e.code] ?? 'unknown'}): ${e.details ?? e.message}`;
      throw new Error(`${path} failed at the transport level: ${exchange.error}`);
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

type Cs3Fixtures = CheckFixtures & { cs3: Cs3Session };

/** A check that needs the target's gRPC address; the clients are closed when it ends. */
function cs3Check(ids: string[], title: string, body: (fixtures: Cs3Fixtures, testInfo: TestInfo) => Promise<void>): void {
  check(ids, title, async (fixtures, testInfo) => {
    const address = fixtures.target.context.target.exposes.grpc;
    if (!address) notRun('the target config names no gRPC address');
    if (!fixtures.target.user.username) notRun('the target config names no local user to call the services as');
    const cs3 = new Cs3Session(address, fixtures.ocm, fixtures.target.user);
    try {
      await body({ ...fixtures, cs3 }, testInfo);
    } finally {
      cs3.close();
    }
  });
}

// ---------------------------------------------------------------- statuses

function codeOf(response: Any | undefined): string {
  const code = response?.status?.code;
  return typeof code === 'string' ? code : response?.status ? `(code ${JSON.stringify(code)})` : '(no status)';
}

function show(response: Any | undefined): string {
  return `${codeOf(response)} ${JSON.stringify(response?.status?.message ?? '')}`;
}

/** Asserts the response's status code is `expected` (or one of them). */
function expectCode(response: Any, expected: string | string[], what: string): void {
  const allowed = Array.isArray(expected) ? expected : [expected];
  expect(codeOf(response), `${what}: expected ${allowed.join(' or ')}, got ${show(response)}`).toMatch(
    new RegExp(`^(${allowed.join('|')})$`),
  );
}

/** Runs every probe and reports all mismatches together (one failure naming each rpc that was wrong). */
async function expectEach(probes: Array<{ what: string; expected: string[]; call: () => Promise<Any> }>): Promise<void> {
  const wrong: string[] = [];
  for (const probe of probes) {
    let got: string;
    try {
      got = show(await probe.call());
    } catch (error) {
      got = (error as Error).message;
    }
    const code = got.split(' ')[0]!;
    if (!probe.expected.includes(code)) wrong.push(`${probe.what}: expected ${probe.expected.join(' or ')}, got ${got}`);
  }
  expect(wrong, wrong.join('\n')).toEqual([]);
}

// ---------------------------------------------------------------- identifiers and messages

function localUserId(target: TargetHandle, user: TargetUser = target.user): Any {
  return { idp: target.domain, opaque_id: user.id, type: 'USER_TYPE_PRIMARY' };
}

function remoteUserId(peer: PeerSimulator, user: PeerUser): Any {
  return { idp: peer.domain, opaque_id: user.id, type: 'USER_TYPE_FEDERATED' };
}

function userGrantee(peer: PeerSimulator, user: PeerUser): Any {
  return { type: 'GRANTEE_TYPE_USER', user_id: remoteUserId(peer, user) };
}

function plainOpaque(entries: Record<string, string>, decoder = 'plain'): Any {
  return { map: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { decoder, value: Buffer.from(v, 'utf8') }])) };
}

/** The opaque `grantee` the OcmCoreAPI update and delete rpcs need: the local recipient as id@host. */
function granteeOpaque(target: TargetHandle): Any {
  return plainOpaque({ grantee: `${target.user.id}@${target.domain}` });
}

function timestamp(seconds: number): Any {
  return { seconds: String(seconds), nanos: 0 };
}

function shareIdOf(share: Any | undefined): string {
  return String(share?.id?.opaque_id ?? '');
}

function unknownId(): string {
  return `unknown-${randomUUID()}`;
}

/** host[:port] of a domain or URL-ish value (reva-era values may carry a scheme), lower case. */
function hostPort(value: unknown): string {
  return String(value ?? '')
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

/** A domain no trust list names. */
function untrustedDomain(): string {
  return `untrusted-${randomBytes(4).toString('hex')}.invalid`;
}

// ---------------------------------------------------------------- steps

/**
 * A fresh peer user who is an accepted contact of the target's user: through
 * the driver's invite flow when it has one (HTTP, independent of the gRPC
 * services), else GenerateInviteToken + AcceptInvite.
 */
async function contact(cs3: Cs3Session, ocm: Transcript, target: TargetHandle, peer: PeerSimulator, prefix = 'cs3'): Promise<PeerUser> {
  const user = peer.newUser(prefix);
  if (target.driver.supports('generateInvite')) {
    await becomeContact(ocm, target, peer, user);
    return user;
  }
  const token = await inviteToken(cs3);
  const accepted = await cs3.call(
    'inviteApi',
    'AcceptInvite',
    { invite_token: { token }, remote_user: { id: remoteUserId(peer, user), mail: user.email, display_name: user.name } },
    { as: null },
  );
  expectCode(accepted, 'CODE_OK', `setup: AcceptInvite of a fresh token for ${peer.address(user.id)}`);
  return user;
}

/** A fresh invite token of the target's user (GenerateInviteToken). */
async function inviteToken(cs3: Cs3Session, description = 'made by the conformance suite'): Promise<string> {
  const generated = await cs3.call('inviteApi', 'GenerateInviteToken', { description });
  expectCode(generated, 'CODE_OK', 'setup: GenerateInviteToken');
  const token = generated.invite_token?.token;
  expect(typeof token === 'string' && token !== '', `GenerateInviteToken returned a token: ${JSON.stringify(generated.invite_token)}`).toBe(
    true,
  );
  return token as string;
}

/** The target's ResourceIds by path, learnt once per worker (a property of the target's files). */
const resourceIds = new Map<string, Any>();

/**
 * The target's ResourceId of `path` (of its first user). A ResourceId is the
 * storage's own identifier, so it is learnt from the target: the driver
 * shares the path with a contact, and ListOCMShares names the share's resource_id.
 */
async function resourceIdOf(cs3: Cs3Session, ocm: Transcript, target: TargetHandle, peer: PeerSimulator, path: string): Promise<Any> {
  const key = `${cs3.address} ${target.user.username} ${path}`;
  const known = resourceIds.get(key);
  if (known) return structuredClone(known);
  if (!target.driver.supports('shareWith') || !target.driver.supports('generateInvite')) {
    notRun(`the ${target.driver.kind} driver cannot share, so the target's ResourceId of ${path} cannot be learnt`);
  }
  const user = await contact(cs3, ocm, target, peer, 'rid');
  const { id } = await target.driver.shareWith(target.user, { path, recipient: { userId: user.id, domain: peer.domain }, role: 'viewer' });
  const listed = await cs3.call('ocmApi', 'ListOCMShares', {});
  expectCode(listed, 'CODE_OK', 'setup: ListOCMShares (to learn a ResourceId)');
  const shares: Any[] = Array.isArray(listed.shares) ? listed.shares : [];
  const share = shares.find((s) => shareIdOf(s) === id) ?? shares.find((s) => s.grantee?.user_id?.opaque_id === user.id);
  if (!share?.resource_id)
    throw new StepFailed(
      ['learn the ResourceId of a share'],
      undefined,
      `the share of ${path} the driver made (id ${id}) is not in ListOCMShares`,
    );
  resourceIds.set(key, share.resource_id);
  return structuredClone(share.resource_id);
}

/** The ProviderInfo of `peer` as the target knows it (what reva's front passes as recipient_mesh_provider). */
async function meshProvider(cs3: Cs3Session, peer: PeerSimulator): Promise<Any> {
  const info = await cs3.call('providerApi', 'GetInfoByDomain', { domain: peer.domain }, { as: null });
  return codeOf(info) === 'CODE_OK' && info.provider_info ? info.provider_info : { domain: peer.domain };
}

function createShareRequest(
  rid: Any,
  peer: PeerSimulator,
  user: PeerUser,
  provider: Any,
  options: { expiration?: number; write?: boolean } = {},
): Any {
  return {
    resource_id: rid,
    grantee: userGrantee(peer, user),
    recipient_mesh_provider: provider,
    access_methods: [{ webdav_options: { permissions: options.write ? { ...READ, ...WRITE } : READ } }],
    ...(options.expiration !== undefined ? { expiration: timestamp(options.expiration) } : {}),
  };
}

interface CreatedShare {
  id: string;
  share: Any;
  /** The POST /shares that reached the peer after the rpc. */
  delivered: RecordedRequest | undefined;
}

/** CreateOCMShare of `rid` for `user` at `peer`; asserts CODE_OK and waits (bounded) for the POST /shares at the peer. */
async function createShare(
  cs3: Cs3Session,
  peer: PeerSimulator,
  user: PeerUser,
  rid: Any,
  options: { expiration?: number; write?: boolean } = {},
): Promise<CreatedShare> {
  const provider = await meshProvider(cs3, peer);
  const from = peer.requests.length;
  const created = await cs3.call('ocmApi', 'CreateOCMShare', createShareRequest(rid, peer, user, provider, options));
  expectCode(created, 'CODE_OK', `CreateOCMShare for ${peer.address(user.id)}`);
  const id = shareIdOf(created.share);
  expect(id, `CreateOCMShare returned a share with an id: ${JSON.stringify(printable(created.share))}`).not.toBe('');
  const delivered = await eventually(async () => peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/shares')));
  return { id, share: created.share, delivered };
}

/** The webdav shared secret of a share the peer received (new or legacy protocol shape). */
function deliveredSecret(request: RecordedRequest | undefined): string {
  const body = request?.body as Any | undefined;
  const secret = body?.protocol?.webdav?.sharedSecret ?? body?.protocol?.options?.sharedSecret;
  if (typeof secret !== 'string' || secret === '')
    throw new Error(
      `no POST /shares with a webdav sharedSecret reached the peer: ${request ? JSON.stringify(body).slice(0, 300) : 'nothing arrived'}`,
    );
  registerSecret(secret);
  return secret;
}

/** The peer's `owner` sends the target's first user a share of a fixture file under a unique name (HTTP POST /shares). */
async function peerSendsShare(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  owner: PeerUser,
): Promise<{ share: PeerShare; name: string }> {
  const share = peer.createShare('/welcome.txt');
  const name = `cs3-${randomBytes(4).toString('hex')}.txt`;
  await stepRequest(
    'the peer shares a file with the target user',
    () => peerPost(ocm, target, peer, '/shares', sharePayload(peer, share, targetAddress(target), owner, { name })),
    201,
  );
  return { share, name };
}

/** The target's received share that came from `share` (by remote_share_id, else by its unique name). */
function receivedFrom(list: Any, share: PeerShare, name: string): Any | undefined {
  const shares: Any[] = Array.isArray(list?.shares) ? list.shares : [];
  return shares.find((s) => s.remote_share_id === share.id) ?? shares.find((s) => s.name === name);
}

async function waitUntilPast(seconds: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, seconds * 1000 - Date.now()) + 300));
}

/** Pages through a list rpc with `pageSize`; returns the pages (bounded). */
async function pages(cs3: Cs3Session, method: 'ListOCMShares' | 'ListReceivedOCMShares', pageSize: number): Promise<Any[][]> {
  const out: Any[][] = [];
  let token = '';
  for (let i = 0; i < 500; i++) {
    const answer = await cs3.call('ocmApi', method, { page_size: pageSize, page_token: token });
    expectCode(answer, 'CODE_OK', `${method} page ${i + 1} (page_size ${pageSize})`);
    const shares: Any[] = Array.isArray(answer.shares) ? answer.shares : [];
    expect(shares.length, `${method} page ${i + 1} holds at most page_size (${pageSize}) shares`).toBeLessThanOrEqual(pageSize);
    out.push(shares);
    token = String(answer.next_page_token ?? '');
    if (token === '') return out;
  }
  throw new Error(`${method} still returned a next_page_token after 500 pages`);
}

// ---------------------------------------------------------------- CS3-1 … CS3-5: every rpc answers with a status

cs3Check(
  ['CS3-1'],
  'ProviderAPI: IsProviderAllowed, GetInfoByDomain and ListAllProviders answer CODE_OK for a trusted peer',
  async ({ cs3, peer }) => {
    const allowed = await cs3.call('providerApi', 'IsProviderAllowed', { provider: { domain: peer.domain } }, { as: null });
    expectCode(allowed, 'CODE_OK', `IsProviderAllowed(${peer.domain})`);
    const info = await cs3.call('providerApi', 'GetInfoByDomain', { domain: peer.domain }, { as: null });
    expectCode(info, 'CODE_OK', `GetInfoByDomain(${peer.domain})`);
    expect(hostPort(info.provider_info?.domain), 'provider_info.domain names the peer').toBe(peer.domain);
    const all = await cs3.call('providerApi', 'ListAllProviders', {}, { as: null });
    expectCode(all, 'CODE_OK', 'ListAllProviders');
    const domains = (Array.isArray(all.providers) ? all.providers : []).map((p: Any) => hostPort(p.domain));
    expect(domains, `ListAllProviders names the trusted peer ${peer.domain}`).toContain(peer.domain);
  },
);

cs3Check(
  ['CS3-2'],
  'InviteAPI: all seven rpcs answer CODE_OK on the invitation workflow, and ForwardInvite reaches the peer',
  async ({ cs3, target, peer }) => {
    // Inviter side: a token of the target's user, redeemed for a peer user.
    const description = `cs3-2 ${randomBytes(3).toString('hex')}`;
    const generated = await cs3.call('inviteApi', 'GenerateInviteToken', { description });
    expectCode(generated, 'CODE_OK', 'GenerateInviteToken');
    const token = String(generated.invite_token?.token ?? '');
    expect(token, 'GenerateInviteToken returned a token').not.toBe('');
    const listed = await cs3.call('inviteApi', 'ListInviteTokens', {});
    expectCode(listed, 'CODE_OK', 'ListInviteTokens');
    expect(
      (listed.invite_tokens ?? []).some((t: Any) => t.token === token),
      'ListInviteTokens lists the open token',
    ).toBe(true);
    const acceptor = peer.newUser('acceptor');
    const accepted = await cs3.call(
      'inviteApi',
      'AcceptInvite',
      { invite_token: { token }, remote_user: { id: remoteUserId(peer, acceptor), mail: acceptor.email, display_name: acceptor.name } },
      { as: null },
    );
    expectCode(accepted, 'CODE_OK', `AcceptInvite (the token redeemed for ${peer.address(acceptor.id)})`);
    expect(accepted.user_id?.opaque_id, 'AcceptInvite names the inviter, the target user').toBe(target.user.id);
    const got = await cs3.call('inviteApi', 'GetAcceptedUser', { remote_user_id: remoteUserId(peer, acceptor) });
    expectCode(got, 'CODE_OK', 'GetAcceptedUser of the new contact');
    expect(got.remote_user?.id?.opaque_id, 'GetAcceptedUser names the contact').toBe(acceptor.id);
    const found = await cs3.call('inviteApi', 'FindAcceptedUsers', { filter: '' });
    expectCode(found, 'CODE_OK', 'FindAcceptedUsers');
    expect(
      (found.accepted_users ?? []).some((u: Any) => u.id?.opaque_id === acceptor.id),
      'FindAcceptedUsers lists the new contact',
    ).toBe(true);
    const deleted = await cs3.call('inviteApi', 'DeleteAcceptedUser', { remote_user_id: remoteUserId(peer, acceptor) });
    expectCode(deleted, 'CODE_OK', 'DeleteAcceptedUser of the new contact');

    // Receiver side: the target's user accepts the peer's invite; the target tells the peer.
    const inviter = peer.newUser('inviter');
    const invite = peer.createInvite(inviter);
    const forwarded = await cs3.call('inviteApi', 'ForwardInvite', {
      invite_token: { token: invite.token },
      origin_system_provider: { domain: peer.domain },
    });
    expectCode(forwarded, 'CODE_OK', `ForwardInvite of ${peer.domain}'s token`);
    expect(forwarded.user_id?.opaque_id, 'ForwardInvite names the inviter').toBe(inviter.id);
    const sent = peer.received('/invite-accepted').find((r) => r.body?.token === invite.token);
    expect(sent, `ForwardInvite reached ${peer.domain}'s POST /invite-accepted with the token`).toBeDefined();
    expect(sent!.body.userID, 'the acceptance names the target user').toBe(target.user.id);
  },
);

cs3Check(
  ['CS3-3'],
  'OcmAPI: all nine rpcs answer CODE_OK on the life of a sent and a received share',
  async ({ cs3, target, peer, ocm }) => {
    const user = await contact(cs3, ocm, target, peer);
    const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
    const { id, delivered } = await createShare(cs3, peer, user, rid);
    const byId = await cs3.call('ocmApi', 'GetOCMShare', { ref: { id: { opaque_id: id } } });
    expectCode(byId, 'CODE_OK', 'GetOCMShare by id');
    expect(shareIdOf(byId.share)).toBe(id);
    const secret = deliveredSecret(delivered);
    const strict = ((delivered?.body as Any)?.protocol?.webdav?.requirements ?? []).includes('must-exchange-token');
    const byToken = await cs3.call('ocmApi', 'GetOCMShareByToken', { token: secret }, { as: null });
    // A share that requires token exchange may refuse its bare secret (decisions/0007 §4).
    expectCode(byToken, strict ? ['CODE_OK', 'CODE_PERMISSION_DENIED'] : 'CODE_OK', 'GetOCMShareByToken with the secret the peer received');
    const listed = await cs3.call('ocmApi', 'ListOCMShares', {});
    expectCode(listed, 'CODE_OK', 'ListOCMShares');
    expect(
      (listed.shares ?? []).some((s: Any) => shareIdOf(s) === id),
      'ListOCMShares lists the new share',
    ).toBe(true);
    const updated = await cs3.call('ocmApi', 'UpdateOCMShare', {
      ref: { id: { opaque_id: id } },
      field: [{ access_methods: { webdav_options: { permissions: { ...READ, ...WRITE } } } }],
    });
    expectCode(updated, 'CODE_OK', 'UpdateOCMShare (read → read+write)');

    const { share: incoming, name } = await peerSendsShare(ocm, target, peer, user);
    const received = await cs3.call('ocmApi', 'ListReceivedOCMShares', {});
    expectCode(received, 'CODE_OK', 'ListReceivedOCMShares');
    const mine = receivedFrom(received, incoming, name);
    expect(mine, 'ListReceivedOCMShares lists the share the peer sent').toBeDefined();
    const receivedId = shareIdOf(mine);
    const one = await cs3.call('ocmApi', 'GetReceivedOCMShare', { ref: { id: { opaque_id: receivedId } } });
    expectCode(one, 'CODE_OK', 'GetReceivedOCMShare');
    expect(one.share?.state, 'a new received share is pending').toBe('SHARE_STATE_PENDING');
    const acceptedShare = await cs3.call('ocmApi', 'UpdateReceivedOCMShare', {
      share: { id: { opaque_id: receivedId }, state: 'SHARE_STATE_ACCEPTED' },
      update_mask: { paths: ['state'] },
    });
    expectCode(acceptedShare, 'CODE_OK', 'UpdateReceivedOCMShare state → accepted');
    const after = await cs3.call('ocmApi', 'GetReceivedOCMShare', { ref: { id: { opaque_id: receivedId } } });
    expect(after.share?.state, 'the received share is accepted now').toBe('SHARE_STATE_ACCEPTED');

    const removed = await cs3.call('ocmApi', 'RemoveOCMShare', { ref: { id: { opaque_id: id } } });
    expectCode(removed, 'CODE_OK', 'RemoveOCMShare');
  },
);

cs3Check(
  ['CS3-4'],
  'OcmCoreAPI: CreateOCMCoreShare, UpdateOCMCoreShare and DeleteOCMCoreShare answer CODE_OK and take effect',
  async ({ cs3, target, peer, ocm }) => {
    const owner = await contact(cs3, ocm, target, peer, 'core');
    const share = peer.createShare('/welcome.txt');
    const name = `core-${randomBytes(4).toString('hex')}.txt`;
    const created = await cs3.call('ocmCoreApi', 'CreateOCMCoreShare', coreShareRequest(target, peer, owner, share, name), { as: null });
    expectCode(created, 'CODE_OK', 'CreateOCMCoreShare');
    expect(String(created.id ?? ''), 'CreateOCMCoreShare returns the new id').not.toBe('');
    const listed = receivedFrom(await cs3.call('ocmApi', 'ListReceivedOCMShares', {}), share, name);
    expect(listed, 'the target user received the share').toBeDefined();

    const updated = await cs3.call(
      'ocmCoreApi',
      'UpdateOCMCoreShare',
      {
        ocm_share_id: share.id,
        opaque: granteeOpaque(target),
        protocols: [{ webdav_options: { permissions: { permissions: { ...READ, ...WRITE } } } }],
      },
      { as: null },
    );
    expectCode(updated, 'CODE_OK', 'UpdateOCMCoreShare (read → read+write), by the providerId');
    const changed = receivedFrom(await cs3.call('ocmApi', 'ListReceivedOCMShares', {}), share, name);
    const webdav = (changed?.protocols ?? []).map((p: Any) => p.webdav_options).find(Boolean);
    expect(webdav?.permissions?.permissions?.initiate_file_upload, 'the received share can write now').toBe(true);

    const deleted = await cs3.call('ocmCoreApi', 'DeleteOCMCoreShare', { id: share.id, opaque: granteeOpaque(target) }, { as: null });
    expectCode(deleted, 'CODE_OK', 'DeleteOCMCoreShare, by the providerId');
    const gone = receivedFrom(await cs3.call('ocmApi', 'ListReceivedOCMShares', {}), share, name);
    expect(gone, 'the received share is gone').toBeUndefined();
  },
);

function coreShareRequest(target: TargetHandle, peer: PeerSimulator, owner: PeerUser, share: PeerShare, name: string): Any {
  return {
    description: 'sent by the conformance suite',
    name,
    resource_id: share.id,
    owner: remoteUserId(peer, owner),
    sender: remoteUserId(peer, owner),
    share_with: localUserId(target),
    resource_type: 'RESOURCE_TYPE_FILE',
    share_type: 'SHARE_TYPE_USER',
    protocols: [
      {
        webdav_options: {
          shared_secret: share.secret,
          permissions: { permissions: READ, reshare: false },
          uri: `${peer.origin}/dav/ocm/${share.id}`,
        },
      },
    ],
  };
}

cs3Check(['CS3-5'], 'Authenticate answers CODE_OK with the grantee for a share id and its secret', async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
  const { id, delivered } = await createShare(cs3, peer, user, rid);
  const answer = await cs3.call(
    'authProviderApi',
    'Authenticate',
    { client_id: id, client_secret: deliveredSecret(delivered) },
    { as: null },
  );
  expectCode(answer, 'CODE_OK', 'Authenticate(share id, its secret)');
  expect(answer.user?.id?.opaque_id, 'the authenticated user is the grantee').toBe(user.id);
});

// ---------------------------------------------------------------- CS3-6: wire names and numbers

cs3Check(
  ['CS3-6'],
  'every rpc of cs3apis a5f193a2 is served at its path and answers a message whose field 1 is a Status',
  async ({ cs3, peer }) => {
    const problems: string[] = [];
    for (const [key, rpcs] of Object.entries(CS3APIS_RPCS) as Array<[ServiceKey, string[]]>) {
      for (const rpc of rpcs) {
        try {
          const response = await cs3.call(key, rpc, {}, { as: null });
          const code = response?.status?.code;
          if (typeof code !== 'string' || !code.startsWith('CODE_') || code === 'CODE_INVALID')
            problems.push(`/${CS3_SERVICES[key]}/${rpc}: no Status in field 1 (got ${JSON.stringify(response?.status)})`);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    // Field numbers both ways: a request field comes back in a response field.
    const description = `cs3-6 ${randomBytes(4).toString('hex')}`;
    const generated = await cs3.call('inviteApi', 'GenerateInviteToken', { description });
    expectCode(generated, 'CODE_OK', 'GenerateInviteToken with a description (field 2)');
    const listed = await cs3.call('inviteApi', 'ListInviteTokens', {});
    const token = (listed.invite_tokens ?? []).find((t: Any) => t.token === generated.invite_token?.token);
    expect(token?.description, 'InviteToken.description (field 4) carries the description sent in field 2').toBe(description);
    expect(token?.user_id?.opaque_id, 'InviteToken.user_id (field 2) names the caller').toBeTruthy();
    const info = await cs3.call('providerApi', 'GetInfoByDomain', { domain: peer.domain }, { as: null });
    expect(hostPort(info.provider_info?.domain), 'ProviderInfo.domain (field 5) for GetInfoByDomain.domain (field 2)').toBe(peer.domain);
  },
);

// ---------------------------------------------------------------- CS3-7: misses

cs3Check(
  ['CS3-7'],
  'a domain, share, share token, received share, accepted user or invite token that does not exist gives CODE_NOT_FOUND',
  async ({ cs3, peer }) => {
    const stranger = peer.newUser('stranger');
    await expectEach([
      {
        what: 'GetInfoByDomain of an unknown domain',
        expected: ['CODE_NOT_FOUND'],
        call: () => cs3.call('providerApi', 'GetInfoByDomain', { domain: untrustedDomain() }, { as: null }),
      },
      {
        what: 'GetOCMShare of an unknown id',
        expected: ['CODE_NOT_FOUND'],
        call: () => cs3.call('ocmApi', 'GetOCMShare', { ref: { id: { opaque_id: unknownId() } } }),
      },
      {
        what: 'GetOCMShareByToken of an unknown token',
        expected: ['CODE_NOT_FOUND'],
        call: () => cs3.call('ocmApi', 'GetOCMShareByToken', { token: randomBytes(32).toString('base64url') }, { as: null }),
      },
      {
        what: 'GetReceivedOCMShare of an unknown id',
        expected: ['CODE_NOT_FOUND'],
        call: () => cs3.call('ocmApi', 'GetReceivedOCMShare', { ref: { id: { opaque_id: unknownId() } } }),
      },
      {
        what: 'GetAcceptedUser of a stranger',
        expected: ['CODE_NOT_FOUND'],
        call: () => cs3.call('inviteApi', 'GetAcceptedUser', { remote_user_id: remoteUserId(peer, stranger) }),
      },
      {
        what: 'AcceptInvite of an unknown token',
        expected: ['CODE_NOT_FOUND'],
        call: () =>
          cs3.call(
            'inviteApi',
            'AcceptInvite',
            {
              invite_token: { token: randomBytes(18).toString('base64url') },
              remote_user: { id: remoteUserId(peer, stranger), mail: stranger.email, display_name: stranger.name },
            },
            { as: null },
          ),
      },
    ]);
  },
);

// ---------------------------------------------------------------- CS3-8: duplicates

cs3Check(
  ['CS3-8'],
  'CreateOCMShare of the same resource for the same grantee again gives CODE_ALREADY_EXISTS',
  async ({ cs3, target, peer, ocm }) => {
    const user = await contact(cs3, ocm, target, peer);
    const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
    const first = await createShare(cs3, peer, user, rid);
    const provider = await meshProvider(cs3, peer);
    const again = await cs3.call('ocmApi', 'CreateOCMShare', createShareRequest(rid, peer, user, provider));
    expectCode(
      again,
      'CODE_ALREADY_EXISTS',
      `a second CreateOCMShare of the same resource for ${peer.address(user.id)} (the first is ${first.id})`,
    );
  },
);

cs3Check(['CS3-8'], 'AcceptInvite of a second token for a user who already accepted gives CODE_ALREADY_EXISTS', async ({ cs3, peer }) => {
  const acceptor = peer.newUser('twice');
  const remote_user = { id: remoteUserId(peer, acceptor), mail: acceptor.email, display_name: acceptor.name };
  const first = await cs3.call('inviteApi', 'AcceptInvite', { invite_token: { token: await inviteToken(cs3) }, remote_user }, { as: null });
  expectCode(first, 'CODE_OK', 'the first AcceptInvite');
  const second = await cs3.call(
    'inviteApi',
    'AcceptInvite',
    { invite_token: { token: await inviteToken(cs3) }, remote_user },
    { as: null },
  );
  expectCode(second, 'CODE_ALREADY_EXISTS', 'AcceptInvite of a fresh token by the same, already accepted user');
});

cs3Check(
  ['CS3-8'],
  'ForwardInvite of a second token from an inviter who is already a contact gives CODE_ALREADY_EXISTS',
  async ({ cs3, peer }) => {
    const inviter = peer.newUser('inviter');
    const first = await cs3.call('inviteApi', 'ForwardInvite', {
      invite_token: { token: peer.createInvite(inviter).token },
      origin_system_provider: { domain: peer.domain },
    });
    expectCode(first, 'CODE_OK', 'the first ForwardInvite');
    const second = await cs3.call('inviteApi', 'ForwardInvite', {
      invite_token: { token: peer.createInvite(inviter).token },
      origin_system_provider: { domain: peer.domain },
    });
    expectCode(second, 'CODE_ALREADY_EXISTS', `ForwardInvite of a fresh token of ${peer.address(inviter.id)}, already a contact`);
  },
);

// ---------------------------------------------------------------- CS3-9: expired tokens, untrusted remotes

cs3Check(['CS3-9'], 'AcceptInvite of an expired token gives CODE_INVALID_ARGUMENT', async ({ cs3, target, peer }) => {
  if (!target.driver.supports('generateInvite'))
    notRun(`the ${target.driver.kind} driver cannot generateInvite, and GenerateInviteToken cannot ask for a short-lived token`);
  const { token, expiration } = await target.driver.generateInvite(target.user, { expiresInSeconds: 1 });
  if (expiration === undefined || expiration > Date.now() / 1000 + 5)
    notRun('the target does not issue short-lived invite tokens on request, so no token can be aged');
  registerSecret(token);
  await waitUntilPast(expiration);
  const late = peer.newUser('late');
  const answer = await cs3.call(
    'inviteApi',
    'AcceptInvite',
    { invite_token: { token }, remote_user: { id: remoteUserId(peer, late), mail: late.email, display_name: late.name } },
    { as: null },
  );
  expectCode(answer, 'CODE_INVALID_ARGUMENT', 'AcceptInvite of a token past its expiration');
});

cs3Check(['CS3-9'], 'ForwardInvite of a token the inviter reports as expired gives CODE_INVALID_ARGUMENT', async ({ cs3, peer }) => {
  const invite = peer.createInvite(peer.newUser('expired'));
  // The inviter answers /invite-accepted as the spec says for a token it no longer honours: 400.
  peer.behaviour.inviteAccepted = {
    status: 400,
    body: { message: 'TOKEN_EXPIRED', validationErrors: [{ name: 'token', message: 'the invite token has expired' }] },
  };
  const answer = await cs3.call('inviteApi', 'ForwardInvite', {
    invite_token: { token: invite.token },
    origin_system_provider: { domain: peer.domain },
  });
  expect(peer.received('/invite-accepted').length, `the target forwarded the acceptance to ${peer.domain}`).toBeGreaterThan(0);
  expectCode(answer, 'CODE_INVALID_ARGUMENT', 'ForwardInvite of a token the inviter refused as expired');
});

cs3Check(['CS3-9'], 'ForwardInvite to a provider that is not trusted gives CODE_PERMISSION_DENIED', async ({ cs3 }) => {
  const domain = untrustedDomain();
  const answer = await cs3.call('inviteApi', 'ForwardInvite', {
    invite_token: { token: randomBytes(18).toString('base64url') },
    origin_system_provider: { domain },
  });
  expectCode(answer, 'CODE_PERMISSION_DENIED', `ForwardInvite with origin_system_provider ${domain}`);
});

// ---------------------------------------------------------------- CS3-10: malformed input

cs3Check(
  ['CS3-10'],
  'missing required fields, empty access_methods and unusable ids give CODE_INVALID_ARGUMENT, never a transport error or CODE_INTERNAL',
  async ({ cs3, target, peer, ocm }) => {
    const user = await contact(cs3, ocm, target, peer);
    const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
    const provider = await meshProvider(cs3, peer);
    const valid = createShareRequest(rid, peer, user, provider);
    const token = await inviteToken(cs3);
    const owner = peer.newUser('owner');
    const coreShare = coreShareRequest(target, peer, owner, peer.createShare('/welcome.txt'), 'malformed.txt');
    const without = (object: Any, key: string): Any => Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
    const invalid = ['CODE_INVALID_ARGUMENT'];
    await expectEach([
      {
        what: 'CreateOCMShare without resource_id',
        expected: invalid,
        call: () => cs3.call('ocmApi', 'CreateOCMShare', without(valid, 'resource_id')),
      },
      {
        what: 'CreateOCMShare with empty access_methods',
        expected: invalid,
        call: () => cs3.call('ocmApi', 'CreateOCMShare', { ...valid, access_methods: [] }),
      },
      {
        what: 'CreateOCMShare with a grantee without user_id',
        expected: invalid,
        call: () => cs3.call('ocmApi', 'CreateOCMShare', { ...valid, grantee: { type: 'GRANTEE_TYPE_USER' } }),
      },
      {
        what: 'CreateOCMShare with a grantee user_id without opaque_id',
        expected: invalid,
        call: () =>
          cs3.call('ocmApi', 'CreateOCMShare', {
            ...valid,
            grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: peer.domain, type: 'USER_TYPE_FEDERATED' } },
          }),
      },
      {
        what: 'CreateOCMShare with an empty resource_id',
        expected: invalid,
        call: () => cs3.call('ocmApi', 'CreateOCMShare', { ...valid, resource_id: {} }),
      },
      { what: 'GetOCMShare without ref', expected: invalid, call: () => cs3.call('ocmApi', 'GetOCMShare', {}) },
      {
        what: 'GetOCMShare with an empty share id',
        expected: invalid,
        call: () => cs3.call('ocmApi', 'GetOCMShare', { ref: { id: { opaque_id: '' } } }),
      },
      {
        what: 'ForwardInvite without invite_token',
        expected: invalid,
        call: () => cs3.call('inviteApi', 'ForwardInvite', { origin_system_provider: { domain: peer.domain } }),
      },
      {
        what: 'AcceptInvite without remote_user',
        expected: invalid,
        call: () => cs3.call('inviteApi', 'AcceptInvite', { invite_token: { token } }, { as: null }),
      },
      { what: 'DeleteAcceptedUser without remote_user_id', expected: invalid, call: () => cs3.call('inviteApi', 'DeleteAcceptedUser', {}) },
      {
        what: 'CreateOCMCoreShare without share_with',
        expected: invalid,
        call: () => cs3.call('ocmCoreApi', 'CreateOCMCoreShare', without(coreShare, 'share_with'), { as: null }),
      },
      {
        what: 'CreateOCMCoreShare without owner',
        expected: invalid,
        call: () => cs3.call('ocmCoreApi', 'CreateOCMCoreShare', without(coreShare, 'owner'), { as: null }),
      },
      {
        what: 'GetInfoByDomain with an empty domain',
        expected: invalid,
        call: () => cs3.call('providerApi', 'GetInfoByDomain', { domain: '' }, { as: null }),
      },
      {
        what: 'IsProviderAllowed without provider',
        expected: invalid,
        call: () => cs3.call('providerApi', 'IsProviderAllowed', {}, { as: null }),
      },
    ]);
  },
);

// ---------------------------------------------------------------- CS3-11, CS3-12: caller identity

cs3Check(['CS3-11'], 'every rpc that acts for a user, called without one, gives CODE_UNAUTHENTICATED', async ({ cs3, peer }) => {
  const someone = peer.newUser('anon');
  const ref = { id: { opaque_id: unknownId() } };
  const none = { as: null };
  const unauthenticated = ['CODE_UNAUTHENTICATED'];
  await expectEach([
    {
      what: 'GenerateInviteToken',
      expected: unauthenticated,
      call: () => cs3.call('inviteApi', 'GenerateInviteToken', { description: 'anonymous' }, none),
    },
    { what: 'ListInviteTokens', expected: unauthenticated, call: () => cs3.call('inviteApi', 'ListInviteTokens', {}, none) },
    {
      what: 'ForwardInvite',
      expected: unauthenticated,
      call: () =>
        cs3.call(
          'inviteApi',
          'ForwardInvite',
          { invite_token: { token: peer.createInvite(someone).token }, origin_system_provider: { domain: peer.domain } },
          none,
        ),
    },
    { what: 'FindAcceptedUsers', expected: unauthenticated, call: () => cs3.call('inviteApi', 'FindAcceptedUsers', { filter: '' }, none) },
    {
      what: 'DeleteAcceptedUser',
      expected: unauthenticated,
      call: () => cs3.call('inviteApi', 'DeleteAcceptedUser', { remote_user_id: remoteUserId(peer, someone) }, none),
    },
    {
      what: 'CreateOCMShare',
      expected: unauthenticated,
      call: () =>
        cs3.call(
          'ocmApi',
          'CreateOCMShare',
          createShareRequest({ storage_id: 'home', opaque_id: 'welcome.txt' }, peer, someone, { domain: peer.domain }),
          none,
        ),
    },
    { what: 'RemoveOCMShare', expected: unauthenticated, call: () => cs3.call('ocmApi', 'RemoveOCMShare', { ref }, none) },
    { what: 'GetOCMShare', expected: unauthenticated, call: () => cs3.call('ocmApi', 'GetOCMShare', { ref }, none) },
    { what: 'ListOCMShares', expected: unauthenticated, call: () => cs3.call('ocmApi', 'ListOCMShares', {}, none) },
    {
      what: 'UpdateOCMShare',
      expected: unauthenticated,
      call: () =>
        cs3.call('ocmApi', 'UpdateOCMShare', { ref, field: [{ expiration: timestamp(Math.floor(Date.now() / 1000) + 86400) }] }, none),
    },
    { what: 'ListReceivedOCMShares', expected: unauthenticated, call: () => cs3.call('ocmApi', 'ListReceivedOCMShares', {}, none) },
    {
      what: 'UpdateReceivedOCMShare',
      expected: unauthenticated,
      call: () =>
        cs3.call(
          'ocmApi',
          'UpdateReceivedOCMShare',
          { share: { id: ref.id, state: 'SHARE_STATE_ACCEPTED' }, update_mask: { paths: ['state'] } },
          none,
        ),
    },
    { what: 'GetReceivedOCMShare', expected: unauthenticated, call: () => cs3.call('ocmApi', 'GetReceivedOCMShare', { ref }, none) },
  ]);
  expect(peer.received('/invite-accepted'), 'an anonymous ForwardInvite reached the inviter').toEqual([]);
});

cs3Check(
  ['CS3-12'],
  'the provider rpcs, AcceptInvite, GetAcceptedUser and the three OcmCoreAPI rpcs work without a user',
  async ({ cs3, target, peer, ocm }) => {
    const none = { as: null };
    expectCode(
      await cs3.call('providerApi', 'IsProviderAllowed', { provider: { domain: peer.domain } }, none),
      'CODE_OK',
      'IsProviderAllowed without a user',
    );
    expectCode(
      await cs3.call('providerApi', 'GetInfoByDomain', { domain: peer.domain }, none),
      'CODE_OK',
      'GetInfoByDomain without a user',
    );
    expectCode(await cs3.call('providerApi', 'ListAllProviders', {}, none), 'CODE_OK', 'ListAllProviders without a user');

    const acceptor = peer.newUser('anon-accept');
    const token = await inviteToken(cs3);
    const accepted = await cs3.call(
      'inviteApi',
      'AcceptInvite',
      { invite_token: { token }, remote_user: { id: remoteUserId(peer, acceptor), mail: acceptor.email, display_name: acceptor.name } },
      none,
    );
    expectCode(accepted, 'CODE_OK', 'AcceptInvite without a user');
    // reva's way to name the local user without a caller: opaque "user-filter", a JSON UserId.
    const filter = plainOpaque({ 'user-filter': JSON.stringify({ idp: target.domain, opaque_id: target.user.id, type: 1 }) }, 'json');
    const got = await cs3.call('inviteApi', 'GetAcceptedUser', { opaque: filter, remote_user_id: remoteUserId(peer, acceptor) }, none);
    expectCode(got, 'CODE_OK', 'GetAcceptedUser without a user (opaque user-filter)');
    expect(got.remote_user?.id?.opaque_id).toBe(acceptor.id);

    const owner = await contact(cs3, ocm, target, peer, 'anon-core');
    const share = peer.createShare('/welcome.txt');
    const created = await cs3.call(
      'ocmCoreApi',
      'CreateOCMCoreShare',
      coreShareRequest(target, peer, owner, share, `anon-${randomBytes(4).toString('hex')}.txt`),
      none,
    );
    expectCode(created, 'CODE_OK', 'CreateOCMCoreShare without a user');
    const updated = await cs3.call(
      'ocmCoreApi',
      'UpdateOCMCoreShare',
      {
        ocm_share_id: share.id,
        opaque: granteeOpaque(target),
        protocols: [{ webdav_options: { permissions: { permissions: { ...READ, ...WRITE } } } }],
      },
      none,
    );
    expectCode(updated, 'CODE_OK', 'UpdateOCMCoreShare without a user');
    const deleted = await cs3.call('ocmCoreApi', 'DeleteOCMCoreShare', { id: share.id, opaque: granteeOpaque(target) }, none);
    expectCode(deleted, 'CODE_OK', 'DeleteOCMCoreShare without a user');
  },
);

// ---------------------------------------------------------------- CS3-13: untrusted providers

cs3Check(
  ['CS3-13'],
  'IsProviderAllowed answers CODE_UNAUTHENTICATED for a provider not on the trust list (CODE_OK for a trusted one)',
  async ({ cs3, peer }) => {
    const trusted = await cs3.call('providerApi', 'IsProviderAllowed', { provider: { domain: peer.domain } }, { as: null });
    expectCode(trusted, 'CODE_OK', `IsProviderAllowed(${peer.domain}), a trusted peer`);
    const domain = untrustedDomain();
    const untrusted = await cs3.call('providerApi', 'IsProviderAllowed', { provider: { domain } }, { as: null });
    expectCode(untrusted, 'CODE_UNAUTHENTICATED', `IsProviderAllowed(${domain}), on no trust list`);
  },
);

// ---------------------------------------------------------------- CS3-14 … CS3-16: Authenticate

cs3Check(['CS3-14'], 'Authenticate succeeds only for the secret of the share named by client_id', async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const { file, folder } = target.context.target.resources;
  const a = await createShare(cs3, peer, user, await resourceIdOf(cs3, ocm, target, peer, file));
  const b = await createShare(cs3, peer, user, await resourceIdOf(cs3, ocm, target, peer, folder));
  const [secretA, secretB] = [deliveredSecret(a.delivered), deliveredSecret(b.delivered)];
  const authenticate = (clientId: string, secret: string) =>
    cs3.call('authProviderApi', 'Authenticate', { client_id: clientId, client_secret: secret }, { as: null });
  expectCode(await authenticate(a.id, secretA), 'CODE_OK', "Authenticate(share A, A's secret)");
  expectCode(await authenticate(b.id, secretB), 'CODE_OK', "Authenticate(share B, B's secret)");
  await expectEach([
    { what: "Authenticate(share A, B's secret)", expected: REFUSED, call: () => authenticate(a.id, secretB) },
    { what: "Authenticate(share B, A's secret)", expected: REFUSED, call: () => authenticate(b.id, secretA) },
    { what: "Authenticate(an unknown share, A's secret)", expected: REFUSED, call: () => authenticate(unknownId(), secretA) },
    {
      what: 'Authenticate(share A, a wrong secret)',
      expected: REFUSED,
      call: () => authenticate(a.id, randomBytes(32).toString('base64url')),
    },
  ]);
});

cs3Check(
  ['CS3-15'],
  'after the grantee is deleted as an accepted contact, Authenticate refuses the share',
  async ({ cs3, target, peer, ocm }) => {
    const user = await contact(cs3, ocm, target, peer);
    const { id, delivered } = await createShare(
      cs3,
      peer,
      user,
      await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file),
    );
    const secret = deliveredSecret(delivered);
    expectCode(
      await cs3.call('authProviderApi', 'Authenticate', { client_id: id, client_secret: secret }, { as: null }),
      'CODE_OK',
      'Authenticate while the grantee is a contact',
    );
    const deleted = await cs3.call('inviteApi', 'DeleteAcceptedUser', { remote_user_id: remoteUserId(peer, user) });
    expectCode(deleted, 'CODE_OK', `DeleteAcceptedUser(${peer.address(user.id)})`);
    const after = await cs3.call('authProviderApi', 'Authenticate', { client_id: id, client_secret: secret }, { as: null });
    expectCode(after, REFUSED, 'Authenticate after the contact was deleted');
  },
);

cs3Check(['CS3-16'], 'Authenticate refuses a share once its expiration has passed', async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
  const expiration = Math.floor(Date.now() / 1000) + 3;
  const { id, delivered } = await createShare(cs3, peer, user, rid, { expiration });
  const secret = deliveredSecret(delivered);
  expectCode(
    await cs3.call('authProviderApi', 'Authenticate', { client_id: id, client_secret: secret }, { as: null }),
    'CODE_OK',
    'Authenticate before the expiration',
  );
  await waitUntilPast(expiration);
  const after = await cs3.call('authProviderApi', 'Authenticate', { client_id: id, client_secret: secret }, { as: null });
  expectCode(after, REFUSED, `Authenticate after the expiration (${new Date(expiration * 1000).toISOString()})`);
});

// ---------------------------------------------------------------- CS3-17, CS3-18: listing

cs3Check(
  ['CS3-17'],
  "ListOCMShares lists the caller's shares and, with a filter, only the shares that satisfy it",
  async ({ cs3, target, peer, ocm }) => {
    const user = await contact(cs3, ocm, target, peer);
    const { file, folder } = target.context.target.resources;
    const ridFile = await resourceIdOf(cs3, ocm, target, peer, file);
    const ridFolder = await resourceIdOf(cs3, ocm, target, peer, folder);
    const a = await createShare(cs3, peer, user, ridFile);
    const b = await createShare(cs3, peer, user, ridFolder);
    const ids = (answer: Any): string[] => (answer.shares ?? []).map(shareIdOf);
    const sameResource = (x: Any, y: Any) =>
      String(x?.opaque_id) === String(y?.opaque_id) &&
      String(x?.storage_id ?? '') === String(y?.storage_id ?? '') &&
      String(x?.space_id ?? '') === String(y?.space_id ?? '');

    const all = await cs3.call('ocmApi', 'ListOCMShares', {});
    expectCode(all, 'CODE_OK', 'ListOCMShares without filters');
    expect(ids(all), 'both new shares are listed').toEqual(expect.arrayContaining([a.id, b.id]));
    const foreign = (all.shares ?? []).filter((s: Any) => s.owner?.opaque_id !== target.user.id && s.creator?.opaque_id !== target.user.id);
    expect(foreign.map(shareIdOf), 'every listed share is owned or created by the caller').toEqual([]);

    const byFile = await cs3.call('ocmApi', 'ListOCMShares', { filters: [{ type: 'TYPE_RESOURCE_ID', resource_id: ridFile }] });
    expectCode(byFile, 'CODE_OK', 'ListOCMShares filtered by the resource id of the file');
    expect(ids(byFile), 'the file share is listed').toContain(a.id);
    expect(ids(byFile), 'the folder share is not').not.toContain(b.id);
    const offResource = (byFile.shares ?? []).filter((s: Any) => !sameResource(s.resource_id, ridFile));
    expect(offResource.map(shareIdOf), 'every listed share is of the file').toEqual([]);

    const byOwner = await cs3.call('ocmApi', 'ListOCMShares', { filters: [{ type: 'TYPE_OWNER', owner: a.share.owner }] });
    expectCode(byOwner, 'CODE_OK', 'ListOCMShares filtered by the caller as owner');
    expect(ids(byOwner), 'both shares are owned by the caller').toEqual(expect.arrayContaining([a.id, b.id]));
    const other = target.user2
      ? localUserId(target, target.user2)
      : { idp: target.domain, opaque_id: `nobody-${randomUUID()}`, type: 'USER_TYPE_PRIMARY' };
    const byOther = await cs3.call('ocmApi', 'ListOCMShares', { filters: [{ type: 'TYPE_OWNER', owner: other }] });
    expectCode(byOther, 'CODE_OK', 'ListOCMShares filtered by another owner');
    const stillMine = (byOther.shares ?? []).filter((s: Any) => s.owner?.opaque_id === target.user.id);
    expect(stillMine.map(shareIdOf), `no share owned by the caller matches owner ${other.opaque_id}`).toEqual([]);
  },
);

cs3Check(
  ['CS3-18'],
  'ListOCMShares pages with page_size and page_token until next_page_token is empty',
  async ({ cs3, target, peer, ocm }) => {
    const rid = await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file);
    const ours: string[] = [];
    for (let i = 0; i < 3; i++) ours.push((await createShare(cs3, peer, await contact(cs3, ocm, target, peer, `page${i}`), rid)).id);
    const listed = await pages(cs3, 'ListOCMShares', 2);
    const seen = listed.flat().map(shareIdOf);
    expect(listed.length, 'at least two pages for three or more shares').toBeGreaterThanOrEqual(2);
    expect(seen.length, `no share appears twice across pages: ${seen.join(', ')}`).toBe(new Set(seen).size);
    expect(seen, 'the pages together hold the three new shares').toEqual(expect.arrayContaining(ours));
  },
);

cs3Check(
  ['CS3-18'],
  'ListReceivedOCMShares pages with page_size and page_token until next_page_token is empty',
  async ({ cs3, target, peer, ocm }) => {
    const owner = await contact(cs3, ocm, target, peer, 'pager');
    const sent: Array<{ share: PeerShare; name: string }> = [];
    for (let i = 0; i < 3; i++) sent.push(await peerSendsShare(ocm, target, peer, owner));
    const listed = await pages(cs3, 'ListReceivedOCMShares', 2);
    const all = listed.flat();
    const seen = all.map(shareIdOf);
    expect(listed.length, 'at least two pages for three or more received shares').toBeGreaterThanOrEqual(2);
    expect(seen.length, `no received share appears twice across pages`).toBe(new Set(seen).size);
    for (const { share, name } of sent)
      expect(receivedFrom({ shares: all }, share, name), `the pages hold the received share ${name}`).toBeDefined();
  },
);

// ---------------------------------------------------------------- CS3-19, CS3-20: what reaches the peer

cs3Check(['CS3-19'], "CreateOCMShare delivers the share to the grantee's server with POST /shares", async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const { delivered } = await createShare(
    cs3,
    peer,
    user,
    await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file),
  );
  expect(delivered, `a POST /shares reached ${peer.domain} within 5 s`).toBeDefined();
  const body = delivered!.body as Any;
  expect(body?.shareWith, 'the share names the grantee').toBe(peer.address(user.id));
  const fileName = target.context.target.resources.file.split('/').filter(Boolean).pop();
  expect(body?.name, 'the share names the shared file').toBe(fileName);
  const outcome = registry.validate('ocm', 'NewShare', body);
  expect(outcome.ok ? [] : outcome.issues, 'the share is a valid Share Creation Notification (NewShare)').toEqual([]);
});

cs3Check(['CS3-20'], "UpdateOCMShare tells the grantee's server with POST /notifications", async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const { id, delivered } = await createShare(
    cs3,
    peer,
    user,
    await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file),
  );
  const providerId = (delivered?.body as Any)?.providerId;
  expect(typeof providerId, 'the delivered share has a providerId').toBe('string');
  const from = peer.requests.length;
  const updated = await cs3.call('ocmApi', 'UpdateOCMShare', {
    ref: { id: { opaque_id: id } },
    field: [{ access_methods: { webdav_options: { permissions: { ...READ, ...WRITE } } } }],
  });
  expectCode(updated, 'CODE_OK', 'UpdateOCMShare (read → read+write)');
  const notification = await eventually(async () =>
    peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/notifications') && r.body?.providerId === providerId),
  );
  expect(notification, `a POST /notifications about providerId ${providerId} reached ${peer.domain} within 5 s`).toBeDefined();
});

cs3Check(['CS3-20'], "RemoveOCMShare tells the grantee's server with a SHARE_UNSHARED notification", async ({ cs3, target, peer, ocm }) => {
  const user = await contact(cs3, ocm, target, peer);
  const { id, delivered } = await createShare(
    cs3,
    peer,
    user,
    await resourceIdOf(cs3, ocm, target, peer, target.context.target.resources.file),
  );
  const providerId = (delivered?.body as Any)?.providerId;
  const from = peer.requests.length;
  const removed = await cs3.call('ocmApi', 'RemoveOCMShare', { ref: { id: { opaque_id: id } } });
  expectCode(removed, 'CODE_OK', 'RemoveOCMShare');
  const notification = await eventually(async () =>
    peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/notifications') && r.body?.providerId === providerId),
  );
  expect(notification, `a POST /notifications about providerId ${providerId} reached ${peer.domain} within 5 s`).toBeDefined();
  expect(notification!.body.notificationType, 'the notification says the share was removed').toBe('SHARE_UNSHARED');
  const gone = await cs3.call('ocmApi', 'GetOCMShare', { ref: { id: { opaque_id: id } } });
  expectCode(gone, 'CODE_NOT_FOUND', 'GetOCMShare of the removed share');
});

// ---------------------------------------------------------------- CS3-21: received shares stay private

cs3Check(
  ['CS3-21'],
  'ListReceivedOCMShares and GetReceivedOCMShare reveal a received share to its recipient only',
  async ({ cs3, target, peer, ocm }) => {
    const second = target.user2;
    if (!second) notRun('the target config names only one local user; this check needs two');
    const owner = await contact(cs3, ocm, target, peer, 'private');
    const { share, name } = await peerSendsShare(ocm, target, peer, owner);
    const mine = receivedFrom(await cs3.call('ocmApi', 'ListReceivedOCMShares', {}), share, name);
    expect(mine, 'the recipient sees the share').toBeDefined();
    const id = shareIdOf(mine);
    const theirs = await cs3.call('ocmApi', 'ListReceivedOCMShares', {}, { as: second });
    expectCode(theirs, 'CODE_OK', `ListReceivedOCMShares as ${second.username}`);
    expect(receivedFrom(theirs, share, name), `${second.username} does not see ${target.user.username}'s received share`).toBeUndefined();
    await expectEach([
      {
        what: `GetReceivedOCMShare(${id}) as ${second.username}`,
        expected: ['CODE_NOT_FOUND', 'CODE_PERMISSION_DENIED'],
        call: () => cs3.call('ocmApi', 'GetReceivedOCMShare', { ref: { id: { opaque_id: id } } }, { as: second }),
      },
      {
        what: `GetReceivedOCMShare(remote id ${share.id}) as ${second.username}`,
        expected: ['CODE_NOT_FOUND', 'CODE_PERMISSION_DENIED'],
        call: () => cs3.call('ocmApi', 'GetReceivedOCMShare', { ref: { id: { opaque_id: share.id } } }, { as: second }),
      },
    ]);
  },
);
