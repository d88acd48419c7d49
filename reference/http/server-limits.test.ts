/**
 * Lingering close: a client still sending a body we refused (413) reads our
 * answer, and its remaining bytes are drained rather than reset.
 */
import { test, expect } from '@playwright/test';
import { connect } from 'node:net';
import { buildTestApp, type TestApp } from '../testing/harness.ts';

const HOST = '127.0.0.5';
let t: TestApp;
test.beforeEach(async () => {
  t = await buildTestApp();
  await t.app.listen({ host: HOST, port: 0 });
});
test.afterEach(async () => {
  await t.close();
});

test('a client that keeps sending after our 413 gets the answer and a clean close, not a reset', async () => {
  const port = (t.app.server.address() as { port: number }).port;
  const declared = 3 * 1024 * 1024;
  const outcome = await new Promise<{ answer: string; error?: string }>((resolve) => {
    const socket = connect(port, HOST);
    let answer = '';
    let error: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ answer, error }));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    // Our FIN after the answer: only then send the rest, as a slow client would.
    socket.once('end', () => {
      const rest = Buffer.alloc(declared - 1024, 0x61);
      socket.write(rest, () => setTimeout(() => socket.end(), 200));
    });
    socket.write(`POST /ocm/shares HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    socket.write(Buffer.alloc(1024, 0x61));
  });
  expect(outcome.answer).toMatch(/^HTTP\/1\.1 413 /);
  expect(outcome.answer).toContain('"code":"BODY_TOO_LARGE"');
  expect(outcome.error, 'the server reset the connection while the client was still sending').toBeUndefined();
});
