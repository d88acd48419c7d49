/*
 * A small, strict WebDAV engine (RFC 4918 class 1 subset) over a directory or a
 * single file on disk, as an encapsulated fastify plugin.
 *
 *   app.register(davPlugin, { prefix: '/dav/files', resolve })
 *
 * Invariants:
 * - Authorisation is entirely the caller's: `resolve(request, segments)` sees
 *   the decoded path segments after the prefix and either names a target
 *   (`root` on disk, `readOnly`, and how many leading segments it `consumed`)
 *   or refuses with a status, code, message and headers that are sent as is.
 *   Nothing touches the disk before `resolve` said yes (OPTIONS excepted: it
 *   answers without calling `resolve` and without touching the disk).
 * - Request paths are split on `/` *before* percent-decoding, each segment is
 *   decoded exactly once, and every segment (also those `resolve` consumes) must
 *   pass `isSafeSegment`; then `resolveInside` confines the rest to the target
 *   root, symlinks included. A trailing slash is accepted and ignored.
 * - Every error is the JSON body of `dav-errors.ts`, never HTML, never a 500
 *   for bad input. Fs errors are mapped by context (reading: missing → 404;
 *   creating: missing parent → 409).
 * - Bodies are never buffered whole: the plugin's only content-type parser
 *   (`*`) hands the raw request stream through; PUT streams it into a temp file
 *   (same directory, fsync, rename: readers see the old or the new file, never
 *   a torn one) and stops at `maxUploadBytes` (413); PROPFIND reads at most
 *   1 MiB. Temp files (`.dav-upload-*`) are hidden from listings and their
 *   names cannot be addressed.
 * - GET on a collection is 405 (`IS_COLLECTION`): listings are PROPFIND's job.
 * - PROPFIND answers Depth 0 and 1 (default 1); `infinity` is 403
 *   (`PROPFIND_FINITE_DEPTH`). Entries that cannot be addressed safely
 *   (symlinks leaving the root, names with `\`, FIFOs, …) are left out of
 *   listings.
 * - MOVE stays inside one target: the Destination (absolute URL on the same
 *   host, or absolute path) must name the same prefix and consumed segments.
 * - Not implemented: COPY, PROPPATCH, LOCK/UNLOCK, Range, If-Match; unknown
 *   methods under the prefix get 405 with an `Allow` header.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { COLLECTION_CONTENT_TYPE, contentTypeFor } from './content-type.ts';
import { DavError, errnoCode, fromFsError, type DavErrorBody, type FsErrorContext } from './dav-errors.ts';
import { buildMultistatus, DAV_NS, parsePropfindBody, type MultistatusEntry, type PropValue } from './propfind-xml.ts';
import { destinationPath, pathOf } from './destination.ts';
import { isSafeSegment, resolveInside } from './safe-path.ts';

export interface DavTarget {
  /** Absolute path of a directory, or of a single file when one file is shared. */
  root: string;
  readOnly: boolean;
}

export type DavResolveResult =
  | { ok: true; target: DavTarget; consumed: number }
  | { ok: false; status: number; code: string; message: string; headers?: Record<string, string> };

export interface DavPluginOptions {
  /** `segments` are the decoded path segments after the prefix (trailing slash removed). */
  resolve(request: FastifyRequest, segments: string[]): Promise<DavResolveResult>;
  /** Largest accepted PUT body in bytes; default 64 MiB. */
  maxUploadBytes?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
export const MAX_PROPFIND_BYTES = 1024 * 1024;
const TEMP_PREFIX = '.dav-upload-';

const DAV_METHODS = ['OPTIONS', 'PROPFIND', 'GET', 'HEAD', 'PUT', 'MKCOL', 'DELETE', 'MOVE'] as const;
type DavMethod = (typeof DAV_METHODS)[number];
/** Methods fastify does not know out of the box, and whether they carry a body. */
const EXTRA_METHODS: ReadonlyArray<readonly [string, boolean]> = [
  ['PROPFIND', true],
  ['MKCOL', true],
  ['MOVE', false],
];

interface Ctx {
  request: FastifyRequest;
  reply: FastifyReply;
  target: DavTarget;
  /** Segments (after the prefix) that named the target. */
  targetSegments: string[];
  /** Path below the target root. */
  rel: string[];
  /** Decoded segments of prefix + target, the base of every href. */
  hrefBase: string[];
}

// ---------------------------------------------------------------------------
// Paths

function decodeSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw new DavError('BAD_PATH', 'The path must be absolute');
  return rawPath
    .slice(1)
    .split('/')
    .map((raw) => {
      try {
        return decodeURIComponent(raw);
      } catch {
        throw new DavError('BAD_PATH', 'The path contains malformed percent-encoding');
      }
    });
}

/** Decoded, validated segments after `prefixSegments`; `undefined` if the path is not under the prefix. */
function segmentsAfterPrefix(rawPath: string, prefixSegments: readonly string[]): string[] | undefined {
  const decoded = decodeSegments(rawPath);
  if (prefixSegments.length === 0 && decoded.length === 1 && decoded[0] === '') return [];
  for (let i = 0; i < prefixSegments.length; i++) if (decoded[i] !== prefixSegments[i]) return undefined;
  const rest = decoded.slice(prefixSegments.length);
  if (rest.length > 0 && rest[rest.length - 1] === '') rest.pop();
  for (const segment of rest) {
    if (!isSafeSegment(segment)) {
      throw new DavError('PATH_NOT_ALLOWED', 'Path segments must be non-empty names without ".", "..", "/", "\\" or NUL');
    }
    if (segment.startsWith(TEMP_PREFIX)) throw new DavError('PATH_NOT_ALLOWED', 'This name is reserved for uploads in progress');
  }
  return rest;
}

function hrefFor(segments: readonly string[], isCollection: boolean): string {
  const href = '/' + segments.map(encodeURIComponent).join('/');
  return isCollection && segments.length > 0 ? href + '/' : href;
}

async function locate(ctx: Ctx, rel: readonly string[]): Promise<{ absPath: string; rootIsFile: boolean }> {
  const result = await resolveInside(ctx.target.root, rel);
  if (result.ok) return result;
  switch (result.reason) {
    case 'INVALID_SEGMENT':
      throw new DavError('PATH_NOT_ALLOWED', 'The path is not allowed');
    case 'OUTSIDE_ROOT':
    case 'UNRESOLVABLE_SYMLINK':
      throw new DavError('PATH_OUTSIDE_ROOT', 'The path leads outside the shared resource');
    case 'BEYOND_FILE_ROOT':
    case 'ROOT_MISSING':
      throw new DavError('NOT_FOUND', 'No such resource');
  }
}

// ---------------------------------------------------------------------------
// Small fs helpers

function mapFs(err: unknown, context: FsErrorContext): unknown {
  return fromFsError(err, context) ?? err;
}

async function statOrNull(absPath: string, follow = true): Promise<Stats | null> {
  try {
    return follow ? await stat(absPath) : await lstat(absPath);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw mapFs(err, 'read');
  }
}

async function requireParentCollection(absPath: string): Promise<void> {
  let parent: Stats;
  try {
    parent = await stat(path.dirname(absPath));
  } catch (err) {
    throw mapFs(err, 'write');
  }
  if (!parent.isDirectory()) throw new DavError('CONFLICT', 'The parent is not a collection');
}

function etagOf(st: Stats): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(16)}"`;
}

function readOnlyGuard(ctx: Ctx): void {
  if (ctx.target.readOnly) throw new DavError('READ_ONLY', 'This resource is read-only');
}

function hasRequestBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function bodyStream(request: FastifyRequest): AsyncIterable<Buffer> | undefined {
  const body = request.body as { [Symbol.asyncIterator]?: unknown } | undefined;
  return body && typeof body[Symbol.asyncIterator] === 'function' ? (body as AsyncIterable<Buffer>) : undefined;
}

async function readLimited(request: FastifyRequest, limit: number): Promise<Buffer> {
  const stream = bodyStream(request);
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw new DavError('PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes`, { connection: 'close' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function allowFor(kind: 'collection' | 'file' | 'any', readOnly: boolean): string {
  const methods: string[] =
    kind === 'collection'
      ? ['OPTIONS', 'PROPFIND', ...(readOnly ? [] : ['DELETE', 'MOVE'])]
      : kind === 'file'
        ? ['OPTIONS', 'PROPFIND', 'GET', 'HEAD', ...(readOnly ? [] : ['PUT', 'DELETE', 'MOVE'])]
        : [...DAV_METHODS];
  return methods.join(', ');
}

// ---------------------------------------------------------------------------
// PROPFIND

function parseDepth(request: FastifyRequest, fallback: '0' | '1' | 'infinity'): '0' | '1' | 'infinity' {
  const raw = request.headers['depth'];
  if (raw === undefined) return fallback;
  const depth = String(raw).trim().toLowerCase();
  if (depth === '0' || depth === '1' || depth === 'infinity') return depth;
  throw new DavError('BAD_DEPTH', 'Depth must be 0, 1 or infinity');
}

function liveProps(st: Stats, name: string): Array<[string, PropValue]> {
  const isCollection = st.isDirectory();
  const props: Array<[string, PropValue]> = [
    ['resourcetype', isCollection ? { 'd:collection': '' } : ''],
    ['getlastmodified', st.mtime.toUTCString()],
    ['getetag', etagOf(st)],
    ['getcontenttype', isCollection ? COLLECTION_CONTENT_TYPE : contentTypeFor(name)],
  ];
  if (!isCollection) props.push(['getcontentlength', String(st.size)]);
  return props;
}

async function listChildren(ctx: Ctx, absDir: string): Promise<Array<{ name: string; st: Stats }>> {
  let dirents;
  try {
    dirents = await readdir(absDir, { withFileTypes: true });
  } catch (err) {
    throw mapFs(err, 'read');
  }
  const children: Array<{ name: string; st: Stats }> = [];
  for (const dirent of dirents) {
    const name = dirent.name;
    if (!isSafeSegment(name) || name.startsWith(TEMP_PREFIX)) continue;
    if (dirent.isSymbolicLink()) {
      const confined = await resolveInside(ctx.target.root, [...ctx.rel, name]);
      if (!confined.ok) continue;
    }
    const st = await statOrNull(path.join(absDir, name)).catch(() => null);
    if (st && (st.isFile() || st.isDirectory())) children.push({ name, st });
  }
  return children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function handlePropfind(ctx: Ctx): Promise<void> {
  const depth = parseDepth(ctx.request, '1');
  if (depth === 'infinity') throw new DavError('PROPFIND_FINITE_DEPTH', 'PROPFIND with Depth: infinity is not supported');
  const ask = parsePropfindBody(await readLimited(ctx.request, MAX_PROPFIND_BYTES));
  const { absPath } = await locate(ctx, ctx.rel);
  const st = await statOrNull(absPath);
  if (!st) throw new DavError('NOT_FOUND', 'No such resource');
  if (!st.isFile() && !st.isDirectory()) throw new DavError('UNSUPPORTED_FILE_TYPE', 'Only files and collections are served');

  const selfSegments = [...ctx.hrefBase, ...ctx.rel];
  const selfName = ctx.rel.length > 0 ? ctx.rel[ctx.rel.length - 1]! : path.basename(ctx.target.root);
  const resources = [{ segments: selfSegments, name: selfName, st }];
  if (depth === '1' && st.isDirectory()) {
    for (const child of await listChildren(ctx, absPath)) {
      resources.push({ segments: [...selfSegments, child.name], name: child.name, st: child.st });
    }
  }

  const entries: MultistatusEntry[] = resources.map((resource) => {
    const href = hrefFor(resource.segments, resource.st.isDirectory());
    const props = liveProps(resource.st, resource.name);
    if (ask.kind === 'allprop') return { href, found: props, missing: [] };
    if (ask.kind === 'propname') return { href, found: props.map(([local]) => [local, ''] as [string, PropValue]), missing: [] };
    const byName = new Map(props);
    const found: Array<[string, PropValue]> = [];
    const missing = [];
    for (const want of ask.props) {
      const value = want.ns === DAV_NS ? byName.get(want.local) : undefined;
      if (value === undefined) missing.push(want);
      else found.push([want.local, value]);
    }
    return { href, found, missing };
  });

  ctx.reply.code(207).type('application/xml; charset=utf-8').send(buildMultistatus(entries));
}

// ---------------------------------------------------------------------------
// GET / HEAD

async function handleGet(ctx: Ctx, head: boolean): Promise<void> {
  const { absPath } = await locate(ctx, ctx.rel);
  const st = await statOrNull(absPath);
  if (!st) throw new DavError('NOT_FOUND', 'No such resource');
  if (st.isDirectory()) {
    throw new DavError('IS_COLLECTION', 'GET is not supported on collections; use PROPFIND', {
      allow: allowFor('collection', ctx.target.readOnly),
    });
  }
  if (!st.isFile()) throw new DavError('UNSUPPORTED_FILE_TYPE', 'Only files and collections are served');

  let handle;
  try {
    handle = await open(absPath, 'r');
  } catch (err) {
    throw mapFs(err, 'read');
  }
  let fst: Stats;
  try {
    fst = await handle.stat();
  } catch (err) {
    await handle.close();
    throw mapFs(err, 'read');
  }
  const etag = etagOf(fst);
  const name = ctx.rel.length > 0 ? ctx.rel[ctx.rel.length - 1]! : path.basename(absPath);
  ctx.reply.headers({
    etag,
    'last-modified': fst.mtime.toUTCString(),
    'content-type': contentTypeFor(name),
    'accept-ranges': 'none',
  });
  const ifNoneMatch = ctx.request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
    await handle.close();
    ctx.reply.code(304).send();
    return;
  }
  ctx.reply.header('content-length', String(fst.size));
  if (head) {
    await handle.close();
    ctx.reply.code(200).send();
    return;
  }
  ctx.reply.code(200).send(handle.createReadStream());
}

// ---------------------------------------------------------------------------
// PUT

async function writeAtomically(target: string, source: AsyncIterable<Buffer> | undefined, limit: number): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `${TEMP_PREFIX}${randomUUID()}`);
  let handle;
  try {
    handle = await open(temp, 'wx', 0o666);
  } catch (err) {
    throw mapFs(err, 'write');
  }
  let closed = false;
  try {
    let size = 0;
    if (source) {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > limit) throw new DavError('PAYLOAD_TOO_LARGE', `The upload exceeds ${limit} bytes`, { connection: 'close' });
        await handle.write(chunk);
      }
    }
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temp, target);
  } catch (err) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw mapFs(err, 'write');
  }
  // Make the rename itself durable; not every platform can fsync a directory.
  const dirHandle = await open(dir, 'r').catch(() => undefined);
  if (dirHandle)
    await dirHandle
      .sync()
      .catch(() => undefined)
      .finally(() => dirHandle.close().catch(() => undefined));
}

async function handlePut(ctx: Ctx, maxUploadBytes: number): Promise<void> {
  readOnlyGuard(ctx);
  if (ctx.request.headers['content-range'] !== undefined) {
    throw new DavError('CONTENT_RANGE_NOT_SUPPORTED', 'Partial PUT (Content-Range) is not supported');
  }
  const declared = Number(ctx.request.headers['content-length'] ?? '0');
  if (declared > maxUploadBytes) {
    throw new DavError('PAYLOAD_TOO_LARGE', `The upload exceeds ${maxUploadBytes} bytes`, { connection: 'close' });
  }
  const { absPath, rootIsFile } = await locate(ctx, ctx.rel);
  if (!rootIsFile && ctx.rel.length === 0) {
    throw new DavError('IS_COLLECTION', 'Cannot PUT onto a collection', { allow: allowFor('collection', false) });
  }
  const existing = await statOrNull(absPath);
  if (existing?.isDirectory()) {
    throw new DavError('IS_COLLECTION', 'Cannot PUT onto a collection', { allow: allowFor('collection', false) });
  }
  if (existing && !existing.isFile()) throw new DavError('UNSUPPORTED_FILE_TYPE', 'Only files and collections are served');
  // Write through a symlink (already confined by `locate`) rather than replacing the link.
  const writePath = existing ? await realpath(absPath) : absPath;
  if (!existing) await requireParentCollection(absPath);

  await writeAtomically(writePath, bodyStream(ctx.request), maxUploadBytes);
  const written = await statOrNull(writePath);
  if (written) ctx.reply.header('etag', etagOf(written));
  ctx.reply.code(existing ? 204 : 201).send();
}

// ---------------------------------------------------------------------------
// MKCOL / DELETE

async function handleMkcol(ctx: Ctx): Promise<void> {
  readOnlyGuard(ctx);
  if (hasRequestBody(ctx.request)) throw new DavError('UNSUPPORTED_MEDIA_TYPE', 'MKCOL with a request body is not supported');
  const { absPath, rootIsFile } = await locate(ctx, ctx.rel);
  if (rootIsFile || ctx.rel.length === 0) {
    throw new DavError('ALREADY_EXISTS', 'The resource already exists', {
      allow: allowFor(rootIsFile ? 'file' : 'collection', false),
    });
  }
  try {
    await mkdir(absPath);
  } catch (err) {
    throw mapFs(err, 'write');
  }
  ctx.reply.code(201).send();
}

async function handleDelete(ctx: Ctx): Promise<void> {
  readOnlyGuard(ctx);
  if (ctx.rel.length === 0) throw new DavError('CANNOT_DELETE_ROOT', 'The shared root itself cannot be deleted');
  const depth = parseDepth(ctx.request, 'infinity');
  const { absPath } = await locate(ctx, ctx.rel);
  const st = await statOrNull(absPath, false);
  if (!st) throw new DavError('NOT_FOUND', 'No such resource');
  if (st.isDirectory() && depth !== 'infinity') throw new DavError('BAD_DEPTH', 'DELETE of a collection requires Depth: infinity');
  try {
    await rm(absPath, { recursive: true });
  } catch (err) {
    throw mapFs(err, 'read');
  }
  ctx.reply.code(204).send();
}

// ---------------------------------------------------------------------------
// MOVE

function destinationSegments(ctx: Ctx, prefixSegments: readonly string[]): string[] {
  const header = ctx.request.headers['destination'];
  if (header === undefined || header === '') throw new DavError('MISSING_DESTINATION', 'MOVE requires a Destination header');
  const destination = String(header);
  const parsed = destinationPath(destination, ctx.request.host);
  if (!parsed.ok) {
    if (parsed.problem === 'other-server') throw new DavError('DESTINATION_OTHER_SERVER', 'The Destination is on another server');
    throw new DavError(
      'BAD_DESTINATION',
      parsed.problem === 'not-a-url'
        ? 'The Destination header is not a valid URL'
        : 'The Destination must be an absolute URL or an absolute path',
    );
  }
  const rawPath = parsed.rawPath;
  const segments = segmentsAfterPrefix(rawPath, prefixSegments);
  const n = ctx.targetSegments.length;
  if (!segments || segments.length < n || ctx.targetSegments.some((s, i) => segments[i] !== s)) {
    throw new DavError('DESTINATION_OUTSIDE_TARGET', 'The Destination must stay inside the same shared resource');
  }
  return segments.slice(n);
}

async function handleMove(ctx: Ctx, prefixSegments: readonly string[]): Promise<void> {
  readOnlyGuard(ctx);
  if (ctx.rel.length === 0) throw new DavError('CANNOT_MOVE_ROOT', 'The shared root itself cannot be moved');
  const overwriteHeader = ctx.request.headers['overwrite'];
  const overwrite = overwriteHeader === undefined ? 'T' : String(overwriteHeader).trim().toUpperCase();
  if (overwrite !== 'T' && overwrite !== 'F') throw new DavError('BAD_OVERWRITE', 'Overwrite must be T or F');
  const destRel = destinationSegments(ctx, prefixSegments);
  if (destRel.length === 0) throw new DavError('DESTINATION_IS_ROOT', 'The shared root cannot be replaced');
  if (destRel.length === ctx.rel.length && destRel.every((s, i) => s === ctx.rel[i])) {
    throw new DavError('SAME_SOURCE_AND_DESTINATION', 'Source and Destination are the same');
  }
  if (destRel.length > ctx.rel.length && ctx.rel.every((s, i) => s === destRel[i])) {
    throw new DavError('DESTINATION_INSIDE_SOURCE', 'A collection cannot be moved into itself');
  }

  const source = await locate(ctx, ctx.rel);
  const sourceStat = await statOrNull(source.absPath, false);
  if (!sourceStat) throw new DavError('NOT_FOUND', 'No such resource');
  const depth = parseDepth(ctx.request, 'infinity');
  if (sourceStat.isDirectory() && depth !== 'infinity') throw new DavError('BAD_DEPTH', 'MOVE of a collection requires Depth: infinity');

  const dest = await locate(ctx, destRel);
  await requireParentCollection(dest.absPath);
  const destStat = await statOrNull(dest.absPath, false);
  if (destStat && overwrite === 'F') throw new DavError('DESTINATION_EXISTS', 'The Destination exists and Overwrite is F');
  try {
    // rename(2) replaces a file atomically; anything else at the destination is removed first (RFC 4918 §9.9.3).
    if (destStat && (destStat.isDirectory() || sourceStat.isDirectory())) await rm(dest.absPath, { recursive: true });
    await rename(source.absPath, dest.absPath);
  } catch (err) {
    if (errnoCode(err) === 'EINVAL') throw new DavError('DESTINATION_INSIDE_SOURCE', 'A collection cannot be moved into itself');
    throw mapFs(err, 'write');
  }
  ctx.reply.code(destStat ? 204 : 201).send();
}

// ---------------------------------------------------------------------------
// The plugin

function sendError(reply: FastifyReply, status: number, body: DavErrorBody, headers: Record<string, string> = {}): void {
  reply.code(status).headers(headers).type('application/json').send(JSON.stringify(body));
}

function toDavError(err: unknown): DavError {
  if (err instanceof DavError) return err;
  const mapped = fromFsError(err, 'read');
  if (mapped) return mapped;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (status === 415) return new DavError('UNSUPPORTED_MEDIA_TYPE', (err as Error).message);
  if (status === 413) return new DavError('PAYLOAD_TOO_LARGE', (err as Error).message, { connection: 'close' });
  if (typeof status === 'number' && status >= 400 && status < 500) return new DavError('BAD_REQUEST', (err as Error).message);
  return new DavError('INTERNAL_ERROR', 'Internal server error');
}

export const davPlugin: FastifyPluginAsync<DavPluginOptions> = async (app, opts) => {
  if (typeof opts.resolve !== 'function') throw new TypeError('davPlugin: options.resolve must be a function');
  const maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 0) {
    throw new TypeError('davPlugin: options.maxUploadBytes must be a non-negative integer');
  }
  const prefixSegments = app.prefix.split('/').filter((s) => s !== '');

  // Methods are global to the fastify instance; another registration may have added them already.
  for (const [method, hasBody] of EXTRA_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody });
  }

  // In this scope only: no JSON/text parsing, every body is handed through as the raw stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.setErrorHandler((err, request, reply) => {
    const dav = toDavError(err);
    // Only INTERNAL_ERROR is a fault here; other 5xx are answers (502 for a Destination elsewhere, 507 for a full disk).
    if (dav.code === 'INTERNAL_ERROR') request.log.error({ err }, 'webdav: internal error');
    else if (dav.status >= 500) request.log.warn({ status: dav.status, code: dav.code, reason: dav.message }, 'webdav: request failed');
    sendError(reply, dav.status, { code: dav.code, message: dav.message }, dav.headers);
  });

  app.setNotFoundHandler((request, reply) => {
    if (!(DAV_METHODS as readonly string[]).includes(request.method)) {
      sendError(
        reply,
        405,
        { code: 'METHOD_NOT_ALLOWED', message: `${request.method} is not supported here` },
        { allow: allowFor('any', false) },
      );
    } else {
      sendError(reply, 404, { code: 'NOT_FOUND', message: 'No such resource' });
    }
  });

  const dispatch = (ctx: Ctx, method: Exclude<DavMethod, 'OPTIONS'>): Promise<void> => {
    switch (method) {
      case 'PROPFIND':
        return handlePropfind(ctx);
      case 'GET':
        return handleGet(ctx, false);
      case 'HEAD':
        return handleGet(ctx, true);
      case 'PUT':
        return handlePut(ctx, maxUploadBytes);
      case 'MKCOL':
        return handleMkcol(ctx);
      case 'DELETE':
        return handleDelete(ctx);
      case 'MOVE':
        return handleMove(ctx, prefixSegments);
    }
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const segments = segmentsAfterPrefix(pathOf(request.url), prefixSegments);
    if (!segments) throw new DavError('NOT_FOUND', 'No such resource');
    const method = request.method as DavMethod;

    if (method === 'OPTIONS') {
      return reply
        .code(200)
        .headers({ dav: '1', allow: allowFor('any', false), 'content-length': '0' })
        .send();
    }

    const resolved = await opts.resolve(request, segments);
    if (!resolved.ok) {
      sendError(reply, resolved.status, { code: resolved.code, message: resolved.message }, resolved.headers);
      return reply;
    }
    const { consumed, target } = resolved;
    if (!Number.isInteger(consumed) || consumed < 0 || consumed > segments.length) {
      throw new Error(`davPlugin: resolve returned consumed=${consumed} for ${segments.length} segments`);
    }
    const targetSegments = segments.slice(0, consumed);
    const ctx: Ctx = {
      request,
      reply,
      target,
      targetSegments,
      rel: segments.slice(consumed),
      hrefBase: [...prefixSegments, ...targetSegments],
    };

    await dispatch(ctx, method);
    // With an async handler, fastify only waits for a streamed body when the reply itself is returned.
    return reply;
  };

  app.route({ method: [...DAV_METHODS], url: '/', handler });
  app.route({ method: [...DAV_METHODS], url: '/*', handler });
};
