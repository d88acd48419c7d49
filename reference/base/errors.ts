/**
 * The error catalogue: every error the reference server can answer with has a
 * stable code, an HTTP status and a default message here, and nowhere else.
 * `OcmError` carries one of them through the core; `errorBody` turns it into
 * the OCM error shape `{message, code, validationErrors?}` (the token endpoint
 * uses the OAuth shape and builds its own body).
 *
 * `fault: true` marks the entries that mean this server itself is broken; only
 * those are logged at error level with a stack (`logFailure`). Every other
 * entry is an expected answer, 5xx included: 501 for features we lack, 502/504
 * when another server fails or is out of reach.
 */
import type { ValidationIssue } from '../../openapi/registry.ts';

export const ERRORS = {
  // request shape
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  EMPTY_BODY: { status: 400, message: 'The request body is empty' },
  BODY_TOO_DEEP: { status: 400, message: 'The request body is nested too deeply' },
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the API description' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request content type is not accepted here' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than this server accepts' },
  ROUTE_NOT_FOUND: { status: 404, message: 'There is nothing at this path' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here' },
  BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  // local users
  UNAUTHENTICATED: { status: 401, message: 'A valid local user login is required' },
  // trust between servers
  PROVIDER_NOT_TRUSTED: { status: 403, message: 'The remote provider is not trusted by this server' },
  SENDER_NOT_AUTHENTICATED: { status: 401, message: 'The sending server could not be authenticated' },
  SENDER_NOT_A_CONTACT: { status: 403, message: 'The sender is not an accepted contact of the recipient' },
  // HTTP message signatures (details of a refusal go to the log only)
  SIGNATURE_REQUIRED: { status: 401, message: 'This request must carry a valid OCM HTTP message signature' },
  SIGNATURE_INVALID: { status: 401, message: 'The HTTP message signature of this request could not be verified' },
  SIGNER_MISMATCH: { status: 401, message: 'The request is signed by another server than the one it speaks for' },
  // shares (receiver side)
  UNKNOWN_RECIPIENT: { status: 400, message: 'The recipient is not a user of this server' },
  UNSUPPORTED_SHARE_TYPE: { status: 501, message: 'This share type is not supported' },
  UNSUPPORTED_RESOURCE_TYPE: { status: 501, message: 'This resource type is not supported' },
  UNSUPPORTED_PROTOCOL: { status: 501, message: 'None of the offered protocols is supported' },
  UNSUPPORTED_REQUIREMENT: { status: 400, message: 'The share carries a requirement this server does not know' },
  REQUIREMENT_MISSING: { status: 400, message: 'The share lacks a requirement this server demands' },
  DUPLICATE_SHARE: { status: 400, message: 'A share with this providerId from this provider already exists' },
  SHARE_NOT_FOUND: { status: 404, message: 'No such share' },
  SHARE_NOT_PENDING: { status: 409, message: 'The share is not pending' },
  SHARE_NOT_ACCEPTED: { status: 403, message: 'The share has not been accepted' },
  // shares (sender side)
  RESOURCE_NOT_FOUND: { status: 404, message: 'No such file or folder' },
  RECEIVER_CANNOT_TAKE: { status: 400, message: 'The receiving server cannot take this share' },
  REMOTE_REJECTED_SHARE: { status: 400, message: 'The receiving server rejected the share' },
  FORBIDDEN: { status: 403, message: 'This is not allowed' },
  // notifications
  UNSUPPORTED_NOTIFICATION: { status: 501, message: 'This notification type is not supported' },
  NOTIFICATION_NOT_ALLOWED: { status: 403, message: 'The notification names a share the notifying server has no part in' },
  // invitations
  INVITE_TOKEN_INVALID: { status: 400, message: 'The invite token is unknown, malformed or expired' },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many failed attempts from this provider; try again later' },
  INVITE_ALREADY_ACCEPTED: { status: 409, message: 'The invite has already been accepted' },
  CONTACT_ALREADY_EXISTS: { status: 409, message: 'This remote user is already an accepted contact' },
  SELF_INVITE: { status: 400, message: 'An invite cannot be accepted by the server that issued it' },
  CONTACT_NOT_FOUND: { status: 404, message: 'No accepted contact matches' },
  PROVIDER_UNKNOWN: { status: 404, message: 'No trusted provider has this domain' },
  // calls to other servers
  REMOTE_REFUSED: { status: 403, message: 'The remote server refused the request' },
  REMOTE_UNREACHABLE: { status: 504, message: 'The remote server could not be reached in time' },
  REMOTE_BAD_RESPONSE: { status: 502, message: 'The remote server answered with something this server cannot use' },
  // WebDAV (RFC 4918 §9.9.4)
  DESTINATION_OTHER_SERVER: { status: 502, message: 'The Destination is on another server' },
  // ours
  RESPONSE_INVALID: { status: 500, message: 'The server built a response that violates its own API description', fault: true },
  INTERNAL: { status: 500, message: 'Internal server error', fault: true },
} as const satisfies Record<string, { status: number; message: string; fault?: true }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  message: string;
  code: ErrorCode;
  validationErrors?: ValidationIssue[];
}

export class OcmError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly validationErrors: ValidationIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    options: {
      message?: string;
      validationErrors?: ValidationIssue[];
      headers?: Record<string, string>;
      status?: number;
      cause?: unknown;
    } = {},
  ) {
    super(options.message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OcmError';
    this.code = code;
    this.status = options.status ?? ERRORS[code].status;
    this.validationErrors = options.validationErrors;
    this.headers = options.headers;
  }
}

/** Whether the error means this server is broken (a bug, a failing backend), rather than an expected answer. */
export function isFault(error: OcmError): boolean {
  return 'fault' in ERRORS[error.code];
}

/** The part of a pino / fastify logger that `logFailure` uses. */
export interface FailureLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Logs a failed request by the catalogue: a fault at error level with what was
 * thrown (and its stack); an expected 5xx at warn with its code and message
 * only; a 4xx not at all (the caller was told why).
 */
export function logFailure(log: FailureLog, thrown: unknown, error: OcmError, msg: string): void {
  if (isFault(error)) {
    log.error({ err: thrown }, msg);
  } else if (error.status >= 500) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    log.warn({ status: error.status, code: error.code, reason: error.message, ...(cause ? { cause } : {}) }, msg);
  }
}

export function errorBody(error: OcmError): ErrorBody {
  const body: ErrorBody = { message: error.message, code: error.code };
  if (error.validationErrors?.length) body.validationErrors = error.validationErrors;
  return body;
}

/** Shorthand for a 400 naming one field. */
export function fieldError(code: ErrorCode, name: string, message: string, detail?: string): OcmError {
  return new OcmError(code, { validationErrors: [{ name, message }], ...(detail ? { message: detail } : {}) });
}
