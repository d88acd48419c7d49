/**
 * The fuzzer: fast-check arbitraries of hostile requests against every HTTP
 * surface of a reference instance (and its CS3 gRPC services), how to send
 * them, and the invariants every answer must keep.
 *
 * Case families:
 *  - `op`: one per operation of the registry (ocm, sciencemesh, ocs v1/v2,
 *    ops): method and path from the document, path parameters from known ids
 *    and odd strings, query parameters, Basic/Bearer/no authorization, and a
 *    body generated from the operation's request schema (schema-arbitrary.ts),
 *    then mutated (wrong types, missing/extra fields, huge strings, deep
 *    nesting, odd Unicode, invalid UTF-8, truncation) and sent with a right,
 *    wrong or missing content type. Sent with `app.inject()`.
 *  - `dav`: WebDAV under /dav/files, /remote.php/dav/files, /dav/ocm,
 *    /remote.php/dav/ocm and /dav/ocm-received with random methods, paths,
 *    headers (Depth, Destination, Overwrite, Range, …) and bodies (PROPFIND
 *    XML, broken XML, entity bombs, bytes). inject().
 *  - `path`: random methods on random paths. inject().
 *  - `raw`: bytes on a real socket: duplicated and conflicting headers,
 *    chunked bodies, truncated bodies, bare LF, obs-fold, invalid bytes in
 *    the request target, oversize headers, pipelining.
 *  - `grpc`: a random message (protobufjs `fromObject` + `encode` of a
 *    random object) or random bytes to every rpc of the five services, with
 *    good, bad or duplicated `authorization` metadata.
 *
 * Invariants (`check*`): no 5xx (HTTP) and no CODE_INTERNAL / transport
 * error (gRPC); JSON answers parse; for an operation, a JSON answer with a
 * declared status validates against the declared schema; any other 4xx JSON
 * answer is an error body (OCM Error, OCS failure envelope, TokenError or the
 * WebDAV `{code, message}`); nothing crashes (the runner watches
 * uncaughtException/unhandledRejection); /health answers 200 afterwards.
 */
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:net';
import { METHODS } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { documents, type DocumentName, type OperationInfo, type SchemaRegistry } from '../../openapi/registry.ts';
import { OCM_NOTIFICATION_TYPES } from '../../openapi/ocm.ts';
import { EINSTEIN, MARIE } from '../testing/harness.ts';
import type { Known } from './world.ts';
import {
  mutateValue,
  mutationChoice,
  oddUnicodeString,
  schemaArbitrary,
  serialiseMutated,
  type Hints,
  type MutationChoice,
} from './schema-arbitrary.ts';

export const RICHARD = { username: 'richard', password: 'superfluidity' };

// ---------------------------------------------------------------------------
// cases

export interface HttpCase {
  kind: 'http';
  family: string;
  transport: 'inject' | 'socket';
  op?: { doc: DocumentName; id: string };
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Full request bytes (socket transport). */
  raw?: Buffer;
  /** Short description of how the case was built, for the tallies. */
  label: string;
  /** The surface the request was built for (a raw case keeps its inner case's family here). */
  surface?: string;
}

export interface GrpcCase {
  kind: 'grpc';
  family: string;
  service: string;
  rpc: string;
  path: string;
  requestType: string;
  responseType: string;
  bytes: Buffer;
  metadata: Array<[string, string]>;
  label: string;
}

export type FuzzCase = HttpCase | GrpcCase;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const basicOf = (u: { username: string; password: string }) => `Basic ${b64(`${u.username}:${u.password}`)}`;

function hintsFor(known: Known): Hints {
  const { domainA, domainB, domainP } = known;
  const anyOf = <T>(...values: T[]) => fc.constantFrom(...values);
  const mostly = <T>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 10, arbitrary: good }, { weight: 1, arbitrary: odd });
  const ids = [...known.receivedShareIds, ...known.sentShareIds];
  const freshId = fc.uuid();
  return {
    // POST /ocm/shares: mostly a well-formed share from the plain peer to einstein, then variations.
    'IncomingShare.shareWith': mostly(
      anyOf(`${EINSTEIN.id}@${domainA}`, `einstein@${domainA}`),
      anyOf(`nobody@${domainA}`, `${EINSTEIN.id}@elsewhere.example`, `${MARIE.id}@${domainA}`),
    ),
    'IncomingShare.sender': mostly(
      anyOf(`sender@${domainP}`),
      anyOf(`${MARIE.id}@${domainB}`, `x@untrusted.example`, `@${domainP}`, `a@b@${domainP}`),
    ),
    'IncomingShare.owner': mostly(anyOf(`owner@${domainP}`), anyOf(`${MARIE.id}@${domainB}`, `owner@untrusted.example`)),
    'IncomingShare.providerId': mostly(freshId, fc.constantFrom(...known.receivedProviderIds)),
    'IncomingShare.shareType': mostly(anyOf('user'), anyOf('group', 'federation')),
    'IncomingShare.resourceType': mostly(anyOf('file', 'folder'), anyOf('calendar', '')),
    'IncomingWebdavProtocol.uri': mostly(
      anyOf(`http://${domainP}/dav/ocm/x`),
      anyOf(
        `http://${domainB}/dav/ocm/x`,
        'http://169.254.169.254/latest/meta-data',
        'file:///etc/passwd',
        'relative-key',
        'http://[::1]:22/',
      ),
    ),
    'IncomingWebdavProtocol.requirements': mostly(
      anyOf(['must-exchange-token']),
      anyOf(['must-use-mfa'], ['must-exchange-token', 'must-exchange-token']),
    ),
    // POST /ocm/notifications: about shares A holds, from the party it holds them with.
    'NewNotification.providerId': mostly(fc.constantFrom(...known.receivedProviderIds, ...known.sentProviderIds), freshId),
    'NewNotification.notificationType': fc.constantFrom(...OCM_NOTIFICATION_TYPES, 'UNKNOWN_TYPE'),
    'NewNotification.resourceType': mostly(anyOf('file', 'folder'), anyOf('user', 'calendar')),
    sharedSecret: fc.constantFrom(...known.secrets, 's'),
    // POST /ocm/invite-accepted
    'AcceptedInvite.token': mostly(fc.constantFrom(...known.tokens), fc.string({ maxLength: 30 })),
    'AcceptedInvite.recipientProvider': mostly(anyOf(domainP, domainB), anyOf(domainA, 'evil.example:443', '169.254.169.254', '[::1]:80')),
    'AcceptedInvite.userID': mostly(freshId, anyOf(MARIE.id, 'plain-user')),
    // POST /ocm/token (form)
    'TokenRequest.client_id': mostly(anyOf(domainB, domainP), anyOf(domainA, 'evil.example')),
    'TokenRequest.code': mostly(fc.constantFrom(...known.secrets), anyOf('wrong-code')),
    // sciencemesh
    'AcceptInviteRequest.token': mostly(fc.constantFrom(...known.tokens), fc.string({ maxLength: 30 })),
    'AcceptInviteRequest.providerDomain': mostly(
      anyOf(domainP, domainB),
      anyOf(`http://${domainB}`, domainA, 'untrusted.example', `https://${domainP}/`),
    ),
    'AcceptInviteRequest.invite': fc.oneof(
      fc.constantFrom(...known.tokens).map((t) => Buffer.from(`${t}@${domainA}`).toString('base64url')),
      freshId.map((t) => Buffer.from(`${t}@${domainP}`).toString('base64')),
      fc.string({ maxLength: 40 }),
    ),
    'DeleteAcceptedUserRequest.idp': mostly(anyOf(domainB, domainP), anyOf(`http://${domainB}`, 'nowhere.example')),
    'DeleteAcceptedUserRequest.user_id': mostly(anyOf(MARIE.id, 'plain-user'), anyOf(EINSTEIN.id)),
    // OCS
    'CreateShareRequest.shareType': mostly(anyOf<number | string>(6, '6'), anyOf<number | string>(0, '3', 7)),
    'CreateShareRequest.path': mostly(
      anyOf('/welcome.txt', '/project', '/sample.bin', '/project/notes.md'),
      anyOf('/../../etc/passwd', '/nope', '/', '//project', '/project/../welcome.txt'),
    ),
    'CreateShareRequest.shareWith': mostly(anyOf(MARIE.id, 'plain-user'), anyOf('nobody', EINSTEIN.id)),
    'CreateShareRequest.shareWithProvider': mostly(anyOf(domainB, domainP), anyOf(domainA, 'untrusted.example', `http://${domainB}/`)),
    'CreateShareRequest.expireDate': mostly(anyOf('2099-12-31', '2000-01-01'), anyOf('2023-02-30', '9999-12-31')),
    'UpdateShareRequest.expireDate': mostly(anyOf('2099-12-31', ''), anyOf('2023-02-30', '2000-01-01')),
    id: fc.constantFrom(...ids),
  };
}

/** Known ids and odd strings for `{id}` path parameters (always non-empty, one segment once encoded). */
function pathParam(known: Known): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 5, arbitrary: fc.constantFrom(...known.receivedShareIds, ...known.sentShareIds) },
      { weight: 1, arbitrary: fc.constantFrom(...known.receivedProviderIds, ...known.tokens) },
      {
        weight: 2,
        arbitrary: fc.oneof(
          fc.uuid(),
          fc.string({ minLength: 1, maxLength: 40 }),
          oddUnicodeString,
          fc.constantFrom('..', '.', '%', 'pending', '0', '-1', 'a'.repeat(5000), '__proto__', 'constructor'),
        ),
      },
    )
    .map((s) => percentEncode(s));
}

function authHeader(known: Known): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(basicOf(EINSTEIN)) },
    { weight: 1, arbitrary: fc.constantFrom(basicOf(MARIE), basicOf(RICHARD)) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(
          basicOf({ username: 'einstein', password: 'wrong' }),
          'Basic',
          'Basic ',
          'Basic !!!!',
          `Basic ${b64('no-colon')}`,
          `Basic ${b64(':')}`,
          `Basic ${b64('einstein:relativity:extra')}`,
          `Basic ${b64('einstein\u0000:relativity')}`,
          `basic ${b64('einstein:relativity')}`,
          `Basic  ${b64('einstein:relativity')}`,
          'Bearer',
          `Bearer ${'x'.repeat(10_000)}`,
          'Negotiate abc',
        ),
        fc.constantFrom(...known.secrets).map((s) => `Bearer ${s}`),
        fc.constantFrom(...known.secrets).map((s) => `Basic ${b64(`${s}:`)}`),
        fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `Basic ${b64(s)}`),
        fc.string({ maxLength: 60 }).filter(isHeaderSafe),
      ),
    },
  );
}

/** encodeURIComponent, except that a lone surrogate becomes its WTF-8 bytes (%ED%A0%80) instead of an exception. */
export function percentEncode(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (
      unit >= 0xd800 &&
      unit <= 0xdbff &&
      i + 1 < value.length &&
      value.charCodeAt(i + 1) >= 0xdc00 &&
      value.charCodeAt(i + 1) <= 0xdfff
    ) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}

function isHeaderSafe(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
const ODD_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json ; x=y',
  'application/jsonx',
  'application/ld+json',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  '*/*',
  'application/',
  ';',
  'application/json, text/html',
  `application/json; ${'p=v; '.repeat(300)}`,
] as const;

type ContentTypeChoice = { mode: 'declared' | 'other-declared' | 'odd' | 'none'; odd: string; r: number };
const contentTypeChoice: fc.Arbitrary<ContentTypeChoice> = fc.record({
  mode: fc.oneof(
    { weight: 10, arbitrary: fc.constant<'declared'>('declared') },
    { weight: 3, arbitrary: fc.constantFrom<'other-declared' | 'odd' | 'none'>('other-declared', 'odd', 'none') },
  ),
  odd: fc.constantFrom(...ODD_CONTENT_TYPES),
  r: fc.double({ min: 0, max: 0.999, noNaN: true }),
});

/** Form encoding of a value as a browser or curl would send it (nested values stringified), with odd shapes. */
function formEncode(value: unknown, r: number): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return String(value);
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const item of v) params.append(k, typeof item === 'object' ? JSON.stringify(item) : String(item));
    else params.append(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  }
  let text = params.toString();
  if (r < 0.1)
    text += `&${text}`; // every key twice
  else if (r < 0.15) text += '&%ZZ=%E0%A4%A';
  else if (r < 0.2) text = text.replace(/=/g, '');
  return text;
}

function queryFor(doc: DocumentName, op: OperationInfo, known: Known): fc.Arbitrary<string> {
  const item = (documents[doc].paths as Record<string, any>)[op.path];
  const spec = item?.[op.method.toLowerCase()];
  const declared = ((spec?.parameters ?? []) as Array<{ name: string; in: string; schema?: { enum?: string[] } }>).filter(
    (p) => p.in === 'query',
  );
  const param = (p: { name: string; schema?: { enum?: string[] } }) =>
    fc.tuple(
      fc.constant(p.name),
      fc.oneof(
        p.schema?.enum
          ? fc.constantFrom(...p.schema.enum)
          : fc.constantFrom('json', 'true', 'all', '1', ...known.tokens.slice(0, 1), MARIE.id.slice(0, 4)),
        fc.string({ maxLength: 12 }),
        oddUnicodeString,
      ),
    );
  return fc
    .tuple(
      fc.subarray(declared).chain((ps) => (ps.length ? fc.tuple(...ps.map(param)) : fc.constant([] as Array<[string, string]>))),
      fc.option(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), { freq: 4 }),
      fc.constantFrom(
        '',
        '',
        '',
        '',
        '&&',
        '&format=json&format=xml',
        '&state=%ZZ',
        '&shared_with_me=true&shared_with_me=false',
        '&%00=%00',
        '&a[b][c]=1',
        '&__proto__[x]=1',
      ),
    )
    .map(([params, extra, tail]) => {
      const search = new URLSearchParams();
      for (const [k, v] of params) search.append(k, v);
      if (extra) search.append(extra[0], extra[1]);
      const text = search.toString() + tail;
      return text ? `?${text}` : '';
    });
}

/** A valid body with a deeply nested extension member in every object (what a peer may smuggle into protocol objects). */
const deepExtension: fc.Arbitrary<MutationChoice> = mutationChoice.map((m) => ({
  ...m,
  value: 'none' as const,
  bytes: 'deep-nesting' as const,
  picks: [m.picks[0] ?? 0, 0.8, m.picks[2] ?? 0, 1],
  nestingDepth: m.nestingDepth < 5_000 ? 8_000 : m.nestingDepth,
}));

function opCase(
  registry: SchemaRegistry,
  op: OperationInfo,
  known: Known,
  hints: Hints,
  mode: 'mutate' | 'deep' = 'mutate',
): fc.Arbitrary<HttpCase> {
  const prefix = op.base === 'endPoint' ? '/ocm' : '';
  const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const pathArb = params.length
    ? fc
        .tuple(...params.map(() => pathParam(known)))
        .map((values) => params.reduce((p, name, i) => p.replace(`{${name}}`, values[i]!), `${prefix}${op.path}`))
    : fc.constant(`${prefix}${op.path}`);
  const mediaTypes = [...op.requestBody.keys()];
  const bodyArb: fc.Arbitrary<{ body?: Buffer; contentType?: string; label: string }> = mediaTypes.length
    ? fc
        .tuple(
          fc.constantFrom(...mediaTypes),
          mode === 'deep' ? deepExtension : mutationChoice,
          mode === 'deep' ? contentTypeChoice.map((c) => ({ ...c, mode: 'declared' as const })) : contentTypeChoice,
          mode === 'deep' ? fc.constant(null) : fc.option(fc.constant(true), { freq: 12 }),
        )
        .chain(([mediaType, mutation, ct, noBody]) =>
          schemaArbitrary(registry, op.requestBody.get(mediaType)!, hints).map((value) => {
            if (noBody) return { label: 'no-body' };
            const mutated = mutateValue(value, mutation);
            const text =
              mediaType === FORM_TYPE ? formEncode(mutated, mutation.value === 'none' ? 1 : (mutation.picks[3] ?? 0)) : undefined;
            const body = serialiseMutated(mutated, mutation, text);
            const contentType =
              ct.mode === 'declared'
                ? mediaType
                : ct.mode === 'other-declared'
                  ? mediaType === JSON_TYPE
                    ? FORM_TYPE
                    : JSON_TYPE
                  : ct.mode === 'odd'
                    ? ct.odd
                    : undefined;
            return { body, contentType, label: `${mutation.value}/${mutation.bytes}/ct-${ct.mode}` };
          }),
        )
    : fc.oneof(
        { weight: 5, arbitrary: fc.constant({ label: 'no-body' }) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(JSON_TYPE, 'text/plain', FORM_TYPE))
            .map(([v, ct]) => ({ body: Buffer.from(JSON.stringify(v) ?? ''), contentType: ct, label: 'unexpected-body' })),
        },
      );
  const extraHeaders = fc.dictionary(
    fc.constantFrom(
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'accept',
      'accept-encoding',
      'origin',
      'signature',
      'signature-input',
      'content-digest',
      'date',
      'ocs-apirequest',
      'expect',
      'x-http-method-override',
      'if-none-match',
    ),
    fc.oneof(
      fc.string({ maxLength: 40 }).filter(isHeaderSafe),
      fc.constantFrom(
        'sig1=:AAAA:',
        'ocm=("@method");keyid="x";alg="ed25519";created=1',
        'sha-256=:x:',
        '100-continue',
        'DELETE',
        '*/*',
        'gzip, br',
      ),
    ),
    { maxKeys: 2 },
  );
  return fc
    .tuple(pathArb, queryFor(op.document, op, known), bodyArb, authHeader(known), extraHeaders)
    .map(([path, query, body, auth, extra]) => {
      const headers: Record<string, string> = { ...extra };
      if (auth !== undefined) headers.authorization = auth;
      if (body.contentType !== undefined) headers['content-type'] = body.contentType;
      return {
        kind: 'http',
        family: `${op.document}.${op.operationId}`,
        transport: 'inject',
        op: { doc: op.document, id: op.operationId },
        method: op.method,
        url: `${path}${query}`,
        headers,
        ...(body.body ? { body: body.body } : {}),
        label: body.label,
      } satisfies HttpCase;
    });
}

const DAV_METHODS = [
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PROPFIND',
  'MKCOL',
  'MOVE',
  'COPY',
  'PROPPATCH',
  'LOCK',
  'UNLOCK',
  'POST',
  'PATCH',
  'REPORT',
  'SEARCH',
  'TRACE',
];
const PROPFIND_BODIES = [
  '',
  '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>',
  '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getcontentlength/><d:resourcetype/><x:y xmlns:x="urn:x"/></d:prop></d:propfind>',
  '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:propname/></d:propfind>',
  '<d:propfind xmlns:d="DAV:"><d:prop>',
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><d:propfind xmlns:d="DAV:"><d:prop><d:x>&lol4;</d:x></d:prop></d:propfind>',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:"><d:prop><d:x>&xxe;</d:x></d:prop></d:propfind>',
  '{"json": "instead of xml"}',
  `<?xml version="1.0"?><d:propfind xmlns:d="DAV:">${'<d:prop>'.repeat(5000)}${'</d:prop>'.repeat(5000)}</d:propfind>`,
  '<?xml version="1.0" encoding="UTF-16"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>',
];

const KNOWN_METHODS = new Set(METHODS);

function davCase(known: Known, socketHost: string): fc.Arbitrary<HttpCase> {
  const segment = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom('welcome.txt', 'project', 'notes.md', 'drafts', 'draft-1.txt', 'sample.bin', 'new.txt', 'new-folder'),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(oddUnicodeString, fc.string({ minLength: 1, maxLength: 20 })).map((s) => percentEncode(s)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '..',
        '.',
        '',
        '%2e%2e',
        '%2F',
        '%00',
        '%5C',
        '%',
        '%C3%28',
        '%ED%A0%80',
        '%FF',
        '.dav-upload-x',
        'a'.repeat(300),
        '~',
        '%252e%252e',
      ),
    },
  );
  const base = fc.oneof(
    fc.constantFrom('einstein', 'marie', 'richard', 'nobody', '').map((u) => `/dav/files/${u}`),
    fc.constantFrom('einstein', 'marie').map((u) => `/remote.php/dav/files/${u}`),
    fc.constantFrom(...known.sentShareIds, ...known.sentProviderIds, 'unknown-share').map((id) => `/dav/ocm/${id}`),
    fc.constantFrom(...known.sentShareIds, 'x').map((id) => `/remote.php/dav/ocm/${id}`),
    fc.constantFrom(...known.receivedShareIds, 'unknown', '..').map((id) => `/dav/ocm-received/${id}`),
    fc.constantFrom('/dav/files', '/dav/ocm', '/dav/ocm-received', '/dav', '/remote.php/dav'),
  );
  const auth = fc.oneof(
    authHeader(known),
    fc.constantFrom(...known.secrets).map((s) => `Bearer ${s}`),
  );
  const davHeaders = fc.record(
    {
      depth: fc.constantFrom('0', '1', 'infinity', '2', '', 'one', '1,1'),
      destination: fc.oneof(
        fc.constantFrom(
          '/dav/files/einstein/moved.txt',
          'http://127.0.0.2/dav/files/einstein/x',
          'http://evil.example/dav/files/einstein/x',
          '/dav/files/marie/x',
          '../../etc',
          '',
          '%ZZ',
        ),
        fc.constantFrom(...known.receivedShareIds).map((id) => `/dav/ocm-received/${id}/moved.txt`),
      ),
      overwrite: fc.constantFrom('T', 'F', 'x', ''),
      range: fc.constantFrom('bytes=0-1', 'bytes=-1', 'bytes=5-1', 'bytes=0-1,2-3', 'items=0-1'),
      'content-range': fc.constantFrom('bytes 0-1/2', 'bytes */*'),
      'if-match': fc.constantFrom('*', '"x"'),
      'content-type': fc.constantFrom(
        'application/xml',
        'text/xml',
        'application/octet-stream',
        'text/plain',
        'application/json',
        'multipart/form-data; boundary=x',
      ),
      'content-length-hint': fc.constant('x'),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom(...PROPFIND_BODIES).map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
  );
  const method = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...DAV_METHODS) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
  );
  return fc
    .tuple(method, base, fc.array(segment, { maxLength: 4 }), fc.boolean(), auth, davHeaders, body)
    .map(([m, b, segs, trailing, a, h, bd]) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (k !== 'content-length-hint') headers[k] = v;
      if (a !== undefined) headers.authorization = a;
      const url = `${b}${segs.length ? '/' + segs.join('/') : ''}${trailing ? '/' : ''}`;
      const family =
        ['/remote.php/dav/files', '/remote.php/dav/ocm', '/dav/files', '/dav/ocm-received', '/dav/ocm'].find((prefix) =>
          b.startsWith(`${prefix}/`),
        ) ?? '-root';
      // inject() knows only the methods Node's parser knows; others go over a socket.
      const transport = KNOWN_METHODS.has(m) ? 'inject' : 'socket';
      const base: HttpCase = {
        kind: 'http',
        family: `dav${family}`,
        transport,
        method: m,
        url,
        headers,
        ...(bd ? { body: bd } : {}),
        label: `dav-${m}`,
      };
      if (transport === 'socket') base.raw = rawRequest(base, 'plain', socketHost, new Uint8Array());
      return base;
    });
}
function randomPathCase(): fc.Arbitrary<HttpCase> {
  const methods: string[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE', 'CONNECT', 'SEARCH'];
  const path = fc.oneof(
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
    fc
      .array(
        fc.oneof(
          fc.string({ maxLength: 10 }).map(percentEncode),
          fc.constantFrom('ocm', 'sciencemesh', 'ocs', 'v2.php', '..', '%2e', '%00', '%ZZ', '.well-known', 'dav', ''),
        ),
        { maxLength: 6 },
      )
      .map((s) => `/${s.join('/')}`),
    fc.constantFrom(
      '/',
      '//',
      '/ocm/',
      '/ocm//shares',
      '/.well-known/ocm/',
      '/OCM/shares',
      '/ocm/shares/',
      '/ocm/shares?',
      '/ocm/%73hares',
      '/.well-known/%6fcm',
      `/${'a'.repeat(10_000)}`,
      '/ocm/shares#frag',
      '/sciencemesh/',
      '/ocs/v1.php/apps/files_sharing/api/v1/shares/pending/',
    ),
  );
  return fc.tuple(fc.constantFrom(...methods), path, fc.option(fc.jsonValue({ maxDepth: 2 }))).map(([method, url, value]): HttpCase => {
    const hasBody = value !== null && !['GET', 'HEAD', 'TRACE', 'CONNECT'].includes(method);
    return {
      kind: 'http',
      family: 'random-path',
      transport: 'inject',
      method,
      url,
      headers: hasBody ? { 'content-type': JSON_TYPE } : {},
      ...(hasBody ? { body: Buffer.from(JSON.stringify(value)) } : {}),
      label: 'random-path',
    } satisfies HttpCase;
  });
}

// ---- raw socket cases -----------------------------------------------------

type RawShape =
  | 'plain'
  | 'duplicate-content-type'
  | 'duplicate-authorization'
  | 'duplicate-content-length-same'
  | 'duplicate-content-length-different'
  | 'duplicate-host'
  | 'no-host'
  | 'te-and-cl'
  | 'chunked'
  | 'bad-chunk'
  | 'truncated-body'
  | 'excess-body'
  | 'bare-lf'
  | 'obs-fold'
  | 'bad-header-name'
  | 'raw-bytes-in-target'
  | 'huge-header'
  | 'http10'
  | 'absolute-form'
  | 'pipelined'
  | 'expect-continue'
  | 'garbage';

const RAW_SHAPES: RawShape[] = [
  'plain',
  'duplicate-content-type',
  'duplicate-authorization',
  'duplicate-content-length-same',
  'duplicate-content-length-different',
  'duplicate-host',
  'no-host',
  'te-and-cl',
  'chunked',
  'bad-chunk',
  'truncated-body',
  'excess-body',
  'bare-lf',
  'obs-fold',
  'bad-header-name',
  'raw-bytes-in-target',
  'huge-header',
  'http10',
  'absolute-form',
  'pipelined',
  'expect-continue',
  'garbage',
];

/** Serialises an HTTP case to raw HTTP/1.1 bytes in one of many odd shapes. */
export function rawRequest(c: HttpCase, shape: RawShape, host: string, noise: Uint8Array): Buffer {
  const body = c.body ?? Buffer.alloc(0);
  const lines: string[] = [];
  let version = 'HTTP/1.1';
  let target: Buffer = Buffer.from(c.url, 'latin1');
  if (shape === 'absolute-form') target = Buffer.from(`http://${host}${c.url}`, 'latin1');
  if (shape === 'http10') version = 'HTTP/1.0';
  if (shape === 'raw-bytes-in-target')
    target = Buffer.concat([
      target,
      Buffer.from([0x2f]),
      Buffer.from(noise.length ? noise.slice(0, 16) : [0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff]),
    ]);
  if (shape !== 'no-host') lines.push(`Host: ${host}`);
  if (shape === 'duplicate-host') lines.push('Host: evil.example');
  for (const [k, v] of Object.entries(c.headers)) lines.push(`${k}: ${v}`);
  if (shape === 'duplicate-content-type')
    lines.push(`content-type: ${c.headers['content-type'] === 'text/plain' ? 'application/json' : 'text/plain'}`);
  if (shape === 'duplicate-authorization') lines.push(`authorization: ${basicOf(MARIE)}`);
  if (shape === 'obs-fold') lines.push('x-folded: a', ' continued');
  if (shape === 'bad-header-name') lines.push('bad header: x', 'x\u0000y: z'.replace('\u0000', '\x7f'));
  if (shape === 'huge-header') lines.push(`x-huge: ${'h'.repeat(20_000)}`);
  if (shape === 'expect-continue') lines.push('Expect: 100-continue');
  let payload = body;
  if (shape === 'chunked' || shape === 'bad-chunk' || shape === 'te-and-cl') {
    lines.push('Transfer-Encoding: chunked');
    if (shape === 'te-and-cl') lines.push(`Content-Length: ${body.length}`);
    const chunk =
      shape === 'bad-chunk'
        ? Buffer.concat([Buffer.from(`zz\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
        : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\n\r\n`)]);
    payload = body.length === 0 && shape === 'chunked' ? Buffer.from('0\r\n\r\n') : chunk;
  } else if (shape === 'truncated-body') {
    lines.push(`Content-Length: ${body.length + 10}`);
  } else if (shape === 'excess-body') {
    lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
  } else if (shape === 'duplicate-content-length-same') {
    lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length}`);
  } else if (shape === 'duplicate-content-length-different') {
    lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
  } else if (body.length > 0 || ['POST', 'PUT'].includes(c.method)) {
    lines.push(`Content-Length: ${body.length}`);
  }
  if (shape !== 'pipelined') lines.push('Connection: close');
  const eol = shape === 'bare-lf' ? '\n' : '\r\n';
  const head = Buffer.concat([
    Buffer.from(`${c.method} `, 'latin1'),
    target,
    Buffer.from(` ${version}${eol}${lines.join(eol)}${eol}${eol}`, 'latin1'),
  ]);
  if (shape === 'garbage') return Buffer.concat([Buffer.from(noise), Buffer.from('\r\n\r\n')]);
  const request = Buffer.concat([head, payload]);
  if (shape === 'pipelined')
    return Buffer.concat([request, Buffer.from(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)]);
  return request;
}

function rawCase(inner: fc.Arbitrary<HttpCase>, host: string): fc.Arbitrary<HttpCase> {
  return fc.tuple(inner, fc.constantFrom(...RAW_SHAPES), fc.uint8Array({ maxLength: 64 })).map(([c, shape, noise]) => ({
    ...c,
    family: `raw.${shape}`,
    surface: c.surface ?? c.family,
    transport: 'socket',
    raw: rawRequest(c, shape, host, noise),
    label: `${c.family}`,
  }));
}

// ---- gRPC cases ------------------------------------------------------------

interface ProtoField {
  name: string;
  type: string;
  repeated: boolean;
  map: boolean;
  resolvedType: unknown;
}
interface ProtoTypeLike {
  fullName: string;
  fieldsArray: ProtoField[];
  fromObject(o: object): unknown;
  encode(m: unknown): { finish(): Uint8Array };
}

function protoStringHint(name: string, known: Known): fc.Arbitrary<string> {
  const pool = [
    EINSTEIN.id,
    MARIE.id,
    'einstein',
    'relativity',
    known.domainA,
    known.domainB,
    known.domainP,
    ...known.tokens,
    ...known.receivedShareIds,
    ...known.sentShareIds,
    ...known.secrets,
    '/welcome.txt',
    '/project',
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: oddUnicodeString },
    { weight: name === 'opaque_id' ? 1 : 0, arbitrary: fc.constant('') },
  );
}

function protoArbitrary(type: ProtoTypeLike, known: Known, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  if (depth > 4) return fc.constant({});
  for (const field of type.fieldsArray) {
    const resolved = field.resolvedType as (ProtoTypeLike & { values?: Record<string, number> }) | null;
    let arb: fc.Arbitrary<unknown>;
    if (resolved && resolved.values) arb = fc.oneof(fc.constantFrom(...Object.keys(resolved.values)), fc.integer({ min: -5, max: 1000 }));
    else if (resolved && resolved.fieldsArray) arb = protoArbitrary(resolved, known, depth + 1);
    else {
      switch (field.type) {
        case 'string':
          arb = protoStringHint(field.name, known);
          break;
        case 'bytes':
          arb = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
          break;
        case 'bool':
          arb = fc.boolean();
          break;
        case 'double':
        case 'float':
          arb = fc.double();
          break;
        case 'int64':
        case 'uint64':
        case 'sint64':
        case 'fixed64':
        case 'sfixed64':
          arb = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map(String));
          break;
        default:
          arb = fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 });
      }
    }
    if (field.map) arb = fc.dictionary(fc.string({ maxLength: 8 }), arb, { maxKeys: 3 });
    else if (field.repeated) arb = fc.array(arb, { maxLength: 3 });
    record[field.name] = arb;
  }
  return fc.record(record, { requiredKeys: [] });
}

async function grpcCases(known: Known): Promise<fc.Arbitrary<GrpcCase>> {
  const { cs3Root, CS3_SERVICES } = await import('../grpc/protos.ts');
  const arbs: fc.Arbitrary<GrpcCase>[] = [];
  for (const fullName of Object.values(CS3_SERVICES)) {
    const service = cs3Root.lookupService(fullName);
    for (const method of service.methodsArray) {
      method.resolve();
      const requestType = method.resolvedRequestType as unknown as ProtoTypeLike;
      const responseType = method.resolvedResponseType as unknown as ProtoTypeLike;
      const message = protoArbitrary(requestType, known);
      const metadata = fc.oneof(
        { weight: 3, arbitrary: fc.constant<Array<[string, string]>>([['authorization', basicOf(EINSTEIN)]]) },
        { weight: 2, arbitrary: fc.constant<Array<[string, string]>>([]) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<Array<[string, string]>>(
            [['authorization', basicOf(MARIE)]],
            [['authorization', 'Basic bad']],
            [['authorization', basicOf({ username: 'einstein', password: 'x' })]],
            // grpc-js refuses to send two authorization values; a comma-joined pair is what a proxy would make of them.
            [['authorization', `${basicOf(EINSTEIN)}, ${basicOf(MARIE)}`]],
            [
              ['authorization', basicOf(EINSTEIN)],
              ['x-forwarded-user', 'marie'],
            ],
            [['authorization', `Bearer ${known.secrets[0]}`]],
          ),
        },
      );
      const bytes = fc.oneof(
        {
          weight: 4,
          arbitrary: message.map((object) => {
            try {
              return Buffer.from(requestType.encode(requestType.fromObject(object)).finish());
            } catch {
              return Buffer.from(JSON.stringify(object));
            }
          }),
        },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)) },
        {
          weight: 1,
          arbitrary: fc.tuple(message, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([object, at, junk]) => {
            let encoded: Buffer;
            try {
              encoded = Buffer.from(requestType.encode(requestType.fromObject(object)).finish());
            } catch {
              encoded = Buffer.alloc(0);
            }
            const cut = encoded.length ? at % encoded.length : 0;
            return Buffer.concat([encoded.subarray(0, cut), Buffer.from(junk)]);
          }),
        },
      );
      arbs.push(
        fc.tuple(bytes, metadata).map(([b, md]) => ({
          kind: 'grpc',
          family: `grpc.${service.name}.${method.name}`,
          service: fullName,
          rpc: method.name,
          path: `/${fullName}/${method.name}`,
          requestType: requestType.fullName.replace(/^\./, ''),
          responseType: responseType.fullName.replace(/^\./, ''),
          bytes: b,
          metadata: md,
          label: 'grpc',
        })),
      );
    }
  }
  return fc.oneof(...arbs);
}

export interface CaseMix {
  op: number;
  /** Valid bodies with deeply nested extension members (operations with a JSON body only). */
  deep: number;
  dav: number;
  path: number;
  raw: number;
  grpc: number;
}

export const DEFAULT_MIX: CaseMix = { op: 46, deep: 4, dav: 18, path: 4, raw: 14, grpc: 14 };

/** The arbitrary of every case family against the world described by `known`. */
export async function fuzzCases(
  registry: SchemaRegistry,
  known: Known,
  options: { socketHost: string; grpc: boolean; mix?: Partial<CaseMix> },
): Promise<fc.Arbitrary<FuzzCase>> {
  const mix = { ...DEFAULT_MIX, ...options.mix };
  const hints = hintsFor(known);
  // Operations that take a body get three times the cases: that is where the input is.
  const ops = registry
    .listOperations()
    .map((op) => ({ weight: op.requestBody.size > 0 ? 3 : 1, arbitrary: opCase(registry, op, known, hints) }));
  const opArb = fc.oneof(...ops);
  const dav = davCase(known, options.socketHost);
  const deepOps = registry
    .listOperations()
    .filter((op) => op.requestBody.has('application/json'))
    .map((op) => opCase(registry, op, known, hints, 'deep').map((c) => ({ ...c, label: 'deep-extension' })));
  const families: Array<{ weight: number; arbitrary: fc.Arbitrary<FuzzCase> }> = [
    { weight: mix.op, arbitrary: opArb },
    { weight: mix.deep, arbitrary: fc.oneof(...deepOps) },
    { weight: mix.dav, arbitrary: dav },
    { weight: mix.path, arbitrary: randomPathCase() },
    { weight: mix.raw, arbitrary: rawCase(fc.oneof({ weight: 3, arbitrary: opArb }, { weight: 1, arbitrary: dav }), options.socketHost) },
  ];
  if (options.grpc && mix.grpc > 0) families.push({ weight: mix.grpc, arbitrary: await grpcCases(known) });
  return fc.oneof(...families.filter((f) => f.weight > 0));
}

// ---------------------------------------------------------------------------
// sending

export interface HttpOutcome {
  /** 0 when no answer came (the request was incomplete and the server gave up, or the socket timed out). */
  status: number;
  statuses: number[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  note?: string;
}

export async function sendInject(app: FastifyInstance, c: HttpCase): Promise<HttpOutcome> {
  const response = await app.inject({
    method: c.method as any,
    url: c.url,
    headers: c.headers,
    ...(c.body !== undefined ? { payload: c.body } : {}),
  });
  return {
    status: response.statusCode,
    statuses: [response.statusCode],
    headers: response.headers as HttpOutcome['headers'],
    body: response.rawPayload,
  };
}

export function sendRaw(host: string, port: number, bytes: Buffer, timeoutMs = 5_000): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    let done = false;
    const finish = (note?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawResponse(Buffer.concat(chunks), note));
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => finish('socket-error'));
    socket.on('close', () => finish());
    socket.on('connect', () => {
      socket.write(bytes, () => socket.end());
    });
  });
}

function parseRawResponse(bytes: Buffer, note?: string): HttpOutcome {
  const text = bytes.toString('latin1');
  const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  let start = 0;
  // Interim 1xx answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(text.slice(start, start + 16))) {
    const end = text.indexOf('\r\n\r\n', start);
    if (end < 0) break;
    start = end + 4;
  }
  if (start > 0) return parseRawResponse(bytes.subarray(start), note);
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/') || headEnd < 0)
    return { status: 0, statuses, headers: {}, body: Buffer.alloc(0), ...(note ? { note } : {}) };
  const head = text.slice(0, headEnd).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(headEnd + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < body.length) {
      const lineEnd = body.indexOf('\r\n', offset);
      if (lineEnd < 0) break;
      const size = parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size) || size === 0) break;
      out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(out);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status, statuses, headers, body, ...(note ? { note } : {}) };
}

export interface GrpcOutcome {
  error?: { code: number; details: string };
  response?: Record<string, any>;
  decodeError?: string;
}

export function grpcClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
}

export async function sendGrpc(client: grpc.Client, c: GrpcCase, timeoutMs = 10_000): Promise<GrpcOutcome> {
  const { decodeMessage } = await import('../grpc/protos.ts');
  const metadata = new grpc.Metadata();
  for (const [k, v] of c.metadata) metadata.add(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      c.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      c.bytes,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (error, value) => {
        if (error) return resolve({ error: { code: error.code, details: error.details } });
        try {
          resolve({ response: decodeMessage(c.responseType, value as Buffer) });
        } catch (e) {
          resolve({ decodeError: (e as Error).message });
        }
      },
    );
  });
}

// ---------------------------------------------------------------------------
// invariants

export interface Violation {
  rule: string;
  detail: string;
}

const ERROR_SCHEMAS: Array<[DocumentName, string]> = [
  ['ocm', 'Error'],
  ['ocs', 'OcsErrorResponse'],
  ['ocm', 'TokenError'],
];

function headerValue(headers: HttpOutcome['headers'], name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The answer to an HTTP case keeps every invariant (no 5xx, JSON parses and validates). */
/**
 * 5xx answers the API declares for a reason other than a fault here: 501 for
 * OCM features this server does not implement (share types, resource types,
 * notification types), and 502/504 where the answer depends on another
 * server (accepting a remote invite, sending a share, the WebDAV gateway to
 * received shares, documented in dav-received.ts). They are tallied
 * (`gatewayAnswer`), not violations. 500 and 503 always are.
 */
export function declared5xx(registry: SchemaRegistry, c: HttpCase, status: number, body?: Buffer): boolean {
  const declared = (op: { doc: DocumentName; id: string }) => registry.operation(op.doc, op.id).responses.has(String(status));
  const surface = c.surface ?? c.family;
  if (status === 501) return c.op !== undefined && declared(c.op);
  if (status === 502 || status === 504) {
    if ((c.op !== undefined && declared(c.op)) || surface === 'dav/dav/ocm-received') return true;
    // RFC 4918 §9.9.4: a MOVE whose Destination is on another server.
    return surface.startsWith('dav') && status === 502 && body !== undefined && body.includes('"DESTINATION_OTHER_SERVER"');
  }
  return false;
}

export function checkHttp(registry: SchemaRegistry, c: HttpCase, outcome: HttpOutcome): Violation[] {
  const violations: Violation[] = [];
  const fiveHundreds = outcome.statuses.filter((s) => s >= 500 && !declared5xx(registry, c, s, outcome.body));
  if (fiveHundreds.length > 0)
    violations.push({ rule: 'no-5xx', detail: `${fiveHundreds.join(',')}: ${outcome.body.toString('utf8').slice(0, 400)}` });
  if (outcome.status === 0) return violations;
  const type = headerValue(outcome.headers, 'content-type');
  if (!/^application\/([a-z.+-]*\+)?json/i.test(type) || c.method === 'HEAD' || outcome.body.length === 0) return violations;
  let parsed: unknown;
  try {
    parsed = JSON.parse(outcome.body.toString('utf8'));
  } catch {
    violations.push({ rule: 'json-parses', detail: `${outcome.status} ${type}: ${outcome.body.toString('utf8').slice(0, 200)}` });
    return violations;
  }
  // OCS v1 answers HTTP 200 for failures: a fault shows as meta.statuscode 5xx in the envelope.
  const ocsCode = (parsed as { ocs?: { meta?: { statuscode?: unknown } } } | null)?.ocs?.meta?.statuscode;
  if (typeof ocsCode === 'number' && ocsCode >= 500 && outcome.status < 500 && !declared5xx(registry, c, ocsCode, outcome.body)) {
    violations.push({
      rule: 'no-5xx',
      detail: `OCS statuscode ${ocsCode} in HTTP ${outcome.status}: ${outcome.body.toString('utf8').slice(0, 300)}`,
    });
  }
  if (c.op && c.transport === 'inject') {
    const operation = registry.operation(c.op.doc, c.op.id);
    const declared = operation.responses.get(String(outcome.status)) ?? operation.responses.get('default');
    const key = declared?.get('application/json');
    if (key) {
      const result = registry.validateKey(key, parsed);
      // A 404/405 from the router (an odd path parameter) is an error body, not the operation's.
      if (!result.ok && !(outcome.status >= 400 && matchesErrorSchema(registry, parsed))) {
        violations.push({
          rule: 'response-schema',
          detail: `${c.op.doc}.${c.op.id} ${outcome.status}: ${result.issues.map((i) => `${i.name}: ${i.message}`).join('; ')}`,
        });
      }
      return violations;
    }
  }
  if (outcome.status >= 400 && !matchesErrorSchema(registry, parsed)) {
    violations.push({ rule: 'error-body', detail: `${outcome.status}: ${JSON.stringify(parsed).slice(0, 300)}` });
  }
  return violations;
}

function matchesErrorSchema(registry: SchemaRegistry, value: unknown): boolean {
  return ERROR_SCHEMAS.some(([doc, name]) => registry.validate(doc, name, value).ok);
}

export function checkGrpc(c: GrpcCase, outcome: GrpcOutcome): Violation[] {
  if (outcome.error) {
    // Too large a message is refused by grpc-js itself; anything else means the server did not answer properly.
    if (outcome.error.code === grpc.status.RESOURCE_EXHAUSTED) return [];
    return [{ rule: 'grpc-transport', detail: `${c.path}: ${grpc.status[outcome.error.code]} ${outcome.error.details}` }];
  }
  if (outcome.decodeError) return [{ rule: 'grpc-decode', detail: `${c.path}: ${outcome.decodeError}` }];
  const status = outcome.response?.status as { code?: string; message?: string } | null | undefined;
  if (!status || !status.code)
    return [{ rule: 'grpc-status', detail: `${c.path}: no status in ${JSON.stringify(outcome.response).slice(0, 200)}` }];
  if (status.code === 'CODE_INTERNAL' || status.code === 'CODE_UNKNOWN')
    return [{ rule: 'grpc-internal', detail: `${c.path}: ${status.code} ${status.message}` }];
  return [];
}

/** A human- and machine-readable copy of a case (bodies up to 64 KiB in base64). */
export function describeCase(c: FuzzCase): Record<string, unknown> {
  if (c.kind === 'grpc') {
    return { kind: c.kind, family: c.family, path: c.path, metadata: c.metadata, bytesBase64: c.bytes.toString('base64') };
  }
  const payload = c.raw ?? c.body;
  return {
    kind: c.kind,
    family: c.family,
    transport: c.transport,
    label: c.label,
    method: c.method,
    url: c.url.length > 500 ? `${c.url.slice(0, 500)}… (${c.url.length} chars)` : c.url,
    headers: Object.fromEntries(
      Object.entries(c.headers).map(([k, v]) => [k, v.length > 300 ? `${v.slice(0, 300)}… (${v.length} chars)` : v]),
    ),
    ...(payload
      ? payload.length <= 65_536
        ? { [c.raw ? 'rawBase64' : 'bodyBase64']: payload.toString('base64'), bodyPreview: payload.subarray(0, 300).toString('utf8') }
        : { bodyLength: payload.length, bodyPreview: payload.subarray(0, 300).toString('utf8') }
      : {}),
  };
}

export type { MutationChoice };
