/**
 * Malformed and hostile input to every OCM endpoint of the target:
 * POST /shares, /notifications, /invite-accepted, the token endpoint (when
 * advertised) and discovery with odd headers.
 *
 * Every case expects a refusal (4xx, never 5xx) answered within a deadline —
 * a hang is a finding — and the target still serving /.well-known/ocm
 * afterwards. The error body shape is checked per endpoint in separate
 * checks (ERR-1 / SHR-7 / TOK-3), so a wrong body never hides a wrong status.
 *
 * Each case is filed under the robustness requirement of its endpoint
 * (ROB-1 /shares, ROB-2 /notifications, ROB-3 /invite-accepted, ROB-4 the
 * token endpoint): "some 4xx and still up" is not the substance of the
 * endpoint's own requirements (SHR-4, NTF-1, INV-3, TOK-3), whose checks
 * live in the endpoint's suite and name the exact status per field. Body
 * shapes are filed under ERR-1 (with SHR-7 for /shares, TOK-3 for the
 * RFC 6749 error codes); discovery with odd headers under DISC-1.
 *
 * Requests that HTTP clients cannot produce (duplicated header lines,
 * Content-Length that lies about the body) go over a raw socket, bounded by
 * the same deadline, and are recorded in the transcript like the others.
 * Well-formed HTTP requests are signed with the peer's key when the target
 * advertises http-sig, and their payloads speak for the peer, so they get
 * past authentication to the parsing and validation they probe.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { rawConnectOptions, trustFromEnv } from '../harness/target-trust.ts';
import { check, discoveryUrl, expect, notRun } from '../harness/fixtures.ts';
import type { TargetHandle } from '../harness/fixtures.ts';
import { advertises } from '../harness/context.ts';
import { sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import type { PeerSimulator } from '../harness/peer-simulator.ts';
import { redactHeaders, redactText, type Answer, type Transcript } from '../../results/transcript.ts';
import { signRequest } from '../harness/http-signatures.ts';

/** How long the target may take to refuse one hostile request. */
const DEADLINE_MS = 5000;
const MEGABYTE = 1024 * 1024;
const DEPTH = 20_000;
/** NUL, right-to-left override, zero-width joiner, BOM, a lone surrogate, a combining mark, an astral emoji. */
const ODD_UNICODE = '\u0000\u202e\u200d\ufeff\ud800e\u0301\u{1f4a9}';
const RFC6749_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
];

// ---------------------------------------------------------------- transport helpers

/** Runs a request, turning a missed deadline into a clear failure. */
async function inTime<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError')
      throw new Error(`${what}: no answer within ${DEADLINE_MS} ms — the target hangs on this input`);
    throw error;
  }
}

/** POSTs `body` as is to `url`, signed as `peer` when the target advertises http-sig. */
async function post(
  ocm: Transcript,
  peer: PeerSimulator,
  url: string,
  body: string | Buffer,
  contentType: string | undefined,
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) };
  if (advertises('http-sig')) Object.assign(headers, signRequest({ method: 'POST', url, headers, body: Buffer.from(body) }, peer.key));
  try {
    return await inTime(`POST ${new URL(url).pathname}`, ocm.request(url, { method: 'POST', headers, body, timeoutMs: DEADLINE_MS }));
  } catch (error) {
    // A server may refuse an oversized body before reading it all and close while fetch still sends: read its answer on a raw socket.
    if (Buffer.byteLength(body) < 100_000 || String((error as Error).message).includes('within')) throw error;
    const target = { origin: new URL(url).origin } as TargetHandle;
    const lines = Object.entries(headers)
      .filter(([name]) => name.toLowerCase() !== 'content-length')
      .map(([name, value]) => `${name}: ${value}`)
      .join('\r\n');
    const head = `POST ${new URL(url).pathname} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${lines}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    const raw = await rawExchange(ocm, target, head, Buffer.from(body));
    if (raw.outcome !== 'answered' || raw.status === undefined) throw error;
    let json: unknown;
    try {
      json = JSON.parse(raw.body);
    } catch {
      json = undefined;
    }
    return { status: raw.status, headers: new Headers(raw.headers), text: raw.body, bytes: Buffer.from(raw.body), json };
  }
}

interface RawAnswer {
  /** answered: a status line arrived; closed: the connection ended without one; timeout: neither within the deadline. */
  outcome: 'answered' | 'closed' | 'timeout';
  status?: number;
  headers: Record<string, string>;
  body: string;
}

function parseRaw(data: Buffer): { status: number; headers: Record<string, string>; body: Buffer; complete: boolean } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    complete = body.length >= length;
    body = body.subarray(0, length);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let rest = body;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      if (rest.length < lineEnd + 2 + size + 2) break;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    body = Buffer.concat(chunks);
  } else if (status === 204 || status === 304) {
    complete = true;
  }
  return { status, headers, body, complete };
}

/**
 * TLS options for a raw connection to the target: the same trust as every
 * other harness request (run --ca-file / --insecure, target-trust.ts), and SNI
 * only for a DNS name (a servername that is an IP address is not allowed).
 */
function rawTlsOptions(hostname: string): ConnectionOptions {
  const host = hostname.replace(/^\[|\]$/g, '');
  return { ...(isIP(host) ? {} : { servername: host }), ...rawConnectOptions(trustFromEnv()) };
}

/**
 * Sends `head` + `body` bytes over a raw connection and reads the first
 * answer. `halfClose` ends our side after sending (no more bytes will come).
 * Recorded in the transcript.
 */
async function rawExchange(
  ocm: Transcript,
  target: TargetHandle,
  head: string,
  body: Buffer,
  options: { halfClose?: boolean } = {},
): Promise<RawAnswer> {
  const origin = new URL(target.origin);
  const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
  const [requestLine, ...headerLines] = head.split('\r\n').filter(Boolean);
  const started = Date.now();
  const exchange: Transcript['exchanges'][number] = {
    at: new Date(started).toISOString(),
    request: {
      method: requestLine!.split(' ')[0]!,
      url: `${origin.origin}${requestLine!.split(' ')[1]}`,
      headers: redactHeaders(
        Object.fromEntries(
          headerLines.map((l, i) => [`${String(i).padStart(2, '0')} ${l.slice(0, l.indexOf(':'))}`, l.slice(l.indexOf(':') + 1).trim()]),
        ),
      ),
      ...(body.length ? { body: redactText(body.toString('utf8').slice(0, 8000)) } : {}),
    },
    durationMs: 0,
  };
  ocm.exchanges.push(exchange);
  const answer = await new Promise<RawAnswer>((resolve) => {
    const socket: Socket =
      origin.protocol === 'https:'
        ? tlsConnect({ host: origin.hostname, port, allowHalfOpen: true, ...rawTlsOptions(origin.hostname) } as never)
        : netConnect({ host: origin.hostname, port, allowHalfOpen: true, ...rawConnectOptions(trustFromEnv()) });
    const received: Buffer[] = [];
    let settled = false;
    const finish = (result: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const fromData = (ended: boolean) => {
      const parsed = parseRaw(Buffer.concat(received));
      if (parsed && (parsed.complete || ended))
        finish({ outcome: 'answered', status: parsed.status, headers: parsed.headers, body: parsed.body.toString('utf8') });
      else if (ended) finish({ outcome: 'closed', headers: {}, body: Buffer.concat(received).toString('utf8') });
    };
    const timer = setTimeout(() => {
      const parsed = parseRaw(Buffer.concat(received));
      finish(
        parsed
          ? { outcome: 'answered', status: parsed.status, headers: parsed.headers, body: parsed.body.toString('utf8') }
          : { outcome: 'timeout', headers: {}, body: '' },
      );
    }, DEADLINE_MS);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      fromData(false);
    });
    socket.on('end', () => fromData(true));
    socket.on('close', () => fromData(true));
    socket.on('error', () => fromData(true));
    socket.once(origin.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]), () => {
        if (options.halfClose) socket.end();
      });
    });
  });
  exchange.durationMs = Date.now() - started;
  if (answer.outcome === 'answered')
    exchange.response = { status: answer.status!, headers: redactHeaders(answer.headers), body: redactText(answer.body.slice(0, 8000)) };
  else exchange.error = answer.outcome === 'timeout' ? `no answer within ${DEADLINE_MS} ms` : 'the connection closed without an answer';
  return answer;
}

function requestHead(url: string, lines: string[]): string {
  const u = new URL(url);
  return [`POST ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, ...lines, 'Connection: close', '', ''].join('\r\n');
}

// ---------------------------------------------------------------- assertions

function show(status: number | undefined, body: string): string {
  return `${status ?? 'no status'} ${body.slice(0, 300)}`;
}

/** A refusal: 4xx. `also` lists further statuses the endpoint's requirement allows. */
function expectRefused(what: string, status: number | undefined, body: string, also: number[] = []): void {
  const ok = status !== undefined && ((status >= 400 && status < 500) || also.includes(status));
  expect(ok, `${what}: expected a 4xx${also.length ? ` (or ${also.join(', ')})` : ''}, got ${show(status, body)}`).toBe(true);
}

/** The target still serves its discovery document. */
async function expectHealthy(ocm: Transcript, target: TargetHandle, after: string): Promise<void> {
  const answer = await inTime(
    `GET /.well-known/ocm after ${after}`,
    ocm.request(`${target.origin}/.well-known/ocm`, { timeoutMs: DEADLINE_MS }),
  );
  expect(answer.status, `GET /.well-known/ocm after ${after}: ${show(answer.status, answer.text)}`).toBe(200);
  expect(answer.json?.endPoint, 'the discovery document is intact').toEqual(expect.any(String));
}

/** An OCM error body: a JSON object with a string message; validationErrors, if any, hold string name and message. */
function expectOcmErrorBody(what: string, status: number, text: string, json: any): void {
  expect(json, `${what} (${status}): the error body is a JSON object: ${text.slice(0, 300)}`).toEqual(expect.any(Object));
  expect(typeof json.message, `${what} (${status}): the error has a string message: ${text.slice(0, 300)}`).toBe('string');
  if (json.validationErrors !== undefined) {
    expect(Array.isArray(json.validationErrors), `${what}: validationErrors is an array`).toBe(true);
    for (const v of json.validationErrors) {
      expect(typeof v?.name, `${what}: validationErrors item ${JSON.stringify(v)}`).toBe('string');
      expect(typeof v?.message, `${what}: validationErrors item ${JSON.stringify(v)}`).toBe('string');
    }
  }
}

// ---------------------------------------------------------------- the JSON endpoints

interface JsonEndpoint {
  /** The robustness requirement of the endpoint (never its protocol requirement: these cases only prove "some 4xx, still up"). */
  id: 'ROB-1' | 'ROB-2' | 'ROB-3';
  /** Requirements on its error bodies. */
  bodyIds: string[];
  path: '/shares' | '/notifications' | '/invite-accepted';
  /** A well-formed payload that speaks for `peer`. */
  payload(target: TargetHandle, peer: PeerSimulator): Record<string, any>;
  /** The field whose value makes the payload refusable whatever its content (an unknown user, type or token). */
  field: string;
  /** Every field, each given a value of the wrong JSON type. */
  wrongTypes: Record<string, unknown>;
  /** Statuses besides 4xx the endpoint's requirement allows for a refusal. */
  also: number[];
}

const JSON_ENDPOINTS: JsonEndpoint[] = [
  {
    id: 'ROB-1',
    bodyIds: ['SHR-7', 'ERR-1'],
    path: '/shares',
    payload: (target, peer) => sharePayload(peer, peer.createShare('/welcome.txt'), targetAddress(target)),
    // An unknown recipient is refused with 400 (SHR-5) whatever else the share says.
    field: 'shareWith',
    wrongTypes: { shareWith: 42, name: [], providerId: {}, owner: true, sender: null, shareType: 1, resourceType: {}, protocol: 'webdav' },
    also: [],
  },
  {
    id: 'ROB-2',
    bodyIds: ['ERR-1'],
    path: '/notifications',
    payload: () => ({ notificationType: 'SHARE_ACCEPTED', resourceType: 'file', providerId: randomUUID(), notification: {} }),
    // No registered notification type: refused with 400, or 501 "not supported" (NTF-3).
    field: 'notificationType',
    wrongTypes: { notificationType: 7, resourceType: [], providerId: {}, notification: 'x' },
    also: [501],
  },
  {
    id: 'ROB-3',
    bodyIds: ['ERR-1'],
    path: '/invite-accepted',
    payload: (_target, peer) => {
      const user = peer.newUser('hostile');
      return {
        recipientProvider: peer.domain,
        token: randomBytes(18).toString('base64url'),
        userID: user.id,
        email: user.email,
        name: user.name,
      };
    },
    // No such token: refused with 400 (INV-5).
    field: 'token',
    wrongTypes: { recipientProvider: 1, token: [], userID: {}, email: false, name: null },
    also: [],
  },
];

/** A value for `field` that is refusable and carries `oddity`. */
function oddValue(endpoint: JsonEndpoint, target: TargetHandle, oddity: string): string {
  return endpoint.field === 'shareWith'
    ? `nobody-${randomBytes(4).toString('hex')}${oddity}@${target.domain}`
    : `${randomBytes(4).toString('hex')}${oddity}`;
}

interface HttpCase {
  title: string;
  /** The bodies to send (several when the case has variants) and their content type. */
  build(
    endpoint: JsonEndpoint,
    target: TargetHandle,
    peer: PeerSimulator,
  ): Array<{ variant: string; body: string | Buffer; contentType: string | undefined }>;
}

const JSON_CASES: HttpCase[] = [
  {
    title: 'malformed JSON',
    build: (e, t, p) => [
      { variant: 'a truncated object', body: JSON.stringify(e.payload(t, p)).slice(0, 40), contentType: 'application/json' },
    ],
  },
  {
    title: 'a body of the wrong content type (XML)',
    build: () => [
      { variant: 'application/xml', body: '<?xml version="1.0"?><share><shareWith>x</shareWith></share>', contentType: 'application/xml' },
    ],
  },
  {
    title: 'every field of the wrong JSON type',
    build: (e) => [{ variant: 'wrong types', body: JSON.stringify(e.wrongTypes), contentType: 'application/json' }],
  },
  {
    title: 'JSON that is not an object (array, string, number, true, null)',
    build: () => ['[]', '"share"', '42', 'true', 'null'].map((body) => ({ variant: body, body, contentType: 'application/json' })),
  },
  {
    title: 'a 1 MB string',
    build: (e, t, p) => [
      {
        variant: '1 MB',
        body: JSON.stringify({ ...e.payload(t, p), [e.field]: oddValue(e, t, 'x'.repeat(MEGABYTE)) }),
        contentType: 'application/json',
      },
    ],
  },
  {
    title: `nesting ${DEPTH} levels deep`,
    build: (e, t, p) => {
      const json = JSON.stringify({ ...e.payload(t, p), [e.field]: '__DEEP__' });
      return [
        {
          variant: 'arrays',
          body: json.replace('"__DEEP__"', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`),
          contentType: 'application/json',
        },
        {
          variant: 'objects',
          body: json.replace('"__DEEP__"', `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`),
          contentType: 'application/json',
        },
      ];
    },
  },
  {
    title: 'odd Unicode (NUL, bidi override, zero-width, BOM, lone surrogate)',
    build: (e, t, p) => [
      {
        variant: 'literal',
        body: JSON.stringify({ ...e.payload(t, p), [e.field]: oddValue(e, t, ODD_UNICODE) }),
        contentType: 'application/json',
      },
      // Escaped the way a hostile client writes them, lone surrogate included.
      {
        variant: 'escaped',
        body: JSON.stringify({ ...e.payload(t, p), [e.field]: oddValue(e, t, '@@ODD@@') }).replace(
          '@@ODD@@',
          '\\u0000\\u202e\\u200d\\ufeff\\udc00\\ud800',
        ),
        contentType: 'application/json',
      },
      // The BOM before the JSON text itself.
      {
        variant: 'leading BOM',
        body: `\ufeff${JSON.stringify({ ...e.payload(t, p), [e.field]: oddValue(e, t, 'bom') })}`,
        contentType: 'application/json',
      },
    ],
  },
  {
    title: 'invalid UTF-8 bytes',
    build: (e, t, p) => {
      const [before, after] = JSON.stringify({ ...e.payload(t, p), [e.field]: oddValue(e, t, '@@BYTES@@') }).split('@@BYTES@@');
      // A lone continuation byte, a truncated sequence, an overlong slash, bytes never valid in UTF-8.
      const bytes = Buffer.from([0x80, 0xc3, 0x28, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xfe, 0xff]);
      return [
        {
          variant: 'bytes',
          body: Buffer.concat([Buffer.from(before!), bytes, Buffer.from(after!)]),
          contentType: 'application/json; charset=utf-8',
        },
      ];
    },
  },
  {
    title: 'an empty body',
    build: () => [
      { variant: 'labelled JSON', body: '', contentType: 'application/json' },
      // A Buffer, so that fetch adds no text/plain content type of its own.
      { variant: 'without a content type', body: Buffer.alloc(0), contentType: undefined },
    ],
  },
  {
    title: 'prototype-pollution keys instead of the fields',
    build: (e, t, p) => [
      { variant: '__proto__', body: `{"__proto__":${JSON.stringify(e.payload(t, p))}}`, contentType: 'application/json' },
      {
        variant: 'constructor.prototype',
        body: `{"constructor":{"prototype":${JSON.stringify(e.payload(t, p))}}}`,
        contentType: 'application/json',
      },
    ],
  },
];

interface RawCase {
  title: string;
  halfClose?: boolean;
  /** Header lines after Host, and the body bytes. */
  build(endpoint: JsonEndpoint, target: TargetHandle, peer: PeerSimulator): { lines: string[]; body: Buffer };
  /** The connection may also end without an answer (RFC 9112 §8: a server MAY answer an incomplete request). */
  mayClose?: boolean;
}

const xml = Buffer.from('<?xml version="1.0"?><share/>');

const RAW_CASES: RawCase[] = [
  {
    title: 'duplicated, conflicting Content-Type header lines',
    build: () => ({
      lines: ['Content-Type: application/json', 'Content-Type: application/xml', `Content-Length: ${xml.length}`],
      body: xml,
    }),
  },
  {
    title: 'duplicated, conflicting Content-Length header lines',
    build: (e, t, p) => {
      const body = Buffer.from(JSON.stringify(e.payload(t, p)));
      return { lines: ['Content-Type: application/json', `Content-Length: ${body.length}`, `Content-Length: ${body.length - 10}`], body };
    },
  },
  {
    title: 'a Content-Length shorter than the body',
    build: (e, t, p) => {
      const body = Buffer.from(JSON.stringify(e.payload(t, p)));
      return { lines: ['Content-Type: application/json', `Content-Length: ${Math.floor(body.length / 2)}`], body };
    },
  },
  {
    title: 'a body truncated below its Content-Length, then the client stops sending',
    halfClose: true,
    mayClose: true,
    build: (e, t, p) => {
      const body = Buffer.from(JSON.stringify(e.payload(t, p)));
      return { lines: ['Content-Type: application/json', `Content-Length: ${body.length + 100}`], body };
    },
  },
];

for (const endpoint of JSON_ENDPOINTS) {
  for (const hostile of JSON_CASES) {
    check(
      [endpoint.id],
      `POST ${endpoint.path} with ${hostile.title} is refused with a 4xx within ${DEADLINE_MS / 1000} s and the target stays up`,
      async ({ target, peer, ocm }) => {
        const url = `${target.endPoint}${endpoint.path}`;
        for (const { variant, body, contentType } of hostile.build(endpoint, target, peer)) {
          const what = `POST ${endpoint.path} with ${hostile.title} [${variant}]`;
          const answer = await post(ocm, peer, url, body, contentType);
          expectRefused(what, answer.status, answer.text, endpoint.also);
          await expectHealthy(ocm, target, what);
        }
      },
    );
  }

  for (const hostile of RAW_CASES) {
    check(
      [endpoint.id],
      `POST ${endpoint.path} with ${hostile.title} is refused with a 4xx within ${DEADLINE_MS / 1000} s and the target stays up`,
      async ({ target, peer, ocm }) => {
        const url = `${target.endPoint}${endpoint.path}`;
        const { lines, body } = hostile.build(endpoint, target, peer);
        const what = `POST ${endpoint.path} with ${hostile.title}`;
        const answer = await rawExchange(ocm, target, requestHead(url, lines), body, { halfClose: hostile.halfClose ?? false });
        if (answer.outcome === 'timeout')
          throw new Error(`${what}: no answer and no close within ${DEADLINE_MS} ms — the target hangs on this input`);
        if (answer.outcome === 'closed') {
          expect(hostile.mayClose, `${what}: the connection closed without an answer`).toBe(true);
        } else {
          expectRefused(what, answer.status, answer.body, endpoint.also);
        }
        await expectHealthy(ocm, target, what);
      },
    );
  }

  check(
    endpoint.bodyIds,
    `POST ${endpoint.path}: every refusal of hostile input is a JSON error with a string message`,
    async ({ target, peer, ocm }) => {
      const url = `${target.endPoint}${endpoint.path}`;
      let refusals = 0;
      for (const hostile of JSON_CASES) {
        for (const { variant, body, contentType } of hostile.build(endpoint, target, peer)) {
          const what = `POST ${endpoint.path} with ${hostile.title} [${variant}]`;
          let answer: Answer;
          try {
            answer = await post(ocm, peer, url, body, contentType);
          } catch (error) {
            // A server may refuse an oversized body before reading it all and close the connection
            // while fetch is still sending: read its answer on a raw socket instead.
            if (Buffer.byteLength(body) < 100_000) throw error;
            const head = `POST ${new URL(url).pathname} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: ${contentType ?? 'application/octet-stream'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
            const raw = await rawExchange(ocm, target, head, Buffer.from(body));
            expect(raw.outcome, `${what}: the server answered before closing`).toBe('answered');
            let json: unknown;
            try {
              json = JSON.parse(raw.body);
            } catch {
              json = undefined;
            }
            if ((raw.status ?? 0) >= 400) {
              refusals++;
              expectOcmErrorBody(what, raw.status!, raw.body, json);
            }
            continue;
          }
          if (answer.status < 400) continue;
          refusals++;
          expectOcmErrorBody(what, answer.status, answer.text, answer.json);
        }
      }
      // Bodies are judged only on refusals; none means nothing was judged (the ROB check reports the statuses).
      if (refusals === 0) notRun(`${endpoint.path} refused none of the hostile requests, so no error body was there to judge`);
    },
  );
}

// ---------------------------------------------------------------- the token endpoint

/** The tokenEndPoint to probe: a relative one resolved against the discovery origin (and noted), none: not run. */
function tokenEndPoint(target: TargetHandle): string {
  return discoveryUrl(target, 'tokenEndPoint');
}

const FORM = 'application/x-www-form-urlencoded';

function tokenForm(peer: PeerSimulator, code: string): string {
  return `grant_type=authorization_code&client_id=${encodeURIComponent(peer.domain)}&code=${code}`;
}

const TOKEN_CASES: Array<{
  title: string;
  build(peer: PeerSimulator): Array<{ variant: string; body: string | Buffer; contentType: string | undefined }>;
}> = [
  {
    title: 'malformed form encoding',
    build: (peer) => [
      { variant: 'bad percent escapes', body: `grant_type=authorization_code&client_id=${peer.domain}&code=%zz%&%`, contentType: FORM },
      { variant: 'no names or values', body: '&&==&=&', contentType: FORM },
    ],
  },
  {
    title: 'a JSON body instead of a form',
    build: (peer) => [
      {
        variant: 'JSON',
        body: JSON.stringify({ grant_type: 'authorization_code', client_id: peer.domain, code: randomBytes(16).toString('hex') }),
        contentType: 'application/json',
      },
    ],
  },
  {
    title: 'duplicated parameters',
    build: (peer) => [
      {
        variant: 'grant_type twice',
        body: `grant_type=authorization_code&grant_type=client_credentials&client_id=${peer.domain}&code=${randomBytes(16).toString('hex')}`,
        contentType: FORM,
      },
      {
        variant: 'code twice',
        body: `${tokenForm(peer, randomBytes(16).toString('hex'))}&code=${randomBytes(16).toString('hex')}`,
        contentType: FORM,
      },
    ],
  },
  {
    title: 'a 1 MB code',
    build: (peer) => [{ variant: '1 MB', body: tokenForm(peer, 'x'.repeat(MEGABYTE)), contentType: FORM }],
  },
  {
    title: `bracket nesting ${DEPTH / 10} levels deep in a parameter name`,
    build: (peer) => [
      {
        variant: 'code[a][a]…',
        body: `grant_type=authorization_code&client_id=${peer.domain}&code${'[a]'.repeat(DEPTH / 10)}=1`,
        contentType: FORM,
      },
    ],
  },
  {
    title: 'odd Unicode in the code',
    build: (peer) => [
      {
        variant: 'percent-encoded',
        body: tokenForm(peer, encodeURIComponent(`${randomBytes(4).toString('hex')}${ODD_UNICODE.replace('\ud800', '')}`)),
        contentType: FORM,
      },
    ],
  },
  {
    title: 'invalid UTF-8 bytes in the code',
    build: (peer) => [
      {
        variant: 'raw bytes',
        body: Buffer.concat([Buffer.from(tokenForm(peer, 'ab')), Buffer.from([0x80, 0xc3, 0x28, 0xfe, 0xff])]),
        contentType: FORM,
      },
      { variant: 'percent-encoded bytes', body: tokenForm(peer, 'ab%80%C3%28%C0%AF%FE%FF'), contentType: FORM },
    ],
  },
  {
    title: 'an empty body',
    build: () => [{ variant: 'empty form', body: '', contentType: FORM }],
  },
];

for (const hostile of TOKEN_CASES) {
  check(
    ['ROB-4'],
    `POST tokenEndPoint with ${hostile.title} is refused with a 4xx within ${DEADLINE_MS / 1000} s and the target stays up`,
    async ({ target, peer, ocm }) => {
      const url = tokenEndPoint(target);
      for (const { variant, body, contentType } of hostile.build(peer)) {
        const what = `POST tokenEndPoint with ${hostile.title} [${variant}]`;
        const answer = await post(ocm, peer, url, body, contentType);
        expectRefused(what, answer.status, answer.text);
        await expectHealthy(ocm, target, what);
      }
    },
  );
}

for (const hostile of RAW_CASES.filter((c) => !c.title.includes('Content-Type'))) {
  check(
    ['ROB-4'],
    `POST tokenEndPoint with ${hostile.title} is refused with a 4xx within ${DEADLINE_MS / 1000} s and the target stays up`,
    async ({ target, peer, ocm }) => {
      const url = tokenEndPoint(target);
      const form = Buffer.from(tokenForm(peer, randomBytes(16).toString('hex')));
      const declared = hostile.title.includes('conflicting')
        ? [`Content-Length: ${form.length}`, `Content-Length: ${form.length - 10}`]
        : hostile.halfClose
          ? [`Content-Length: ${form.length + 100}`]
          : [`Content-Length: ${Math.floor(form.length / 2)}`];
      const what = `POST tokenEndPoint with ${hostile.title}`;
      const answer = await rawExchange(ocm, target, requestHead(url, [`Content-Type: ${FORM}`, ...declared]), form, {
        halfClose: hostile.halfClose ?? false,
      });
      if (answer.outcome === 'timeout')
        throw new Error(`${what}: no answer and no close within ${DEADLINE_MS} ms — the target hangs on this input`);
      if (answer.outcome === 'closed') expect(hostile.mayClose, `${what}: the connection closed without an answer`).toBe(true);
      else expectRefused(what, answer.status, answer.body);
      await expectHealthy(ocm, target, what);
    },
  );
}

check(
  ['TOK-3'],
  'POST tokenEndPoint: hostile input refused with 400 carries an RFC 6749 error code; other refusals are JSON',
  async ({ target, peer, ocm }) => {
    const url = tokenEndPoint(target);
    let refusals = 0;
    for (const hostile of TOKEN_CASES) {
      for (const { variant, body, contentType } of hostile.build(peer)) {
        const what = `POST tokenEndPoint with ${hostile.title} [${variant}]`;
        const answer = await post(ocm, peer, url, body, contentType);
        if (answer.status < 400) continue;
        refusals++;
        expect(answer.json, `${what} (${answer.status}): the body is a JSON object: ${answer.text.slice(0, 300)}`).toEqual(
          expect.any(Object),
        );
        if (answer.status === 400) {
          expect(RFC6749_ERRORS, `${what}: the 400 body names an RFC 6749 error: ${answer.text.slice(0, 300)}`).toContain(
            answer.json.error,
          );
        } else {
          // 413 or 415 are HTTP-level refusals before any OAuth processing: a JSON error of either shape.
          expect(
            typeof (answer.json.error ?? answer.json.message),
            `${what} (${answer.status}): an error or message: ${answer.text.slice(0, 300)}`,
          ).toBe('string');
        }
      }
    }
    // Bodies are judged only on refusals; none means nothing was judged (ROB-4 reports the statuses).
    if (refusals === 0) notRun('the token endpoint refused none of the hostile requests, so no error body was there to judge');
  },
);

// ---------------------------------------------------------------- discovery with odd headers

function expectDiscovery(what: string, status: number | undefined, body: string): void {
  expect(status, `${what}: ${show(status, body)}`).toBe(200);
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  expect(json, `${what}: the body is the JSON discovery document: ${body.slice(0, 300)}`).toEqual(expect.any(Object));
  expect(typeof json.endPoint, `${what}: endPoint`).toBe('string');
}

check(
  ['DISC-1'],
  'GET /.well-known/ocm with a browser Accept, an unknown Accept-Encoding and an odd User-Agent still answers 200 JSON',
  async ({ target, ocm }) => {
    const variants: Array<[string, Record<string, string>]> = [
      ['a browser Accept header', { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }],
      ['an unknown Accept-Encoding', { 'accept-encoding': 'x-conformance-bogus' }],
      [
        'a 4000-character User-Agent with markup, quotes and a tab',
        { 'user-agent': `ocm-conformance ${'A'.repeat(4000)} <script>alert(1)</script> "'\\\t%00%0d%0a` },
      ],
      [
        'junk Forwarded headers',
        { forwarded: 'for="_gazonk";proto=gopher;by=unknown', 'x-forwarded-proto': 'gopher', 'x-forwarded-port': 'not-a-port' },
      ],
    ];
    for (const [what, headers] of variants) {
      const answer = await inTime(
        `GET /.well-known/ocm with ${what}`,
        ocm.request(`${target.origin}/.well-known/ocm`, { headers, timeoutMs: DEADLINE_MS }),
      );
      expectDiscovery(`GET /.well-known/ocm with ${what}`, answer.status, answer.text);
    }
  },
);

check(
  ['DISC-1'],
  'GET /.well-known/ocm with duplicated header lines and non-ASCII header bytes still answers 200 JSON',
  async ({ target, ocm }) => {
    const host = new URL(target.origin).host;
    const variants: Array<[string, string[]]> = [
      [
        'duplicated Accept and X-Forwarded-For lines',
        ['Accept: application/json', 'Accept: text/plain', 'X-Forwarded-For: 192.0.2.1', 'X-Forwarded-For: 198.51.100.7'],
      ],
      // obs-text (bytes 0x80-0xff) is allowed in field values by RFC 9110 §5.5.
      ['Latin-1 bytes in a header value', ['Accept: application/json', 'User-Agent: ocm-conformance caf\u00e9 \u00ff\u00fe']],
    ];
    for (const [what, lines] of variants) {
      const head = [`GET /.well-known/ocm HTTP/1.1`, `Host: ${host}`, ...lines, 'Connection: close', '', ''].join('\r\n');
      const answer = await rawExchange(ocm, target, head, Buffer.alloc(0));
      if (answer.outcome !== 'answered')
        throw new Error(
          `GET /.well-known/ocm with ${what}: ${answer.outcome === 'timeout' ? `no answer within ${DEADLINE_MS} ms` : 'the connection closed without an answer'}`,
        );
      expectDiscovery(`GET /.well-known/ocm with ${what}`, answer.status, answer.body);
    }
  },
);
