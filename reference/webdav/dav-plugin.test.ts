/**
 * The WebDAV plugin end to end, through `app.inject()` (and a real socket for
 * the raw-path traversal cases: inject normalises `..` before fastify sees it).
 *
 * Each test gets a fresh tree and app:
 *   <tmp>/alice/{hello.txt, blob.bin, folder/{a.txt, b.md}, link-in -> folder,
 *                escape -> ../outside, escape-file -> ../outside/secret.txt}
 *   <tmp>/outside/secret.txt       never served
 *   <tmp>/shared/report.txt        exposed alone, read-only, at /dav/share/file-token
 *   <tmp>/shared/ro/{x.txt}        exposed read-only at /dav/share/ro-folder
 * `/dav/files/{user}/…` needs HTTP Basic alice:secret and only serves alice's space.
 */
import { test as base, expect } from '@playwright/test';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type InjectOptions,
  type LightMyRequestResponse,
} from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { capturingLogger } from '../testing/log-capture.ts';
import { socketRequest, type RawResponse } from '../testing/raw-request.ts';
import { davPlugin, type DavResolveResult } from './dav-plugin.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-ROOT';
const HELLO = 'Hello, WebDAV!\n';
const MAX_UPLOAD = 256 * 1024;
const AUTH = { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };

interface DavFixture {
  app: FastifyInstance;
  tmp: string;
  alice: string;
  blob: Buffer;
  inject(method: string, url: string, extra?: Omit<InjectOptions, 'method' | 'url'>): Promise<LightMyRequestResponse>;
}

function basicUser(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const [user, password] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return user === 'alice' && password === 'secret' ? user : undefined;
}

async function createFixture(logger?: pino.Logger): Promise<DavFixture> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'dav-plugin-'));
  const alice = path.join(tmp, 'alice');
  await mkdir(path.join(alice, 'folder'), { recursive: true });
  await mkdir(path.join(tmp, 'outside'));
  await mkdir(path.join(tmp, 'shared', 'ro'), { recursive: true });
  const blob = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(64 * 1024)]);
  await writeFile(path.join(alice, 'hello.txt'), HELLO);
  await writeFile(path.join(alice, 'blob.bin'), blob);
  await writeFile(path.join(alice, 'folder', 'a.txt'), 'A');
  await writeFile(path.join(alice, 'folder', 'b.md'), '# B');
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), SECRET);
  await writeFile(path.join(tmp, 'shared', 'report.txt'), 'quarterly report');
  await writeFile(path.join(tmp, 'shared', 'ro', 'x.txt'), 'x');
  await symlink('folder', path.join(alice, 'link-in'));
  await symlink('../outside', path.join(alice, 'escape'));
  await symlink('../outside/secret.txt', path.join(alice, 'escape-file'));

  const loggerInstance: FastifyBaseLogger | undefined = logger;
  const app = Fastify(loggerInstance ? { loggerInstance } : {});
  await app.register(davPlugin, {
    prefix: '/dav/files',
    maxUploadBytes: MAX_UPLOAD,
    async resolve(request, segments): Promise<DavResolveResult> {
      const user = basicUser(request);
      if (!user) {
        return {
          ok: false,
          status: 401,
          code: 'UNAUTHENTICATED',
          message: 'Credentials required',
          headers: { 'www-authenticate': 'Basic realm="test"' },
        };
      }
      if (segments[0] !== user) return { ok: false, status: 403, code: 'FORBIDDEN', message: 'Not your space' };
      return { ok: true, target: { root: alice, readOnly: false }, consumed: 1 };
    },
  });
  await app.register(davPlugin, {
    prefix: '/dav/share',
    async resolve(_request, segments): Promise<DavResolveResult> {
      if (segments[0] === 'file-token') {
        return { ok: true, target: { root: path.join(tmp, 'shared', 'report.txt'), readOnly: true }, consumed: 1 };
      }
      if (segments[0] === 'ro-folder') {
        return { ok: true, target: { root: path.join(tmp, 'shared', 'ro'), readOnly: true }, consumed: 1 };
      }
      return { ok: false, status: 404, code: 'SHARE_NOT_FOUND', message: 'No such share' };
    },
  });
  await app.ready();
  return {
    app,
    tmp,
    alice,
    blob,
    inject: (method, url, extra = {}) =>
      app.inject({ ...extra, method: method as InjectOptions['method'], url, headers: { ...AUTH, ...(extra.headers ?? {}) } }),
  };
}

const test = base.extend<{ dav: DavFixture }>({
  // eslint-disable-next-line no-empty-pattern
  dav: async ({}, use) => {
    const fixture = await createFixture();
    await use(fixture);
    await fixture.app.close();
    await rm(fixture.tmp, { recursive: true, force: true });
  },
});

// ---------------------------------------------------------------------------
// Helpers

const xml = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (name) => ['response', 'propstat'].includes(name),
});

interface DavResponse {
  href: string;
  propstat: Array<{ prop: Record<string, unknown>; status: string }>;
}

function multistatus(body: string): DavResponse[] {
  const doc = xml.parse(body) as { multistatus: { response: DavResponse[] } };
  return doc.multistatus.response;
}

function propsOf(response: DavResponse, status = 'HTTP/1.1 200 OK'): Record<string, unknown> {
  return response.propstat.find((p) => p.status === status)?.prop ?? {};
}

function expectJsonError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code?: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { code: unknown; message: unknown };
  expect(typeof body.code).toBe('string');
  expect(typeof body.message).toBe('string');
  if (code) expect(body.code).toBe(code);
  expect(res.body).not.toContain(SECRET);
}

/** A request over a real socket with the path sent byte for byte (inject would normalise `..`). */
const rawRequest = (
  app: FastifyInstance,
  method: string,
  rawPath: string,
  headers: Record<string, string> = AUTH,
  body?: Buffer[],
): Promise<RawResponse> => socketRequest(app, { host: '127.0.0.1', method, path: rawPath, headers, body });

// ---------------------------------------------------------------------------

test.describe('OPTIONS and routing', () => {
  test('OPTIONS advertises DAV class 1 and the methods', async ({ dav }) => {
    const res = await dav.app.inject({ method: 'OPTIONS', url: '/dav/files/alice/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['dav']).toBe('1');
    expect(String(res.headers['allow']).split(', ')).toEqual(['OPTIONS', 'PROPFIND', 'GET', 'HEAD', 'PUT', 'MKCOL', 'DELETE', 'MOVE']);
  });

  test('registering the plugin twice adds the WebDAV methods once, without deprecation warnings', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void warnings.push(w.code ?? w.message);
    process.on('warning', onWarning);
    const app = Fastify();
    const resolve = async (): Promise<DavResolveResult> => ({ ok: false, status: 404, code: 'NONE', message: 'none' });
    await app.register(davPlugin, { prefix: '/a', resolve });
    await app.register(davPlugin, { prefix: '/b', resolve });
    await app.ready();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('FSTDEP025');
    for (const m of ['PROPFIND', 'MKCOL', 'MOVE']) expect(app.supportedMethods.filter((s) => s === m)).toHaveLength(1);
    expect((await app.inject({ method: 'PROPFIND', url: '/b/x' })).statusCode).toBe(404);
    await app.close();
  });

  test('options are validated at registration', async () => {
    const app = Fastify();
    await expect(app.register(davPlugin, { prefix: '/x' } as never).ready()).rejects.toThrow(/resolve/);
    await app.close();
  });

  test('other methods under the prefix get a JSON 405 with Allow', async ({ dav }) => {
    for (const method of ['POST', 'PATCH', 'LOCK', 'COPY']) {
      const res = await dav.inject(method, '/dav/files/alice/hello.txt');
      expectJsonError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers['allow']).toContain('PROPFIND');
    }
  });
});

test.describe('authorisation through resolve', () => {
  test('no credentials: the resolver answer (401 + WWW-Authenticate) is sent as is', async ({ dav }) => {
    for (const method of ['PROPFIND', 'GET', 'PUT', 'DELETE']) {
      const res = await dav.app.inject({ method: method as InjectOptions['method'], url: '/dav/files/alice/hello.txt' });
      expectJsonError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toBe('Basic realm="test"');
    }
    expect(await readFile(path.join(dav.alice, 'hello.txt'), 'utf8')).toBe(HELLO);
  });

  test('wrong password is 401, another user space is 403 from resolve', async ({ dav }) => {
    const wrong = { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` };
    expectJsonError(await dav.app.inject({ method: 'GET', url: '/dav/files/alice/hello.txt', headers: wrong }), 401, 'UNAUTHENTICATED');
    expectJsonError(await dav.inject('GET', '/dav/files/bob/hello.txt'), 403, 'FORBIDDEN');
  });

  test('resolve sees the decoded segments after the prefix', async () => {
    const seen: string[][] = [];
    const app = Fastify();
    await app.register(davPlugin, {
      prefix: '/p',
      resolve: async (_r, segments) => {
        seen.push(segments);
        return { ok: false, status: 404, code: 'X', message: 'x' };
      },
    });
    await app.inject({ method: 'GET', url: '/p/a%20b/%C3%A4/c/' });
    await app.inject({ method: 'GET', url: '/p' });
    await app.inject({ method: 'GET', url: '/p/' });
    expect(seen).toEqual([['a b', 'ä', 'c'], [], []]);
    await app.close();
  });
});

test.describe('PROPFIND', () => {
  test('Depth 0 on the space answers the collection only', async ({ dav }) => {
    const res = await dav.inject('PROPFIND', '/dav/files/alice', { headers: { depth: '0' } });
    expect(res.statusCode).toBe(207);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    const responses = multistatus(res.body);
    expect(responses.map((r) => r.href)).toEqual(['/dav/files/alice/']);
    const props = propsOf(responses[0]!);
    expect(props['resourcetype']).toEqual({ collection: '' });
    expect(props).not.toHaveProperty('getcontentlength');
    expect(String(props['getetag'])).toMatch(/^".+"$/);
  });

  test('Depth 1 (the default) lists children, leaves escaping symlinks out', async ({ dav }) => {
    for (const headers of [{ depth: '1' }, {}]) {
      const res = await dav.inject('PROPFIND', '/dav/files/alice/', { headers });
      expect(res.statusCode).toBe(207);
      expect(res.body).toContain('xmlns:d="DAV:"');
      const hrefs = multistatus(res.body).map((r) => r.href);
      expect(hrefs).toEqual([
        '/dav/files/alice/',
        '/dav/files/alice/blob.bin',
        '/dav/files/alice/folder/',
        '/dav/files/alice/hello.txt',
        '/dav/files/alice/link-in/',
      ]);
    }
  });

  test('file properties are complete and consistent with GET', async ({ dav }) => {
    const res = await dav.inject('PROPFIND', '/dav/files/alice/hello.txt', { headers: { depth: '1' } });
    const responses = multistatus(res.body);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.href).toBe('/dav/files/alice/hello.txt');
    const props = propsOf(responses[0]!);
    expect(props['getcontentlength']).toBe(String(Buffer.byteLength(HELLO)));
    expect(props['getcontenttype']).toBe('text/plain');
    expect(props['resourcetype']).toBe('');
    expect(String(props['getlastmodified'])).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const mtime = (await stat(path.join(dav.alice, 'hello.txt'))).mtime;
    expect(new Date(String(props['getlastmodified'])).getTime()).toBe(Math.floor(mtime.getTime() / 1000) * 1000);
    const get = await dav.inject('GET', '/dav/files/alice/hello.txt');
    expect(get.headers['etag']).toBe(props['getetag']);
    expect(get.headers['last-modified']).toBe(props['getlastmodified']);
  });

  test('a sub-collection is listed with its own href base', async ({ dav }) => {
    const res = await dav.inject('PROPFIND', '/dav/files/alice/folder', { headers: { depth: '1' } });
    expect(multistatus(res.body).map((r) => r.href)).toEqual([
      '/dav/files/alice/folder/',
      '/dav/files/alice/folder/a.txt',
      '/dav/files/alice/folder/b.md',
    ]);
  });

  test('hrefs are percent-encoded', async ({ dav }) => {
    await writeFile(path.join(dav.alice, 'ä b#%.txt'), 'odd');
    const res = await dav.inject('PROPFIND', '/dav/files/alice/', { headers: { depth: '1' } });
    const hrefs = multistatus(res.body).map((r) => r.href);
    expect(hrefs).toContain('/dav/files/alice/%C3%A4%20b%23%25.txt');
    const get = await dav.inject('GET', '/dav/files/alice/%C3%A4%20b%23%25.txt');
    expect(get.body).toBe('odd');
  });

  test('a prop request answers known props with 200 and unknown ones with 404 in their namespace', async ({ dav }) => {
    const body =
      '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns">' +
      '<D:prop><D:getetag/><D:getcontentlength/><oc:fileid/></D:prop></D:propfind>';
    const res = await dav.inject('PROPFIND', '/dav/files/alice/folder', {
      headers: { depth: '1', 'content-type': 'application/xml' },
      payload: body,
    });
    expect(res.statusCode).toBe(207);
    const [folder, file] = multistatus(res.body);
    expect(Object.keys(propsOf(folder!))).toEqual(['getetag']);
    expect(Object.keys(propsOf(folder!, 'HTTP/1.1 404 Not Found')).sort()).toEqual(['fileid', 'getcontentlength']);
    expect(Object.keys(propsOf(file!))).toEqual(['getetag', 'getcontentlength']);
    expect(res.body).toMatch(/<x\d+:fileid xmlns:x\d+="http:\/\/owncloud.org\/ns"\/>/);
  });

  test('a default-namespace body and propname are understood', async ({ dav }) => {
    const res = await dav.inject('PROPFIND', '/dav/files/alice/hello.txt', {
      headers: { depth: '0', 'content-type': 'text/xml' },
      payload: '<propfind xmlns="DAV:"><propname/></propfind>',
    });
    expect(res.statusCode).toBe(207);
    const props = propsOf(multistatus(res.body)[0]!);
    expect(Object.keys(props).sort()).toEqual(['getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'resourcetype']);
    expect(Object.values(props).every((v) => v === '')).toBe(true);
  });

  test('malformed or foreign XML bodies are 400', async ({ dav }) => {
    for (const payload of [
      '<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>',
      'not xml at all',
      '<propfind/>',
      '<D:propfind xmlns:D="urn:not-dav"/>',
      '<x:propfind/>',
      '<!DOCTYPE d [<!ENTITY x "y">]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
      '<D:propfind xmlns:D="DAV:"/><D:propfind xmlns:D="DAV:"/>',
    ]) {
      const res = await dav.inject('PROPFIND', '/dav/files/alice/', { headers: { 'content-type': 'application/xml' }, payload });
      expectJsonError(res, 400, 'BAD_PROPFIND');
    }
  });

  test('Depth: infinity is refused with 403, a bogus Depth with 400', async ({ dav }) => {
    expectJsonError(await dav.inject('PROPFIND', '/dav/files/alice/', { headers: { depth: 'infinity' } }), 403, 'PROPFIND_FINITE_DEPTH');
    expectJsonError(await dav.inject('PROPFIND', '/dav/files/alice/', { headers: { depth: '2' } }), 400, 'BAD_DEPTH');
  });

  test('a missing resource is 404', async ({ dav }) => {
    expectJsonError(await dav.inject('PROPFIND', '/dav/files/alice/nope'), 404, 'NOT_FOUND');
    expectJsonError(await dav.inject('PROPFIND', '/dav/files/alice/hello.txt/child'), 404, 'NOT_FOUND');
  });
});

test.describe('server faults', () => {
  test('a throwing resolver is a JSON 500 that does not leak the error', async () => {
    const app = Fastify({ logger: false });
    await app.register(davPlugin, {
      prefix: '/p',
      resolve: async () => {
        throw new Error('boom: /secret/path');
      },
    });
    const res = await app.inject({ method: 'GET', url: '/p/x' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal server error' });
    await app.close();
  });

  test('an internal error is logged at error level with its stack', async () => {
    const { logger, lines } = capturingLogger();
    const app = Fastify({ loggerInstance: logger });
    await app.register(davPlugin, {
      prefix: '/p',
      resolve: async () => {
        throw new Error('boom: /secret/path');
      },
    });
    expect((await app.inject({ method: 'GET', url: '/p/x' })).statusCode).toBe(500);
    const errors = lines.filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: 'webdav: internal error', err: { message: 'boom: /secret/path' } });
    expect(errors[0]!.err!.stack).toContain('boom');
    await app.close();
  });

  test('leftover upload temp files are not listed', async ({ dav }) => {
    await writeFile(path.join(dav.alice, '.dav-upload-leftover'), 'partial');
    const res = await dav.inject('PROPFIND', '/dav/files/alice/', { headers: { depth: '1' } });
    expect(res.body).not.toContain('dav-upload');
  });
});

test.describe('GET and HEAD', () => {
  test('GET returns the exact bytes of text and binary files', async ({ dav }) => {
    const text = await dav.inject('GET', '/dav/files/alice/hello.txt');
    expect(text.statusCode).toBe(200);
    expect(text.body).toBe(HELLO);
    expect(text.headers['content-type']).toBe('text/plain');
    expect(text.headers['content-length']).toBe(String(Buffer.byteLength(HELLO)));

    const bin = await dav.inject('GET', '/dav/files/alice/blob.bin');
    expect(bin.statusCode).toBe(200);
    expect(bin.headers['content-type']).toBe('application/octet-stream');
    expect(bin.headers['content-length']).toBe(String(dav.blob.length));
    expect(Buffer.compare(bin.rawPayload, dav.blob)).toBe(0);
  });

  test('HEAD sends the GET headers without a body', async ({ dav }) => {
    const get = await dav.inject('GET', '/dav/files/alice/blob.bin');
    const head = await dav.inject('HEAD', '/dav/files/alice/blob.bin');
    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
    for (const h of ['content-length', 'etag', 'last-modified', 'content-type']) expect(head.headers[h], h).toBe(get.headers[h]);
  });

  test('If-None-Match with the current ETag is 304', async ({ dav }) => {
    const get = await dav.inject('GET', '/dav/files/alice/hello.txt');
    const again = await dav.inject('GET', '/dav/files/alice/hello.txt', { headers: { 'if-none-match': String(get.headers['etag']) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  test('GET on a collection is 405 IS_COLLECTION (listings are PROPFIND)', async ({ dav }) => {
    const res = await dav.inject('GET', '/dav/files/alice/folder/');
    expectJsonError(res, 405, 'IS_COLLECTION');
    expect(res.headers['allow']).toContain('PROPFIND');
  });

  test('a symlink that stays inside the root is served', async ({ dav }) => {
    expect((await dav.inject('GET', '/dav/files/alice/link-in/a.txt')).body).toBe('A');
  });

  test('missing files and paths below files are 404', async ({ dav }) => {
    expectJsonError(await dav.inject('GET', '/dav/files/alice/nope.txt'), 404, 'NOT_FOUND');
    expectJsonError(await dav.inject('GET', '/dav/files/alice/hello.txt/child'), 404, 'NOT_FOUND');
  });
});

test.describe('PUT', () => {
  test('creates with 201 and replaces with 204, byte for byte', async ({ dav }) => {
    const created = await dav.inject('PUT', '/dav/files/alice/folder/new.bin', { payload: dav.blob });
    expect(created.statusCode).toBe(201);
    expect(created.headers['etag']).toMatch(/^".+"$/);
    expect(Buffer.compare(await readFile(path.join(dav.alice, 'folder', 'new.bin')), dav.blob)).toBe(0);

    const replaced = await dav.inject('PUT', '/dav/files/alice/folder/new.bin', { payload: 'short' });
    expect(replaced.statusCode).toBe(204);
    expect(replaced.headers['etag']).not.toBe(created.headers['etag']);
    expect((await dav.inject('GET', '/dav/files/alice/folder/new.bin')).body).toBe('short');
  });

  test('bodies of any content type are stored verbatim, never parsed', async ({ dav }) => {
    for (const [type, payload] of [
      ['application/json', '{"not": valid json'],
      ['text/plain; charset=utf-8', 'plain'],
      ['application/xml', '<a>'],
      ['application/x-www-form-urlencoded', 'a=1&b=2'],
    ] as const) {
      const res = await dav.inject('PUT', '/dav/files/alice/upload.dat', { headers: { 'content-type': type }, payload });
      expect(res.statusCode, type).toBeLessThan(300);
      expect(await readFile(path.join(dav.alice, 'upload.dat'), 'utf8')).toBe(payload);
    }
  });

  test('an empty PUT creates an empty file', async ({ dav }) => {
    expect((await dav.inject('PUT', '/dav/files/alice/empty.txt')).statusCode).toBe(201);
    expect((await stat(path.join(dav.alice, 'empty.txt'))).size).toBe(0);
  });

  test('the parent must exist (409); a collection cannot be overwritten (405)', async ({ dav }) => {
    expectJsonError(await dav.inject('PUT', '/dav/files/alice/missing/x.txt', { payload: 'x' }), 409, 'PARENT_MISSING');
    expectJsonError(await dav.inject('PUT', '/dav/files/alice/hello.txt/x.txt', { payload: 'x' }), 409, 'CONFLICT');
    expectJsonError(await dav.inject('PUT', '/dav/files/alice/folder', { payload: 'x' }), 405, 'IS_COLLECTION');
    expectJsonError(await dav.inject('PUT', '/dav/files/alice/', { payload: 'x' }), 405, 'IS_COLLECTION');
  });

  test('too large uploads are 413 and leave nothing behind', async ({ dav }) => {
    const res = await dav.inject('PUT', '/dav/files/alice/big.bin', { payload: Buffer.alloc(MAX_UPLOAD + 1) });
    expectJsonError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect((await readdir(dav.alice)).sort()).toEqual(['blob.bin', 'escape', 'escape-file', 'folder', 'hello.txt', 'link-in']);
    expect((await dav.inject('PUT', '/dav/files/alice/ok.bin', { payload: Buffer.alloc(MAX_UPLOAD) })).statusCode).toBe(201);
  });

  test('Content-Range is refused', async ({ dav }) => {
    const res = await dav.inject('PUT', '/dav/files/alice/hello.txt', { headers: { 'content-range': 'bytes 0-1/2' }, payload: 'ab' });
    expectJsonError(res, 400, 'CONTENT_RANGE_NOT_SUPPORTED');
    expect(await readFile(path.join(dav.alice, 'hello.txt'), 'utf8')).toBe(HELLO);
  });

  test('upload temp names are reserved', async ({ dav }) => {
    expectJsonError(await dav.inject('PUT', '/dav/files/alice/.dav-upload-x', { payload: 'x' }), 403, 'PATH_NOT_ALLOWED');
  });
});

test.describe('PUT over a real socket', () => {
  test('a chunked upload without Content-Type or Content-Length is streamed to disk', async ({ dav }) => {
    const chunks = [dav.blob.subarray(0, 1000), dav.blob.subarray(1000)];
    const res = await rawRequest(dav.app, 'PUT', '/dav/files/alice/chunked.bin', { ...AUTH, 'transfer-encoding': 'chunked' }, chunks);
    expect(res.statusCode, res.body).toBe(201);
    expect(Buffer.compare(await readFile(path.join(dav.alice, 'chunked.bin')), dav.blob)).toBe(0);
  });

  test('a chunked upload over the limit is 413 and leaves no temp file', async ({ dav }) => {
    const chunks = [Buffer.alloc(MAX_UPLOAD / 2), Buffer.alloc(MAX_UPLOAD / 2), Buffer.alloc(10)];
    const res = await rawRequest(dav.app, 'PUT', '/dav/files/alice/huge.bin', { ...AUTH, 'transfer-encoding': 'chunked' }, chunks);
    expectJsonError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect((await readdir(dav.alice)).sort()).toEqual(['blob.bin', 'escape', 'escape-file', 'folder', 'hello.txt', 'link-in']);
  });
});

test.describe('MKCOL and DELETE', () => {
  test('MKCOL creates (201), refuses existing (405) and orphan (409) collections and bodies (415)', async ({ dav }) => {
    expect((await dav.inject('MKCOL', '/dav/files/alice/new')).statusCode).toBe(201);
    expect((await stat(path.join(dav.alice, 'new'))).isDirectory()).toBe(true);
    expectJsonError(await dav.inject('MKCOL', '/dav/files/alice/new'), 405, 'ALREADY_EXISTS');
    expectJsonError(await dav.inject('MKCOL', '/dav/files/alice/hello.txt'), 405, 'ALREADY_EXISTS');
    expectJsonError(await dav.inject('MKCOL', '/dav/files/alice/'), 405, 'ALREADY_EXISTS');
    expectJsonError(await dav.inject('MKCOL', '/dav/files/alice/a/b'), 409, 'PARENT_MISSING');
    expectJsonError(
      await dav.inject('MKCOL', '/dav/files/alice/body', { payload: '<x/>', headers: { 'content-type': 'application/xml' } }),
      415,
    );
  });

  test('DELETE removes files and whole collections (204), missing is 404, the root is 403', async ({ dav }) => {
    expect((await dav.inject('DELETE', '/dav/files/alice/hello.txt')).statusCode).toBe(204);
    expect((await dav.inject('DELETE', '/dav/files/alice/folder/')).statusCode).toBe(204);
    expect((await readdir(dav.alice)).sort()).toEqual(['blob.bin', 'escape', 'escape-file', 'link-in']);
    expectJsonError(await dav.inject('DELETE', '/dav/files/alice/hello.txt'), 404, 'NOT_FOUND');
    expectJsonError(await dav.inject('DELETE', '/dav/files/alice/'), 403, 'CANNOT_DELETE_ROOT');
    expectJsonError(await dav.inject('DELETE', '/dav/files/alice'), 403, 'CANNOT_DELETE_ROOT');
  });

  test('DELETE of a symlink removes the link, not its target', async ({ dav }) => {
    expect((await dav.inject('DELETE', '/dav/files/alice/link-in')).statusCode).toBe(204);
    expect((await readdir(path.join(dav.alice, 'folder'))).sort()).toEqual(['a.txt', 'b.md']);
  });
});

test.describe('MOVE', () => {
  test('renames a file (201) with an absolute-path Destination', async ({ dav }) => {
    const res = await dav.inject('MOVE', '/dav/files/alice/hello.txt', { headers: { destination: '/dav/files/alice/folder/moved.txt' } });
    expect(res.statusCode).toBe(201);
    expect(await readFile(path.join(dav.alice, 'folder', 'moved.txt'), 'utf8')).toBe(HELLO);
    expectJsonError(await dav.inject('GET', '/dav/files/alice/hello.txt'), 404);
  });

  test('accepts an absolute URL on the same host, percent-encoded', async ({ dav }) => {
    const res = await dav.inject('MOVE', '/dav/files/alice/folder', {
      headers: { destination: 'http://localhost/dav/files/alice/f%C3%B6lder%20neu/' },
    });
    expect(res.statusCode).toBe(201);
    expect((await readdir(path.join(dav.alice, 'földer neu'))).sort()).toEqual(['a.txt', 'b.md']);
  });

  test('Overwrite: F refuses an existing destination (412), T replaces it (204)', async ({ dav }) => {
    const f = await dav.inject('MOVE', '/dav/files/alice/hello.txt', {
      headers: { destination: '/dav/files/alice/blob.bin', overwrite: 'F' },
    });
    expectJsonError(f, 412, 'DESTINATION_EXISTS');
    expect(await readFile(path.join(dav.alice, 'hello.txt'), 'utf8')).toBe(HELLO);
    expect(Buffer.compare(await readFile(path.join(dav.alice, 'blob.bin')), dav.blob)).toBe(0);

    const t = await dav.inject('MOVE', '/dav/files/alice/hello.txt', {
      headers: { destination: '/dav/files/alice/blob.bin', overwrite: 'T' },
    });
    expect(t.statusCode).toBe(204);
    expect(await readFile(path.join(dav.alice, 'blob.bin'), 'utf8')).toBe(HELLO);

    const dir = await dav.inject('MOVE', '/dav/files/alice/blob.bin', { headers: { destination: '/dav/files/alice/folder' } });
    expect(dir.statusCode).toBe(204);
    expect((await stat(path.join(dav.alice, 'folder'))).isFile()).toBe(true);
  });

  test('bad Destinations are refused and nothing moves', async ({ dav }) => {
    const cases: Array<[Record<string, string>, number, string]> = [
      [{}, 400, 'MISSING_DESTINATION'],
      [{ destination: 'folder/x.txt' }, 400, 'BAD_DESTINATION'],
      [{ destination: 'http://elsewhere.example/dav/files/alice/x.txt' }, 502, 'DESTINATION_OTHER_SERVER'],
      [{ destination: '/dav/files/bob/x.txt' }, 403, 'DESTINATION_OUTSIDE_TARGET'],
      [{ destination: '/dav/share/ro-folder/x.txt' }, 403, 'DESTINATION_OUTSIDE_TARGET'],
      [{ destination: '/dav/files/alice/../bob/x.txt' }, 403, 'PATH_NOT_ALLOWED'],
      [{ destination: '/dav/files/alice/%2e%2e/x.txt' }, 403, 'PATH_NOT_ALLOWED'],
      [{ destination: 'http://localhost/dav/files/alice/../../outside/x' }, 403, 'PATH_NOT_ALLOWED'],
      [{ destination: '/dav/files/alice/escape/x.txt' }, 403, 'PATH_OUTSIDE_ROOT'],
      [{ destination: '/dav/files/alice/' }, 403, 'DESTINATION_IS_ROOT'],
      [{ destination: '/dav/files/alice/hello.txt' }, 403, 'SAME_SOURCE_AND_DESTINATION'],
      [{ destination: '/dav/files/alice/nope/x.txt' }, 409, 'PARENT_MISSING'],
      [{ destination: '/dav/files/alice/x.txt', overwrite: 'maybe' }, 400, 'BAD_OVERWRITE'],
    ];
    for (const [headers, status, code] of cases) {
      expectJsonError(await dav.inject('MOVE', '/dav/files/alice/hello.txt', { headers }), status, code);
    }
    expectJsonError(
      await dav.inject('MOVE', '/dav/files/alice/folder', { headers: { destination: '/dav/files/alice/folder/inside' } }),
      403,
      'DESTINATION_INSIDE_SOURCE',
    );
    expectJsonError(
      await dav.inject('MOVE', '/dav/files/alice/', { headers: { destination: '/dav/files/alice/x' } }),
      403,
      'CANNOT_MOVE_ROOT',
    );
    expectJsonError(
      await dav.inject('MOVE', '/dav/files/alice/nope', { headers: { destination: '/dav/files/alice/x' } }),
      404,
      'NOT_FOUND',
    );
    expect(await readFile(path.join(dav.alice, 'hello.txt'), 'utf8')).toBe(HELLO);
    expect(await readdir(path.join(dav.tmp, 'outside'))).toEqual(['secret.txt']);
  });

  test('a Destination on another server is 502 (RFC 4918 §9.9.4), logged as an answer, not as an internal error', async () => {
    const { logger, lines } = capturingLogger();
    const dav = await createFixture(logger);
    try {
      for (const destination of ['http://elsewhere.example/dav/files/alice/x.txt', 'https://127.0.0.9/dav/files/alice/x.txt']) {
        expectJsonError(
          await dav.inject('MOVE', '/dav/files/alice/hello.txt', { headers: { destination } }),
          502,
          'DESTINATION_OTHER_SERVER',
        );
      }
      expect(await readFile(path.join(dav.alice, 'hello.txt'), 'utf8')).toBe(HELLO);
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
      const warnings = lines.filter((line) => line.level === 40);
      expect(warnings).toHaveLength(2);
      for (const line of warnings) {
        expect(line).toMatchObject({
          msg: 'webdav: request failed',
          status: 502,
          code: 'DESTINATION_OTHER_SERVER',
          reason: 'The Destination is on another server',
        });
        expect(line.err).toBeUndefined();
      }
    } finally {
      await dav.app.close();
      await rm(dav.tmp, { recursive: true, force: true });
    }
  });
});

test.describe('read-only targets', () => {
  test('a read-only folder can be read but not changed (403 READ_ONLY)', async ({ dav }) => {
    const list = await dav.app.inject({ method: 'PROPFIND', url: '/dav/share/ro-folder/', headers: { depth: '1' } });
    expect(multistatus(list.body).map((r) => r.href)).toEqual(['/dav/share/ro-folder/', '/dav/share/ro-folder/x.txt']);
    expect((await dav.app.inject({ method: 'GET', url: '/dav/share/ro-folder/x.txt' })).body).toBe('x');
    const refusals: Array<[string, string, Record<string, string>]> = [
      ['PUT', '/dav/share/ro-folder/x.txt', {}],
      ['PUT', '/dav/share/ro-folder/new.txt', {}],
      ['MKCOL', '/dav/share/ro-folder/sub', {}],
      ['DELETE', '/dav/share/ro-folder/x.txt', {}],
      ['MOVE', '/dav/share/ro-folder/x.txt', { destination: '/dav/share/ro-folder/y.txt' }],
    ];
    for (const [method, url, headers] of refusals) {
      const res = await dav.app.inject({
        method: method as InjectOptions['method'],
        url,
        headers,
        payload: method === 'PUT' ? 'changed' : undefined,
      });
      expectJsonError(res, 403, 'READ_ONLY');
    }
    expect(await readdir(path.join(dav.tmp, 'shared', 'ro'))).toEqual(['x.txt']);
    expect(await readFile(path.join(dav.tmp, 'shared', 'ro', 'x.txt'), 'utf8')).toBe('x');
  });

  test('a single shared file is the target: "" works, anything below is 404', async ({ dav }) => {
    const get = await dav.app.inject({ method: 'GET', url: '/dav/share/file-token' });
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe('quarterly report');
    expect(get.headers['content-type']).toBe('text/plain');
    expect((await dav.app.inject({ method: 'GET', url: '/dav/share/file-token/' })).body).toBe('quarterly report');

    const list = await dav.app.inject({ method: 'PROPFIND', url: '/dav/share/file-token', headers: { depth: '1' } });
    const responses = multistatus(list.body);
    expect(responses.map((r) => r.href)).toEqual(['/dav/share/file-token']);
    expect(propsOf(responses[0]!)['getcontentlength']).toBe(String('quarterly report'.length));

    expectJsonError(await dav.app.inject({ method: 'GET', url: '/dav/share/file-token/x' }), 404, 'NOT_FOUND');
    expectJsonError(await dav.app.inject({ method: 'PROPFIND', url: '/dav/share/file-token/x' }), 404, 'NOT_FOUND');
    expectJsonError(await dav.app.inject({ method: 'PUT', url: '/dav/share/file-token', payload: 'x' }), 403, 'READ_ONLY');
    expectJsonError(await dav.app.inject({ method: 'GET', url: '/dav/share/unknown' }), 404, 'SHARE_NOT_FOUND');
  });

  test('a writable single-file target is replaced in place, never deleted or moved', async ({ dav }) => {
    const file = path.join(dav.tmp, 'shared', 'report.txt');
    const app = Fastify();
    await app.register(davPlugin, {
      prefix: '/w',
      resolve: async () => ({ ok: true, target: { root: file, readOnly: false }, consumed: 1 }),
    });
    expect((await app.inject({ method: 'PUT', url: '/w/tok', payload: 'v2' })).statusCode).toBe(204);
    expect(await readFile(file, 'utf8')).toBe('v2');
    expectJsonError(await app.inject({ method: 'PUT', url: '/w/tok/child', payload: 'x' }), 404, 'NOT_FOUND');
    expectJsonError(await app.inject({ method: 'DELETE', url: '/w/tok' }), 403, 'CANNOT_DELETE_ROOT');
    expectJsonError(await app.inject({ method: 'MKCOL', url: '/w/tok' }), 405, 'ALREADY_EXISTS');
    expectJsonError(await app.inject({ method: 'MOVE', url: '/w/tok', headers: { destination: '/w/tok/x' } }), 403, 'CANNOT_MOVE_ROOT');
    expect(await readdir(path.join(dav.tmp, 'shared'))).toEqual(['report.txt', 'ro']);
    await app.close();
  });
});

test.describe('path confinement', () => {
  test('symlinks inside the root that point outside are refused and never leak data', async ({ dav }) => {
    for (const [method, url] of [
      ['GET', '/dav/files/alice/escape-file'],
      ['GET', '/dav/files/alice/escape/secret.txt'],
      ['HEAD', '/dav/files/alice/escape/secret.txt'],
      ['PROPFIND', '/dav/files/alice/escape/'],
      ['PUT', '/dav/files/alice/escape/planted.txt'],
      ['MKCOL', '/dav/files/alice/escape/newdir'],
      ['DELETE', '/dav/files/alice/escape/secret.txt'],
    ] as const) {
      const res = await dav.inject(method, url, { payload: method === 'PUT' ? 'planted' : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.body).not.toContain(SECRET);
      if (method !== 'HEAD') expectJsonError(res, 403, 'PATH_OUTSIDE_ROOT');
    }
    expect(await readdir(path.join(dav.tmp, 'outside'))).toEqual(['secret.txt']);
  });

  test('encoded traversal, separators and NUL inside a segment are refused (inject)', async ({ dav }) => {
    for (const url of [
      '/dav/files/alice/..%2Foutside%2Fsecret.txt',
      '/dav/files/alice/%2E%2E%2Foutside',
      '/dav/files/alice/..%5Coutside%5Csecret.txt',
      '/dav/files/alice/folder%2F..%2F..%2Foutside%2Fsecret.txt',
      '/dav/files/alice/%2Ftmp',
      '/dav/files/alice/hello.txt%00.png',
      '/dav/files/alice//etc/passwd',
      '/dav/files/alice/folder//a.txt',
    ]) {
      expectJsonError(await dav.inject('GET', url), 403, 'PATH_NOT_ALLOWED');
    }
    // Malformed percent-encoding never reaches the plugin: fastify's router answers 400 itself.
    const malformed = await dav.inject('GET', '/dav/files/alice/%zz');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/json/);
  });

  test('raw "..", "%2e%2e" and "." segments on the wire are refused before resolve', async ({ dav }) => {
    for (const rawPath of [
      '/dav/files/alice/../outside/secret.txt',
      '/dav/files/alice/%2e%2e/outside/secret.txt',
      '/dav/files/alice/%2E%2e/%2e%2e/outside/secret.txt',
      '/dav/files/alice/./hello.txt',
      '/dav/files/alice/folder/../../outside/secret.txt',
      '/dav/files/../outside/secret.txt',
    ]) {
      const res = await rawRequest(dav.app, 'GET', rawPath);
      expectJsonError(res, 403, 'PATH_NOT_ALLOWED');
    }
  });

  test('a double-encoded traversal is a literal (missing) name', async ({ dav }) => {
    const res = await rawRequest(dav.app, 'GET', '/dav/files/alice/%252e%252e/outside/secret.txt');
    expectJsonError(res, 404, 'NOT_FOUND');
    expect((await rawRequest(dav.app, 'GET', '/dav/files/alice/hello.txt')).body).toBe(HELLO);
  });
});
