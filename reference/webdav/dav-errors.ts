/*
 * The WebDAV engine's error catalogue.
 *
 * Invariants:
 * - Every error the engine sends is `{"code": "<STABLE_CODE>", "message": "…"}`
 *   with `content-type: application/json`. Codes never change meaning; messages
 *   may be reworded.
 * - Each code has exactly one HTTP status and a one-line meaning, declared here
 *   and nowhere else. This is a sub-catalogue declared in reference/base/errors.ts
 *   (`SUB_CATALOGUES`); a code both hold has the same status in both.
 * - `fromFsError` turns Node fs errors into catalogue entries; only errors that
 *   are not the client's fault (EIO, unknown codes) become `INTERNAL_ERROR`.
 */

export const DAV_ERRORS = {
  BAD_REQUEST: { status: 400, meaning: 'any other client error fastify raises before our handlers run' },
  BAD_PATH: { status: 400, meaning: 'malformed percent-encoding in the request path' },
  BAD_DEPTH: { status: 400, meaning: 'the Depth header is not 0, 1 or infinity' },
  BAD_OVERWRITE: { status: 400, meaning: 'the Overwrite header is not T or F' },
  BAD_PROPFIND: { status: 400, meaning: 'malformed or unexpected PROPFIND body' },
  MISSING_DESTINATION: { status: 400, meaning: 'MOVE without a Destination header' },
  BAD_DESTINATION: { status: 400, meaning: 'the Destination header is not a usable URL or path' },
  NAME_TOO_LONG: { status: 400, meaning: 'a path segment is too long for the storage' },
  CONTENT_RANGE_NOT_SUPPORTED: { status: 400, meaning: 'RFC 9110 §14.5: partial PUT must be refused' },
  PATH_NOT_ALLOWED: { status: 403, meaning: '`..`, `.`, empty segment, `/`, `\\` or NUL in a segment' },
  PATH_OUTSIDE_ROOT: { status: 403, meaning: 'a symlink that leaves the target root (or cannot be resolved)' },
  READ_ONLY: { status: 403, meaning: 'the target is read-only' },
  ACCESS_DENIED: { status: 403, meaning: 'EACCES / EPERM on disk' },
  PROPFIND_FINITE_DEPTH: { status: 403, meaning: 'RFC 4918 §9.1: Depth: infinity refused' },
  CANNOT_DELETE_ROOT: { status: 403, meaning: 'the target root cannot be deleted' },
  CANNOT_MOVE_ROOT: { status: 403, meaning: 'the target root cannot be moved' },
  DESTINATION_IS_ROOT: { status: 403, meaning: 'nothing can be moved onto the target root' },
  DESTINATION_OUTSIDE_TARGET: { status: 403, meaning: 'the Destination leaves the target' },
  SAME_SOURCE_AND_DESTINATION: { status: 403, meaning: 'MOVE onto itself' },
  DESTINATION_INSIDE_SOURCE: { status: 403, meaning: 'MOVE of a collection into itself' },
  UNSUPPORTED_FILE_TYPE: { status: 403, meaning: 'FIFO, socket, device' },
  NOT_FOUND: { status: 404, meaning: 'no such resource' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'the method is not supported here' },
  IS_COLLECTION: { status: 405, meaning: 'GET/HEAD/PUT on a collection' },
  ALREADY_EXISTS: { status: 405, meaning: 'MKCOL on an existing resource (RFC 4918 §9.3.1)' },
  PARENT_MISSING: { status: 409, meaning: 'the parent collection does not exist' },
  CONFLICT: { status: 409, meaning: 'a path component is not a directory' },
  DESTINATION_EXISTS: { status: 412, meaning: 'MOVE with Overwrite: F onto an existing resource' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the body is larger than the engine accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'a body where the method takes none of that type' },
  INTERNAL_ERROR: { status: 500, meaning: 'an fs error that is not the fault of the client (EIO, unknown codes)' },
  DESTINATION_OTHER_SERVER: { status: 502, meaning: 'RFC 4918 §9.9.4: the Destination is on another server' },
  INSUFFICIENT_STORAGE: { status: 507, meaning: 'the storage is full' },
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
    this.status = DAV_ERRORS[code].status;
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
