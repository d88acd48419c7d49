/**
 * CS3 statuses back to our error catalogue: the inverse of ../grpc/status.ts, for
 * an HTTP front that calls the CS3 services of another process
 * (decisions/0009-http-over-grpc.md).
 *
 * A CS3 status carries a code and a message, not our catalogue code, and
 * several catalogue codes share one CS3 code (INVALID_ARGUMENT covers
 * VALIDATION_FAILED, SELF_INVITE, INVITE_TOKEN_INVALID, …). The code is
 * recovered in this order:
 *
 *  1. the message: when it is (or starts with) the default message of
 *     exactly the catalogue codes that map to this CS3 code, the longest such
 *     default wins. Errors thrown without a custom message therefore come back
 *     as exactly the code they left as;
 *  2. the rpc's hint for this CS3 code (what a miss, a refusal, … means for
 *     that rpc), which may look at the message;
 *  3. a default per CS3 code (DEFAULT_CODES).
 *
 * The back's message is kept as the message, so the user reads the back's
 * explanation. Validation details travel inside that message (the back
 * appends them); they do not come back as `validationErrors`.
 *
 * Transport failures (the back is down, a deadline passed) are not CS3
 * statuses: `ocmErrorFromTransport` turns them into 500s.
 */
import type * as grpc from '@grpc/grpc-js';
import { ERRORS, OcmError, type ErrorCode } from '../base/errors.ts';
import { BASIC_CHALLENGE } from '../http/local-auth.ts';
import { OCM_ERROR_TO_CS3, type Cs3Code, type Cs3Status } from '../grpc/status.ts';

/** What a CS3 code means for one rpc: a catalogue code (with another HTTP status, when the catalogue's does not fit), or a choice made from the message. */
export type StatusHint = ErrorCode | { code: ErrorCode; status: number } | ((status: Cs3Status) => ErrorCode);
export type StatusHints = Partial<Record<Exclude<Cs3Code, 'CODE_OK'>, StatusHint>>;

/** The catalogue code for a CS3 code when neither the message nor the rpc says more. */
export const DEFAULT_CODES: Record<Exclude<Cs3Code, 'CODE_OK'>, ErrorCode> = {
  CODE_INVALID_ARGUMENT: 'BAD_REQUEST',
  CODE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  CODE_ALREADY_EXISTS: 'CONTACT_ALREADY_EXISTS',
  CODE_PERMISSION_DENIED: 'FORBIDDEN',
  CODE_UNAUTHENTICATED: 'UNAUTHENTICATED',
  CODE_RESOURCE_EXHAUSTED: 'BODY_TOO_LARGE',
  CODE_FAILED_PRECONDITION: 'SHARE_NOT_PENDING',
  CODE_UNIMPLEMENTED: 'UNSUPPORTED_PROTOCOL',
  CODE_INTERNAL: 'INTERNAL',
  CODE_UNAVAILABLE: 'REMOTE_UNREACHABLE',
  CODE_UNKNOWN: 'REMOTE_BAD_RESPONSE',
};

/** Catalogue codes per CS3 code (from ../grpc/status.ts), for matching default messages. */
function codesFor(cs3: Cs3Code): ErrorCode[] {
  return (Object.entries(OCM_ERROR_TO_CS3) as Array<[ErrorCode, Cs3Code]>).filter(([, c]) => c === cs3).map(([code]) => code);
}

/** The catalogue code whose default message the status message is, or starts with (then followed by ": details"). */
export function codeByMessage(status: Cs3Status): ErrorCode | undefined {
  let best: ErrorCode | undefined;
  for (const code of codesFor(status.code)) {
    const text = ERRORS[code].message;
    const matches = status.message === text || status.message.startsWith(`${text}: `);
    if (matches && (best === undefined || text.length > ERRORS[best].message.length)) best = code;
  }
  return best;
}

/** The OcmError for a non-OK CS3 status. */
export function ocmErrorFromStatus(status: Cs3Status, hints: StatusHints = {}): OcmError {
  const cs3 = (status.code === 'CODE_OK' ? 'CODE_INTERNAL' : status.code in DEFAULT_CODES ? status.code : 'CODE_UNKNOWN') as Exclude<
    Cs3Code,
    'CODE_OK'
  >;
  const normalised: Cs3Status = { code: cs3, message: typeof status.message === 'string' ? status.message : '' };
  const hint = hints[cs3];
  const byMessage = codeByMessage(normalised);
  const hinted: { code: ErrorCode; status?: number } | undefined =
    typeof hint === 'function' ? { code: hint(normalised) } : typeof hint === 'string' ? { code: hint } : hint;
  const chosen: { code: ErrorCode; status?: number } =
    byMessage !== undefined ? { code: byMessage } : (hinted ?? { code: DEFAULT_CODES[cs3] });
  const code = chosen.code;
  // Our own faults at the back are not explained to clients of the front either.
  const message = code === 'INTERNAL' || normalised.message === '' ? undefined : normalised.message;
  return new OcmError(code, {
    ...(message !== undefined ? { message } : {}),
    ...(chosen.status !== undefined ? { status: chosen.status } : {}),
    ...(code === 'UNAUTHENTICATED' ? { headers: BASIC_CHALLENGE } : {}),
  });
}

/** grpc-js status numbers the front tells apart. */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * The OcmError for a call that failed below CS3 (no response at all). To
 * the front's clients front and back are one server, so the back being down
 * or silent is a fault of this server: 500 (502/504 mean another OCM server,
 * and our API documents declare no 503). The back's address goes to the log
 * (as the cause), not to the client.
 */
export function ocmErrorFromTransport(error: unknown, backend: string): OcmError {
  const code = (error as Partial<grpc.ServiceError>)?.code;
  const cause = new Error(`gRPC backend ${backend}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  if (code === GRPC_UNAVAILABLE) return new OcmError('INTERNAL', { message: 'This server cannot reach its gRPC backend', cause });
  if (code === GRPC_DEADLINE_EXCEEDED)
    return new OcmError('INTERNAL', { message: 'The gRPC backend of this server did not answer in time', cause });
  return new OcmError('INTERNAL', { cause });
}
