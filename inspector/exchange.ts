/**
 * One HTTP exchange as the inspector keeps it: who talked to whom, what was
 * said (redacted, capped), and the verdicts on it. The record is the same
 * whether it was captured by a reference instance (inbound on its surfaces,
 * outbound to peers) or by the suites' simulated peers (`run --inspect`).
 */

export type Direction = 'inbound' | 'outbound';

/** Which API surface an exchange belongs to, from its path. */
export type Surface = 'discovery' | 'ocm' | 'token' | 'sciencemesh' | 'ocs' | 'webdav' | 'other';

/**
 * The signature verdict, as the party that captured the exchange decided it
 * (the reference's inbound authenticator, or the peer simulator's verifier);
 * the inspector never verifies again.
 */
export type SignatureVerdict =
  | { status: 'signed'; signer?: string; keyid: string; scheme?: string }
  | { status: 'unsigned'; detail?: string }
  | { status: 'refused'; code: string; reason: string; keyid?: string }
  | { status: 'not-checked'; reason?: string };

export interface SchemaViolation {
  /** JSON pointer into the body, e.g. `/protocol/webdav/uri`; `''` for the whole body. */
  pointer: string;
  /** Dotted field name, e.g. `protocol.webdav.uri`. */
  field: string;
  /** The registry's short code, e.g. `REQUIRED`, `MUST_BE_ARRAY`. */
  code: string;
  /** One line for people: `protocol.webdav.uri is required`. */
  text: string;
  /** Requirements this violation breaks (fixtures/exchange-requirements.yaml). */
  requirements: string[];
}

export type SchemaVerdict =
  | { status: 'valid'; schema: string }
  | { status: 'invalid'; schema: string; violations: SchemaViolation[] }
  | { status: 'not-checked'; reason: string };

export interface CapturedMessage {
  headers: Record<string, string>;
  /** Redacted text of the body, at most 64 KiB; absent when empty. */
  body?: string;
  /** Size of the body as sent, in bytes. */
  bytes: number;
  /** The body was longer than the cap and was cut. */
  truncated?: boolean;
}

export interface ExchangeRecord {
  /** Unique within one inspector: `<prefix><sequence>`, e.g. `x42`. */
  id: string;
  at: string;
  direction: Direction;
  surface: Surface;
  /** host[:port] of the other server, or the client's address. */
  peer: string;
  method: string;
  /** The absolute URL, redacted. */
  url: string;
  /** No answer (timeout, refused connection): status is absent and `error` says why. */
  status?: number;
  error?: string;
  durationMs: number;
  request: CapturedMessage;
  response?: CapturedMessage;
  /** `<document>.<operationId>` of openapi/registry.ts, when one describes the exchange. */
  operation?: string;
  signature: SignatureVerdict;
  schema: { request: SchemaVerdict; response: SchemaVerdict };
  requirements: { touched: string[]; failed: string[] };
  /** Anything wrong: a 4xx/5xx or no answer, a schema violation, a refused signature. */
  problem: boolean;
  /** One line, e.g. `POST /ocm/shares 201 · schema ✔ · signed ✔ peer-a#key-1`. */
  verdict: string;
  /** `curl` reproducing the request, secrets left masked. */
  curl: string;
}

/** What a capture point knows about an exchange; the inspector adds verdicts and redaction. */
export interface ExchangeInput {
  /** Set by capture points that must know the id before recording (the suites' peers). */
  id?: string;
  direction: Direction;
  peer: string;
  method: string;
  url: string;
  startedAt: number;
  durationMs: number;
  requestHeaders: Record<string, string | string[] | number | undefined>;
  requestBody?: string | Buffer;
  status?: number;
  error?: string;
  responseHeaders?: Record<string, string | string[] | number | undefined>;
  /** A stream that was not read is passed as a description, e.g. `[streamed file]`. */
  responseBody?: string | Buffer;
  /** The operation, when the capture point knows it (the reference's route config). */
  operation?: { doc: string; id: string };
  signature?: SignatureVerdict;
}

export function surfaceOf(path: string): Surface {
  if (path.startsWith('/.well-known/') || path === '/ocm-provider') return 'discovery';
  if (/\/token$/.test(path)) return 'token';
  if (path.startsWith('/sciencemesh/')) return 'sciencemesh';
  if (path.startsWith('/ocs/')) return 'ocs';
  if (path.startsWith('/dav/') || path.startsWith('/remote.php/')) return 'webdav';
  if (path === '/ocm' || path.startsWith('/ocm/')) return 'ocm';
  return 'other';
}
