/**
 * `serve` against a client that stalls mid-body: the request times out
 * (408, connection closed) after `--request-timeout`, and SIGTERM stops the
 * process promptly even while such a request is in flight.
 */
import { test, expect } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, ConfigError } from '../reference/base/config.ts';
import { freePort } from '../reference/pair.ts';
import { spawnServeProcess, type ServeExit } from '../reference/testing/serve-process.ts';
import { flagsToConfig, serveCommand } from './serve.ts';

const HOST = '127.0.0.6';

interface Server {
  process: ChildProcess;
  port: number;
  exited: Promise<ServeExit>;
  stderr(): string;
}

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let dataDir: string;

test.beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ocm-serve-stop-'));
});

test.afterEach(async () => {
  // Never leave a server or a socket behind, whatever happened in the test.
  for (const socket of sockets) socket.destroy();
  sockets.length = 0;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.length = 0;
  await rm(dataDir, { recursive: true, force: true });
});

async function serve(...extra: string[]): Promise<Server> {
  const port = await freePort(HOST);
  const server = await spawnServeProcess(
    ['--host', HOST, '--port', String(port), '--data-dir', dataDir, '--log-level', 'error', ...extra],
    { readyTimeoutMs: 30_000 },
  );
  children.push(server.child);
  return { process: server.child, port, exited: server.exited, stderr: server.stderr };
}

/** Opens a raw connection and sends the headers of a 1000-byte POST and only the start of its body; collects what comes back. */
async function stalledUpload(port: number): Promise<{ socket: Socket; received(): string; closed: Promise<void> }> {
  const socket = connect({ host: HOST, port });
  sockets.push(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  socket.on('error', () => undefined); // a reset is one way of being closed
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `POST /ocm/shares HTTP/1.1\r\nHost: ${HOST}:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"shareWith":"`,
  );
  return { socket, received: () => received, closed };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

test('serve exits 0 promptly on SIGTERM while a client holds an unfinished request body', async () => {
  const server = await serve();
  const upload = await stalledUpload(server.port);
  await sleep(500);
  expect(upload.received()).toBe(''); // the server is still waiting for the body
  const started = Date.now();
  server.process.kill('SIGTERM');
  const exit = await Promise.race([server.exited, sleep(10_000).then(() => 'still running' as const)]);
  const elapsed = Date.now() - started;
  expect(exit, `stderr: ${server.stderr()}`).toEqual({ code: 0, signal: null });
  expect(elapsed).toBeLessThan(3_000);
  await upload.closed; // the stalled connection was cut, not left open
});

test('a stalled request body gets 408 and a closed connection after --request-timeout', async () => {
  const server = await serve('--request-timeout', '1000');
  const started = Date.now();
  const upload = await stalledUpload(server.port);
  const outcome = await Promise.race([upload.closed.then(() => 'closed' as const), sleep(10_000).then(() => 'still open' as const)]);
  const elapsed = Date.now() - started;
  expect(outcome).toBe('closed');
  expect(upload.received()).toMatch(/^HTTP\/1\.1 408 /);
  expect(elapsed).toBeGreaterThanOrEqual(900);
  expect(elapsed).toBeLessThan(5_000);
  // The server itself is unharmed and still stops cleanly.
  const health = await fetch(`http://${HOST}:${server.port}/health`);
  expect(health.status).toBe(200);
  server.process.kill('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
});

test('--request-timeout flows into requestTimeoutMs (default 30000) and is listed in --help', () => {
  expect(buildConfig().requestTimeoutMs).toBe(30_000);
  expect(buildConfig(flagsToConfig({ requestTimeout: 1500 })).requestTimeoutMs).toBe(1500);
  expect(buildConfig({ requestTimeoutMs: 5000 }, flagsToConfig({})).requestTimeoutMs).toBe(5000); // config file, no flag
  for (const bad of [0, -1, 1.5, 2 ** 31]) expect(() => buildConfig({ requestTimeoutMs: bad })).toThrow(ConfigError);
  expect(serveCommand().helpInformation()).toContain('--request-timeout <ms>');
});
