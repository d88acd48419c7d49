/**
 * The peer simulator: a real OCM server the target can call, on its own
 * loopback address and port, with its own discovery document, Ed25519 key
 * and JWKS, users, invite tokens and WebDAV files to share.
 *
 * It answers `/shares`, `/invite-accepted`, `/notifications`, the token
 * endpoint and WebDAV; records every request it receives (method, URL,
 * headers, raw body, parsed body, signature verdict); and can be told per
 * test what to advertise and how to misbehave. `reset()` puts it back to its
 * defaults between tests. It never contacts anything but the target.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { registerSecret } from '../../results/transcript.ts';
import { peerWebdav } from './peer-webdav.ts';
import {
  ed25519KeyFromSeed,
  publicJwks,
  signRequest,
  verifyOcmSignature,
  type Jwk,
  type SignatureVerdict,
  type SigningKey,
} from './http-signatures.ts';
import { PROJECT_ROOT } from './requirements.ts';
import {
  cavageSign,
  cavageVerify,
  keyIdHost,
  peerCavageKey,
  type CavageKey,
  type CavageSignOptions,
  type CavageVerdict,
} from './cavage.ts';

export interface PeerUser {
  id: string;
  name: string;
  email: string;
}

export interface RecordedRequest {
  at: number;
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** Parsed JSON or form body; undefined when absent or unparsable. */
  body: any;
  /** Verdict on an RFC 9421 OCM signature, checked against the target's JWKS (suites/harness/http-signatures.ts). */
  signature: SignatureVerdict | { status: 'not-checked'; reason: string };
  /** Verdict on a 1.2-era draft-cavage signature (checked against the target's discovery `publicKey`); only when one was sent. */
  cavageSignature?: CavageVerdict;
  /** Id of this exchange in the OCM inspector (`run --inspect`). */
  inspectorId?: string;
}

/** One answered exchange with the peer, for `onExchange`. */
export interface PeerExchange {
  startedAt: number;
  durationMs: number;
  method: string;
  /** Absolute URL as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  status: number;
  responseHeaders: Record<string, string | string[] | number | undefined>;
  responseBody: string | Buffer | undefined;
  /** The recorded request (with its signature verdict); absent for routes that record nothing (JWKS). */
  recorded: RecordedRequest | undefined;
}

/** What the peer advertises, settable per test. */
export interface PeerDiscoverySettings {
  apiVersion: string;
  capabilities: string[];
  criteria: string[];
  resourceTypes: Array<{ name: string; shareTypes: string[]; protocols: Record<string, unknown> }>;
  /** Fields to leave out of the document entirely. */
  omit: string[];
  /** Extra top-level fields. */
  extra: Record<string, unknown>;
}

/** How the peer misbehaves or what it answers, settable per test. */
export interface PeerBehaviour {
  /** Status for POST /shares (default 201 with recipientDisplayName). */
  sharesStatus: number;
  /** Status for POST /notifications (default 201). */
  notificationsStatus: number;
  /** Override for POST /invite-accepted: a status and a body. */
  inviteAccepted?: { status: number; body: unknown };
  /** Delay every answer by this many milliseconds. */
  delayMs: number;
  /** Serve discovery with this status instead of 200. */
  discoveryStatus: number;
  /** Sign outbound requests (when the target advertises http-sig). */
  sign: boolean;
}

export interface PeerShare {
  id: string;
  secret: string;
  /** Path inside the peer's files: a file or a folder. */
  path: string;
  resourceType: 'file' | 'folder';
  permissions: string[];
  requirements?: string[];
  /** Access tokens issued for it by the token endpoint. */
  tokens: string[];
  revoked: boolean;
}

export interface PeerInvite {
  token: string;
  user: PeerUser;
  acceptedBy?: { userID: string; recipientProvider: string };
}

export interface PeerSimulatorOptions {
  name: string;
  /** Address to listen on (`0.0.0.0` for every address). */
  host: string;
  /** Port to listen on; 0 picks a free one (the origin then gets the actual port once started). */
  port: number;
  /** The origin the target reaches this peer at (default `http(s)://host:port`); its port is replaced when `port` is 0. */
  publicUrl?: string;
  /** Serve https with this certificate (signed by the run CA, certs/ca.ts). */
  tls?: { certPem: string; keyPem: string };
  /** Where the target lives, for verifying its signatures (its discovery names its JWKS). */
  targetOrigin?: string;
  /**
   * Act as a 1.2-era server (see `cavageEra` in cavage.ts): publish a draft-cavage
   * `publicKey` (RSA) in discovery and offer `cavageSignatureHeaders`.
   */
  cavage?: boolean;
  /** The run folder, where the peer's RSA key outlives a worker restart. */
  runDir?: string;
}

const SEED_FILES = join(PROJECT_ROOT, 'fixtures/files');

function defaultDiscovery(): PeerDiscoverySettings {
  return {
    apiVersion: '1.4.0',
    capabilities: ['exchange-token', 'http-sig', 'invites', 'notifications', 'protocol-object'],
    criteria: [],
    resourceTypes: [
      { name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm', 'webdav-receive': { uri: 'absolute' } } },
      { name: 'folder', shareTypes: ['user'], protocols: { webdav: '/dav/ocm', 'webdav-receive': { uri: 'absolute' } } },
    ],
    omit: [],
    extra: {},
  };
}

function defaultBehaviour(): PeerBehaviour {
  return { sharesStatus: 201, notificationsStatus: 201, delayMs: 0, discoveryStatus: 200, sign: true };
}

export class PeerSimulator {
  readonly name: string;
  readonly host: string;
  /** The port it listens on (the actual one once started, when asked for port 0). */
  port: number;
  /** Where the target reaches it: its public URL's origin, else `http(s)://host:port`. */
  origin: string;
  /** host:port of `origin` — the server part of this peer's OCM Addresses. */
  domain: string;
  key: SigningKey;
  readonly tls: { certPem: string; keyPem: string } | undefined;
  readonly requests: RecordedRequest[] = [];
  /**
   * Connections to this https peer that failed before any request (newest
   * last): `plainHttp` when a client sent plain HTTP to the TLS port, else the
   * TLS error (e.g. the client refused our certificate with an alert).
   */
  readonly tlsFailures: Array<{ at: number; plainHttp: boolean; code: string }> = [];
  readonly users: PeerUser[];
  discovery: PeerDiscoverySettings = defaultDiscovery();
  behaviour: PeerBehaviour = defaultBehaviour();
  readonly shares = new Map<string, PeerShare>();
  readonly invites = new Map<string, PeerInvite>();
  /** Shares the target sent us: the parsed bodies of accepted POST /shares. */
  readonly receivedShares: any[] = [];
  targetOrigin: string | undefined;
  /** Whether this peer plays a 1.2-era server: a cavage `publicKey` in discovery, draft-cavage signatures. */
  readonly cavage: boolean;
  /** Sees every exchange once answered, and may name its id (the OCM inspector of `run --inspect`). */
  onExchange: ((exchange: PeerExchange) => string | undefined) | undefined;

  private app: FastifyInstance | undefined;
  private readonly publicUrl: string | undefined;
  private filesDir = '';
  private targetJwks: { at: number; keys: Jwk[] } | undefined;
  private targetLegacyKey: { at: number; key: { keyId?: string; publicKeyPem: string } | undefined } | undefined;
  private readonly runDir: string | undefined;
  private legacyKey: CavageKey | undefined;

  constructor(options: PeerSimulatorOptions) {
    this.name = options.name;
    this.host = options.host;
    this.port = options.port;
    this.tls = options.tls;
    this.publicUrl = options.publicUrl;
    this.origin = this.originFor(options.port);
    this.domain = new URL(this.origin).host;
    this.targetOrigin = options.targetOrigin;
    this.cavage = options.cavage ?? false;
    this.runDir = options.runDir;
    this.key = peerKey(this.domain);
    this.users = [
      { id: `alice-${options.name}`, name: `Alice at ${options.name}`, email: `alice@${options.name}.test` },
      { id: `bob-${options.name}`, name: `Bob at ${options.name}`, email: `bob@${options.name}.test` },
    ];
  }

  /** The public origin for `port`: the public URL (its port replaced when listening on port 0), else this scheme, host and port. */
  private originFor(port: number): string {
    const scheme = this.tls ? 'https:' : 'http:';
    if (this.publicUrl) {
      const url = new URL(this.publicUrl);
      if (this.port === 0 || url.port === '0') url.port = String(port);
      return url.origin;
    }
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${scheme}//${host}:${port}`;
  }

  get endPoint(): string {
    return `${this.origin}/ocm`;
  }

  /** The keyId of this peer's draft-cavage key: a URL on its own host, as the 1.2 text wants. */
  get cavageKeyId(): string {
    return `${this.endPoint}#signature`;
  }

  /** This peer's RSA key for draft-cavage (made on first use, kept for the run). */
  cavageKey(): CavageKey {
    this.legacyKey ??= peerCavageKey(this.domain, this.cavageKeyId, this.runDir);
    return this.legacyKey;
  }

  address(userId: string): string {
    return `${userId}@${this.domain}`;
  }

  /** A fresh user for one test, so tests never collide on the target. */
  newUser(prefix = 'user'): PeerUser {
    const id = `${prefix}-${randomUUID().slice(0, 8)}`;
    const user = { id, name: `${prefix} ${id.slice(-8)}`, email: `${id}@${this.name}.test` };
    this.users.push(user);
    return user;
  }

  discoveryDocument(): Record<string, unknown> {
    const d = this.discovery;
    const doc: Record<string, unknown> = {
      enabled: true,
      apiVersion: d.apiVersion,
      endPoint: this.endPoint,
      provider: `ocm-conformance peer ${this.name}`,
      resourceTypes: d.resourceTypes,
      capabilities: d.capabilities,
      criteria: d.criteria,
      jwksUri: `${this.endPoint}/jwks`,
      tokenEndPoint: `${this.endPoint}/token`,
      inviteAcceptDialog: `${this.origin}/accept-invite`,
      ...(this.cavage ? { publicKey: { keyId: this.cavageKeyId, publicKeyPem: this.cavageKey().publicKeyPem } } : {}),
      ...d.extra,
    };
    if (!d.capabilities.includes('exchange-token')) delete doc.tokenEndPoint;
    for (const key of d.omit) delete doc[key];
    return doc;
  }

  /** Puts advertised settings, behaviour and recordings back to the defaults. */
  reset(): void {
    this.discovery = defaultDiscovery();
    this.behaviour = defaultBehaviour();
    this.requests.length = 0;
    this.receivedShares.length = 0;
    this.tlsFailures.length = 0;
    if (this.presentedOther && this.tls) this.presentCertificate(this.tls);
  }

  private presentedOther = false;

  /**
   * Serves from now on with this certificate (e.g. one from a CA the target
   * does not trust), and drops the open connections so that the next call
   * makes a new handshake; `reset()` puts the peer's own certificate back.
   */
  presentCertificate(certificate: { certPem: string; keyPem: string }): void {
    const server = this.app?.server as unknown as
      | { setSecureContext?(options: { cert: string; key: string }): void; closeAllConnections?(): void }
      | undefined;
    if (!this.tls || !server?.setSecureContext) throw new Error(`${this.name} does not serve https`);
    server.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem });
    server.closeAllConnections?.();
    this.presentedOther = certificate !== this.tls;
  }

  /** Requests received on a path (suffix match), oldest first. */
  received(pathSuffix: string, method = 'POST'): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(pathSuffix));
  }

  /** Waits until a request on `pathSuffix` arrives (bounded). */
  async waitFor(pathSuffix: string, method = 'POST', timeoutMs = 5000): Promise<RecordedRequest | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.received(pathSuffix, method).at(-1);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  }

  /** Creates an invite token of one of our users, for the target to accept. */
  createInvite(user: PeerUser = this.users[0]!): PeerInvite {
    const invite: PeerInvite = { token: randomBytes(18).toString('base64url'), user };
    this.invites.set(invite.token, invite);
    registerSecret(invite.token);
    return invite;
  }

  /** Offers one of our fixture files or folders as a share (its id and secret). */
  createShare(path: string, options: { permissions?: string[]; requirements?: string[] } = {}): PeerShare {
    const share: PeerShare = {
      id: randomUUID(),
      secret: randomBytes(32).toString('base64url'),
      path: path.replace(/^\/+/, ''),
      resourceType: path.replace(/\/+$/, '').includes('.') ? 'file' : 'folder',
      permissions: options.permissions ?? ['read'],
      tokens: [],
      revoked: false,
      ...(options.requirements ? { requirements: options.requirements } : {}),
    };
    this.shares.set(share.id, share);
    registerSecret(share.secret);
    return share;
  }

  /** Headers to sign a POST of `body` to `url` with this peer's key. */
  signatureHeaders(url: string, body: string, method = 'POST'): Record<string, string> {
    return signRequest({ method, url, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) }, this.key);
  }

  /**
   * Headers (content-type, date, digest, content-length, signature) of a 1.2-era
   * draft-cavage signature by this peer's RSA key; `options` can change the
   * keyId, key, headers, Date or Digest for negative cases.
   */
  cavageSignatureHeaders(url: string, body: string, options: Partial<CavageSignOptions> = {}, method = 'POST'): Record<string, string> {
    const key = this.cavageKey();
    return {
      'content-type': 'application/json',
      ...cavageSign(method, url, body, { keyId: key.keyId, privateKey: key.privateKey, ...options }),
    };
  }

  async start(): Promise<void> {
    this.filesDir = await mkdtemp(join(tmpdir(), `ocm-peer-${this.name}-`));
    await cp(SEED_FILES, this.filesDir, { recursive: true });
    const app = (
      this.tls
        ? Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, https: { cert: this.tls.certPem, key: this.tls.keyPem } })
        : Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 })
    ) as FastifyInstance;
    this.app = app;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    this.watchExchanges(app);
    app.addHook('onRequest', async () => {
      if (this.behaviour.delayMs > 0) await new Promise((r) => setTimeout(r, this.behaviour.delayMs));
    });

    const record = async (request: FastifyRequest): Promise<RecordedRequest> => {
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const entry: RecordedRequest = {
        at: Date.now(),
        method: request.method,
        url: request.url,
        path: request.url.split('?')[0]!,
        headers: { ...request.headers },
        rawBody,
        body: parseBody(request.headers['content-type'], rawBody),
        signature: { status: 'not-checked', reason: 'pending' },
      };
      entry.signature = await this.checkSignature(request, rawBody);
      const cavage = await this.checkCavageSignature(request, rawBody);
      if (cavage) entry.cavageSignature = cavage;
      this.requests.push(entry);
      this.recorded.set(request, entry);
      return entry;
    };

    const sendDiscovery = async (_request: FastifyRequest, reply: import('fastify').FastifyReply) => {
      if (this.behaviour.discoveryStatus !== 200)
        return reply.code(this.behaviour.discoveryStatus).send({ message: 'discovery disabled by the test' });
      return reply.type('application/json').send(this.discoveryDocument());
    };
    app.get('/.well-known/ocm', async (request, reply) => {
      await record(request);
      return sendDiscovery(request, reply);
    });
    app.get('/ocm-provider', async (request, reply) => {
      await record(request);
      return sendDiscovery(request, reply);
    });
    app.get('/ocm/jwks', async () => publicJwks([this.key]));
    app.get('/.well-known/jwks.json', async () => publicJwks([this.key]));

    app.post('/ocm/shares', async (request, reply) => {
      const entry = await record(request);
      const status = this.behaviour.sharesStatus;
      if (status === 201 && entry.body && typeof entry.body === 'object') this.receivedShares.push(entry.body);
      if (status >= 200 && status < 300) return reply.code(status).send({ recipientDisplayName: this.users[0]!.name });
      return reply.code(status).send({ message: `the peer was told to answer ${status}` });
    });

    app.post('/ocm/notifications', async (request, reply) => {
      await record(request);
      const status = this.behaviour.notificationsStatus;
      return reply.code(status).send(status < 300 ? {} : { message: `the peer was told to answer ${status}` });
    });

    app.post('/ocm/invite-accepted', async (request, reply) => {
      const entry = await record(request);
      if (this.behaviour.inviteAccepted) return reply.code(this.behaviour.inviteAccepted.status).send(this.behaviour.inviteAccepted.body);
      const body = entry.body as { token?: string; userID?: string; recipientProvider?: string } | undefined;
      const invite = body?.token ? this.invites.get(body.token) : undefined;
      if (!invite) return reply.code(400).send({ message: 'INVALID_TOKEN' });
      if (invite.acceptedBy) return reply.code(409).send({ message: 'ALREADY_ACCEPTED' });
      invite.acceptedBy = { userID: String(body?.userID), recipientProvider: String(body?.recipientProvider) };
      return reply.code(200).send({ userID: invite.user.id, email: invite.user.email, name: invite.user.name });
    });

    app.post('/ocm/token', async (request, reply) => {
      const entry = await record(request);
      const form = entry.body as Record<string, string> | undefined;
      if (!form || form.grant_type === undefined || form.client_id === undefined || form.code === undefined)
        return reply.code(400).send({ error: 'invalid_request' });
      if (form.grant_type !== 'authorization_code') return reply.code(400).send({ error: 'unsupported_grant_type' });
      const share = [...this.shares.values()].find((s) => s.secret === form.code && !s.revoked);
      if (!share) return reply.code(400).send({ error: 'invalid_grant' });
      const token = randomBytes(32).toString('base64url');
      share.tokens.push(token);
      registerSecret(token);
      return reply.code(200).send({ access_token: token, token_type: 'Bearer', expires_in: 300 });
    });

    await app.register(peerWebdav, {
      prefix: '/dav/ocm',
      resolve: async (request, segments) => {
        await record(request);
        const authorization = request.headers.authorization ?? '';
        const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
        let share: PeerShare | undefined;
        let consumed = 1;
        if (bearer) {
          share = this.shares.get(segments[0] ?? '');
          const strict = share?.requirements?.includes('must-exchange-token');
          if (share && !(share.tokens.includes(bearer) || (!strict && share.secret === bearer))) share = undefined;
        } else if (/^Basic /i.test(authorization)) {
          const user = Buffer.from(authorization.slice(6), 'base64').toString().split(':')[0];
          share = [...this.shares.values()].find((s) => s.secret === user && !s.requirements?.includes('must-exchange-token'));
          consumed = share && segments[0] === share.id ? 1 : 0;
        }
        if (!share || share.revoked) return { ok: false, status: 401, code: 'UNAUTHORISED', message: 'no such share or wrong credentials' };
        return {
          ok: true,
          target: { root: join(this.filesDir, ...share.path.split('/')), readOnly: !share.permissions.includes('write') },
          consumed,
        };
      },
    });

    app.setNotFoundHandler(async (request, reply) => {
      await record(request);
      return reply.code(404).send({ message: 'NOT_FOUND' });
    });

    if (this.tls)
      app.server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        this.tlsFailures.push({ at: Date.now(), plainHttp: /HTTP_REQUEST|http request/i.test(`${code} ${error.message}`), code });
      });
    await app.listen({ host: this.host, port: this.port });
    if (this.port === 0) {
      // Port 0: the system picked one; advertise it (and key the peer by its real address).
      const actual = (app.server.address() as { port: number }).port;
      this.origin = this.originFor(actual);
      this.domain = new URL(this.origin).host;
      this.key = peerKey(this.domain);
      this.port = actual;
    }
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
    if (this.filesDir) await rm(this.filesDir, { recursive: true, force: true });
  }

  private readonly recorded = new WeakMap<FastifyRequest, RecordedRequest>();

  /** Hands each answered exchange to `onExchange`, when set. */
  private watchExchanges(app: FastifyInstance): void {
    const open = new WeakMap<FastifyRequest, { startedAt: number; started: number; payload?: string | Buffer }>();
    app.addHook('onRequest', (request, _reply, done) => {
      if (this.onExchange) open.set(request, { startedAt: Date.now(), started: performance.now() });
      done();
    });
    app.addHook('onSend', (request, _reply, payload, done) => {
      const state = open.get(request);
      if (state)
        state.payload = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : payload == null ? undefined : '[streamed body]';
      done(null, payload);
    });
    app.addHook('onResponse', (request, reply, done) => {
      const state = open.get(request);
      if (!state || !this.onExchange) return done();
      const recorded = this.recorded.get(request);
      const id = this.onExchange({
        startedAt: state.startedAt,
        durationMs: performance.now() - state.started,
        method: request.method,
        url: `${this.origin}${request.url}`,
        headers: request.headers,
        rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        status: reply.statusCode,
        responseHeaders: reply.getHeaders(),
        responseBody: state.payload,
        recorded,
      });
      if (recorded && id) recorded.inspectorId = id;
      done();
    });
  }

  /** Verifies an incoming signature against the target's published keys. */
  private async checkSignature(request: FastifyRequest, rawBody: Buffer): Promise<RecordedRequest['signature']> {
    if (request.method === 'GET') return { status: 'not-checked', reason: 'GET requests are not signed' };
    const url = `${this.origin}${request.url}`;
    return verifyOcmSignature(
      { method: request.method, url, headers: request.headers as Record<string, string>, body: rawBody },
      async (keyid: string) => (await this.targetKeys()).find((k) => k.kid === keyid),
    );
  }

  /**
   * Verifies an incoming draft-cavage signature (a Signature field with a keyId
   * and no Signature-Input) against the target's discovery `publicKey`. The
   * keyId and the key come from the target: a keyId that is no valid URL, or
   * a key that does not load, is a verdict, never a thrown error.
   */
  private async checkCavageSignature(request: FastifyRequest, rawBody: Buffer): Promise<CavageVerdict | undefined> {
    const field = request.headers.signature;
    const value = Array.isArray(field) ? field.join(', ') : field;
    if (request.method === 'GET' || request.headers['signature-input'] !== undefined || !value || !/keyId\s*=/.test(value))
      return undefined;
    const url = `${this.origin}${request.url}`;
    return cavageVerify({ method: request.method, url, headers: request.headers }, rawBody, {
      lookupKey: async (keyId) => {
        const published = await this.targetCavageKey();
        if (!published) return undefined;
        // The key is the target's own: its keyId must name the target's host and be the one it publishes.
        const host = keyIdHost(keyId);
        if (host === undefined || !this.targetOrigin || host !== keyIdHost(this.targetOrigin)) return undefined;
        if (published.keyId !== undefined && published.keyId !== keyId) return undefined;
        return published.publicKeyPem;
      },
    });
  }

  private async targetCavageKey(): Promise<{ keyId?: string; publicKeyPem: string } | undefined> {
    if (!this.targetOrigin) return undefined;
    if (this.targetLegacyKey && Date.now() - this.targetLegacyKey.at < 30_000) return this.targetLegacyKey.key;
    let key: { keyId?: string; publicKeyPem: string } | undefined;
    try {
      const discovery = (await (await fetch(`${this.targetOrigin}/.well-known/ocm`, { signal: AbortSignal.timeout(5000) })).json()) as {
        publicKey?: { keyId?: unknown; id?: unknown; publicKeyPem?: unknown };
      };
      const published = discovery.publicKey;
      const keyId = published?.keyId ?? published?.id;
      if (published && typeof published.publicKeyPem === 'string')
        key = { publicKeyPem: published.publicKeyPem, ...(typeof keyId === 'string' ? { keyId } : {}) };
    } catch {
      key = undefined;
    }
    this.targetLegacyKey = { at: Date.now(), key };
    return key;
  }

  private async targetKeys(): Promise<Jwk[]> {
    if (!this.targetOrigin) return [];
    if (this.targetJwks && Date.now() - this.targetJwks.at < 30_000) return this.targetJwks.keys;
    try {
      const discovery = (await (await fetch(`${this.targetOrigin}/.well-known/ocm`, { signal: AbortSignal.timeout(5000) })).json()) as {
        jwksUri?: string;
      };
      const jwksUrl = discovery.jwksUri ?? `${this.targetOrigin}/.well-known/jwks.json`;
      const jwks = (await (await fetch(jwksUrl, { signal: AbortSignal.timeout(5000), redirect: 'manual' })).json()) as { keys?: Jwk[] };
      this.targetJwks = { at: Date.now(), keys: Array.isArray(jwks.keys) ? jwks.keys : [] };
    } catch {
      this.targetJwks = { at: Date.now(), keys: [] };
    }
    return this.targetJwks.keys;
  }
}

/**
 * The peer's Ed25519 key, derived from its address: a worker that restarts
 * after a failed check comes back with the same key under the same kid, so a
 * target's cached copy of the peer's JWKS stays right.
 */
function peerKey(domain: string): SigningKey {
  const seed = createHash('sha256').update(`ocm-conformance peer ${domain}`).digest();
  return ed25519KeyFromSeed(seed, `${domain}#key-1`);
}

function parseBody(contentType: string | undefined, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = raw.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
