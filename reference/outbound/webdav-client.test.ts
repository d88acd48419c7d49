/**
 * Unit tests of the WebDAV client side of resource access: where a received
 * share lives (resolveShareAccess, with a stub discovery) and one forwarded
 * exchange (forwardDav, against a plain node:http server on loopback).
 */
import { test, expect } from '@playwright/test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ReceivedShareRecord } from '../stores/records.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { OutboundError, type DiscoveredPeer, type OutboundExchange } from './ocm-client.ts';
import { forwardDav, readBody, resolveShareAccess, ShareAccessError, type ShareAccessDeps } from './webdav-client.ts';

const SENDER = 'http://127.0.0.3:7001';
const SENDER_DOMAIN = '127.0.0.3:7001';
const OTHER = 'http://127.0.0.4:7002';
const SECRET = 'a-shared-secret-of-enough-length-0001';

const providers = new TrustedProviders([providerEntry('sender', SENDER), providerEntry('other', OTHER)]);

function share(
  overrides: Partial<ReceivedShareRecord> = {},
  webdav: Partial<NonNullable<ReceivedShareRecord['protocols']['webdav']>> = {},
): ReceivedShareRecord {
  return {
    id: 'r-1',
    providerId: 'p-1',
    senderDomain: SENDER_DOMAIN,
    localUserId: 'u-1',
    shareWith: 'u-1@127.0.0.2:8080',
    name: 'folder',
    owner: `owner@${SENDER_DOMAIN}`,
    sender: `sender@${SENDER_DOMAIN}`,
    shareType: 'user',
    resourceType: 'folder',
    protocols: { encoding: 'multi', webdav: { uri: `${SENDER}/dav/ocm/tok-1`, sharedSecret: SECRET, permissions: ['read'], ...webdav } },
    state: 'accepted',
    createdAt: 1,
    updatedAt: 1,
    ...overrides,
  };
}

/** A stub discovery: records the domains asked for and answers `document`. */
function stubClient(
  resourceTypes: unknown[] | undefined = [{ name: 'file', protocols: { webdav: '/dav/ocm/' } }],
): ShareAccessDeps['client'] & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async discover(domain: string): Promise<DiscoveredPeer> {
      asked.push(domain);
      const origin = providers.originFor(domain);
      if (!origin) throw new OutboundError('untrusted', `provider ${domain} is not trusted`);
      const document = { endPoint: `${origin.origin}/ocm`, ...(resourceTypes ? { resourceTypes: resourceTypes as never } : {}) };
      return { domain, origin, discoveryUrl: `${origin.origin}/.well-known/ocm`, document, endPoint: new URL(document.endPoint) };
    },
  };
}

async function accessFailure(promise: Promise<unknown>): Promise<ShareAccessError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ShareAccessError);
    return error as ShareAccessError;
  }
  throw new Error('expected a ShareAccessError, the call succeeded');
}

test.describe('resolveShareAccess', () => {
  test('an absolute uri on the trusted origin is used as is, with Bearer <secret>, without discovery', async () => {
    const client = stubClient();
    const access = await resolveShareAccess(share({}, { uri: `${SENDER}/dav/ocm/tok-1/` }), { client, providers });
    expect(access).toEqual({ baseUrl: `${SENDER}/dav/ocm/tok-1`, authorization: `Bearer ${SECRET}` });
    expect(client.asked).toEqual([]);
  });

  for (const [label, uri] of [
    ['another trusted host', `${OTHER}/dav/ocm/tok-1`],
    ['another port on the same host', 'http://127.0.0.3:7999/dav/ocm/tok-1'],
    ['another scheme', 'https://127.0.0.3:7001/dav/ocm/tok-1'],
    ['an untrusted host', 'http://169.254.169.254/latest/meta-data'],
  ] as const) {
    test(`an absolute uri on ${label} is refused (SSRF)`, async () => {
      const client = stubClient();
      const error = await accessFailure(resolveShareAccess(share({}, { uri }), { client, providers }));
      expect(error.kind).toBe('uri-elsewhere');
      expect(client.asked).toEqual([]);
    });
  }

  for (const [label, uri] of [
    ['credentials', 'http://user:pw@127.0.0.3:7001/dav/ocm/tok-1'],
    ['a query', `${SENDER}/dav/ocm/tok-1?x=1`],
    ['a fragment', `${SENDER}/dav/ocm/tok-1#x`],
    ['a non-http scheme', 'ftp://127.0.0.3:7001/x'],
  ] as const) {
    test(`an absolute uri with ${label} is refused`, async () => {
      expect((await accessFailure(resolveShareAccess(share({}, { uri }), { client: stubClient(), providers }))).kind).toMatch(
        /bad-uri|uri-elsewhere/,
      );
    });
  }

  test('an untrusted sender is refused before any call', async () => {
    const client = stubClient();
    const error = await accessFailure(resolveShareAccess(share({ senderDomain: 'evil.example.net' }), { client, providers }));
    expect(error.kind).toBe('untrusted');
    expect(client.asked).toEqual([]);
  });

  test('a relative uri is appended to resourceTypes[0].protocols.webdav of the discovered sender', async () => {
    const client = stubClient([
      { name: 'file', protocols: { webdav: '/remote.php/dav/ocm/' } },
      { name: 'folder', protocols: { webdav: '/not/this/one' } },
    ]);
    const access = await resolveShareAccess(share({}, { uri: 'tok-2' }), { client, providers });
    expect(access.baseUrl).toBe(`${SENDER}/remote.php/dav/ocm/tok-2`);
    expect(access.authorization).toBe(`Bearer ${SECRET}`);
    expect(client.asked).toEqual([SENDER_DOMAIN]);
  });

  test('without a webdav prefix in resourceTypes[0], the entry named like the resource type is used, then /dav/ocm', async () => {
    const byName = stubClient([
      { name: 'file', protocols: { webapp: '/apps' } },
      { name: 'folder', protocols: { webdav: 'webdav-folders' } },
    ]);
    expect((await resolveShareAccess(share({}, { uri: '/tok-3' }), { client: byName, providers })).baseUrl).toBe(
      `${SENDER}/webdav-folders/tok-3`,
    );
    const none = stubClient(undefined);
    expect((await resolveShareAccess(share({}, { uri: 'tok-3' }), { client: none, providers })).baseUrl).toBe(`${SENDER}/dav/ocm/tok-3`);
  });

  test('a discovered prefix given as an absolute URL must be on the trusted origin', async () => {
    const same = stubClient([{ name: 'file', protocols: { webdav: `${SENDER}/dav/abs/` } }]);
    expect((await resolveShareAccess(share({}, { uri: 'k' }), { client: same, providers })).baseUrl).toBe(`${SENDER}/dav/abs/k`);
    const elsewhere = stubClient([{ name: 'file', protocols: { webdav: `${OTHER}/dav/ocm` } }]);
    expect((await accessFailure(resolveShareAccess(share({}, { uri: 'k' }), { client: elsewhere, providers }))).kind).toBe('uri-elsewhere');
  });

  test('a discovered prefix with dot segments is refused', async () => {
    const client = stubClient([{ name: 'file', protocols: { webdav: '/dav/%2E%2e/admin' } }]);
    expect((await accessFailure(resolveShareAccess(share({}, { uri: 'k' }), { client, providers }))).kind).toBe('bad-uri');
  });

  for (const uri of ['../admin', 'a/../../b', '%2e%2e/x', 'a/./b', 'a//b', 'k?x=1']) {
    test(`a relative uri ${JSON.stringify(uri)} is refused`, async () => {
      expect((await accessFailure(resolveShareAccess(share({}, { uri }), { client: stubClient(), providers }))).kind).toBe('bad-uri');
    });
  }

  test('a legacy share uses <origin><prefix> and HTTP Basic with the secret as user name', async () => {
    const client = stubClient([{ name: 'file', protocols: { webdav: '/public.php/webdav/' } }]);
    const legacy = share({ protocols: { encoding: 'legacy', webdav: { sharedSecret: SECRET, permissions: ['read'] } } });
    const access = await resolveShareAccess(legacy, { client, providers });
    expect(access.baseUrl).toBe(`${SENDER}/public.php/webdav`);
    expect(access.authorization).toBe(`Basic ${Buffer.from(`${SECRET}:`).toString('base64')}`);
    expect(client.asked).toEqual([SENDER_DOMAIN]);
  });

  test('a token from the token-exchange seam replaces the secret', async () => {
    const seen: string[] = [];
    const access = await resolveShareAccess(share(), {
      client: stubClient(),
      providers,
      getAccessToken: async (s) => {
        seen.push(s.id);
        return 'exchanged-token';
      },
    });
    expect(access.authorization).toBe('Bearer exchanged-token');
    expect(seen).toEqual(['r-1']);
  });

  test('must-exchange-token without a token is refused rather than falling back on the secret', async () => {
    const demanding = share({}, { requirements: ['must-exchange-token'] });
    expect((await accessFailure(resolveShareAccess(demanding, { client: stubClient(), providers }))).kind).toBe('token-required');
    const withToken = await resolveShareAccess(demanding, { client: stubClient(), providers, getAccessToken: async () => 'tok' });
    expect(withToken.authorization).toBe('Bearer tok');
  });

  test('a share without webdav access is refused', async () => {
    const noWebdav = share({ protocols: { encoding: 'multi', webapp: {} } });
    expect((await accessFailure(resolveShareAccess(noWebdav, { client: stubClient(), providers }))).kind).toBe('no-webdav');
  });
});

// ---------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback HTTP server whose behaviour each test sets; it records what it saw. */
async function withServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
  fn: (origin: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await fn(`http://127.0.0.1:${port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function outboundFailure(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundError);
    return error as OutboundError;
  }
  throw new Error('expected an OutboundError, the call succeeded');
}

test.describe('forwardDav', () => {
  test('forwards only the safe headers, our Authorization, identity encoding; streams the body both ways', async () => {
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    await withServer(
      (_req, res, body) => {
        res.writeHead(201, { etag: '"e1"', 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.end(body);
      },
      async (origin, seen) => {
        const answer = await forwardDav(
          {
            method: 'PUT',
            relativePath: 'dir/a%20b.bin',
            headers: {
              Authorization: 'Basic bG9jYWw6dXNlcg==',
              cookie: 'session=local',
              'content-type': 'application/octet-stream',
              'content-length': String(payload.length),
              'if-match': '"x"',
              'x-forwarded-for': '10.0.0.1',
              depth: '0',
            },
            body: Readable.from([payload.subarray(0, 50_000), payload.subarray(50_000)]),
          },
          { baseUrl: `${origin}/dav/ocm/tok`, authorization: `Bearer ${SECRET}` },
          { timeoutMs: 2_000 },
        );
        expect(answer.status).toBe(201);
        expect(answer.headers['etag']).toBe('"e1"');
        expect((await readBody(answer.body, 1_000_000)).equals(payload)).toBe(true);
        expect(seen).toHaveLength(1);
        const [request] = seen;
        expect(request!.url).toBe('/dav/ocm/tok/dir/a%20b.bin');
        expect(request!.headers.authorization).toBe(`Bearer ${SECRET}`);
        expect(request!.headers.cookie).toBeUndefined();
        expect(request!.headers['x-forwarded-for']).toBeUndefined();
        expect(request!.headers['accept-encoding']).toBe('identity');
        expect(request!.headers['if-match']).toBe('"x"');
        expect(request!.headers['content-length']).toBe(String(payload.length));
        expect(request!.body.equals(payload)).toBe(true);
      },
    );
  });

  test('the observer (the OCM inspector) sees each call with its status once the headers arrived', async () => {
    await withServer(
      (_req, res) => res.writeHead(207, { 'content-type': 'application/xml' }).end('<x/>'),
      async (origin) => {
        const seen: OutboundExchange[] = [];
        const access = { baseUrl: `${origin}/dav/ocm/tok`, authorization: 'Bearer s' };
        const answer = await forwardDav({ method: 'PROPFIND', relativePath: 'a.txt', headers: {} }, access, {
          timeoutMs: 2_000,
          observer: (exchange) => seen.push(exchange),
        });
        await readBody(answer.body, 100);
        expect(seen).toEqual([
          expect.objectContaining({ method: 'PROPFIND', url: `${origin}/dav/ocm/tok/a.txt`, status: 207, responseBody: '[streamed body]' }),
        ]);
        expect(seen[0]!.requestHeaders.authorization).toBe('Bearer s');
      },
    );
  });

  test('the base itself and a trailing slash are kept as asked', async () => {
    await withServer(
      (_req, res) => res.writeHead(207, { 'content-type': 'application/xml' }).end('<x/>'),
      async (origin, seen) => {
        const access = { baseUrl: `${origin}/dav/ocm/tok`, authorization: 'Bearer s' };
        await readBody((await forwardDav({ method: 'PROPFIND', relativePath: '', headers: {} }, access, { timeoutMs: 2_000 })).body, 100);
        await readBody((await forwardDav({ method: 'PROPFIND', relativePath: '/', headers: {} }, access, { timeoutMs: 2_000 })).body, 100);
        await readBody(
          (await forwardDav({ method: 'PROPFIND', relativePath: 'sub/', headers: {} }, access, { timeoutMs: 2_000 })).body,
          100,
        );
        expect(seen.map((s) => s.url)).toEqual(['/dav/ocm/tok', '/dav/ocm/tok/', '/dav/ocm/tok/sub/']);
      },
    );
  });

  test('a redirect is an error and is never followed; 304 is not a redirect', async () => {
    await withServer(
      (req, res) => {
        if (req.url?.endsWith('/moved')) res.writeHead(302, { location: '/elsewhere' }).end();
        else res.writeHead(304, { etag: '"e"' }).end();
      },
      async (origin, seen) => {
        const access = { baseUrl: `${origin}/dav`, authorization: 'Bearer s' };
        const error = await outboundFailure(
          forwardDav({ method: 'GET', relativePath: 'moved', headers: {} }, access, { timeoutMs: 2_000 }),
        );
        expect(error.kind).toBe('redirect');
        const notModified = await forwardDav({ method: 'GET', relativePath: 'same', headers: { 'if-none-match': '"e"' } }, access, {
          timeoutMs: 2_000,
        });
        expect(notModified.status).toBe(304);
        expect(seen.map((s) => s.url)).toEqual(['/dav/moved', '/dav/same']);
      },
    );
  });

  test('no answer within the idle deadline is a timeout', async () => {
    await withServer(
      () => undefined, // never answers
      async (origin) => {
        const started = Date.now();
        const error = await outboundFailure(
          forwardDav({ method: 'GET', relativePath: 'x', headers: {} }, { baseUrl: origin, authorization: 'Bearer s' }, { timeoutMs: 300 }),
        );
        expect(error.kind).toBe('timeout');
        expect(Date.now() - started).toBeLessThan(5_000);
      },
    );
  });

  test('a body that stalls after the headers times out too', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.write('12345'); // and nothing more
      },
      async (origin) => {
        const answer = await forwardDav(
          { method: 'GET', relativePath: 'x', headers: {} },
          { baseUrl: origin, authorization: 'Bearer s' },
          { timeoutMs: 300 },
        );
        expect(answer.status).toBe(200);
        const error = await outboundFailure(readBody(answer.body, 100));
        expect(error.kind).toBe('timeout');
      },
    );
  });

  test('a refused connection is unreachable', async () => {
    let closedOrigin = '';
    await withServer(
      () => undefined,
      async (origin) => {
        closedOrigin = origin;
      },
    );
    const error = await outboundFailure(
      forwardDav(
        { method: 'GET', relativePath: 'x', headers: {} },
        { baseUrl: closedOrigin, authorization: 'Bearer s' },
        { timeoutMs: 2_000 },
      ),
    );
    expect(error.kind).toBe('unreachable');
  });

  test('maxResponseBytes caps a declared and a streamed body', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/declared') res.writeHead(200, { 'content-length': '1000' }).end(Buffer.alloc(1000));
        else {
          res.writeHead(200);
          res.end(Buffer.alloc(1000));
        }
      },
      async (origin) => {
        const access = { baseUrl: origin, authorization: 'Bearer s' };
        expect(
          (
            await outboundFailure(
              forwardDav({ method: 'GET', relativePath: 'declared', headers: {} }, access, { timeoutMs: 2_000, maxResponseBytes: 100 }),
            )
          ).kind,
        ).toBe('too-large');
        const streamed = await forwardDav({ method: 'GET', relativePath: 'chunked', headers: {} }, access, {
          timeoutMs: 2_000,
          maxResponseBytes: 100,
        });
        expect((await outboundFailure(readBody(streamed.body, 10_000))).kind).toBe('too-large');
      },
    );
  });
});
