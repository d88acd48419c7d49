/*
 * Confines a client-supplied relative path to a root on disk.
 *
 * Invariants:
 * - Callers pass already *decoded* path segments. Nothing here decodes again,
 *   so a double-encoded `%252e%252e` arrives as the literal name `%2e%2e` and
 *   stays a harmless file name.
 * - Every segment is a single, non-empty file name: `.`, `..`, and anything
 *   containing `/`, `\` or NUL is refused (`INVALID_SEGMENT`). An empty array
 *   names the root itself; a trailing slash is the caller's business.
 * - The root may be a directory or a single file. A file root only accepts the
 *   empty relative path (`BEYOND_FILE_ROOT` otherwise).
 * - The deepest *existing* ancestor of the wanted path (the path itself when it
 *   exists) is resolved with `fs.realpath` and must lie inside `realpath(root)`.
 *   A symlink leading outside is refused (`OUTSIDE_ROOT`), and so is a dangling
 *   or looping one (`UNRESOLVABLE_SYMLINK`), because its target cannot be checked.
 * - `absPath` is the *lexical* path `root/seg/…` (symlinks not expanded), so a
 *   caller deleting or renaming a symlink acts on the link, not its target.
 * - The check is made at call time: a concurrent change on disk between the check
 *   and the use (TOCTOU) is not defended against. The roots we serve are owned by
 *   this process, not by untrusted local users.
 * - Unexpected fs errors (EACCES, EIO, …) are thrown for the caller to map.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './dav-errors.ts';

export type SafePathRefusal = 'INVALID_SEGMENT' | 'ROOT_MISSING' | 'BEYOND_FILE_ROOT' | 'OUTSIDE_ROOT' | 'UNRESOLVABLE_SYMLINK';

export type SafePathResult = { ok: true; absPath: string; rootIsFile: boolean } | { ok: false; reason: SafePathRefusal };

/** True when `segment` can safely be used as one file name below a root. */
export function isSafeSegment(segment: string): boolean {
  return (
    typeof segment === 'string' &&
    segment.length > 0 &&
    segment !== '.' &&
    segment !== '..' &&
    !segment.includes('/') &&
    !segment.includes('\\') &&
    !segment.includes('\0')
  );
}

function isInside(realRoot: string, candidate: string): boolean {
  if (candidate === realRoot) return true;
  const rel = path.relative(realRoot, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export async function resolveInside(root: string, segments: readonly string[]): Promise<SafePathResult> {
  if (!path.isAbsolute(root)) throw new TypeError(`resolveInside: root must be absolute, got ${JSON.stringify(root)}`);
  if (!segments.every(isSafeSegment)) return { ok: false, reason: 'INVALID_SEGMENT' };

  let realRoot: string;
  let rootIsFile: boolean;
  try {
    realRoot = await realpath(root);
    const st = await stat(realRoot);
    if (!st.isDirectory() && !st.isFile()) return { ok: false, reason: 'ROOT_MISSING' };
    rootIsFile = st.isFile();
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { ok: false, reason: 'ROOT_MISSING' };
    throw err;
  }

  if (rootIsFile) {
    return segments.length === 0 ? { ok: true, absPath: root, rootIsFile } : { ok: false, reason: 'BEYOND_FILE_ROOT' };
  }

  const absPath = path.join(root, ...segments);
  // Defence in depth: the segment check above already makes this impossible.
  if (!isInside(path.resolve(root), path.resolve(absPath))) return { ok: false, reason: 'INVALID_SEGMENT' };

  // Find the deepest component that exists (lstat: a dangling link still "exists").
  for (let depth = segments.length; depth >= 0; depth--) {
    const candidate = path.join(root, ...segments.slice(0, depth));
    try {
      await lstat(candidate);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if (code === 'ELOOP') return { ok: false, reason: 'UNRESOLVABLE_SYMLINK' };
      throw err;
    }
    let real: string;
    try {
      real = await realpath(candidate);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return { ok: false, reason: 'UNRESOLVABLE_SYMLINK' };
      throw err;
    }
    return isInside(realRoot, real) ? { ok: true, absPath, rootIsFile } : { ok: false, reason: 'OUTSIDE_ROOT' };
  }
  // Unreachable: depth 0 is the root, which exists.
  return { ok: false, reason: 'ROOT_MISSING' };
}
