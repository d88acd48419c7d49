/**
 * CS3 statuses back to our error catalogue: the inverse of ../grpc/status.ts, for
 * an HTTP front that calls the CS3 services of another process
 * (decisions/0007-grpc-statuses.md, decisions/0009-http-over-grpc.md).
 *
 * Several catalogue codes share one CS3 code (INVALID_ARGUMENT covers
 * VALIDATION_FAILED, SELF_INVITE, INVITE_TOKEN_INVALID, …), so our back puts
 * the catalogue code (and validation issues) in the status's `InnerError`
 * (`readCatalogueDetail`). The code is recovered in this order, never from
 * the message text:
 *
 *  1. the catalogue code the status carries;
 *  2. for a back that sends none (another CS3 implementation), the rpc's
 *     hint for this CS3 code (what a miss, a refusal, … means for that rpc);
 *  3. a default per CS3 code (DEFAULT_CODES).
 *
 * The back's message is kept as the message, so the user reads the back's
 * explanation. The HTTP status is always the catalogue's for the code.
 *
 * Transport failures (the back is down, a deadline passed) are not CS3
 * statuses: `ocmErrorFromTransport` turns them into 500s.
 */
import type * as grpc from '@grpc/grpc-js';
import { OcmError, type ErrorCode } from '../base/errors.ts';
import { BASIC_CHALLENGE } from '../http/local-auth.ts';
import { readCatalogueDetail, type Cs3Code, type Cs3Status } from '../grpc/status.ts';

/** What a CS3 code means for one rpc, when the status carries no catalogue code. */
export type StatusHints = Partial<Record<Exclude<Cs3Code, 'CODE_OK'>, ErrorCode>>;

/** The catalogue code for a CS3 code when neither the status nor the rpc says more. */
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

/** The OcmError for a non-OK CS3 status. */
export function ocmErrorFromStatus(status: Cs3Status, hints: StatusHints = {}): OcmError {
  const cs3 = (status.code === 'CODE_OK' ? 'CODE_INTERNAL' : status.code in DEFAULT_CODES ? status.code : 'CODE_UNKNOWN') as Exclude<
    Cs3Code,
    'CODE_OK'
  >;
  const text = typeof status.message === 'string' ? status.message : '';
  // A CODE_OK "failure" (a back that answered without a status) is ours: its detail, if any, is not believed.
  const detail = status.code === 'CODE_OK' ? undefined : readCatalogueDetail(status);
  const code = detail?.ocmErrorCode ?? hints[cs3] ?? DEFAULT_CODES[cs3];
  // The back appends validation details to its message; with the issues carried apart, they come off again.
  const issues = detail?.validationErrors;
  const suffix = issues ? `: ${issues.map((v) => (v.name ? `${v.name} ${v.message}` : v.message)).join('; ')}` : '';
  const shown = suffix !== '' && text.endsWith(suffix) ? text.slice(0, -suffix.length) : text;
  // Our own faults at the back are not explained to clients of the front either.
  const message = code === 'INTERNAL' || shown === '' ? undefined : shown;
  return new OcmError(code, {
    ...(message !== undefined ? { message } : {}),
    ...(issues ? { validationErrors: issues } : {}),
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
