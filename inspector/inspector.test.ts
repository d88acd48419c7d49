/**
 * The inspector on its own: the ring's bound, redaction, the schema and
 * requirement verdicts, and its HTTP surface (loopback only).
 */
import { test, expect } from '@playwright/test';
import Fastify from 'fastify';
import { getRegistry } from '../openapi/registry.ts';
import type { ExchangeInput } from './exchange.ts';
import { Inspector } from './inspector.ts';
import { inspectorPlugin, isLoopbackHost } from './plugin.ts';
import { inspectorPage } from './page.ts';
import { BODY_CAP_BYTES } from './redact.ts';
import { exchangeForwarder } from './forward.ts';
import { startInspectorServer } from './server.ts';
import { requirementMap } from './requirements.ts';

const SECRET = 'a-shared-secret-nobody-may-see-123';

function share(webdav: Record<string, unknown>): string {
  return JSON.stringify({
    shareWith: 'einstein@127.0.0.2:8080',
    name: 'report.pdf',
    providerId: 'p-1',
    owner: 'alice@127.0.0.3:9999',
    sender: 'alice@127.0.0.3:9999',
    shareType: 'user',
    resourceType: 'file',
    protocol: { name: 'multi', webdav },
  });
}

function exchange(overrides: Partial<ExchangeInput> = {}): ExchangeInput {
  return {
    direction: 'inbound',
    peer: '127.0.0.3:9999',
    method: 'POST',
    url: 'http://127.0.0.2:8080/ocm/shares',
    startedAt: Date.now(),
    durationMs: 3,
    requestHeaders: { 'content-type': 'application/json' },
    requestBody: share({ uri: 'http://127.0.0.3:9999/dav/ocm/abc', sharedSecret: SECRET, permissions: ['read'] }),
    status: 201,
    responseHeaders: { 'content-type': 'application/json' },
    responseBody: '{"recipientDisplayName":"Albert Einstein"}',
    operation: { doc: 'ocm', id: 'createShare' },
    signature: { status: 'signed', signer: '127.0.0.3:9999', keyid: '127.0.0.3:9999#key-1', scheme: 'rfc9421' },
    ...overrides,
  };
}

test('the ring keeps the last N exchanges, newest first, and counts every one', () => {
  const inspector = new Inspector({ registry: getRegistry(), capacity: 3 });
  for (let i = 0; i < 5; i++) inspector.record(exchange());
  expect(inspector.list().map((r) => r.id)).toEqual(['x5', 'x4', 'x3']);
  expect(inspector.total).toBe(5);
  expect(inspector.get('x1')).toBeUndefined();
});

test('capture is lazy: the record is built once, on first read, and equals the one built at once; a listener gets it live', () => {
  const lazy = new Inspector({ registry: getRegistry() });
  const eager = new Inspector({ registry: getRegistry() });
  const input = exchange({ startedAt: 1_700_000_000_000 });
  expect(lazy.capture(input)).toBe('x1');
  const first = lazy.get('x1');
  expect(first).toEqual(eager.record(input));
  expect(lazy.list()[0]).toBe(first);
  expect(JSON.stringify(lazy.list())).not.toContain(SECRET);

  const live: string[] = [];
  const unsubscribe = lazy.subscribe((record) => live.push(record.verdict));
  lazy.capture(exchange());
  unsubscribe();
  expect(live).toEqual(['POST /ocm/shares 201 · schema ✔ · signed ✔ 127.0.0.3:9999#key-1']);
  expect(lazy.total).toBe(2);
});

test('a valid signed share: schema ✔, signed ✔, the requirements it touched, nothing failed', () => {
  const record = new Inspector({ registry: getRegistry() }).record(exchange());
  expect(record.verdict).toBe('POST /ocm/shares 201 · schema ✔ · signed ✔ 127.0.0.3:9999#key-1');
  expect(record.problem).toBe(false);
  expect(record.surface).toBe('ocm');
  expect(record.requirements.touched).toEqual(expect.arrayContaining(['SHR-1', 'SHR-2', 'SHR-27']));
  expect(record.requirements.failed).toEqual([]);
});

test('a share without webdav.uri: the violation with its JSON pointer and requirement, marked failed', () => {
  const record = new Inspector({ registry: getRegistry() }).record(
    exchange({
      requestBody: share({ sharedSecret: SECRET, permissions: 'read' }),
      status: 400,
      responseBody: '{"message":"The request does not match the API description"}',
      signature: { status: 'not-checked' },
    }),
  );
  expect(record.problem).toBe(true);
  expect(record.schema.request).toMatchObject({
    status: 'invalid',
    violations: expect.arrayContaining([
      expect.objectContaining({ pointer: '/protocol/webdav/uri', text: 'protocol.webdav.uri is required', requirements: ['SHR-13'] }),
      expect.objectContaining({ pointer: '/protocol/webdav/permissions', text: 'protocol.webdav.permissions must be array' }),
    ]),
  });
  expect(record.verdict).toMatch(
    /^POST \/ocm\/shares 400 · schema ✘ protocol\.webdav\.\w+ (is required|must be array) \(SHR-13\) \+1 more · signature –$/,
  );
  expect(record.requirements.failed).toEqual(['SHR-13']);
});

test('a refused signature fails the signing requirements of the operation', () => {
  const record = new Inspector({ registry: getRegistry() }).record(
    exchange({
      status: 401,
      responseBody: '{"message":"bad signature"}',
      signature: { status: 'refused', code: 'SIGNATURE_INVALID', reason: 'rfc9421: bad-signature' },
    }),
  );
  expect(record.problem).toBe(true);
  expect(record.verdict).toContain('signature ✘ SIGNATURE_INVALID (rfc9421: bad-signature)');
  expect(record.requirements.failed).toEqual(expect.arrayContaining(['SHR-27', 'SIG-1']));
});

test('secrets are masked everywhere: headers, JSON members, the same value elsewhere, forms, URLs; curl keeps them masked', () => {
  const inspector = new Inspector({ registry: getRegistry() });
  const record = inspector.record(
    exchange({
      url: `http://127.0.0.2:8080/ocm/shares?token=${SECRET}`,
      requestHeaders: {
        'content-type': 'application/json',
        authorization: `Bearer ${SECRET}`,
        signature: 'ocm=:c2lnbmF0dXJlLXZhbHVlLWhlcmU=:',
        'signature-input': 'ocm=("@method");keyid="k#1"',
      },
      requestBody: share({ uri: `http://127.0.0.3:9999/dav/${SECRET}`, sharedSecret: SECRET, permissions: ['read'] }),
    }),
  );
  const token = inspector.record(
    exchange({
      url: 'http://127.0.0.2:8080/ocm/token',
      operation: { doc: 'ocm', id: 'exchangeToken' },
      requestHeaders: { 'content-type': 'application/x-www-form-urlencoded' },
      requestBody: `grant_type=authorization_code&client_id=127.0.0.3%3A9999&code=${SECRET}`,
      responseBody: JSON.stringify({ access_token: 'access-token-value-0000', token_type: 'Bearer', expires_in: 60 }),
      status: 200,
    }),
  );
  const everything = JSON.stringify([record, token]);
  for (const secret of [SECRET, 'c2lnbmF0dXJlLXZhbHVlLWhlcmU=', 'access-token-value-0000']) expect(everything).not.toContain(secret);
  expect(record.request.headers.authorization).toBe('Bearer [redacted]');
  expect(record.request.headers.signature).toBe('ocm=:[redacted]:');
  expect(record.request.headers['signature-input']).toContain('keyid="k#1"');
  expect(record.curl).toContain("-H 'authorization: Bearer [redacted]'");
  expect(token.request.body).toContain('code=[redacted]');
  expect(token.schema.request.status).toBe('valid');
});

test('bodies are capped at 64 KiB and binary bodies are described, not kept', () => {
  const inspector = new Inspector({ registry: getRegistry() });
  const big = inspector.record(exchange({ requestBody: 'x'.repeat(BODY_CAP_BYTES * 2), requestHeaders: { 'content-type': 'text/plain' } }));
  expect(big.request.truncated).toBe(true);
  expect(Buffer.byteLength(big.request.body!)).toBe(BODY_CAP_BYTES);
  expect(big.request.bytes).toBe(BODY_CAP_BYTES * 2);
  const binary = inspector.record(
    exchange({
      method: 'GET',
      url: 'http://127.0.0.2:8080/dav/ocm/x',
      requestBody: undefined,
      responseHeaders: { 'content-type': 'image/png' },
      responseBody: Buffer.from([1, 2, 3]),
      operation: undefined,
    }),
  );
  expect(binary.response?.body).toBe('[3 bytes of image/png]');
  expect(binary.surface).toBe('webdav');
  expect(binary.requirements.touched).toContain('DAV-3');
});

test('the exchange → requirement table names operations of the registry and requirements of the catalogue', () => {
  const map = requirementMap();
  const operations = new Set(
    getRegistry()
      .listOperations()
      .map((op) => `${op.document}.${op.operationId}`),
  );
  for (const key of map.operations.keys()) expect(operations, key).toContain(key);
});

test('the HTTP surface: page, exchanges.json, requirement texts; 403 for clients off loopback', async () => {
  const inspector = new Inspector({ registry: getRegistry() });
  inspector.record(exchange());
  const app = Fastify();
  await app.register(inspectorPlugin, { inspector });
  const page = await app.inject({ url: '/_inspector' });
  expect(page.statusCode).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.body).not.toMatch(/(src|href)="https?:/);
  const json = await app.inject({ url: '/_inspector/exchanges.json' });
  expect(json.json()).toMatchObject({ capacity: 1000, total: 1, exchanges: [{ id: 'x1' }] });
  expect((await app.inject({ url: '/_inspector/requirements' })).body).toContain('id="SHR-13"');
  const remote = await app.inject({ url: '/_inspector/exchanges.json', remoteAddress: '192.0.2.7' });
  expect(remote.statusCode).toBe(403);
  await app.close();
  expect([
    isLoopbackHost('127.0.0.2'),
    isLoopbackHost('::1'),
    isLoopbackHost('localhost'),
    isLoopbackHost('0.0.0.0'),
    isLoopbackHost('10.1.2.3'),
  ]).toEqual([true, true, true, false, false]);
});

test('run --inspect plumbing: a forwarded exchange reaches the inspector server under the id its sender gave', async () => {
  const server = await startInspectorServer({ registry: getRegistry(), host: '127.0.0.1' });
  try {
    const forwarder = exchangeForwarder(server.ingestUrl);
    forwarder.send(
      exchange({ id: 'w0-1', requestBody: Buffer.from(share({ uri: 'http://x/dav/1', sharedSecret: SECRET, permissions: ['read'] })) }),
    );
    const deadline = Date.now() + 5000;
    while (!server.inspector.get('w0-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const record = server.inspector.get('w0-1');
    expect(record?.schema.request.status).toBe('valid');
    expect(JSON.stringify(record)).not.toContain(SECRET);
    expect(forwarder.dropped()).toBe(0);
    const page = await fetch(server.pageUrl);
    expect(page.status).toBe(200);
    await page.body?.cancel();
  } finally {
    await server.close();
  }
});

test('the saved page embeds the exchanges as data, never as markup', () => {
  const record = new Inspector({ registry: getRegistry() }).record(exchange({ peer: '</script><b>x</b>' }));
  const html = inspectorPage('saved', { exchanges: [record], capacity: 1000 });
  expect(html).not.toContain('</script><b>');
  expect(html).toContain('id="saved-exchanges"');
});
