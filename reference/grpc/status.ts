/**
 * CS3 statuses for the gRPC services (decisions/0007-grpc-statuses.md).
 *
 * Every rpc answers with a response whose `status` says how it went; the
 * gRPC call itself always succeeds. Handlers throw either a `GrpcFault`
 * (a CS3 code chosen on the spot) or an `OcmError` from the core, which is
 * mapped here from its catalogue code. Anything else is an unexpected fault
 * and becomes CODE_INTERNAL.
 */
import { ERRORS, OcmError, type ErrorCode } from '../base/errors.ts';
import type { ValidationIssue } from '../../openapi/registry.ts';
import { faults } from '../base/faults.ts';

/** `cs3.rpc.v1beta1.Code` names, as the loaded protos read and write them. */
export type Cs3Code =
  | 'CODE_OK'
  | 'CODE_INVALID_ARGUMENT'
  | 'CODE_NOT_FOUND'
  | 'CODE_ALREADY_EXISTS'
  | 'CODE_PERMISSION_DENIED'
  | 'CODE_UNAUTHENTICATED'
  | 'CODE_RESOURCE_EXHAUSTED'
  | 'CODE_FAILED_PRECONDITION'
  | 'CODE_UNIMPLEMENTED'
  | 'CODE_INTERNAL'
  | 'CODE_UNAVAILABLE'
  | 'CODE_UNKNOWN';

export interface Cs3Status {
  code: Cs3Code;
  message: string;
  /** cs3.types.v1beta1.OpaqueEntry: our catalogue code, when the failure has one (see `catalogueDetail`). */
  InnerError?: { decoder: string; value: Uint8Array | string } | null;
}

/**
 * What a CS3 status carries besides its code, for a caller that speaks our
 * catalogue (the split front, decisions/0007 and 0009): the catalogue code
 * and validation issues of the OcmError behind it, as JSON in the status's
 * `InnerError` (decoder "json"). Other CS3 clients ignore the field.
 */
export interface CatalogueDetail {
  ocmErrorCode: ErrorCode;
  validationErrors?: ValidationIssue[];
}

function catalogueDetail(error: OcmError): NonNullable<Cs3Status['InnerError']> {
  const detail: CatalogueDetail = {
    ocmErrorCode: error.code,
    ...(error.validationErrors?.length ? { validationErrors: error.validationErrors } : {}),
  };
  return { decoder: 'json', value: Buffer.from(JSON.stringify(detail), 'utf8') };
}

/** The catalogue detail of a status, when it carries a well-formed one naming a code of our catalogue. */
export function readCatalogueDetail(status: Pick<Cs3Status, 'InnerError'>): CatalogueDetail | undefined {
  const entry = status.InnerError;
  if (entry?.decoder !== 'json') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof entry.value === 'string' ? entry.value : Buffer.from(entry.value).toString('utf8'));
  } catch {
    return undefined;
  }
  const { ocmErrorCode, validationErrors } = (parsed ?? {}) as { ocmErrorCode?: unknown; validationErrors?: unknown };
  if (typeof ocmErrorCode !== 'string' || !Object.hasOwn(ERRORS, ocmErrorCode)) return undefined;
  const issues = Array.isArray(validationErrors)
    ? validationErrors.filter(
        (v): v is ValidationIssue => typeof v === 'object' && v !== null && typeof (v as ValidationIssue).message === 'string',
      )
    : [];
  return { ocmErrorCode: ocmErrorCode as ErrorCode, ...(issues.length ? { validationErrors: issues } : {}) };
}

/** A failure with a CS3 code chosen by the handler. */
export class GrpcFault extends Error {
  constructor(
    readonly code: Exclude<Cs3Code, 'CODE_OK'>,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcFault';
  }
}

export const invalid = (message: string) => new GrpcFault('CODE_INVALID_ARGUMENT', message);
export const notFound = (message: string) => new GrpcFault('CODE_NOT_FOUND', message);

/**
 * Core error code → CS3 code. Codes not listed fall back on their HTTP
 * status (see `byHttpStatus`), so a code added to the catalogue later still
 * gets a sensible answer.
 */
export const OCM_ERROR_TO_CS3: Partial<Record<ErrorCode, Cs3Code>> = {
  VALIDATION_FAILED: 'CODE_INVALID_ARGUMENT',
  SHARE_ALREADY_EXISTS: 'CODE_ALREADY_EXISTS',
  BAD_REQUEST: 'CODE_INVALID_ARGUMENT',
  UNAUTHENTICATED: 'CODE_UNAUTHENTICATED',
  PROVIDER_NOT_TRUSTED: 'CODE_PERMISSION_DENIED',
  SENDER_NOT_AUTHENTICATED: 'CODE_UNAUTHENTICATED',
  SENDER_NOT_A_CONTACT: 'CODE_PERMISSION_DENIED',
  UNKNOWN_RECIPIENT: 'CODE_NOT_FOUND',
  UNSUPPORTED_SHARE_TYPE: 'CODE_UNIMPLEMENTED',
  UNSUPPORTED_RESOURCE_TYPE: 'CODE_UNIMPLEMENTED',
  UNSUPPORTED_PROTOCOL: 'CODE_UNIMPLEMENTED',
  UNSUPPORTED_REQUIREMENT: 'CODE_INVALID_ARGUMENT',
  REQUIREMENT_MISSING: 'CODE_INVALID_ARGUMENT',
  DUPLICATE_SHARE: 'CODE_ALREADY_EXISTS',
  SHARE_NOT_FOUND: 'CODE_NOT_FOUND',
  SHARE_NOT_PENDING: 'CODE_FAILED_PRECONDITION',
  SHARE_NOT_ACCEPTED: 'CODE_FAILED_PRECONDITION',
  // Authenticate: reva's auth provider answers credentials that do not open a share with PERMISSION_DENIED.
  INVALID_SHARE_CREDENTIALS: 'CODE_PERMISSION_DENIED',
  RESOURCE_NOT_FOUND: 'CODE_NOT_FOUND',
  RECEIVER_CANNOT_TAKE: 'CODE_FAILED_PRECONDITION',
  REMOTE_REJECTED_SHARE: 'CODE_INVALID_ARGUMENT',
  FORBIDDEN: 'CODE_PERMISSION_DENIED',
  UNSUPPORTED_NOTIFICATION: 'CODE_UNIMPLEMENTED',
  NOTIFICATION_NOT_ALLOWED: 'CODE_PERMISSION_DENIED',
  INVITE_TOKEN_INVALID: 'CODE_INVALID_ARGUMENT',
  INVITE_ALREADY_ACCEPTED: 'CODE_ALREADY_EXISTS',
  CONTACT_ALREADY_EXISTS: 'CODE_ALREADY_EXISTS',
  SELF_INVITE: 'CODE_INVALID_ARGUMENT',
  CONTACT_NOT_FOUND: 'CODE_NOT_FOUND',
  PROVIDER_UNKNOWN: 'CODE_NOT_FOUND',
  REMOTE_REFUSED: 'CODE_PERMISSION_DENIED',
  REMOTE_UNREACHABLE: 'CODE_UNAVAILABLE',
  // The peer answered something we cannot use: its fault, not ours.
  REMOTE_BAD_RESPONSE: 'CODE_UNKNOWN',
  BODY_TOO_LARGE: 'CODE_RESOURCE_EXHAUSTED',
  RESPONSE_INVALID: 'CODE_INTERNAL',
  INTERNAL: 'CODE_INTERNAL',
};

function byHttpStatus(status: number): Cs3Code {
  if (status === 401) return 'CODE_UNAUTHENTICATED';
  if (status === 403) return 'CODE_PERMISSION_DENIED';
  if (status === 404) return 'CODE_NOT_FOUND';
  if (status === 409) return 'CODE_ALREADY_EXISTS';
  if (status === 413) return 'CODE_RESOURCE_EXHAUSTED';
  if (status === 501) return 'CODE_UNIMPLEMENTED';
  if (status === 502 || status === 503 || status === 504) return 'CODE_UNAVAILABLE';
  if (status >= 400 && status < 500) return 'CODE_INVALID_ARGUMENT';
  return 'CODE_INTERNAL';
}

/** The status for a thrown value; `unexpected` is true when it is a fault of ours (to be logged). */
export function statusFromError(error: unknown): { status: Cs3Status; unexpected: boolean } {
  if (
    faults.has('grpc-internal-for-not-found') &&
    (error instanceof GrpcFault
      ? error.code
      : error instanceof OcmError
        ? (OCM_ERROR_TO_CS3[error.code] ?? byHttpStatus(error.status))
        : undefined) === 'CODE_NOT_FOUND'
  ) {
    return { status: { code: 'CODE_INTERNAL', message: 'internal error' }, unexpected: true };
  }
  if (error instanceof GrpcFault) return { status: { code: error.code, message: error.message }, unexpected: false };
  if (error instanceof OcmError) {
    const code = OCM_ERROR_TO_CS3[error.code] ?? byHttpStatus(error.status);
    const details = error.validationErrors?.length
      ? `: ${error.validationErrors.map((v) => (v.name ? `${v.name} ${v.message}` : v.message)).join('; ')}`
      : '';
    return {
      status: { code, message: `${error.message}${details}`, InnerError: catalogueDetail(error) },
      unexpected: code === 'CODE_INTERNAL',
    };
  }
  return { status: { code: 'CODE_INTERNAL', message: 'internal error' }, unexpected: true };
}
