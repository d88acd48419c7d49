/**
 * Unit tests of the outbound OCM client. msw plays the remote servers on
 * made-up hosts; only loopback requests (the "connection refused" case) go
 * to the real network.
 */
import { test, expect } from '@playwright/test';
import { setupServer } from 'msw/node';
import { http, HttpResponse, delay } from 'msw';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer } from 'node:net';
import { getRegistry } from '../../openapi/registry.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { OcmClient, OutboundError, type DiscoveredPeer, type OcmClientOptions } from './ocm-client.ts';

const PEER = 'https://peer.example.org';
const OTHER = 'https://other.example.org';
const UNTRUSTED = 'https://evil.example.net';

// Every case here should finish in well under a second; a hang is a failure.
test.describe.configure({ timeout: 15_000 });

const server = setupServer();
/** Every request msw saw (handled or not), as METHOD URL. */
let seen: string[] = [];
/** Requests that no handler answered and that were not loopback. */
let unhandled: string[] = [];

function isLoopback(url: URL): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname === 'localhost' || url.hostname === '[::1]';
}

test.beforeAll(() => {
  server.events.on('request:start', ({ request }) => {
    seen.push(`${request.method} ${request.url}`);
  });
  server.listen({
    onUnhandledRequest(request, print) {
      if (isLoopback(new URL(request.url))) return;
      unhandled.push(`${request.method} ${request.url}`);
      print.error();
    },
  });
});
test.afterAll(() => {
  // beforeAll may run again in this worker (fullyParallel): start from no listeners.
  server.events.removeAllListeners();
  server.close();
});
test.beforeEach(() => {
  seen = [];
  unhandled = [];
});
test.afterEach(() => {
  server.resetHandlers();
  expect(unhandled, 'requests that reached no handler').toEqual([]);
});

const providers = new TrustedProviders([providerEntry('peer', PEER), providerEntry('other', OTHER)]);

function client(options: Partial<OcmClientOptions> = {}): OcmClient {
  // The peers msw plays have names that resolve nowhere; the address policy (outbound-safety.test.ts) is not under test here.
  return new OcmClient({
    providers,
    registry: getRegistry(),
    timeoutMs: 2_000,
    maxResponseBytes: 64 * 1024,
    allowPrivateAddresses: true,
    ...options,
  });
}

function discoveryDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    apiVersion: '1.4.0',
    endPoint: `${PEER}/ocm`,
    provider: 'Peer',
    resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm' } }],
    capabilities: ['invites'],
    ...overrides,
  };
}

/** Runs `fn` and returns the OutboundError it rejects with (fails the test otherwise). */
async function outboundFailure(fn: () => Promise<unknown>): Promise<OutboundError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundError);
    return error as OutboundError;
  }
  throw new Error('expected an OutboundError, the call succeeded');
}

test.describe('discovery', () => {
  test('reads /.well-known/ocm of a trusted provider', async () => {
    let userAgent: string | null = null;
    server.use(
      http.get(`${PEER}/.well-known/ocm`, ({ request }) => {
        userAgent = request.headers.get('user-agent');
        return HttpResponse.json(discoveryDoc());
      }),
    );
    const peer = await client({ userAgent: 'test-agent' }).discover('PEER.example.org');
    expect(peer.domain).toBe('peer.example.org');
    expect(peer.origin.toString()).toBe(`${PEER}/`);
    expect(peer.discoveryUrl).toBe(`${PEER}/.well-known/ocm`);
    expect(peer.endPoint.toString()).toBe(`${PEER}/ocm`);
    expect(peer.document.provider).toBe('Peer');
    expect(userAgent).toBe('test-agent');
    expect(seen).toEqual([`GET ${PEER}/.well-known/ocm`]);
  });

  test('falls back to /ocm-provider when /.well-known/ocm answers 404', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => HttpResponse.json({ message: 'not found' }, { status: 404 })),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc({ apiVersion: '1.0-proposal1' }))),
    );
    const peer = await client().discover('peer.example.org');
    expect(peer.discoveryUrl).toBe(`${PEER}/ocm-provider`);
    expect(peer.document.apiVersion).toBe('1.0-proposal1');
    expect(seen).toEqual([`GET ${PEER}/.well-known/ocm`, `GET ${PEER}/ocm-provider`]);
  });

  test('falls back to /ocm-provider when /.well-known/ocm answers garbage', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => new HttpResponse('<html>welcome</html>', { headers: { 'content-type': 'text/html' } })),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc())),
    );
    const peer = await client().discover('peer.example.org');
    expect(peer.discoveryUrl).toBe(`${PEER}/ocm-provider`);
    expect(seen).toHaveLength(2);
  });

  test('falls back when /.well-known/ocm is JSON without an endPoint', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => HttpResponse.json({ enabled: true })),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc())),
    );
    const peer = await client().discover('peer.example.org');
    expect(peer.discoveryUrl).toBe(`${PEER}/ocm-provider`);
  });

  test('both paths failing is a typed error about the first', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => new HttpResponse(null, { status: 404 })),
      http.get(`${PEER}/ocm-provider`, () => new HttpResponse('nope', { status: 500 })),
    );
    const error = await outboundFailure(() => client().discover('peer.example.org'));
    expect(error.kind).toBe('bad-response');
    expect(error.url).toBe(`${PEER}/.well-known/ocm`);
    expect(error.status).toBe(404);
    expect(seen).toEqual([`GET ${PEER}/.well-known/ocm`, `GET ${PEER}/ocm-provider`]);
  });

  test('an untrusted domain is refused without any request', async () => {
    server.use(http.get(`${UNTRUSTED}/*`, () => HttpResponse.json(discoveryDoc({ endPoint: `${UNTRUSTED}/ocm` }))));
    for (const domain of ['evil.example.net', 'peer.example.org:8443', 'example.org', 'evil-peer.example.org']) {
      const error = await outboundFailure(() => client().discover(domain));
      expect(error.kind, domain).toBe('untrusted');
    }
    expect(seen).toEqual([]);
  });

  test('a peer slower than the deadline is a timeout, reported quickly and not retried', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, async () => {
        await delay(5_000);
        return HttpResponse.json(discoveryDoc());
      }),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc())),
    );
    const started = Date.now();
    const error = await outboundFailure(() => client({ timeoutMs: 150 }).discover('peer.example.org'));
    const elapsed = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(elapsed).toBeLessThan(2_000);
    expect(seen).toEqual([`GET ${PEER}/.well-known/ocm`]);
  });

  test('a redirect is an error and its Location is never fetched', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => new HttpResponse(null, { status: 302, headers: { location: `${OTHER}/.well-known/ocm` } })),
      http.get(`${PEER}/ocm-provider`, () => new HttpResponse(null, { status: 301, headers: { location: `${OTHER}/ocm-provider` } })),
      http.get(`${OTHER}/*`, () => HttpResponse.json(discoveryDoc({ endPoint: `${OTHER}/ocm` }))),
    );
    const error = await outboundFailure(() => client().discover('peer.example.org'));
    expect(error.kind).toBe('redirect');
    expect(error.status).toBe(302);
    expect(seen.filter((s) => s.includes('other.example.org'))).toEqual([]);
  });

  test('garbage JSON on both paths is bad-response', async () => {
    server.use(
      http.get(
        `${PEER}/.well-known/ocm`,
        () => new HttpResponse('{"endPoint": "https://peer.exa', { headers: { 'content-type': 'application/json' } }),
      ),
      http.get(`${PEER}/ocm-provider`, () => new HttpResponse('not json at all', { headers: { 'content-type': 'application/json' } })),
    );
    const error = await outboundFailure(() => client().discover('peer.example.org'));
    expect(error.kind).toBe('bad-response');
    expect(error.message).toContain('JSON');
  });

  test('a body larger than maxResponseBytes with Content-Length is too-large', async () => {
    const big = JSON.stringify(discoveryDoc({ padding: 'x'.repeat(4_096) }));
    server.use(
      http.get(
        `${PEER}/.well-known/ocm`,
        () => new HttpResponse(big, { headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) } }),
      ),
      http.get(
        `${PEER}/ocm-provider`,
        () => new HttpResponse(big, { headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) } }),
      ),
    );
    const error = await outboundFailure(() => client({ maxResponseBytes: 1_024 }).discover('peer.example.org'));
    expect(error.kind).toBe('too-large');
    expect(error.message).toContain('announced');
    // The same document fits under a larger cap: the size is what was refused.
    const peer = await client({ maxResponseBytes: 64 * 1024 }).discover('peer.example.org');
    expect(peer.endPoint.toString()).toBe(`${PEER}/ocm`);
  });

  test('a body larger than maxResponseBytes without Content-Length is too-large', async () => {
    let chunksPulled = 0;
    const endless = () => {
      const chunk = new TextEncoder().encode(' '.repeat(512));
      return new HttpResponse(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            chunksPulled++;
            if (chunksPulled > 1_000)
              controller.close(); // bounded: 512 kB at most
            else controller.enqueue(chunk);
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    };
    server.use(http.get(`${PEER}/.well-known/ocm`, endless), http.get(`${PEER}/ocm-provider`, endless));
    const error = await outboundFailure(() => client({ maxResponseBytes: 2_048 }).discover('peer.example.org'));
    expect(error.kind).toBe('too-large');
    expect(error.message).toContain('sent more than');
  });

  test('an endPoint on another host is endpoint-elsewhere', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => HttpResponse.json(discoveryDoc({ endPoint: `${OTHER}/ocm` }))),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc({ endPoint: `${OTHER}/ocm` }))),
    );
    const error = await outboundFailure(() => client().discover('peer.example.org'));
    expect(error.kind).toBe('endpoint-elsewhere');
    expect(error.message).toContain(OTHER);
  });

  test('an endPoint on the same host with another scheme or port is endpoint-elsewhere', async () => {
    for (const endPoint of ['http://peer.example.org/ocm', 'https://peer.example.org:8443/ocm']) {
      server.use(
        http.get(`${PEER}/.well-known/ocm`, () => HttpResponse.json(discoveryDoc({ endPoint }))),
        http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc({ endPoint }))),
      );
      const error = await outboundFailure(() => client().discover('peer.example.org'));
      expect(error.kind, endPoint).toBe('endpoint-elsewhere');
    }
  });

  test('enabled:false is disabled and the legacy path is not tried', async () => {
    server.use(
      http.get(`${PEER}/.well-known/ocm`, () => HttpResponse.json(discoveryDoc({ enabled: false }))),
      http.get(`${PEER}/ocm-provider`, () => HttpResponse.json(discoveryDoc())),
    );
    const error = await outboundFailure(() => client().discover('peer.example.org'));
    expect(error.kind).toBe('disabled');
    expect(seen).toEqual([`GET ${PEER}/.well-known/ocm`]);
  });
});

test.describe('postJson to /invite-accepted', () => {
  const payload = {
    recipientProvider: 'receiver.example.net',
    token: 'tok-1',
    userID: 'marie',
    email: 'marie@example.net',
    name: 'Marie Curie',
  };
  const peer = (): DiscoveredPeer => ({
    domain: 'peer.example.org',
    origin: new URL(PEER),
    discoveryUrl: `${PEER}/.well-known/ocm`,
    document: { endPoint: `${PEER}/ocm/` },
    endPoint: new URL(`${PEER}/ocm/`),
  });

  test('200 with a valid body is returned, and the request is what was asked', async () => {
    let received: { body: unknown; contentType: string | null; extra: string | null } | undefined;
    server.use(
      http.post(`${PEER}/ocm/invite-accepted`, async ({ request }) => {
        received = { body: await request.json(), contentType: request.headers.get('content-type'), extra: request.headers.get('x-extra') };
        return HttpResponse.json({ userID: 'einstein', email: 'einstein@example.org', name: 'Albert Einstein' });
      }),
    );
    const answer = await client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload, { headers: { 'x-extra': 'yes' } });
    expect(answer).toEqual({
      status: 200,
      body: { userID: 'einstein', email: 'einstein@example.org', name: 'Albert Einstein' },
      bodyValid: true,
    });
    expect(received).toEqual({ body: payload, contentType: 'application/json', extra: 'yes' });
    expect(seen).toEqual([`POST ${PEER}/ocm/invite-accepted`]);
  });

  test('200 with a body missing email is bad-response', async () => {
    server.use(http.post(`${PEER}/ocm/invite-accepted`, () => HttpResponse.json({ userID: 'einstein', name: 'Albert Einstein' })));
    const error = await outboundFailure(() => client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload));
    expect(error.kind).toBe('bad-response');
    expect(error.status).toBe(200);
  });

  test('lenientSuccess returns a 2xx whose body does not match, with bodyValid false', async () => {
    server.use(http.post(`${PEER}/ocm/invite-accepted`, () => HttpResponse.json({})));
    const answer = await client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload, { lenientSuccess: true });
    expect(answer).toEqual({ status: 200, body: {}, bodyValid: false });
  });

  test('200 with an empty body is bad-response', async () => {
    server.use(http.post(`${PEER}/ocm/invite-accepted`, () => new HttpResponse(null, { status: 200 })));
    const error = await outboundFailure(() => client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload));
    expect(error.kind).toBe('bad-response');
  });

  for (const status of [409, 400, 403]) {
    test(`${status} is returned with its status and bodyValid`, async () => {
      server.use(http.post(`${PEER}/ocm/invite-accepted`, () => HttpResponse.json({ message: `refused with ${status}` }, { status })));
      const answer = await client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload);
      expect(answer).toEqual({ status, body: { message: `refused with ${status}` }, bodyValid: true });
    });
    test(`${status} with a body that is not an OCM error is returned with bodyValid false`, async () => {
      server.use(http.post(`${PEER}/ocm/invite-accepted`, () => HttpResponse.json({ error: 'nope' }, { status })));
      const answer = await client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload);
      expect(answer.status).toBe(status);
      expect(answer.bodyValid).toBe(false);
    });
  }

  test('a redirect on POST is an error and not followed', async () => {
    server.use(
      http.post(
        `${PEER}/ocm/invite-accepted`,
        () => new HttpResponse(null, { status: 307, headers: { location: `${OTHER}/ocm/invite-accepted` } }),
      ),
      http.post(`${OTHER}/ocm/invite-accepted`, () => HttpResponse.json({ userID: 'x', email: 'x', name: 'x' })),
    );
    const error = await outboundFailure(() => client().postJson(peer(), '/invite-accepted', 'acceptInvite', payload));
    expect(error.kind).toBe('redirect');
    expect(seen).toEqual([`POST ${PEER}/ocm/invite-accepted`]);
  });
});

test('connection refused on a real closed loopback port is unreachable', async () => {
  // Reserve a port, then close it: nothing listens there afterwards.
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address();
      const chosen = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(chosen));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  const local = new TrustedProviders([providerEntry('closed', origin)]);
  const started = Date.now();
  const error = await outboundFailure(() => client({ providers: local, timeoutMs: 5_000 }).discover(`127.0.0.1:${port}`));
  expect(error.kind).toBe('unreachable');
  expect(error.message).toContain('ECONNREFUSED');
  expect(Date.now() - started).toBeLessThan(4_000);
  // Unreachable is final: the legacy path is not tried.
  expect(seen).toEqual([`GET ${origin}/.well-known/ocm`]);
});

/** A real HTTP server on 127.0.0.1 (what msw cannot play: a stalled body, a real abort). */
async function loopbackServer(handler: RequestListener): Promise<{ origin: string; domain: string; close(): Promise<void> }> {
  const httpServer: Server = createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    domain: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}

test.describe('against a real loopback server', () => {
  test('a body that stalls past the deadline is a timeout, reported quickly', async () => {
    const timers: NodeJS.Timeout[] = [];
    const peerServer = await loopbackServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"endPoint":');
      timers.push(setTimeout(() => response.end('"x"}'), 5_000));
    });
    try {
      const local = new TrustedProviders([providerEntry('slow', peerServer.origin)]);
      const started = Date.now();
      const error = await outboundFailure(() => client({ providers: local, timeoutMs: 200 }).discover(peerServer.domain));
      expect(error.kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      timers.forEach(clearTimeout);
      await peerServer.close();
    }
  });

  test('a chunked body larger than maxResponseBytes is too-large', async () => {
    // (msw passes loopback through with a tee of the body, so whether the
    // connection is dropped early cannot be observed here; only the verdict.)
    const peerServer = await loopbackServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      let written = 0;
      const chunk = ' '.repeat(1_024);
      // Bounded: 1 MB at most, no Content-Length (chunked).
      const pump = () => {
        while (written < 1024 * 1024 && !response.destroyed) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    try {
      const local = new TrustedProviders([providerEntry('big', peerServer.origin)]);
      const error = await outboundFailure(() => client({ providers: local, maxResponseBytes: 8 * 1024 }).discover(peerServer.domain));
      expect(error.kind).toBe('too-large');
      expect(error.message).toContain('sent more than');
    } finally {
      await peerServer.close();
    }
  });
});
