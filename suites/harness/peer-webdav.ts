/**
 * The peer's own minimal WebDAV responder: what a simulated OCM peer needs
 * for a target to read (and, for an editor share, write) what it was shared.
 *
 *   OPTIONS, PROPFIND (Depth 0 or 1; infinity is 403), GET, HEAD, PUT.
 *   MKCOL, DELETE and MOVE are 403 on a read-only share and 405 otherwise.
 *
 * It is deliberately not the reference's WebDAV engine (reference/webdav/):
 * the judge serves its files with code of its own, so the two cannot share a
 * bug. Authorisation is the caller's (`resolve`). Paths are split before
 * percent-decoding, every segment must be a plain name, and the resolved path
 * must stay inside the share's root (symlinks included). Bodies are small
 * fixtures, so they are buffered.
 */
import type { Stats } from 'node:fs';
import { readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

export type PeerDavResolution =
  | { ok: true; target: { root: string; readOnly: boolean }; consumed: number }
  | { ok: false; status: number; code: string; message: string };

export interface PeerDavOptions {
  /** `segments` are the decoded path segments after the prefix. */
  resolve(request: FastifyRequest, segments: string[]): Promise<PeerDavResolution>;
}

const ALLOW = 'OPTIONS, PROPFIND, GET, HEAD, PUT';
const MAX_PUT_BYTES = 16 * 1024 * 1024;

function plainName(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\0]/.test(segment);
}

function decodedSegments(rawPath: string): string[] | undefined {
  try {
    return rawPath
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function entryXml(href: string, info: Stats): string {
  const props = info.isDirectory()
    ? '<d:resourcetype><d:collection/></d:resourcetype>'
    : `<d:resourcetype/><d:getcontentlength>${info.size}</d:getcontentlength><d:getcontenttype>application/octet-stream</d:getcontenttype>`;
  return (
    `<d:response><d:href>${escapeXml(href)}</d:href><d:propstat><d:prop>${props}` +
    `<d:getlastmodified>${info.mtime.toUTCString()}</d:getlastmodified><d:getetag>"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"</d:getetag>` +
    `</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
  );
}

function hrefOf(segments: readonly string[], collection: boolean): string {
  const href = `/${segments.map(encodeURIComponent).join('/')}`;
  return collection ? `${href}/` : href;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ code, message });
}

/** The file or folder a request names, confined to the share's root; undefined when it is outside or missing. */
async function locate(root: string, rest: readonly string[]): Promise<{ path: string; info: Stats } | undefined> {
  const wanted = join(root, ...rest);
  try {
    const [real, realRoot] = await Promise.all([realpath(wanted), realpath(root)]);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
    return { path: real, info: await stat(real) };
  } catch {
    return undefined;
  }
}

export const peerWebdav: FastifyPluginAsync<PeerDavOptions> = async (app, options) => {
  for (const method of ['PROPFIND', 'MKCOL', 'MOVE'])
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_PUT_BYTES }, (_request, body, done) => done(null, body));
  const prefixSegments = app.prefix.split('/').filter(Boolean);

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'OPTIONS') return reply.code(200).header('allow', ALLOW).header('dav', '1').send();
    const segments = decodedSegments(request.url.split('?')[0]!);
    if (!segments) return refuse(reply, 400, 'BAD_PATH', 'the path contains malformed percent-encoding');
    const after = segments.slice(prefixSegments.length);
    if (!after.every(plainName)) return refuse(reply, 400, 'PATH_NOT_ALLOWED', 'path segments must be plain names');
    const resolved = await options.resolve(request, after);
    if (!resolved.ok) return refuse(reply, resolved.status, resolved.code, resolved.message);
    const { root, readOnly } = resolved.target;
    const rest = after.slice(resolved.consumed);
    const hrefBase = [...prefixSegments, ...after.slice(0, resolved.consumed)];

    if (request.method === 'PUT') {
      if (readOnly) return refuse(reply, 403, 'READ_ONLY', 'the share is read-only');
      const parent = await locate(root, rest.slice(0, -1));
      if (!parent) return refuse(reply, 409, 'NO_PARENT', 'the parent folder does not exist');
      const file = parent.info.isDirectory() ? join(parent.path, rest[rest.length - 1] ?? '') : parent.path;
      if (rest.length === 0 && parent.info.isDirectory()) return refuse(reply, 405, 'IS_COLLECTION', 'cannot PUT over a folder');
      const existing = await locate(root, rest);
      if (existing?.info.isDirectory()) return refuse(reply, 405, 'IS_COLLECTION', 'cannot PUT over a folder');
      await writeFile(file, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
      return reply.code(existing ? 204 : 201).send();
    }
    if (!['PROPFIND', 'GET', 'HEAD'].includes(request.method)) {
      if (readOnly) return refuse(reply, 403, 'READ_ONLY', 'the share is read-only');
      return reply
        .code(405)
        .header('allow', ALLOW)
        .type('application/json')
        .send({ code: 'NOT_SUPPORTED', message: `the peer does not do ${request.method}` });
    }

    const found = await locate(root, rest);
    if (!found) return refuse(reply, 404, 'NOT_FOUND', 'no such resource');
    if (request.method === 'PROPFIND') {
      const depth = String(request.headers.depth ?? '1')
        .trim()
        .toLowerCase();
      if (depth !== '0' && depth !== '1') return refuse(reply, 403, 'PROPFIND_FINITE_DEPTH', 'only Depth 0 and 1 are answered');
      const here = [...hrefBase, ...rest];
      const entries = [entryXml(hrefOf(here, found.info.isDirectory()), found.info)];
      if (depth === '1' && found.info.isDirectory()) {
        for (const name of (await readdir(found.path)).sort()) {
          const child = await locate(root, [...rest, name]);
          if (child && plainName(name)) entries.push(entryXml(hrefOf([...here, name], child.info.isDirectory()), child.info));
        }
      }
      const xml = `<?xml version="1.0" encoding="UTF-8"?><d:multistatus xmlns:d="DAV:">${entries.join('')}</d:multistatus>`;
      return reply.code(207).type('application/xml; charset=utf-8').send(xml);
    }
    if (found.info.isDirectory()) return refuse(reply, 405, 'IS_COLLECTION', `${basename(found.path)} is a folder: list it with PROPFIND`);
    const bytes = await readFile(found.path);
    reply.code(200).type('application/octet-stream').header('content-length', bytes.length);
    return request.method === 'HEAD' ? reply.send() : reply.send(bytes);
  };

  app.route({ method: ['OPTIONS', 'PROPFIND', 'GET', 'HEAD', 'PUT', 'MKCOL', 'DELETE', 'MOVE'], url: '/', handler: handle });
  app.route({ method: ['OPTIONS', 'PROPFIND', 'GET', 'HEAD', 'PUT', 'MKCOL', 'DELETE', 'MOVE'], url: '/*', handler: handle });
};
