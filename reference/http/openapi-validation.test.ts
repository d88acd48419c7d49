import { test, expect } from '@playwright/test';
import { buildTestApp, validShare, type TestApp } from '../testing/harness.ts';

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
  const cases: Array<{ name: string; method?: 'POST' | 'GET' | 'PUT' | 'DELETE'; url: string; headers?: Record<string, string>; payload?: string | Buffer; status: number }> = [
    { name: 'malformed JSON', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '{"shareWith": ', status: 400 },
    { name: 'JSON that is not an object', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '[1,2,3]', status: 400 },
    { name: 'a JSON string', url: '/ocm/notifications', headers: { 'content-type': 'application/json' }, payload: '"hello"', status: 400 },
    { name: 'JSON null', url: '/ocm/invite-accepted', headers: { 'content-type': 'application/json' }, payload: 'null', status: 400 },
    { name: 'an empty JSON body', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '', status: 400 },
    { name: 'no body and no content type', url: '/ocm/shares', status: 400 },
    { name: 'text/plain', url: '/ocm/shares', headers: { 'content-type': 'text/plain' }, payload: 'hello', status: 415 },
    { name: 'a form body where JSON is required', url: '/ocm/shares', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'shareWith=a', status: 415 },
    { name: 'XML', url: '/ocm/invite-accepted', headers: { 'content-type': 'application/xml' }, payload: '<a/>', status: 415 },
    { name: 'a nonsense content type', url: '/ocm/notifications', headers: { 'content-type': '%%%' }, payload: '{}', status: 415 },
    { name: 'wrong field types', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(validShare({ shareWith: 5, protocol: 'webdav', expiration: 'soon' })), status: 400 },
    { name: 'an oversized body', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(validShare({ description: 'x'.repeat(10_000) })), status: 413 },
    { name: '__proto__ pollution', url: '/ocm/invite-accepted', headers: { 'content-type': 'application/json' }, payload: '{"__proto__": {"admin": true}, "token": "t"}', status: 400 },
    { name: 'deeply nested JSON', url: '/ocm/notifications', headers: { 'content-type': 'application/json' }, payload: `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`, status: 400 },
    { name: 'invalid UTF-8', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), status: 400 },
    { name: 'an unknown route', method: 'GET', url: '/no/such/thing', status: 404 },
    { name: 'an unknown OCM endpoint', url: '/ocm/nothing-here', headers: { 'content-type': 'application/json' }, payload: '{}', status: 404 },
    { name: 'a wrong method on a known path', method: 'PUT', url: '/ocm/shares', headers: { 'content-type': 'application/json' }, payload: '{}', status: 404 },
    { name: 'a missing notification field', url: '/ocm/notifications', headers: { 'content-type': 'application/json' }, payload: '{"notificationType":"SHARE_ACCEPTED"}', status: 400 },
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
