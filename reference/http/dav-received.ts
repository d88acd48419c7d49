/**
 * WebDAV access to the shares our local users RECEIVED: a local user reads
 * (and, with the `write` permission, writes) an accepted received share at
 *
 *   <prefix>/<receivedShareId>[/<path below the shared resource>]
 *
 * while this server acts as the OCM WebDAV client of the sender
 * (outbound/webdav-client.ts). Registered with the prefix `/dav/ocm-received`.
 *
 * Order of checks, and what each failure answers (JSON `{code, message}`):
 *  1. HTTP Basic login of a local user                → 401 UNAUTHENTICATED + challenge
 *  2. path syntax: every segment decoded exactly once; empty, `.`, `..`,
 *     an encoded `/`, `\` or NUL                       → 403 (BAD_REQUEST code, see below);
 *     malformed percent-encoding                       → 400 BAD_REQUEST
 *  3. the share exists AND belongs to the user         → 404 SHARE_NOT_FOUND (same answer for both)
 *  4. not expired (`expiration` in the past)           → 404 SHARE_NOT_FOUND
 *  5. accepted (pending, declined)                     → 403 SHARE_NOT_ACCEPTED (local code)
 *  6. PUT, MKCOL, DELETE, MOVE need `write`            → 403 (METHOD_NOT_ALLOWED code), sender not called
 *  7. OPTIONS is answered here (DAV: 1, Allow by permission), without calling the sender;
 *     other methods (COPY, LOCK, PROPPATCH, …) are 405 with Allow
 *  8. everything else is forwarded; the sender's answer is relayed:
 *       2xx / 304      status, content-type, content-length, etag, last-modified, bytes unchanged (streamed)
 *       207            buffered (capped), checked well-formed, every DAV `href` under the
 *                      sender's base rewritten to our local path
 *       3xx            502 REMOTE_BAD_RESPONSE (never followed)
 *       401            502 REMOTE_REFUSED: the sender rejects our credential (the share
 *                      secret), not the user's request; its body is not passed on
 *       other 4xx, 507 same status: the sender's verdict on the user's request (403 read-only
 *                      or revoked, 404 no such path, 409/412/423 conflicts, 413, 507 full);
 *                      the sender's `{code, message}` when it sent a JSON error body, else
 *                      FORBIDDEN (403), RESOURCE_NOT_FOUND (404) or REMOTE_REFUSED
 *       other 5xx      502 REMOTE_BAD_RESPONSE
 *       no answer / no progress in `timeoutMs`   504 REMOTE_UNREACHABLE
 *     MOVE's Destination (a local URL or path in the same share) is rewritten
 *     to the sender's URL; a Destination on another host is 502
 *     DESTINATION_OTHER_SERVER (RFC 4918 §9.9.4), elsewhere here 403.
 *
 * Codes that errors.ts lacks are answered with the closest existing code and
 * the right status (BAD_REQUEST/403 for path segments and Destinations,
 * METHOD_NOT_ALLOWED/403 for writes to a read-only share); SHARE_NOT_ACCEPTED
 * is a local code of this module. Failures are logged once, by the error
 * handler (errors.ts `logFailure`): what went wrong with the sender travels
 * as the answer's `cause`.
 *
 * Bodies are never buffered whole, except 207 multistatus answers (to rewrite
 * them) and error bodies: in this scope the only content-type parser (`*`)
 * hands the raw request stream through, which is piped to the sender.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { XMLValidator } from 'fast-xml-parser';
import type { UserDirectory } from '../core/users.ts';
import { errorBody, logFailure, OcmError, type ErrorCode } from '../base/errors.ts';
import { OutboundError, type OcmClient } from '../outbound/ocm-client.ts';
import {
  forwardDav,
  readBody,
  resolveShareAccess,
  ShareAccessError,
  targetUrl,
  type DavForwardOptions,
  type ShareAccess,
  type ShareAccessDeps,
} from '../outbound/webdav-client.ts';
import type { TrustedProviders } from '../providers/trusted-providers.ts';
import { openReceivedShare, receivedShareWritable, type ReceivedShareService } from '../core/received-shares.ts';
import { destinationPath, pathOf } from '../webdav/destination.ts';
import { isSafeSegment } from '../webdav/safe-path.ts';
import { authenticateLocalUser } from './local-auth.ts';
import { toOcmError } from './openapi-validation.ts';

export interface DavReceivedOptions {
  /** Let senders named by host name resolve to internal addresses (outbound.allowPrivateAddresses). */
  allowPrivateAddresses?: boolean;
  users: UserDirectory;
  /** Whose received share is which, and whether it may be opened (core/received-shares.ts). */
  receivedShares: ReceivedShareService;
  providers: TrustedProviders;
  client: OcmClient;
  /** Idle deadline of each call to a sender (see webdav-client.ts forwardDav). */
  timeoutMs: number;
  /** Largest 207 multistatus body read from a sender (it is rewritten in memory); default 8 MiB. */
  maxMultistatusBytes?: number;
  /** Token-exchange seam, passed to resolveShareAccess. */
  getAccessToken?: ShareAccessDeps['getAccessToken'];
  /** Sees each call to a sender (the OCM inspector); see DavForwardOptions. */
  observer?: DavForwardOptions['observer'];
}

export const DEFAULT_MAX_MULTISTATUS_BYTES = 8 * 1024 * 1024;
/** Error bodies of a sender are read up to this size to pass their `{code, message}` on. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const READ_METHODS = ['OPTIONS', 'PROPFIND', 'GET', 'HEAD'] as const;
const WRITE_METHODS = ['PUT', 'MKCOL', 'DELETE', 'MOVE'] as const;
const ALL_METHODS = [...READ_METHODS, ...WRITE_METHODS];
/** Methods fastify does not know out of the box, and whether they carry a body (as in webdav/dav-plugin.ts). */
const EXTRA_METHODS: ReadonlyArray<readonly [string, boolean]> = [
  ['PROPFIND', true],
  ['MKCOL', true],
  ['MOVE', false],
];
/** Response headers of a successful answer that are relayed. */
const RELAYED_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified'] as const;

// ---------------------------------------------------------------------------
// Paths

interface ParsedPath {
  shareId: string;
  /** Decoded, validated segments below the share. */
  rest: string[];
  trailingSlash: boolean;
}

function pathError(): OcmError {
  return new OcmError('PATH_NOT_ALLOWED');
}

/**
 * Splits a raw path on `/` before decoding, decodes each segment once and
 * validates it. `undefined` when the path is not `<prefix>/<shareId>…`.
 */
function parsePath(rawPath: string, prefixSegments: readonly string[]): ParsedPath | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  const decoded = rawPath
    .slice(1)
    .split('/')
    .map((raw) => {
      try {
        return decodeURIComponent(raw);
      } catch {
        throw new OcmError('BAD_REQUEST', { message: 'The path contains malformed percent-encoding' });
      }
    });
  for (let i = 0; i < prefixSegments.length; i++) if (decoded[i] !== prefixSegments[i]) return undefined;
  const after = decoded.slice(prefixSegments.length);
  if (after.length === 1 && after[0] === '') return undefined; // the bare prefix with a slash
  let trailingSlash = false;
  if (after.length > 1 && after[after.length - 1] === '') {
    after.pop();
    trailingSlash = true;
  }
  if (after.length === 0) return undefined;
  for (const segment of after) if (!isSafeSegment(segment)) throw pathError();
  return { shareId: after[0]!, rest: after.slice(1), trailingSlash };
}

/** The path below the share's base, URL-encoded, as forwardDav wants it. */
function relativePathOf(rest: readonly string[], trailingSlash: boolean): string {
  const joined = rest.map(encodeURIComponent).join('/');
  return trailingSlash ? `${joined}/` : joined;
}

/** MOVE: our Destination (absolute URL on this host, or absolute path) → the sender's URL. */
function senderDestination(request: FastifyRequest, prefixSegments: readonly string[], shareId: string, access: ShareAccess): string {
  const header = request.headers['destination'];
  if (header === undefined || header === '' || Array.isArray(header)) {
    throw new OcmError('BAD_REQUEST', { message: 'MOVE requires one Destination header' });
  }
  const destination = destinationPath(header, request.host);
  if (!destination.ok) {
    if (destination.problem === 'other-server') throw new OcmError('DESTINATION_OTHER_SERVER');
    throw new OcmError('BAD_REQUEST', {
      message:
        destination.problem === 'not-a-url'
          ? 'The Destination header is not a valid URL'
          : 'The Destination must be an absolute URL or an absolute path',
    });
  }
  const rawPath = destination.rawPath;
  const parsed = parsePath(rawPath, prefixSegments);
  if (!parsed || parsed.shareId !== shareId) {
    throw new OcmError('DESTINATION_OUTSIDE_SHARE');
  }
  return targetUrl(access, relativePathOf(parsed.rest, parsed.trailingSlash));
}

// ---------------------------------------------------------------------------
// Multistatus href rewriting

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return XML_ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/** Segments of a path with each segment decoded (when possible) and re-encoded the one way we encode. */
function canonicalSegments(path: string): { segments: string[]; trailingSlash: boolean } {
  const parts = path.replace(/^\/+/, '').split('/');
  let trailingSlash = false;
  if (parts.length > 0 && parts[parts.length - 1] === '') {
    parts.pop();
    trailingSlash = parts.length > 0 || path.endsWith('/');
  }
  const segments = parts.map((part) => {
    try {
      return encodeURIComponent(decodeURIComponent(part));
    } catch {
      return part;
    }
  });
  return { segments, trailingSlash };
}

/**
 * Rewrites, in a multistatus document, every DAV: `href` naming the sender's
 * `baseUrl` (as an absolute path or an absolute URL on the same origin) or
 * something below it into `localBase` (an absolute path) plus the same rest.
 * Other hrefs, and every other byte of the document, are left as they are.
 * Elements are recognised by any prefix bound to `DAV:` in the document (or
 * no prefix when `DAV:` is declared as the default namespace).
 */
export function rewriteMultistatusHrefs(xml: string, baseUrl: string, localBase: string): string {
  const base = new URL(baseUrl);
  const baseSegments = canonicalSegments(base.pathname).segments;
  const davPrefixes = new Set<string>();
  let davDefault = false;
  for (const match of xml.matchAll(/\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(["'])\s*DAV:\s*\2/g)) {
    if (match[1] === undefined) davDefault = true;
    else davPrefixes.add(match[1]);
  }
  const localRoot = localBase.replace(/\/+$/, '');
  return xml.replace(
    /<(?:([A-Za-z_][\w.-]*):)?href(\s[^>]*)?>([^<]*)<\/(?:([A-Za-z_][\w.-]*):)?href\s*>/g,
    (whole, open: string | undefined, _attrs, text: string, close: string | undefined) => {
      if (open !== close) return whole;
      if (open === undefined ? !davDefault : !davPrefixes.has(open)) return whole;
      const value = decodeXmlText(text.trim());
      let path: string;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return whole;
        }
        if (url.origin !== base.origin) return whole;
        path = url.pathname;
      } else if (value.startsWith('/')) {
        path = pathOf(value);
      } else {
        return whole;
      }
      const { segments, trailingSlash } = canonicalSegments(path);
      if (segments.length < baseSegments.length || baseSegments.some((s, i) => segments[i] !== s)) return whole;
      const rest = segments.slice(baseSegments.length);
      const local = `${localRoot}${rest.length > 0 ? `/${rest.join('/')}` : ''}${trailingSlash ? '/' : ''}`;
      const prefix = open === undefined ? '' : `${open}:`;
      return `<${prefix}href>${escapeXml(local)}</${prefix}href>`;
    },
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---------------------------------------------------------------------------
// Errors of the calls to the sender

function accessFailure(error: unknown): unknown {
  if (error instanceof ShareAccessError) {
    switch (error.kind) {
      case 'untrusted':
        return new OcmError('PROVIDER_NOT_TRUSTED', {
          message: 'The sender of this share is not a trusted provider (any more)',
          cause: error,
        });
      case 'uri-elsewhere':
      case 'bad-uri':
        return new OcmError('REMOTE_BAD_RESPONSE', { message: `The share cannot be accessed safely: ${error.message}`, cause: error });
      case 'no-webdav':
        return new OcmError('UNSUPPORTED_PROTOCOL', { message: 'The share offers no webdav access', cause: error });
      case 'token-required':
        return new OcmError('TOKEN_EXCHANGE_UNSUPPORTED', { cause: error });
    }
  }
  return outboundFailure(error);
}

function outboundFailure(error: unknown): unknown {
  if (!(error instanceof OutboundError)) return error;
  switch (error.kind) {
    case 'timeout':
    case 'unreachable':
      return new OcmError('REMOTE_UNREACHABLE', { message: 'The sender of this share could not be reached in time', cause: error });
    case 'untrusted':
      return new OcmError('PROVIDER_NOT_TRUSTED', {
        message: 'The sender of this share is not a trusted provider (any more)',
        cause: error,
      });
    case 'redirect':
      return new OcmError('REMOTE_BAD_RESPONSE', { message: 'The sender answered with a redirect, which is not followed', cause: error });
    case 'too-large':
      return new OcmError('REMOTE_BAD_RESPONSE', { message: 'The sender answered with more data than this server accepts', cause: error });
    default:
      return new OcmError('REMOTE_BAD_RESPONSE', { message: 'The sender answered with something this server cannot use', cause: error });
  }
}

/** Our answer when the sender refused without a JSON `{code, message}` of its own. */
function fallbackError(status: number): { code: ErrorCode; message: string } {
  if (status === 403) return { code: 'FORBIDDEN', message: 'The sender does not allow this on the share (403)' };
  if (status === 404) return { code: 'RESOURCE_NOT_FOUND', message: 'The sender has nothing at this path (404)' };
  return { code: 'REMOTE_REFUSED', message: `The sender refused the request (${status})` };
}

/** The sender's `{code, message}` from a JSON error body, if it sent one. */
async function senderErrorBody(body: Readable, contentType: string | undefined): Promise<{ code?: string; message: string } | undefined> {
  if (!contentType || !/^application\/([a-z.+-]*\+)?json/i.test(contentType)) {
    body.destroy();
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readBody(body, MAX_ERROR_BODY_BYTES)).toString('utf8'));
  } catch {
    return undefined;
  }
  const { code, message } = (parsed ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  return typeof code === 'string' ? { code, message } : { message };
}

// ---------------------------------------------------------------------------
// The plugin

function bodyStream(request: FastifyRequest): Readable | undefined {
  const body = request.body as { [Symbol.asyncIterator]?: unknown; pipe?: unknown } | undefined;
  return body && typeof body[Symbol.asyncIterator] === 'function' && typeof body.pipe === 'function' ? (body as Readable) : undefined;
}

export const davReceivedPlugin: FastifyPluginAsync<DavReceivedOptions> = async (app, opts) => {
  const maxMultistatusBytes = opts.maxMultistatusBytes ?? DEFAULT_MAX_MULTISTATUS_BYTES;
  const prefixSegments = app.prefix.split('/').filter((s) => s !== '');
  const accessDeps: ShareAccessDeps = { client: opts.client, providers: opts.providers, getAccessToken: opts.getAccessToken };

  // Methods are global to the fastify instance; the WebDAV engine may have added them already.
  for (const [method, hasBody] of EXTRA_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody });
  }

  // In this scope only: no JSON/form parsing, every body is handed through as the raw stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    // A client may abort its upload at any moment; that must end the exchange, never the process.
    payload.on('error', () => undefined);
    done(null, payload);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const ocmError = toOcmError(error);
    logFailure(request.log, error, ocmError, 'dav-received: request failed');
    if (ocmError.headers) reply.headers(ocmError.headers);
    return reply.code(ocmError.status).type('application/json').send(errorBody(ocmError));
  });

  // Unknown methods (COPY, LOCK, PROPPATCH, …) and the bare prefix.
  app.setNotFoundHandler(async (request, reply) => {
    if (!(ALL_METHODS as readonly string[]).includes(request.method)) {
      const error = new OcmError('METHOD_NOT_ALLOWED', { message: `${request.method} is not supported on received shares` });
      return reply.code(405).header('allow', ALL_METHODS.join(', ')).type('application/json').send(errorBody(error));
    }
    return reply
      .code(404)
      .type('application/json')
      .send(errorBody(new OcmError('SHARE_NOT_FOUND')));
  });

  const relay = async (
    reply: FastifyReply,
    method: string,
    answer: Awaited<ReturnType<typeof forwardDav>>,
    access: ShareAccess,
    localBase: string,
  ) => {
    const { status, headers, body } = answer;
    // Our credential (the share secret) was rejected: a fault of the gateway, not of the user's request.
    if (status === 401) {
      body.destroy();
      throw new OcmError('REMOTE_REJECTED_CREDENTIAL', {
        message: `The sender rejected this server's credential for the share (${status})`,
      });
    }
    if (status >= 500 && status !== 507) {
      body.destroy();
      throw new OcmError('REMOTE_BAD_RESPONSE', { message: `The sender failed (${status})` });
    }
    // Any other 4xx (and 507) is the sender's verdict on what the user asked: relayed as it is.
    if (status >= 400) {
      const sent = await senderErrorBody(body, headers['content-type']);
      if (headers['allow']) reply.header('allow', headers['allow']);
      const fallback = fallbackError(status);
      const error: { code: string; message: string } = sent ? { code: sent.code ?? fallback.code, message: sent.message } : fallback;
      return reply.code(status).type('application/json').send(error);
    }
    if (status === 207) {
      const xml = (await readBody(body, maxMultistatusBytes)).toString('utf8');
      if (/<!DOCTYPE/i.test(xml) || XMLValidator.validate(xml) !== true) {
        throw new OcmError('REMOTE_BAD_RESPONSE', {
          message: 'The sender answered with a multistatus document that is not well-formed XML',
        });
      }
      return reply
        .code(207)
        .type(headers['content-type'] ?? 'application/xml; charset=utf-8')
        .send(rewriteMultistatusHrefs(xml, access.baseUrl, localBase));
    }
    reply.code(status);
    for (const name of RELAYED_HEADERS) if (headers[name] !== undefined) reply.header(name, headers[name]);
    if (method === 'HEAD' || status === 204 || status === 304) {
      body.destroy();
      return reply.send();
    }
    return reply.send(body);
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const user = authenticateLocalUser(opts.users, request);
    const parsed = parsePath(pathOf(request.url), prefixSegments);
    if (!parsed) throw new OcmError('SHARE_NOT_FOUND');
    const method = request.method;
    const use = (WRITE_METHODS as readonly string[]).includes(method) ? 'write' : 'read';
    const share = openReceivedShare(opts.receivedShares.getFor(user, parsed.shareId), use);
    const writable = receivedShareWritable(share);
    if (method === 'OPTIONS') {
      const allow = (writable ? ALL_METHODS : READ_METHODS).join(', ');
      return reply.code(200).headers({ dav: '1', allow, 'content-length': '0' }).send();
    }

    let access: ShareAccess;
    try {
      access = await resolveShareAccess(share, accessDeps);
    } catch (error) {
      throw accessFailure(error);
    }

    const headers: Record<string, string | string[] | undefined> = { ...request.headers };
    delete headers['destination'];
    if (method === 'MOVE') headers['destination'] = senderDestination(request, prefixSegments, parsed.shareId, access);
    const body = method === 'GET' || method === 'HEAD' ? undefined : bodyStream(request);
    if (!body) delete headers['content-length'];

    let answer;
    try {
      answer = await forwardDav({ method, relativePath: relativePathOf(parsed.rest, parsed.trailingSlash), headers, body }, access, {
        timeoutMs: opts.timeoutMs,
        allowPrivateAddresses: opts.allowPrivateAddresses === true,
        network: opts.client.network,
        ...(opts.observer ? { observer: opts.observer } : {}),
      });
    } catch (error) {
      throw outboundFailure(error);
    }
    const localBase = `/${[...prefixSegments, parsed.shareId].map(encodeURIComponent).join('/')}`;
    try {
      return await relay(reply, method, answer, access, localBase);
    } catch (error) {
      answer.body.destroy();
      throw outboundFailure(error);
    }
  };

  app.route({ method: ALL_METHODS, url: '/:shareId', handler });
  app.route({ method: ALL_METHODS, url: '/:shareId/*', handler });
};
