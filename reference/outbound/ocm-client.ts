/**
 * The outbound OCM client: how this server talks to other OCM servers.
 *
 * Rules it keeps for every call:
 *  - only trusted providers are contacted, at the origin their entry names;
 *  - redirects are never followed (a 3xx is an error);
 *  - each call has a deadline covering connect, headers and body;
 *  - bodies larger than the cap are cut off and refused;
 *  - a discovery document may not move the OCM endpoint to another host;
 *  - every answer is checked against our OpenAPI documents and any failure
 *    becomes an `OutboundError` with a kind the caller can map;
 *  - every POST to a peer whose discovery advertises `http-sig` (or demands
 *    `must-use-http-sig`) is signed with the OCM profile of RFC 9421
 *    (`@method @target-uri content-digest content-length`, `created`,
 *    `keyid`, `alg`, `tag="ocm"`); other peers get unsigned requests
 *    (decisions/0008). Token requests are always signed.
 */
import type { SchemaRegistry } from '../../openapi/registry.ts';
import { assertAllowedDestination, PrivateAddressError } from './address-guard.ts';
import { normaliseDomain, type TrustedProviders } from '../providers/trusted-providers.ts';
import { signRequest, type SigningKey } from '../signatures/index.ts';
import { faults } from '../base/faults.ts';
import { DEFAULT_NETWORK, type OutboundNetwork } from './network.ts';

export type OutboundFailure =
  | 'untrusted'
  | 'timeout'
  | 'unreachable'
  | 'redirect'
  | 'too-large'
  | 'bad-response'
  | 'endpoint-elsewhere'
  | 'disabled'
  | 'private-address';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
    readonly url?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface PeerDiscovery {
  enabled?: boolean;
  apiVersion?: string;
  endPoint: string;
  provider?: string;
  resourceTypes?: Array<{ name: string; shareTypes?: string[]; protocols?: Record<string, unknown> }>;
  capabilities?: string[];
  criteria?: string[];
  tokenEndPoint?: string;
  jwksUri?: string;
  [key: string]: unknown;
}

export interface DiscoveredPeer {
  domain: string;
  origin: URL;
  /** The URL the document came from (`/.well-known/ocm` or the legacy `/ocm-provider`). */
  discoveryUrl: string;
  document: PeerDiscovery;
  endPoint: URL;
}

export interface RemoteAnswer {
  status: number;
  /** Parsed JSON body; undefined when empty. */
  body: unknown;
  /** Whether the body matched the schema our documents declare for this status. */
  bodyValid: boolean;
}

export interface PostOptions {
  headers?: Record<string, string>;
  /**
   * Accept any 2xx even when its status or body is not what our documents
   * declare (the caller checks what it needs): reva answers `/shares` with
   * 200 and `{}` instead of 201 and `recipientDisplayName`.
   */
  lenientSuccess?: boolean;
  /** Sign (true), do not sign (false), or sign when the peer advertises `http-sig` (default). */
  sign?: boolean;
}

export interface OcmClientOptions {
  /** Let peers named by host name resolve to internal addresses (see address-guard.ts). */
  allowPrivateAddresses?: boolean;
  providers: TrustedProviders;
  registry: SchemaRegistry;
  timeoutMs: number;
  maxResponseBytes: number;
  userAgent?: string;
  /** The key outbound requests are signed with; absent or undefined: never sign. */
  signingKey?: () => SigningKey | undefined;
  /** Sees every call once it ended, answered or not (the OCM inspector). */
  observer?: (exchange: OutboundExchange) => void;
  /** Trusted CAs and `--resolve` pins of this instance (network.ts); default the plain global fetch. */
  network?: OutboundNetwork;
}

/** One outbound call as sent and as answered (or why it was not). */
export interface OutboundExchange {
  method: string;
  url: string;
  startedAt: number;
  durationMs: number;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  error?: string;
}

export class OcmClient {
  constructor(private readonly options: OcmClientOptions) {}

  /** How this client's calls reach the network (webdav-client uses the same). */
  get network(): OutboundNetwork {
    return this.options.network ?? DEFAULT_NETWORK;
  }

  /**
   * Fetches the discovery document of a trusted provider: `/.well-known/ocm`
   * first, then the legacy `/ocm-provider` that peers older than 1.4 serve.
   */
  /**
   * What a server that skips discovery assumes about a trusted provider: its
   * OCM API at `<origin>/ocm` and nothing else. Only deliberate faults
   * (reference/base/faults.ts) use it; the spec wants discovery first.
   */
  undiscovered(domain: string): DiscoveredPeer {
    const origin = this.options.providers.originFor(domain);
    if (!origin) throw new OutboundError('untrusted', `provider ${domain} is not trusted`);
    const endPoint = new URL('/ocm', origin);
    return { domain: normaliseDomain(domain), origin, discoveryUrl: '', document: { endPoint: endPoint.href }, endPoint };
  }

  async discover(domain: string): Promise<DiscoveredPeer> {
    const origin = this.options.providers.originFor(domain);
    if (!origin) throw new OutboundError('untrusted', `provider ${domain} is not trusted`);
    let firstFailure: OutboundError | undefined;
    for (const path of ['/.well-known/ocm', '/ocm-provider']) {
      const url = new URL(path, origin).toString();
      try {
        const { status, text } = await this.request(url, { method: 'GET', headers: { accept: 'application/json' } });
        if (status !== 200) throw new OutboundError('bad-response', `discovery at ${url} answered ${status}`, url, status);
        const document = parseJson(text, url) as PeerDiscovery;
        const check = this.options.registry.validate('ocm', 'PeerDiscovery', document);
        if (!check.ok) {
          throw new OutboundError(
            'bad-response',
            `discovery at ${url} is not usable: ${check.issues.map((i) => `${i.name || 'body'} ${i.message}`).join(', ')}`,
            url,
          );
        }
        if (document.enabled === false) throw new OutboundError('disabled', `OCM is disabled at ${url}`, url);
        return {
          domain: normaliseDomain(domain),
          origin,
          discoveryUrl: url,
          document,
          endPoint: this.checkEndPoint(document.endPoint, origin, url),
        };
      } catch (error) {
        if (!(error instanceof OutboundError)) throw error;
        // A peer that is down, slow or redirecting is not retried on the legacy path.
        if (error.kind === 'timeout' || error.kind === 'unreachable' || error.kind === 'disabled') throw error;
        firstFailure ??= error;
      }
    }
    throw firstFailure!;
  }

  /**
   * POSTs JSON to `<endPoint>/<path>` of a discovered peer and checks the
   * answer against the named operation of our `ocm` document.
   */
  async postJson(
    peer: DiscoveredPeer,
    path: string,
    operationId: string,
    payload: unknown,
    options: PostOptions = {},
  ): Promise<RemoteAnswer> {
    const url = joinUrl(peer.endPoint, path);
    const body = JSON.stringify(payload);
    const headers = this.signedHeaders(
      peer,
      url,
      body,
      { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
      options.sign,
    );
    const { status, text } = await this.request(url, { method: 'POST', headers, body });
    return this.judge(operationId, url, status, text, options.lenientSuccess === true);
  }

  /**
   * POSTs a form (`application/x-www-form-urlencoded`) to an absolute URL on
   * the peer's trusted origin (e.g. its `tokenEndPoint`) and checks the answer
   * against the named operation. Errors the operation declares (e.g. a 400
   * TokenError) come back as answers, not exceptions.
   */
  async postForm(
    peer: DiscoveredPeer,
    url: string,
    operationId: string,
    fields: Record<string, string>,
    options: PostOptions = {},
  ): Promise<RemoteAnswer> {
    const target = this.checkOnOrigin(url, peer, 'the form target');
    const body = new URLSearchParams(fields).toString();
    const headers = this.signedHeaders(
      peer,
      target,
      body,
      { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...options.headers },
      options.sign,
    );
    const { status, text } = await this.request(target, { method: 'POST', headers, body });
    return this.judge(operationId, target, status, text, options.lenientSuccess === true);
  }

  /**
   * GETs a JSON document from the peer's trusted origin and checks it against
   * a named schema of our `ocm` document (e.g. `JwkSet`).
   */
  async getJson(peer: Pick<DiscoveredPeer, 'origin' | 'domain'>, url: string, schemaName: string): Promise<unknown> {
    const target = this.checkOnOrigin(url, peer, schemaName);
    const { status, text } = await this.request(target, { method: 'GET', headers: { accept: 'application/json' } });
    if (status !== 200) throw new OutboundError('bad-response', `${target} answered ${status}`, target, status);
    const document = parseJson(text, target);
    const check = this.options.registry.validate('ocm', schemaName, document);
    if (!check.ok) {
      throw new OutboundError(
        'bad-response',
        `${target} is not a usable ${schemaName}: ${check.issues.map((i) => `${i.name || 'body'} ${i.message}`).join(', ')}`,
        target,
      );
    }
    return document;
  }

  /** Whether requests to this peer are signed (when we have a key). */
  wantsSignature(peer: Pick<DiscoveredPeer, 'document'>): boolean {
    const { capabilities, criteria } = peer.document;
    return (
      (Array.isArray(capabilities) && capabilities.includes('http-sig')) ||
      (Array.isArray(criteria) && criteria.includes('must-use-http-sig'))
    );
  }

  /** Whether this client can sign at all. */
  canSign(): boolean {
    return this.options.signingKey?.() !== undefined;
  }

  private signedHeaders(
    peer: DiscoveredPeer,
    url: string,
    body: string,
    headers: Record<string, string>,
    sign: boolean | undefined,
  ): Record<string, string> {
    const key = this.options.signingKey?.();
    if (!key || sign === false || (sign === undefined && !this.wantsSignature(peer))) return headers;
    if (faults.has('sig-outbound-unsigned')) return headers;
    const signed = signRequest(
      { method: 'POST', url, headers, body },
      key,
      faults.has('sig-outbound-stale-created') ? { created: Math.floor(Date.now() / 1000) - 3600 } : {},
    );
    // fetch derives Content-Length from the body; it is the same number that was signed.
    return {
      ...headers,
      'content-digest': signed['content-digest'],
      'signature-input': signed['signature-input'],
      signature: signed.signature,
    };
  }

  /** An absolute http(s) URL on the peer's trusted origin (no credentials): no call leaves the trusted host. */
  private checkOnOrigin(url: string, peer: Pick<DiscoveredPeer, 'origin' | 'domain'>, what: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OutboundError('bad-response', `${what} of ${peer.domain} is not an absolute URL`, url);
    }
    if (
      parsed.protocol !== peer.origin.protocol ||
      parsed.host.toLowerCase() !== peer.origin.host.toLowerCase() ||
      parsed.username ||
      parsed.password
    ) {
      throw new OutboundError('endpoint-elsewhere', `${what} of ${peer.domain} points to another origin (${parsed.origin})`, url);
    }
    return parsed.href;
  }

  private judge(operationId: string, url: string, status: number, text: string, lenientSuccess: boolean): RemoteAnswer {
    const operation = this.options.registry.operation('ocm', operationId);
    const declared = operation.responses.get(String(status));
    const body = text.trim() === '' ? undefined : tryParseJson(text);
    const schemaKey = declared?.get('application/json');
    const bodyValid =
      schemaKey === undefined ? declared !== undefined : body !== undefined && this.options.registry.validateKey(schemaKey, body).ok;
    if (status >= 200 && status < 300 && !bodyValid && !lenientSuccess) {
      throw new OutboundError('bad-response', `${url} answered ${status} with a body that does not match the OCM API`, url, status);
    }
    return { status, body, bodyValid };
  }

  /** One bounded HTTP exchange, shown to the observer when there is one. */
  private async request(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; text: string }> {
    const observer = this.options.observer;
    if (!observer) return this.exchange(url, init);
    const startedAt = Date.now();
    const started = performance.now();
    const seen: { headers?: Record<string, string> } = {};
    const report = (answer: { status?: number; text?: string; error?: string }) =>
      observer({
        method: init.method,
        url,
        startedAt,
        durationMs: performance.now() - started,
        requestHeaders: { 'user-agent': this.options.userAgent ?? 'ocm-conformance-reference', ...init.headers },
        ...(init.body !== undefined ? { requestBody: init.body } : {}),
        ...(answer.status !== undefined ? { status: answer.status } : {}),
        ...(seen.headers ? { responseHeaders: seen.headers } : {}),
        ...(answer.text !== undefined ? { responseBody: answer.text } : {}),
        ...(answer.error !== undefined ? { error: answer.error } : {}),
      });
    try {
      const answer = await this.exchange(url, init, seen);
      report(answer);
      return answer;
    } catch (error) {
      report({
        ...(error instanceof OutboundError && error.status !== undefined ? { status: error.status } : {}),
        error: (error as Error).message,
      });
      throw error;
    }
  }

  /** One bounded HTTP exchange: deadline, no redirects, capped body. */
  private async exchange(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
    seen: { headers?: Record<string, string> } = {},
  ): Promise<{ status: number; text: string }> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const headers = { 'user-agent': this.options.userAgent ?? 'ocm-conformance-reference', ...init.headers };
    let response: Response;
    try {
      await assertAllowedDestination(url, this.options.allowPrivateAddresses === true, this.network.pinnedAddress);
    } catch (error) {
      if (error instanceof PrivateAddressError) throw new OutboundError('private-address', error.message, url);
      throw fetchFailure(error, url, signal);
    }
    try {
      response = await this.network.fetch(url, { ...init, headers, redirect: 'manual', signal });
    } catch (error) {
      throw fetchFailure(error, url, signal);
    }
    seen.headers = Object.fromEntries(response.headers.entries());
    if (response.status >= 300 && response.status < 400) {
      void response.body?.cancel().catch(() => undefined); // not awaited: a cancel may never settle (e.g. a tee'd body) and is outside the deadline
      throw new OutboundError(
        'redirect',
        `${url} answered with a redirect (${response.status}); redirects are not followed`,
        url,
        response.status,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.options.maxResponseBytes) {
      void response.body?.cancel().catch(() => undefined); // not awaited: a cancel may never settle (e.g. a tee'd body) and is outside the deadline
      throw new OutboundError(
        'too-large',
        `${url} announced ${declared} bytes, more than the ${this.options.maxResponseBytes} accepted`,
        url,
        response.status,
      );
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.byteLength;
          if (size > this.options.maxResponseBytes) {
            void reader.cancel().catch(() => undefined);
            throw new OutboundError(
              'too-large',
              `${url} sent more than the ${this.options.maxResponseBytes} bytes accepted`,
              url,
              response.status,
            );
          }
          chunks.push(value);
        }
      }
    } catch (error) {
      if (error instanceof OutboundError) throw error;
      throw fetchFailure(error, url, signal);
    }
    return { status: response.status, text: Buffer.concat(chunks).toString('utf8') };
  }

  private checkEndPoint(endPoint: string, origin: URL, discoveryUrl: string): URL {
    let url: URL;
    try {
      url = new URL(endPoint);
    } catch {
      throw new OutboundError('bad-response', `discovery at ${discoveryUrl} has an endPoint that is not an absolute URL`, discoveryUrl);
    }
    if (url.host.toLowerCase() !== origin.host.toLowerCase() || url.protocol !== origin.protocol) {
      throw new OutboundError(
        'endpoint-elsewhere',
        `discovery at ${discoveryUrl} points its endPoint at another origin (${url.origin})`,
        discoveryUrl,
      );
    }
    return url;
  }
}

export function joinUrl(base: URL, path: string): string {
  const prefix = base.toString().replace(/\/+$/, '');
  return `${prefix}/${path.replace(/^\/+/, '')}`;
}

function parseJson(text: string, url: string): unknown {
  const parsed = tryParseJson(text);
  if (parsed === undefined) throw new OutboundError('bad-response', `${url} did not answer with JSON`, url);
  return parsed;
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function fetchFailure(error: unknown, url: string, signal: AbortSignal): OutboundError {
  if (signal.aborted) return new OutboundError('timeout', `${url} did not answer in time`, url);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new OutboundError(
    'unreachable',
    `${url} could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    url,
  );
}
