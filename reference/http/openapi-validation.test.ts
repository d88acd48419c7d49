import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../app.ts';
import { buildConfig } from '../base/config.ts';
import { ERRORS, isFault, OcmError, type ErrorCode } from '../base/errors.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { buildTestApp, TRUSTED_PEER, validShare, type TestApp } from '../testing/harness.ts';
import { capturingLogger, type LogLine } from '../testing/log-capture.ts';

let t: TestApp;
test.beforeEach(async () => {
  t = await buildTestApp({ bodyLimitBytes: 4096 });
});
test.afterEach(async () => {
  await t.close();
});

test.describe('response validation is switched on', () => {
  test('an invalid response body is caught and replaced, never sent', async () => {
    t.app.post('/test/bad-body', { config: { operation: { doc: 'ocm', id: 'createShare' } } }, async (_request, reply) =>
      reply.code(201).send({ recipientDisplayName: 42, secret: 'leak' }),
    );
    const response = await t.app.inject({ method: 'POST', url: '/test/bad-body', payload: validShare() });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ code: 'RESPONSE_INVALID', message: expect.any(String) });
    expect(response.body).not.toContain('leak');
  });
  test('a status the operation does not declare is caught', async () => {
    t.app.post('/test/bad-status', { config: { operation: { doc: 'ocm', id: 'createShare' } } }, async (_request, reply) =>
      reply.code(202).send({ recipientDisplayName: 'x' }),
    );
    const response = await t.app.inject({ method: 'POST', url: '/test/bad-status', payload: validShare() });
    expect(response.statusCode).toBe(500);
    expect(response.json().code).toBe('RESPONSE_INVALID');
  });
  test('a valid response passes unchanged', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/ocm/shares', payload: validShare() });
    expect(response.statusCode).toBe(201);
  });
});

test.describe('bad input never yields a 5xx', () => {
  const cases: Array<{
    name: string;
    method?: 'POST' | 'GET' | 'PUT' | 'DELETE';
    url: string;
    headers?: Record<string, string>;
    payload?: string | Buffer;
    status: number;
  }> = [
    { name: 'malformed JSON', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '{"shareWith": ', status: 400 },
    {
      name: 'JSON that is not an object',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      payload: '[1,2,3]',
      status: 400,
    },
    { name: 'a JSON string', url: '/ocm/notifications', headers: { 'content-type': 'application/json' }, payload: '"hello"', status: 400 },
    { name: 'JSON null', url: '/ocm/invite-accepted', headers: { 'content-type': 'application/json' }, payload: 'null', status: 400 },
    { name: 'an empty JSON body', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '', status: 400 },
    { name: 'no body and no content type', url: '/ocm/shares', status: 400 },
    { name: 'text/plain', url: '/ocm/shares', headers: { 'content-type': 'text/plain' }, payload: 'hello', status: 415 },
    {
      name: 'a form body where JSON is required',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'shareWith=a',
      status: 415,
    },
    { name: 'XML', url: '/ocm/invite-accepted', headers: { 'content-type': 'application/xml' }, payload: '<a/>', status: 415 },
    { name: 'a nonsense content type', url: '/ocm/notifications', headers: { 'content-type': '%%%' }, payload: '{}', status: 415 },
    {
      name: 'wrong field types',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(validShare({ shareWith: 5, protocol: 'webdav', expiration: 'soon' })),
      status: 400,
    },
    {
      name: 'an oversized body',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(validShare({ description: 'x'.repeat(10_000) })),
      status: 413,
    },
    {
      name: '__proto__ pollution',
      url: '/ocm/invite-accepted',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__": {"admin": true}, "token": "t"}',
      status: 400,
    },
    {
      name: 'deeply nested JSON',
      url: '/ocm/notifications',
      headers: { 'content-type': 'application/json' },
      payload: `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`,
      status: 400,
    },
    {
      name: 'invalid UTF-8',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      status: 400,
    },
    { name: 'an unknown route', method: 'GET', url: '/no/such/thing', status: 404 },
    {
      name: 'an unknown OCM endpoint',
      url: '/ocm/nothing-here',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
      status: 404,
    },
    {
      name: 'a wrong method on a known path',
      method: 'PUT',
      url: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
      status: 404,
    },
    {
      name: 'a missing notification field',
      url: '/ocm/notifications',
      headers: { 'content-type': 'application/json' },
      payload: '{"notificationType":"SHARE_ACCEPTED"}',
      status: 400,
    },
    { name: 'a path with encoded junk', method: 'GET', url: '/.well-known/%E0%A4%A', status: 400 },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status} with a JSON error body`, async () => {
      const response = await t.app.inject({ method: c.method ?? 'POST', url: c.url, headers: c.headers, payload: c.payload });
      expect(response.statusCode, response.body).toBe(c.status);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const body = response.json();
      expect(typeof body.message).toBe('string');
      expect(typeof body.code).toBe('string');
    });
  }
  test('the server still answers afterwards', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health' });
    expect(response.json()).toEqual({ status: 'ok' });
  });
});

test.describe('failures are logged by the catalogue', () => {
  const ERROR = 50;
  const WARN = 40;

  /** An app whose log lines are captured; `throws` registers a route that throws what the factory returns. */
  async function loggedApp(
    throws: Record<string, () => unknown>,
  ): Promise<{ app: TestApp['app']; failures: () => LogLine[]; close(): Promise<void> }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'ocm-log-'));
    const { logger, lines } = capturingLogger();
    const config = buildConfig({ host: '127.0.0.2', port: 8080, dataDir });
    const providers = new TrustedProviders([providerEntry('peer-0', TRUSTED_PEER)]);
    const { app } = await buildApp(config, { logger, providers });
    for (const [name, make] of Object.entries(throws)) {
      app.get(`/test/throw/${name}`, async () => {
        throw make();
      });
    }
    return {
      app,
      failures: () => lines.filter((line) => line.msg === 'request failed'),
      async close() {
        await app.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }

  test('only INTERNAL and RESPONSE_INVALID are faults in the catalogue', () => {
    const faults = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => isFault(new OcmError(code)));
    expect(faults.sort()).toEqual(['INTERNAL', 'RESPONSE_INVALID']);
  });

  test('a thrown non-OcmError and INTERNAL are logged at error level with the stack', async () => {
    const logged = await loggedApp({
      plain: () => new Error('boom: the disk is on fire'),
      internal: () => new OcmError('INTERNAL', { cause: new Error('backend gone') }),
    });
    try {
      const plain = await logged.app.inject({ method: 'GET', url: '/test/throw/plain' });
      expect(plain.statusCode).toBe(500);
      expect(plain.json()).toEqual({ code: 'INTERNAL', message: ERRORS.INTERNAL.message });
      expect(plain.body).not.toContain('boom');
      const internal = await logged.app.inject({ method: 'GET', url: '/test/throw/internal' });
      expect(internal.statusCode).toBe(500);
      const [first, second, ...rest] = logged.failures();
      expect(rest).toEqual([]);
      expect(first).toMatchObject({ level: ERROR, err: { message: 'boom: the disk is on fire' } });
      expect(first!.err!.stack).toContain('boom: the disk is on fire');
      expect(second!.level).toBe(ERROR);
      expect(second!.err!.message).toContain('backend gone');
      expect(second!.err!.stack).toBeTruthy();
    } finally {
      await logged.close();
    }
  });

  test('expected 5xx answers are logged at warn with code and message, never at error, never with a stack', async () => {
    const cases: Array<{ name: string; error: () => OcmError; status: number; code: ErrorCode }> = [
      { name: 'unsupported', error: () => new OcmError('UNSUPPORTED_SHARE_TYPE'), status: 501, code: 'UNSUPPORTED_SHARE_TYPE' },
      {
        name: 'token',
        error: () => new OcmError('UNSUPPORTED_REQUIREMENT', { status: 501, message: 'no token exchange here' }),
        status: 501,
        code: 'UNSUPPORTED_REQUIREMENT',
      },
      {
        name: 'bad-gateway',
        error: () => new OcmError('REMOTE_BAD_RESPONSE', { cause: new Error('peer sent HTML') }),
        status: 502,
        code: 'REMOTE_BAD_RESPONSE',
      },
      {
        name: 'unavailable',
        error: () => new OcmError('REMOTE_REFUSED', { status: 503, message: 'the peer is in maintenance' }),
        status: 503,
        code: 'REMOTE_REFUSED',
      },
      { name: 'timeout', error: () => new OcmError('REMOTE_UNREACHABLE'), status: 504, code: 'REMOTE_UNREACHABLE' },
      { name: 'elsewhere', error: () => new OcmError('DESTINATION_OTHER_SERVER'), status: 502, code: 'DESTINATION_OTHER_SERVER' },
    ];
    const logged = await loggedApp(Object.fromEntries(cases.map((c) => [c.name, c.error])));
    try {
      for (const c of cases) {
        const response = await logged.app.inject({ method: 'GET', url: `/test/throw/${c.name}` });
        expect(response.statusCode, c.name).toBe(c.status);
        expect(response.json().code).toBe(c.code);
      }
      const failures = logged.failures();
      expect(failures.filter((line) => line.level >= ERROR)).toEqual([]);
      expect(failures).toHaveLength(cases.length);
      for (const [i, c] of cases.entries()) {
        const line = failures[i]!;
        expect(line, c.name).toMatchObject({ level: WARN, status: c.status, code: c.code, reason: c.error().message });
        expect(line.err, c.name).toBeUndefined();
        expect(JSON.stringify(line), c.name).not.toMatch(/\bat .*:\d+:\d+/);
      }
      expect(failures[2]!.cause).toBe('peer sent HTML');
    } finally {
      await logged.close();
    }
  });

  test('4xx answers are not logged as failures', async () => {
    const logged = await loggedApp({ forbidden: () => new OcmError('FORBIDDEN') });
    try {
      expect((await logged.app.inject({ method: 'GET', url: '/test/throw/forbidden' })).statusCode).toBe(403);
      expect(
        (await logged.app.inject({ method: 'POST', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '{' }))
          .statusCode,
      ).toBe(400);
      expect(logged.failures()).toEqual([]);
    } finally {
      await logged.close();
    }
  });
});
