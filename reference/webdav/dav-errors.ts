/*
 * The WebDAV engine's error catalogue.
 *
 * Invariants:
 * - Every error the engine sends is `{"code": "<STABLE_CODE>", "message": "…"}`
 *   with `content-type: application/json`. Codes never change meaning; messages
 *   may be reworded.
 * - Each code has exactly one HTTP status, declared here and nowhere else.
 * - `fromFsError` turns Node fs errors into catalogue entries; only errors that
 *   are not the client's fault (EIO, unknown codes) become `INTERNAL_ERROR`.
 */

export const DAV_ERRORS = {
  BAD_REQUEST: 400, // any other client error fastify raises before our handlers run
  BAD_PATH: 400, // malformed percent-encoding in the request path
  BAD_DEPTH: 400,
  BAD_OVERWRITE: 400,
  BAD_PROPFIND: 400, // malformed or unexpected PROPFIND body
  MISSING_DESTINATION: 400,
  BAD_DESTINATION: 400,
  NAME_TOO_LONG: 400,
  CONTENT_RANGE_NOT_SUPPORTED: 400, // RFC 9110 §14.5: partial PUT must be refused
  PATH_NOT_ALLOWED: 403, // `..`, `.`, empty segment, `/`, `\` or NUL in a segment
  PATH_OUTSIDE_ROOT: 403, // a symlink that leaves the target root (or cannot be resolved)
  READ_ONLY: 403,
  ACCESS_DENIED: 403, // EACCES / EPERM on disk
  PROPFIND_FINITE_DEPTH: 403, // RFC 4918 §9.1: Depth: infinity refused
  CANNOT_DELETE_ROOT: 403,
  CANNOT_MOVE_ROOT: 403,
  DESTINATION_IS_ROOT: 403,
  DESTINATION_OUTSIDE_TARGET: 403,
  SAME_SOURCE_AND_DESTINATION: 403,
  DESTINATION_INSIDE_SOURCE: 403,
  UNSUPPORTED_FILE_TYPE: 403, // FIFO, socket, device
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IS_COLLECTION: 405, // GET/HEAD/PUT on a collection
  ALREADY_EXISTS: 405, // MKCOL on an existing resource (RFC 4918 §9.3.1)
  PARENT_MISSING: 409,
  CONFLICT: 409, // a path component is not a directory
  DESTINATION_EXISTS: 412, // MOVE with Overwrite: F
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
  DESTINATION_OTHER_SERVER: 502, // RFC 4918 §9.9.4
  INSUFFICIENT_STORAGE: 507,
} as const;

export type DavErrorCode = keyof typeof DAV_ERRORS;

export class DavError extends Error {
  readonly status: number;
  constructor(
    readonly code: DavErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DavError';
    this.status = DAV_ERRORS[code];
  }
}

export interface DavErrorBody {
  code: string;
  message: string;
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/** How a missing path component is reported: 404 when reading, 409 when creating below it. */
export type FsErrorContext = 'read' | 'write';

/** Maps a Node fs error to the catalogue; returns undefined for non-fs errors. */
export function fromFsError(err: unknown, context: FsErrorContext = 'read'): DavError | undefined {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return context === 'read'
        ? new DavError('NOT_FOUND', 'No such resource')
        : new DavError('PARENT_MISSING', 'The parent collection does not exist');
    case 'ENOTDIR':
      return context === 'read'
        ? new DavError('NOT_FOUND', 'No such resource')
        : new DavError('CONFLICT', 'A path component is not a collection');
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new DavError('ALREADY_EXISTS', 'The resource already exists');
    case 'EISDIR':
      return new DavError('IS_COLLECTION', 'The resource is a collection');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new DavError('ACCESS_DENIED', 'Access to the resource is denied by the storage');
    case 'ENAMETOOLONG':
      return new DavError('NAME_TOO_LONG', 'A path segment is too long for the storage');
    case 'ELOOP':
      return new DavError('PATH_OUTSIDE_ROOT', 'The path cannot be resolved safely');
    case 'ENOSPC':
    case 'EDQUOT':
      return new DavError('INSUFFICIENT_STORAGE', 'The storage is full');
    default:
      return undefined;
  }
}
