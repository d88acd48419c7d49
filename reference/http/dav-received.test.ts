/**
 * WebDAV access to received shares, end to end over loopback:
 *
 *   test → inject → receiver (buildTestApp + davReceivedPlugin)
 *        → real HTTP → fake sender on 127.0.0.3:<port> (fastify: /.well-known/ocm
 *          and our WebDAV engine at /dav/ocm, Bearer <secret> per share id,
 *          Basic <secret>: for legacy shares at the prefix itself)
 *
 * The sender records every request it sees, so tests can assert that a
 * refusal was local. A second listener on 127.0.0.4 (also trusted) must never
 * be called by a share whose sender is 127.0.0.3.
 */
import { test as base, expect } from '@playwright/test';
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nowSeconds, type ReceivedShareRecord } from '../stores/records.ts';
import { freePort } from '../pair.ts';
import { basicAuth, buildTestApp, EINSTEIN, MARIE, type TestApp } from '../testing/harness.ts';
import { socketRequest, type RawResponse } from '../testing/raw-request.ts';
import { davPlugin, type DavResolveResult } from '../webdav/dav-plugin.ts';
import { rewriteMultistatusHrefs } from './dav-received.ts';

const PREFIX = '/dav/ocm-received';
const HELLO = 'Hello from the sender!\n';
const AUTH = { authorization: basicAuth(EINSTEIN) };
const TIMEOUT_MS = 1_500;

interface SenderShare {
  secret: string;
  root: string;
  readOnly: boolean;
}

interface Listener {
  app: FastifyInstance;
  origin: string;
  domain: string;
  /** `METHOD url` of every request seen. */
  seen: string[];
  /** The Authorization and Cookie header of every request seen. */
  credentials: Array<{ authorization?: string; cookie?: string }>;
}

interface Env {
  t: TestApp;
  tmp: string;
  blob: Buffer;
  sender: Listener & { shares: Map<string, SenderShare>; legacy: Map<string, SenderShare> };
  other: Listener;
  /** A trusted origin where nothing listens. */
  downDomain: string;
  /** Adds a folder share at the sender (a fresh copy of the tree) and its received record at the receiver. */
  share(options?: ShareOptions): Promise<{ record: ReceivedShareRecord; root: string }>;
  inject(method: string, url: string, extra?: Omit<InjectOptions, 'method' | 'url'>): Promise<LightMyRequestResponse>;
}

interface ShareOptions {
  permissions?: string[];
  readOnlyAtSender?: boolean;
  /** How the share names its resource: absolute URL (default), relative key, or legacy (no uri, Basic). */
  uri?: 'absolute' | 'relative' | 'legacy' | string;
  record?: Partial<ReceivedShareRecord>;
  secretAtSender?: string;
}

async function listener(host: string, setup: (app: FastifyInstance, self: Listener) => Promise<void>): Promise<Listener> {
  const app = Fastify({ forceCloseConnections: true });
  const self: Listener = { app, origin: '', domain: '', seen: [], credentials: [] };
  app.addHook('onRequest', async (request) => {
    self.seen.push(`${request.method} ${request.url}`);
    self.credentials.push({ authorization: request.headers.authorization, cookie: request.headers.cookie });
  });
  await setup(app, self);
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  self.origin = `http://${host}:${port}`;
  self.domain = `${host}:${port}`;
  return self;
}

async function buildEnv(): Promise<Env> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'dav-received-'));
  const blob = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100 * 1024)]);
  const shares = new Map<string, SenderShare>();
  const legacy = new Map<string, SenderShare>();
  const timers = new Set<NodeJS.Timeout>();

  const sender = (await listener('127.0.0.3', async (app, self) => {
    app.get('/.well-known/ocm', async () => ({
      enabled: true,
      apiVersion: '1.4.0',
      endPoint: `${self.origin}/ocm`,
      provider: 'fake sender',
      resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm' } }],
    }));
    app.all('/redirect/*', async (_request, reply) => reply.code(302).header('location', `${self.origin}/dav/ocm/elsewhere`).send());
    app.all('/slow/*', async (_request, reply) => {
      await new Promise<void>((resolve) => timers.add(setTimeout(resolve, 4 * TIMEOUT_MS)));
      return reply.code(200).send('too late');
    });
    // Any body (a forwarded PUT) is taken, so these answer with their own status.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.all('/broken/*', async (_request, reply) => reply.code(500).type('text/plain').send('sender stack trace'));
      scope.all('/status/:code/*', async (request, reply) =>
        reply
          .code(Number((request.params as { code: string }).code))
          .type('text/plain')
          .send('sender body: no'),
      );
    });
    app.addHook('onClose', async () => {
      for (const timer of timers) clearTimeout(timer);
    });
    await app.register(davPlugin, {
      prefix: '/dav/ocm',
      async resolve(request, segments): Promise<DavResolveResult> {
        const refuse: DavResolveResult = { ok: false, status: 401, code: 'UNAUTHENTICATED', message: 'sender body: secret mismatch' };
        const header = request.headers.authorization ?? '';
        const bearer = /^Bearer (.+)$/.exec(header);
        if (bearer) {
          const share = segments[0] === undefined ? undefined : shares.get(segments[0]);
          if (!share || share.secret !== bearer[1]) return refuse;
          return { ok: true, target: { root: share.root, readOnly: share.readOnly }, consumed: 1 };
        }
        const basic = /^Basic (.+)$/.exec(header);
        if (basic) {
          const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
          const share = decoded.endsWith(':') ? legacy.get(decoded.slice(0, -1)) : undefined;
          if (!share) return refuse;
          return { ok: true, target: { root: share.root, readOnly: share.readOnly }, consumed: 0 };
        }
        return refuse;
      },
    });
  })) as Env['sender'];
  sender.shares = shares;
  sender.legacy = legacy;

  const other = await listener('127.0.0.4', async (app) => {
    app.all('/*', async () => ({ message: 'must never be called' }));
  });
  const downDomain = `127.0.0.3:${await freePort('127.0.0.3')}`;

  // The app registers the plugin at PREFIX itself; the short deadline comes from the outbound settings.
  const t = await buildTestApp({ outbound: { timeoutMs: TIMEOUT_MS, maxResponseBytes: 1024 * 1024, allowPrivateAddresses: false } }, [
    sender.origin,
    other.origin,
    `http://${downDomain}`,
  ]);
  await t.app.ready();

  const env: Env = {
    t,
    tmp,
    blob,
    sender,
    other,
    downDomain,
    async share(options = {}) {
      const senderId = `s-${randomUUID()}`;
      const root = path.join(tmp, senderId);
      await mkdir(path.join(root, 'sub'), { recursive: true });
      await writeFile(path.join(root, 'hello.txt'), HELLO);
      await writeFile(path.join(root, 'blob.bin'), blob);
      await writeFile(path.join(root, 'sub', 'child.txt'), 'child');
      const secret = `secret-${randomUUID()}`;
      const entry = {
        secret: options.secretAtSender ?? secret,
        root,
        readOnly: options.readOnlyAtSender ?? !(options.permissions ?? ['read']).includes('write'),
      };
      const mode = options.uri ?? 'absolute';
      let webdav: NonNullable<ReceivedShareRecord['protocols']['webdav']>;
      let encoding: ReceivedShareRecord['protocols']['encoding'] = 'multi';
      if (mode === 'legacy') {
        legacy.set(entry.secret, entry);
        encoding = 'legacy';
        webdav = { sharedSecret: secret, permissions: options.permissions ?? ['read'] };
      } else {
        shares.set(senderId, entry);
        const uri =
          mode === 'absolute' ? `${sender.origin}/dav/ocm/${senderId}` : mode === 'relative' ? senderId : mode.replace('{id}', senderId);
        webdav = { uri, sharedSecret: secret, permissions: options.permissions ?? ['read'] };
      }
      const now = nowSeconds();
      const record: ReceivedShareRecord = {
        id: randomUUID(),
        providerId: senderId,
        senderDomain: sender.domain,
        localUserId: EINSTEIN.id,
        shareWith: `${EINSTEIN.id}@127.0.0.2:8080`,
        name: 'folder',
        owner: `owner@${sender.domain}`,
        sender: `owner@${sender.domain}`,
        shareType: 'user',
        resourceType: 'folder',
        protocols: { encoding, webdav },
        state: 'accepted',
        createdAt: now,
        updatedAt: now,
        ...options.record,
      };
      await t.core.stores.receivedShares.put(record.id, record);
      return { record, root };
    },
    inject: (method, url, extra = {}) =>
      t.app.inject({ ...extra, method: method as InjectOptions['method'], url, headers: { ...AUTH, ...(extra.headers ?? {}) } }),
  };
  return env;
}

const test = base.extend<{ env: Env }>({
  // eslint-disable-next-line no-empty-pattern
  env: async ({}, use) => {
    const env = await buildEnv();
    await use(env);
    await env.t.close();
    await env.sender.app.close();
    await env.other.app.close();
    await rm(env.tmp, { recursive: true, force: true });
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

function hrefsOf(body: string): string[] {
  const doc = xml.parse(body) as { multistatus: { response: Array<{ href: string }> } };
  return doc.multistatus.response.map((r) => r.href);
}

function expectJsonError(
  res: LightMyRequestResponse | { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code?: string,
): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { code: unknown; message: unknown };
  expect(typeof body.message).toBe('string');
  if (code) expect(body.code).toBe(code);
}

const url = (record: ReceivedShareRecord, rest = ''): string => `${PREFIX}/${record.id}${rest}`;

/** A request over a real socket with the path sent byte for byte (inject would normalise `..`). */
const rawRequest = (
  app: FastifyInstance,
  method: string,
  rawPath: string,
  headers: Record<string, string> = AUTH,
  body?: Buffer[],
): Promise<RawResponse> => socketRequest(app, { host: '127.0.0.2', method, path: rawPath, headers, body });

// ---------------------------------------------------------------------------

test.describe('reading an accepted share', () => {
  test('GET relays text and binary files byte for byte, with their metadata', async ({ env }) => {
    const { record } = await env.share();
    const text = await env.inject('GET', url(record, '/hello.txt'));
    expect(text.statusCode, text.body).toBe(200);
    expect(text.body).toBe(HELLO);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.headers['content-length']).toBe(String(Buffer.byteLength(HELLO)));
    expect(text.headers['etag']).toBeTruthy();
    expect(text.headers['last-modified']).toBeTruthy();

    const bin = await env.inject('GET', url(record, '/blob.bin'));
    expect(bin.statusCode).toBe(200);
    expect(bin.rawPayload.equals(env.blob)).toBe(true);
    expect(bin.headers['content-length']).toBe(String(env.blob.length));

    const head = await env.inject('HEAD', url(record, '/blob.bin'));
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(env.blob.length));
    expect(head.headers['etag']).toBe(bin.headers['etag']);
    expect(head.rawPayload.length).toBe(0);

    const again = await env.inject('GET', url(record, '/hello.txt'), { headers: { 'if-none-match': String(text.headers['etag']) } });
    expect(again.statusCode).toBe(304);
  });

  test('PROPFIND depth 1 lists the folder with every href rewritten to the local path', async ({ env }) => {
    const { record } = await env.share();
    const res = await env.inject('PROPFIND', url(record, '/'), { headers: { depth: '1' } });
    expect(res.statusCode, res.body).toBe(207);
    expect(res.headers['content-type']).toMatch(/xml/);
    expect(hrefsOf(res.body).sort()).toEqual(
      [url(record, '/'), url(record, '/blob.bin'), url(record, '/hello.txt'), url(record, '/sub/')].sort(),
    );
    expect(res.body).not.toContain('/dav/ocm/');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));

    const sub = await env.inject('PROPFIND', url(record, '/sub'), { headers: { depth: '1' } });
    expect(sub.statusCode).toBe(207);
    expect(hrefsOf(sub.body)).toEqual([url(record, '/sub/'), url(record, '/sub/child.txt')]);

    const child = await env.inject('GET', url(record, '/sub/child.txt'));
    expect(child.statusCode).toBe(200);
    expect(child.body).toBe('child');
  });

  test('a PROPFIND body is forwarded and asked properties come back', async ({ env }) => {
    const { record } = await env.share();
    const payload = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/></D:prop></D:propfind>';
    const res = await env.inject('PROPFIND', url(record, '/hello.txt'), {
      headers: { depth: '0', 'content-type': 'application/xml' },
      payload,
    });
    expect(res.statusCode, res.body).toBe(207);
    expect(hrefsOf(res.body)).toEqual([url(record, '/hello.txt')]);
    expect(res.body).toContain(`>${Buffer.byteLength(HELLO)}<`);
    expect(res.body).not.toContain('getlastmodified');
  });

  test('OPTIONS is answered locally, with the methods the permissions allow', async ({ env }) => {
    const { record: ro } = await env.share();
    const { record: rw } = await env.share({ permissions: ['read', 'write'] });
    const before = env.sender.seen.length;
    const a = await env.inject('OPTIONS', url(ro, '/'));
    expect(a.statusCode).toBe(200);
    expect(a.headers['dav']).toBe('1');
    expect(String(a.headers['allow'])).not.toContain('PUT');
    const b = await env.inject('OPTIONS', url(rw));
    expect(String(b.headers['allow'])).toContain('PUT');
    expect(env.sender.seen.length).toBe(before);
  });

  test('the sender sees our Bearer secret, never the local login or cookies', async ({ env }) => {
    const { record } = await env.share();
    const res = await env.inject('GET', url(record, '/hello.txt'), { headers: { cookie: 'session=local-user' } });
    expect(res.statusCode).toBe(200);
    const webdav = record.protocols.webdav!;
    expect(env.sender.credentials).toEqual([{ authorization: `Bearer ${webdav.sharedSecret}`, cookie: undefined }]);
  });
});

test.describe('writing', () => {
  test('PUT on a write share reaches the sender disk; MKCOL, MOVE and DELETE too', async ({ env }) => {
    const { record, root } = await env.share({ permissions: ['read', 'write'] });
    const upload = randomBytes(300 * 1024);
    const put = await env.inject('PUT', url(record, '/sub/upload.bin'), {
      payload: upload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode, put.body).toBe(201);
    expect((await readFile(path.join(root, 'sub', 'upload.bin'))).equals(upload)).toBe(true);
    const replace = await env.inject('PUT', url(record, '/hello.txt'), { payload: 'replaced' });
    expect(replace.statusCode).toBe(204);
    expect(await readFile(path.join(root, 'hello.txt'), 'utf8')).toBe('replaced');

    expect((await env.inject('MKCOL', url(record, '/newdir'))).statusCode).toBe(201);
    expect((await stat(path.join(root, 'newdir'))).isDirectory()).toBe(true);

    const moved = await env.inject('MOVE', url(record, '/sub/upload.bin'), {
      headers: { destination: `http://localhost:80${url(record, '/newdir/moved.bin')}` },
    });
    expect(moved.statusCode, moved.body).toBe(201);
    expect((await readFile(path.join(root, 'newdir', 'moved.bin'))).equals(upload)).toBe(true);
    const byPath = await env.inject('MOVE', url(record, '/newdir/moved.bin'), { headers: { destination: url(record, '/again.bin') } });
    expect(byPath.statusCode, byPath.body).toBe(201);
    expect(env.sender.seen).toContain(`MOVE /dav/ocm/${record.providerId}/newdir/moved.bin`);

    expect((await env.inject('DELETE', url(record, '/again.bin'))).statusCode).toBe(204);
    await expect(stat(path.join(root, 'again.bin'))).rejects.toThrow();
  });

  test('a chunked upload without a content type streams through to the sender', async ({ env }) => {
    const { record, root } = await env.share({ permissions: ['read', 'write'] });
    const chunks = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
    const res = await rawRequest(env.t.app, 'PUT', url(record, '/chunked.bin'), { ...AUTH, 'transfer-encoding': 'chunked' }, chunks);
    expect(res.statusCode, res.body).toBe(201);
    expect((await readFile(path.join(root, 'chunked.bin'))).equals(Buffer.concat(chunks))).toBe(true);
  });

  test('a MOVE whose Destination leaves the share is refused locally', async ({ env }) => {
    const { record } = await env.share({ permissions: ['read', 'write'] });
    const { record: second } = await env.share({ permissions: ['read', 'write'] });
    const before = env.sender.seen.length;
    expectJsonError(await env.inject('MOVE', url(record, '/hello.txt'), { headers: { destination: url(second, '/x.txt') } }), 403);
    expectJsonError(
      await env.inject('MOVE', url(record, '/hello.txt'), { headers: { destination: `http://elsewhere.example${url(record, '/x.txt')}` } }),
      502,
      'DESTINATION_OTHER_SERVER',
    );
    expectJsonError(await env.inject('MOVE', url(record, '/hello.txt'), { headers: { destination: '/dav/ocm/x/y' } }), 403);
    expectJsonError(await env.inject('MOVE', url(record, '/hello.txt')), 400);
    expect(env.sender.seen.length).toBe(before);
  });

  test('a sender error keeps its status and its {code, message}', async ({ env }) => {
    const { record } = await env.share({ permissions: ['read', 'write'] });
    expectJsonError(await env.inject('PUT', url(record, '/missing/x.txt'), { payload: 'x' }), 409, 'PARENT_MISSING');
  });

  test('a share the sender holds read-only answers 403 to a PUT, relayed from the sender, not 502', async ({ env }) => {
    // Our record still says write (the sender lowered it since): the sender's 403 is the user's answer.
    const { record, root } = await env.share({ permissions: ['read', 'write'], readOnlyAtSender: true });
    const put = await env.inject('PUT', url(record, '/hello.txt'), { payload: 'overwritten' });
    expectJsonError(put, 403, 'READ_ONLY');
    expect(env.sender.seen).toEqual([`PUT /dav/ocm/${record.providerId}/hello.txt`]);
    expectJsonError(await env.inject('DELETE', url(record, '/hello.txt')), 403, 'READ_ONLY');
    expectJsonError(await env.inject('MKCOL', url(record, '/newdir')), 403, 'READ_ONLY');
    expect(await readFile(path.join(root, 'hello.txt'), 'utf8')).toBe(HELLO);
    expect((await env.inject('GET', url(record, '/hello.txt'))).body).toBe(HELLO);
  });

  for (const [method, extra] of [
    ['PUT', { payload: 'x' }],
    ['MKCOL', {}],
    ['DELETE', {}],
    ['MOVE', { headers: { destination: '/dav/ocm-received/x/y' } }],
  ] as const) {
    test(`${method} on a read-only share is 403 and the sender sees nothing`, async ({ env }) => {
      const { record, root } = await env.share({ permissions: ['read'], readOnlyAtSender: false });
      const res = await env.inject(method, url(record, '/hello.txt'), extra as Omit<InjectOptions, 'method' | 'url'>);
      expectJsonError(res, 403);
      expect(env.sender.seen).toEqual([]);
      expect(await readFile(path.join(root, 'hello.txt'), 'utf8')).toBe(HELLO);
    });
  }
});

test.describe('who may access which share', () => {
  test('no login is 401 with a challenge, and a bad password too', async ({ env }) => {
    const { record } = await env.share();
    const none = await env.t.app.inject({ method: 'GET', url: url(record, '/hello.txt') });
    expectJsonError(none, 401, 'UNAUTHENTICATED');
    expect(String(none.headers['www-authenticate'])).toMatch(/^Basic /);
    const bad = await env.t.app.inject({
      method: 'GET',
      url: url(record, '/hello.txt'),
      headers: { authorization: basicAuth({ username: 'einstein', password: 'wrong' }) },
    });
    expectJsonError(bad, 401, 'UNAUTHENTICATED');
    expect(env.sender.seen).toEqual([]);
  });

  test('pending and declined shares are 403 SHARE_NOT_ACCEPTED', async ({ env }) => {
    const { record: pending } = await env.share({ record: { state: 'pending' } });
    const { record: declined } = await env.share({ record: { state: 'declined' } });
    expectJsonError(await env.inject('GET', url(pending, '/hello.txt')), 403, 'SHARE_NOT_ACCEPTED');
    expectJsonError(await env.inject('PROPFIND', url(declined)), 403, 'SHARE_NOT_ACCEPTED');
    expect(env.sender.seen).toEqual([]);
  });

  test("another user's share answers exactly like an unknown id: 404", async ({ env }) => {
    const { record } = await env.share({ record: { localUserId: MARIE.id } });
    const theirs = await env.inject('GET', url(record, '/hello.txt'));
    const unknown = await env.inject('GET', `${PREFIX}/${randomUUID()}/hello.txt`);
    expectJsonError(theirs, 404, 'SHARE_NOT_FOUND');
    expect(theirs.body).toBe(unknown.body);
    expect(theirs.statusCode).toBe(unknown.statusCode);
    // ... and marie herself reads it
    const mine = await env.t.app.inject({ method: 'GET', url: url(record, '/hello.txt'), headers: { authorization: basicAuth(MARIE) } });
    expect(mine.statusCode).toBe(200);
  });

  test('an expired share is 404', async ({ env }) => {
    const { record } = await env.share({ record: { expiration: nowSeconds() - 60 } });
    expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 404, 'SHARE_NOT_FOUND');
    const { record: later } = await env.share({ record: { expiration: nowSeconds() + 3600 } });
    expect((await env.inject('GET', url(later, '/hello.txt'))).statusCode).toBe(200);
    expect(env.sender.seen).toHaveLength(1);
  });

  test('traversal and smuggled segments are 403 before anything is forwarded', async ({ env }) => {
    const { record } = await env.share();
    for (const rest of [
      '/../x',
      '/sub/../../x',
      '/%2e%2e/x',
      '/sub/%2E%2E/hello.txt',
      '/./hello.txt',
      '/a%2fb',
      '/a%5cb',
      '/a%00b',
      '//hello.txt',
    ]) {
      const res = await rawRequest(env.t.app, 'GET', url(record, rest));
      expectJsonError(res, 403);
    }
    expectJsonError(await rawRequest(env.t.app, 'GET', `${PREFIX}/..%2f${record.id}/hello.txt`), 403);
    expectJsonError(await rawRequest(env.t.app, 'GET', url(record, '/%zz')), 400);
    expect(env.sender.seen).toEqual([]);
    // the double-encoded form is a harmless literal name
    const literal = await rawRequest(env.t.app, 'GET', url(record, '/%252e%252e'));
    expectJsonError(literal, 404);
  });
});

test.describe('routing', () => {
  test('unsupported methods are 405 with Allow; the bare prefix is 404', async ({ env }) => {
    const { record } = await env.share({ permissions: ['read', 'write'] });
    for (const method of ['COPY', 'LOCK', 'PROPPATCH', 'POST']) {
      const res = await env.inject(method, url(record, '/hello.txt'));
      expectJsonError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(String(res.headers['allow'])).toContain('PROPFIND');
    }
    expectJsonError(await env.inject('PROPFIND', PREFIX), 404);
    expectJsonError(await env.inject('PROPFIND', `${PREFIX}/`), 404, 'SHARE_NOT_FOUND');
    expect(env.sender.seen).toEqual([]);
  });
});

test.describe('finding the resource at the sender', () => {
  test('an absolute uri is used as is, without discovery', async ({ env }) => {
    const { record } = await env.share({ uri: 'absolute' });
    expect((await env.inject('GET', url(record, '/hello.txt'))).statusCode).toBe(200);
    expect(env.sender.seen).toEqual([`GET /dav/ocm/${record.providerId}/hello.txt`]);
  });

  test('a relative uri is resolved through the sender discovery (resourceTypes[0].protocols.webdav)', async ({ env }) => {
    const { record } = await env.share({ uri: 'relative' });
    const res = await env.inject('PROPFIND', url(record), { headers: { depth: '1' } });
    expect(res.statusCode, res.body).toBe(207);
    expect(hrefsOf(res.body)).toContain(url(record, '/hello.txt'));
    expect(env.sender.seen).toEqual(['GET /.well-known/ocm', `PROPFIND /dav/ocm/${record.providerId}`]);
  });

  test('a legacy share is read at the discovered prefix with Basic <secret>:', async ({ env }) => {
    const { record } = await env.share({ uri: 'legacy' });
    const res = await env.inject('GET', url(record, '/sub/child.txt'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('child');
    expect(env.sender.seen).toEqual(['GET /.well-known/ocm', 'GET /dav/ocm/sub/child.txt']);
    const secret = record.protocols.webdav!.sharedSecret;
    expect(env.sender.credentials[1]?.authorization).toBe(`Basic ${Buffer.from(`${secret}:`).toString('base64')}`);
    const list = await env.inject('PROPFIND', url(record, '/'), { headers: { depth: '1' } });
    expect(hrefsOf(list.body)).toContain(url(record, '/sub/'));
  });

  for (const [label, target] of [
    ['another trusted host', 'other'],
    ['another port of the sender host', 'port'],
    ['https instead of http', 'scheme'],
  ] as const) {
    test(`an absolute uri on ${label} is refused without calling it (SSRF)`, async ({ env }) => {
      const uri =
        target === 'other'
          ? `${env.other.origin}/dav/ocm/{id}`
          : target === 'port'
            ? `http://${env.downDomain}/dav/ocm/{id}`
            : `${env.sender.origin.replace('http:', 'https:')}/dav/ocm/{id}`;
      const { record } = await env.share({ uri });
      expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 502, 'REMOTE_BAD_RESPONSE');
      expect(env.other.seen).toEqual([]);
      expect(env.sender.seen).toEqual([]);
    });
  }

  test('a sender that is no longer trusted is refused', async ({ env }) => {
    const { record } = await env.share({ record: { senderDomain: 'evil.example.net' } });
    expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 403, 'PROVIDER_NOT_TRUSTED');
  });
});

test.describe('when the sender misbehaves', () => {
  test('a sender that is down is 504', async ({ env }) => {
    const { record } = await env.share({ uri: `http://${env.downDomain}/dav/ocm/{id}`, record: { senderDomain: env.downDomain } });
    expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 504, 'REMOTE_UNREACHABLE');
    const { record: relative } = await env.share({ uri: 'relative', record: { senderDomain: env.downDomain } });
    expectJsonError(await env.inject('GET', url(relative, '/hello.txt')), 504, 'REMOTE_UNREACHABLE');
  });

  test('a sender that does not answer in time is 504', async ({ env }) => {
    const { record } = await env.share({ uri: `${env.sender.origin}/slow/{id}` });
    const started = Date.now();
    expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 504, 'REMOTE_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(4 * TIMEOUT_MS);
  });

  test('a redirect is 502 and is not followed', async ({ env }) => {
    const { record } = await env.share({ uri: `${env.sender.origin}/redirect/{id}` });
    expectJsonError(await env.inject('GET', url(record, '/hello.txt')), 502, 'REMOTE_BAD_RESPONSE');
    expect(env.sender.seen).toEqual([`GET /redirect/${record.providerId}/hello.txt`]);
  });

  test('a sender refusing our secret is 502 REMOTE_REFUSED, without its body', async ({ env }) => {
    const { record } = await env.share({ secretAtSender: 'not-the-secret-we-got' });
    const res = await env.inject('GET', url(record, '/hello.txt'));
    expectJsonError(res, 502, 'REMOTE_REFUSED');
    expect(res.body).not.toContain('sender body');
    const { record: writable } = await env.share({ permissions: ['read', 'write'], secretAtSender: 'not-the-secret-we-got' });
    expectJsonError(await env.inject('PUT', url(writable, '/hello.txt'), { payload: 'x' }), 502, 'REMOTE_REFUSED');
  });

  test('a sender 404 is 404, a sender 500 is 502 without its body', async ({ env }) => {
    const { record } = await env.share();
    expectJsonError(await env.inject('GET', url(record, '/nope.txt')), 404, 'NOT_FOUND');
    const { record: broken } = await env.share({ uri: `${env.sender.origin}/broken/{id}`, permissions: ['read', 'write'] });
    const res = await env.inject('GET', url(broken, '/x'));
    expectJsonError(res, 502, 'REMOTE_BAD_RESPONSE');
    expect(res.body).not.toContain('stack trace');
    const put = await env.inject('PUT', url(broken, '/x'), { payload: 'x' });
    expectJsonError(put, 502, 'REMOTE_BAD_RESPONSE');
    expect(put.body).not.toContain('stack trace');
  });

  // The user's outcome is relayed; our credential being refused or the sender failing is the gateway's (502).
  for (const [sent, status, code] of [
    [403, 403, 'FORBIDDEN'],
    [404, 404, 'RESOURCE_NOT_FOUND'],
    [409, 409, 'REMOTE_REFUSED'],
    [412, 412, 'REMOTE_REFUSED'],
    [413, 413, 'REMOTE_REFUSED'],
    [423, 423, 'REMOTE_REFUSED'],
    [507, 507, 'REMOTE_REFUSED'],
    [401, 502, 'REMOTE_REFUSED'],
    [500, 502, 'REMOTE_BAD_RESPONSE'],
    [503, 502, 'REMOTE_BAD_RESPONSE'],
  ] as const) {
    test(`a sender ${sent} without a JSON body is ${status} ${code}`, async ({ env }) => {
      const { record } = await env.share({ uri: `${env.sender.origin}/status/${sent}/{id}`, permissions: ['read', 'write'] });
      const res = await env.inject('PUT', url(record, '/hello.txt'), { payload: 'x' });
      expectJsonError(res, status, code);
      expect(res.body).not.toContain('sender body');
      expect(env.sender.seen).toEqual([`PUT /status/${sent}/${record.providerId}/hello.txt`]);
    });
  }
});

test.describe('rewriteMultistatusHrefs', () => {
  const base = 'http://127.0.0.3:7001/dav/ocm/tok';
  const local = '/dav/ocm-received/r1';

  test('rewrites DAV: hrefs under any prefix, absolute URLs of the same origin, and entity-encoded values', () => {
    const doc =
      '<?xml version="1.0"?><A:multistatus xmlns:A="DAV:" xmlns:x="urn:other">' +
      '<A:response><A:href>/dav/ocm/tok/</A:href></A:response>' +
      '<A:response><A:href> http://127.0.0.3:7001/dav/ocm/tok/a%20b.txt </A:href></A:response>' +
      '<A:response><A:href>/dav/ocm/tok/x&amp;y.txt</A:href></A:response>' +
      '<A:response><A:href>/dav/ocm/token-of-someone-else/</A:href></A:response>' +
      '<A:response><A:href>http://elsewhere/dav/ocm/tok/</A:href><x:href>/dav/ocm/tok/keep</x:href></A:response>' +
      '</A:multistatus>';
    const out = rewriteMultistatusHrefs(doc, base, local);
    expect(out).toContain('<A:href>/dav/ocm-received/r1/</A:href>');
    expect(out).toContain('<A:href>/dav/ocm-received/r1/a%20b.txt</A:href>');
    expect(out).toContain('<A:href>/dav/ocm-received/r1/x%26y.txt</A:href>');
    expect(out).toContain('<A:href>/dav/ocm/token-of-someone-else/</A:href>');
    expect(out).toContain('<A:href>http://elsewhere/dav/ocm/tok/</A:href>');
    expect(out).toContain('<x:href>/dav/ocm/tok/keep</x:href>');
  });

  test('a default DAV: namespace is recognised; the base itself keeps its (missing) trailing slash', () => {
    const doc =
      '<multistatus xmlns="DAV:"><response><href>/dav/ocm/tok</href></response><response><href>/dav/ocm/tok/%C3%A4/</href></response></multistatus>';
    expect(rewriteMultistatusHrefs(doc, base, local)).toBe(
      '<multistatus xmlns="DAV:"><response><href>/dav/ocm-received/r1</href></response><response><href>/dav/ocm-received/r1/%C3%A4/</href></response></multistatus>',
    );
  });
});
