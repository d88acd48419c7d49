/**
 * Our server as an OCM WebDAV client of a share's sender (the receiving
 * server's "resource access", OCM §Resource Access).
 *
 * `resolveShareAccess(share)` answers *where* and *how* to reach a received
 * share; `forwardDav(...)` performs one WebDAV exchange there.
 *
 * Where (the base URL, never with a trailing slash):
 *  - The sender's origin is the origin of the TRUSTED provider entry of
 *    `share.senderDomain`; an untrusted sender is refused before any call.
 *  - `webdav.uri` absolute: used as is, but only when its scheme and
 *    host:port equal the trusted origin (a share must not make us call an
 *    arbitrary host: SSRF). Userinfo, query and fragment are refused.
 *  - `webdav.uri` relative: the sender is discovered and the base is
 *    `<origin><prefix>/<uri>`. The prefix is, in this order:
 *      1. `resourceTypes[0].protocols.webdav` — what the spec's resource
 *         access steps say (1.2 and 1.4 alike: "resourceTypes[0]");
 *      2. the webdav prefix of the resource type whose `name` equals the
 *         share's `resourceType` (senders that list `file` before `folder`
 *         with different prefixes, or put a non-webdav type first);
 *      3. `/dav/ocm` (our own default `webdavPath`) when no entry has one.
 *    A prefix given as an absolute URL must be on the trusted origin too.
 *  - legacy shares (`encoding: 'legacy'`, no uri) and 1.1+ shares without a
 *    uri: `<origin><prefix>`, the secret identifying the share.
 *
 * How (the Authorization header):
 *  - `Bearer <token>` when the token-exchange seam `getAccessToken` yields a
 *    token (a later issue implements the exchange);
 *  - else `Bearer <sharedSecret>` for 1.1+ shares (`single`, `multi`);
 *  - else HTTP Basic `<sharedSecret>:` (empty password) for `legacy` shares;
 *  - a share whose webdav `requirements` hold `must-exchange-token` is
 *    refused (`token-required`) unless a token was obtained: the spec forbids
 *    falling back on the raw secret there.
 *
 * forwardDav rules:
 *  - only a fixed allowlist of request headers is forwarded: never the local
 *    user's Authorization or cookies;
 *  - `accept-encoding: identity`, so bytes and Content-Length pass unchanged;
 *  - redirects are never followed (a 3xx other than 304 is an error);
 *  - the deadline is an *idle* deadline of `timeoutMs`: the exchange is
 *    aborted when no progress happens for that long (no request-body chunk
 *    sent, no response headers, no response-body chunk). A whole-exchange
 *    deadline would cut off every large upload or download;
 *  - `maxResponseBytes`, when given, caps the response body (declared or
 *    streamed).
 */
import { assertAllowedDestination, PrivateAddressError } from './address-guard.ts';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { ReceivedShareRecord } from '../stores/records.ts';
import type { TrustedProviders } from '../providers/trusted-providers.ts';
import { OutboundError, type DiscoveredPeer, type OcmClient, type OutboundExchange } from './ocm-client.ts';
import { DEFAULT_NETWORK, type OutboundNetwork } from './network.ts';

/** The prefix used when the sender's discovery names no webdav path. */
export const DEFAULT_WEBDAV_PREFIX = '/dav/ocm';

export type ShareAccessFailure =
  /** The sender's domain is not (or no longer) a trusted provider. */
  | 'untrusted'
  /** `webdav.uri` (or the discovered prefix) points to another origin than the trusted sender. */
  | 'uri-elsewhere'
  /** `webdav.uri` is unusable (not http(s), userinfo, query, fragment, dot segments). */
  | 'bad-uri'
  /** The share offers no webdav access. */
  | 'no-webdav'
  /** The share demands a token exchange and no token could be obtained. */
  | 'token-required';

export class ShareAccessError extends Error {
  constructor(
    readonly kind: ShareAccessFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ShareAccessError';
  }
}

export interface ShareAccess {
  /** Absolute URL of the shared resource at the sender, without a trailing slash. */
  baseUrl: string;
  /** The value of the Authorization header to send to the sender. */
  authorization: string;
}

export interface ShareAccessDeps {
  client: Pick<OcmClient, 'discover'>;
  providers: Pick<TrustedProviders, 'originFor'>;
  /**
   * Token-exchange seam (a later issue): a bearer token to use instead of the
   * raw secret, or undefined to fall back on the secret.
   */
  getAccessToken?: (share: ReceivedShareRecord) => Promise<string | undefined>;
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

export async function resolveShareAccess(share: ReceivedShareRecord, deps: ShareAccessDeps): Promise<ShareAccess> {
  const webdav = share.protocols.webdav;
  if (!webdav) throw new ShareAccessError('no-webdav', 'the share offers no webdav access');
  const origin = deps.providers.originFor(share.senderDomain);
  if (!origin) throw new ShareAccessError('untrusted', `the sender ${share.senderDomain} is not a trusted provider`);

  let baseUrl: string;
  const uri = webdav.uri?.trim();
  if (uri && ABSOLUTE_URL.test(uri)) {
    baseUrl = checkAbsolute(uri, origin, 'webdav.uri');
  } else {
    const prefix = await discoverPrefix(share, deps.client);
    const originPart = origin.origin;
    baseUrl = uri ? `${originPart}${prefix}/${checkRelative(uri)}` : `${originPart}${prefix}`;
  }

  const token = deps.getAccessToken ? await deps.getAccessToken(share) : undefined;
  let authorization: string;
  if (token) {
    authorization = `Bearer ${token}`;
  } else if (webdav.requirements?.includes('must-exchange-token')) {
    throw new ShareAccessError('token-required', 'the share requires a token exchange, which this server cannot do yet');
  } else if (share.protocols.encoding === 'legacy') {
    authorization = `Basic ${Buffer.from(`${webdav.sharedSecret}:`, 'utf8').toString('base64')}`;
  } else {
    authorization = `Bearer ${webdav.sharedSecret}`;
  }
  return { baseUrl: stripTrailingSlashes(baseUrl), authorization };
}

/** An absolute URL on the trusted origin, returned without query, fragment or trailing slash. */
function checkAbsolute(value: string, origin: URL, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ShareAccessError('bad-uri', `${what} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ShareAccessError('bad-uri', `${what} must be an http(s) URL`);
  if (url.protocol !== origin.protocol || url.host.toLowerCase() !== origin.host.toLowerCase()) {
    throw new ShareAccessError('uri-elsewhere', `${what} points to ${url.origin}, not to the sender's trusted origin ${origin.origin}`);
  }
  if (url.username || url.password) throw new ShareAccessError('bad-uri', `${what} must not carry credentials`);
  if (url.search || url.hash || value.includes('#')) throw new ShareAccessError('bad-uri', `${what} must not carry a query or fragment`);
  return stripTrailingSlashes(`${url.origin}${url.pathname}`);
}

/** A relative uri (the share's key below the prefix): path segments only, no dot segments. */
function checkRelative(uri: string): string {
  const path = uri.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '' || /[?#\\]/.test(path)) throw new ShareAccessError('bad-uri', 'webdav.uri is not a usable relative reference');
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new ShareAccessError('bad-uri', 'webdav.uri has malformed percent-encoding');
    }
    if (decoded === '' || decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\0')) {
      throw new ShareAccessError('bad-uri', 'webdav.uri must not contain empty, "." or ".." segments');
    }
  }
  return path;
}

async function discoverPrefix(share: ReceivedShareRecord, client: ShareAccessDeps['client']): Promise<string> {
  const peer = await client.discover(share.senderDomain);
  return webdavPrefixOf(peer, share.resourceType);
}

/** The sender's webdav prefix (leading slash, no trailing slash; '' for the root). */
export function webdavPrefixOf(peer: Pick<DiscoveredPeer, 'document' | 'origin'>, resourceType: string): string {
  const types = Array.isArray(peer.document.resourceTypes) ? peer.document.resourceTypes : [];
  const prefixOf = (entry: unknown): string | undefined => {
    const protocols = (entry as { protocols?: unknown } | null)?.protocols;
    const webdav = protocols && typeof protocols === 'object' ? (protocols as Record<string, unknown>).webdav : undefined;
    return typeof webdav === 'string' && webdav.trim() !== '' ? webdav.trim() : undefined;
  };
  const raw =
    prefixOf(types[0]) ?? prefixOf(types.find((t) => (t as { name?: unknown } | null)?.name === resourceType)) ?? DEFAULT_WEBDAV_PREFIX;
  if (ABSOLUTE_URL.test(raw)) return new URL(checkAbsolute(raw, peer.origin, 'the discovered webdav prefix')).pathname.replace(/\/+$/, '');
  if (/[?#\\]/.test(raw)) throw new ShareAccessError('bad-uri', 'the discovered webdav prefix is not a path');
  const path = `/${raw.replace(/^\/+/, '').replace(/\/+$/, '')}`;
  if (path.split('/').some((s) => isDotSegment(s))) {
    throw new ShareAccessError('bad-uri', 'the discovered webdav prefix must not contain dot segments');
  }
  return path === '/' ? '' : path;
}

/** `.` or `..`, also percent-encoded (`%2e`, `.%2E`, …). */
function isDotSegment(segment: string): boolean {
  const decoded = segment.replace(/%2e/gi, '.');
  return decoded === '.' || decoded === '..';
}

function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------
// One WebDAV exchange with the sender

/** Request headers a WebDAV client may send that are forwarded to the sender (everything else is dropped). */
export const FORWARDED_REQUEST_HEADERS = [
  'depth',
  'destination',
  'content-type',
  'content-length',
  'if-match',
  'if-none-match',
  'overwrite',
  'accept',
] as const;

export interface DavForwardRequest {
  method: string;
  /** URL-encoded segments joined by '/', relative to the share's base ('' for the base; a trailing '/' is kept). */
  relativePath: string;
  /** Request headers (lower- or mixed-case names); only FORWARDED_REQUEST_HEADERS pass. `destination` must already name the sender. */
  headers: Record<string, string | string[] | undefined>;
  body?: Readable | Buffer;
}

export interface DavForwardOptions {
  /** Idle deadline: the exchange is aborted after this long without progress. */
  timeoutMs: number;
  /** Cap on the response body; more is an `OutboundError('too-large')`. */
  maxResponseBytes?: number;
  userAgent?: string;
  /** See address-guard.ts: host names of senders may not resolve to internal addresses unless allowed. */
  allowPrivateAddresses?: boolean;
  /** Sees each call once its answer's headers arrived, or why none came (the OCM inspector); bodies are streams and not shown. */
  observer?: (exchange: OutboundExchange) => void;
  /** Trusted CAs and `--resolve` pins (network.ts; the OCM client's); default the plain global fetch. */
  network?: OutboundNetwork;
}

export interface DavForwardResponse {
  status: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The body as a stream (empty for HEAD, 204 and 304). */
  body: Readable;
}

/** `<base>/<relativePath>`, with exactly one slash between them. */
export function targetUrl(access: ShareAccess, relativePath: string): string {
  if (relativePath === '') return access.baseUrl;
  return `${access.baseUrl}/${relativePath.replace(/^\/+/, '')}`;
}

export async function forwardDav(request: DavForwardRequest, access: ShareAccess, opts: DavForwardOptions): Promise<DavForwardResponse> {
  const network = opts.network ?? DEFAULT_NETWORK;
  const url = targetUrl(access, request.relativePath);
  const headers: Record<string, string> = {};
  const wanted = new Set<string>(FORWARDED_REQUEST_HEADERS);
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (!wanted.has(lower) || value === undefined) continue;
    headers[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  headers['authorization'] = access.authorization;
  headers['accept-encoding'] = 'identity';
  headers['user-agent'] = opts.userAgent ?? 'ocm-conformance-reference';

  const controller = new AbortController();
  let timedOut = false;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    if (finished) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.timeoutMs);
  };
  /** The exchange is over (done or failed): no more deadline. */
  const stop = (): void => {
    finished = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  const method = request.method.toUpperCase();
  let body: unknown;
  if (request.body !== undefined && method !== 'GET' && method !== 'HEAD') {
    if (Buffer.isBuffer(request.body)) {
      body = request.body;
    } else {
      // Every chunk handed to the sender counts as progress.
      const progress = new Transform({
        transform(chunk: Buffer, _encoding, callback: TransformCallback) {
          touch();
          callback(null, chunk);
        },
      });
      request.body.on('error', (error) => progress.destroy(error));
      // A client that aborts its upload must end this exchange, never the process:
      // without a listener the Transform's 'error' would be an uncaught exception.
      progress.on('error', () => controller.abort());
      body = request.body.pipe(progress);
    }
  }

  try {
    await assertAllowedDestination(url, opts.allowPrivateAddresses === true, network.pinnedAddress);
  } catch (error) {
    if (error instanceof PrivateAddressError) throw new OutboundError('private-address', error.message, url);
    throw error;
  }
  touch();
  const startedAt = Date.now();
  const started = performance.now();
  const observe = (answer: Pick<OutboundExchange, 'status' | 'responseHeaders' | 'responseBody' | 'error'>) =>
    opts.observer?.({
      method,
      url,
      startedAt,
      durationMs: performance.now() - started,
      requestHeaders: headers,
      ...(body !== undefined ? { requestBody: Buffer.isBuffer(body) ? body.toString('utf8') : '[streamed body]' } : {}),
      ...answer,
    });
  let response: Response;
  try {
    response = await network.fetch(url, {
      method,
      headers,
      body: body as BodyInit | undefined,
      redirect: 'manual',
      signal: controller.signal,
      ...(body !== undefined && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    stop();
    const failed = failure(error, url, timedOut);
    observe({ error: failed.message });
    throw failed;
  }
  touch(); // the headers arrived: the idle deadline now covers the body
  observe({
    status: response.status,
    responseHeaders: Object.fromEntries(response.headers.entries()),
    ...(response.body ? { responseBody: '[streamed body]' } : {}),
  });

  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name.toLowerCase()] = value;
  });
  const status = response.status;
  if (status >= 300 && status < 400 && status !== 304) {
    stop();
    await response.body?.cancel().catch(() => undefined);
    throw new OutboundError('redirect', `${url} answered with a redirect (${status}); redirects are not followed`, url, status);
  }
  // fetch decodes a content-encoding it was not asked for: the sender's length no longer applies.
  if (responseHeaders['content-encoding'] && responseHeaders['content-encoding'] !== 'identity') {
    delete responseHeaders['content-encoding'];
    delete responseHeaders['content-length'];
  }
  const declared = Number(responseHeaders['content-length'] ?? NaN);
  if (opts.maxResponseBytes !== undefined && Number.isFinite(declared) && declared > opts.maxResponseBytes) {
    stop();
    await response.body?.cancel().catch(() => undefined);
    throw new OutboundError(
      'too-large',
      `${url} announced ${declared} bytes, more than the ${opts.maxResponseBytes} accepted`,
      url,
      status,
    );
  }
  if (!response.body) {
    stop();
    return { status, headers: responseHeaders, body: Readable.from([]) };
  }

  const limit = opts.maxResponseBytes;
  let size = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      touch();
      size += chunk.length;
      if (limit !== undefined && size > limit) {
        callback(new OutboundError('too-large', `${url} sent more than the ${limit} bytes accepted`, url, status));
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      stop();
      callback();
    },
  });
  const source = Readable.fromWeb(response.body as unknown as NodeReadableStream<Uint8Array>);
  source.on('error', (error) => {
    stop();
    guard.destroy(failure(error, url, timedOut));
  });
  // However the consumer ends (done, error, client gone), the exchange with the sender ends too.
  guard.on('close', () => {
    stop();
    controller.abort();
    source.destroy();
  });
  return { status, headers: responseHeaders, body: source.pipe(guard) };
}

/** Reads a (forwarded) body into memory, refusing more than `limit` bytes. */
export async function readBody(body: Readable, limit: number, url = 'the sender'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new OutboundError('too-large', `${url} sent more than the ${limit} bytes accepted`, url);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function failure(error: unknown, url: string, timedOut: boolean): OutboundError {
  if (error instanceof OutboundError) return error;
  if (timedOut) return new OutboundError('timeout', `${url} made no progress in time`, url);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new OutboundError(
    'unreachable',
    `${url} could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    url,
  );
}
