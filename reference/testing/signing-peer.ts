/**
 * A small fake OCM peer for signature tests: a real fastify server on a
 * loopback address that serves a discovery document (with `http-sig` and a
 * `jwksUri` by default) and the JWK Set of its own Ed25519 key, records every
 * other request it receives (raw bytes and headers), and answers them with
 * whatever the test installs. It signs requests with the primitives of
 * reference/signatures, correctly or deliberately wrong.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { freePort } from '../pair.ts';
import {
  appendSignature,
  computeContentDigest,
  createMessageSignature,
  generateEd25519SigningKey,
  publicJwk,
  signCavage,
  signRequest,
  type HeaderMap,
  type Jwk,
  type SignatureParamValues,
  type SigningKey,
} from '../signatures/index.ts';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface ReceivedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface PeerReply {
  status: number;
  body?: unknown;
}

export interface SigningPeerOptions {
  host?: string;
  /** Discovery capabilities; default `['http-sig', 'invites', 'notifications', 'protocol-object']`. */
  capabilities?: string[];
  criteria?: string[];
  /** Advertise `jwksUri` (default true). */
  advertiseJwksUri?: boolean;
  /** Extra discovery members (e.g. `tokenEndPoint`, `publicKey`). */
  discovery?: Record<string, unknown>;
}

export class SigningPeer {
  readonly key: SigningKey;
  /** Extra JWKs published next to the peer's own key. */
  extraJwks: Jwk[] = [];
  /** Every request other than discovery and JWKS, in order. */
  readonly received: ReceivedRequest[] = [];
  /** How to answer POST <path>; default 201 `{}` (200 for /ocm/invite-accepted). */
  replies = new Map<string, (request: ReceivedRequest) => PeerReply>();
  /** RSA key for legacy cavage signatures (1.2-era peers). */
  readonly legacyKey: { privateKey: KeyObject; publicKeyPem: string; keyId: string };

  private constructor(
    private readonly server: FastifyInstance,
    readonly origin: string,
    readonly options: SigningPeerOptions,
  ) {
    this.key = generateEd25519SigningKey(`${new URL(origin).host}#key-1`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.legacyKey = {
      privateKey,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      keyId: `${origin}/ocm#signature`,
    };
  }

  /** host[:port] of the peer. */
  get domain(): string {
    return new URL(this.origin).host;
  }

  static async start(options: SigningPeerOptions = {}): Promise<SigningPeer> {
    const host = options.host ?? '127.0.0.3';
    const port = await freePort(host);
    const server = Fastify({ logger: false });
    const peer = new SigningPeer(server, `http://${host}:${port}`, options);
    server.removeAllContentTypeParsers();
    server.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    server.get('/.well-known/ocm', async () => peer.discoveryDocument());
    server.get('/ocm-provider', async () => peer.discoveryDocument());
    server.get('/ocm/jwks', async () => ({ keys: [publicJwk(peer.key), ...peer.extraJwks] }));
    server.get('/.well-known/jwks.json', async () => ({ keys: [publicJwk(peer.key), ...peer.extraJwks] }));
    server.all('/*', async (request, reply: FastifyReply) => {
      const received: ReceivedRequest = {
        method: request.method,
        url: request.raw.url ?? request.url,
        headers: { ...request.headers },
        body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
      };
      peer.received.push(received);
      const path = received.url.split('?')[0]!;
      const answer = peer.replies.get(path)?.(received) ?? { status: path === '/ocm/invite-accepted' ? 200 : 201, body: {} };
      return reply.code(answer.status).send(answer.body ?? {});
    });
    await server.listen({ host, port });
    return peer;
  }

  discoveryDocument(): Record<string, unknown> {
    const endPoint = `${this.origin}/ocm`;
    return {
      enabled: true,
      apiVersion: '1.4.0',
      endPoint,
      provider: 'Signing peer',
      resourceTypes: [
        { name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm', 'webdav-receive': { uri: 'absolute' } } },
        { name: 'folder', shareTypes: ['user'], protocols: { webdav: '/dav/ocm', 'webdav-receive': { uri: 'absolute' } } },
      ],
      capabilities: this.options.capabilities ?? ['http-sig', 'invites', 'notifications', 'protocol-object'],
      criteria: this.options.criteria ?? [],
      ...(this.options.advertiseJwksUri === false ? {} : { jwksUri: `${endPoint}/jwks` }),
      ...this.options.discovery,
    };
  }

  /** Headers of a correctly signed POST of `body` to `url` (plus content-type). */
  sign(url: string, body: string, options: { key?: SigningKey; created?: number; contentType?: string } = {}): Record<string, string> {
    const contentType = options.contentType ?? 'application/json';
    return {
      'content-type': contentType,
      ...signRequest(
        { method: 'POST', url, body },
        options.key ?? this.key,
        options.created !== undefined ? { created: options.created } : {},
      ),
    };
  }

  /**
   * Headers of a hand-built signature: pick the components, the parameters,
   * the Content-Digest value and the label (the default is the correct profile).
   */
  craft(
    url: string,
    body: string,
    options: {
      components?: string[];
      params?: SignatureParamValues;
      contentDigest?: string;
      label?: string;
      key?: SigningKey;
      headers?: HeaderMap;
      contentType?: string;
    } = {},
  ): Record<string, string> {
    const key = options.key ?? this.key;
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? 'application/json',
      'content-digest': options.contentDigest ?? computeContentDigest(body),
      'content-length': String(Buffer.byteLength(body)),
      ...(options.headers as Record<string, string> | undefined),
    };
    const signature = createMessageSignature(
      { method: 'POST', url, headers },
      {
        key,
        components: options.components ?? ['@method', '@target-uri', 'content-digest', 'content-length'],
        params: options.params ?? { created: Math.floor(Date.now() / 1000), keyid: key.kid, alg: 'ed25519', tag: 'ocm' },
      },
    );
    return { ...headers, ...appendSignature(headers, options.label ?? 'ocm', signature) };
  }

  /** Headers of a draft-cavage signature with the peer's legacy RSA key. */
  signLegacy(url: string, body: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...signCavage({ method: 'POST', url, body }, { keyId: this.legacyKey.keyId, privateKey: this.legacyKey.privateKey }),
    };
  }

  /** The received requests to a path. */
  requestsTo(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.url.split('?')[0] === path);
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
