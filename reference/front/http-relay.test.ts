/**
 * The front's HTTP relay on one keep-alive client connection, over a raw
 * socket so the test decides when each byte goes: a back that is done before
 * the whole request body reached it (it refused from Content-Length and
 * closed, or it crashed) must not leave the client's connection stuck behind
 * the unread rest of the body. The front answers, says `Connection: close`
 * and ends the connection; it keeps serving new ones. A body the back reads
 * whole leaves the connection open for the next request.
 */
import { test, expect } from '@playwright/test';
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { errorBody } from '../base/errors.ts';
import { toOcmError } from '../http/openapi-validation.ts';
import { closeGracefully, lingerOnClose } from '../http/server-limits.ts';
import { passBodiesThrough, relay } from './http-relay.ts';

const HOST = '127.0.0.1';
const BODY_BYTES = 1024 * 1024;
/** How long a connection may stay silent before the test calls it stuck. */
const STUCK_MS = 3_000;

/** A back that refuses /too-big from its Content-Length and closes, drops the connection of /crash, and echoes a body's size. */
async function startBack(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (request.url === '/too-big') {
      response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ message: 'Request body is too large' }));
      return;
    }
    if (request.url === '/crash') {
      request.socket.destroy();
      return;
    }
    let size = 0;
    request.on('data', (chunk: Buffer) => (size += chunk.length));
    request.on('end', () => {
      const body = JSON.stringify({ size });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-back': 'yes' });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A front whose every route is relayed to `origin`, set up as front-app.ts sets up its relayed scope. */
async function startFront(origin: string): Promise<FastifyInstance> {
  const app = Fastify();
  lingerOnClose(app.server);
  await app.register(async (scope) => {
    passBodiesThrough(scope);
    scope.setErrorHandler(async (error, _request, reply) => {
      const failure = toOcmError(error);
      return reply.code(failure.status).type('application/json').send(errorBody(failure));
    });
    scope.route({ method: ['GET', 'POST'], url: '/*', handler: (request, reply) => relay(request, reply, { origin, timeoutMs: 5_000 }) });
  });
  await app.listen({ host: HOST, port: 0 });
  return app;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One client connection, read as answers arrive; `next()` is the next whole answer, or what became of the connection instead. */
class Connection {
  private data = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect({ host: HOST, port });
    const poke = () => this.wake?.();
    this.socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      poke();
    });
    for (const event of ['end', 'close', 'error'] as const)
      this.socket.on(event, () => {
        this.ended = true;
        poke();
      });
  }

  async write(bytes: string | Buffer): Promise<void> {
    await new Promise<void>((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** The next whole answer (Content-Length framed); 'closed' when the server ended the connection first; 'stuck' when neither came in time. */
  async next(): Promise<Answer | 'closed' | 'stuck'> {
    const deadline = Date.now() + STUCK_MS;
    for (;;) {
      const answer = this.take();
      if (answer) return answer;
      if (this.ended) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'stuck';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private take(): Answer | undefined {
    const end = this.data.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.data.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    const length = Number(headers['content-length'] ?? 0);
    if (this.data.length < end + 4 + length) return undefined;
    const body = this.data.subarray(end + 4, end + 4 + length).toString('utf8');
    this.data = this.data.subarray(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

const head = (method: string, path: string, length?: number) =>
  `${method} ${path} HTTP/1.1\r\nHost: front.test\r\n${length === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${length}\r\n`}\r\n`;

let back: Awaited<ReturnType<typeof startBack>>;
let front: FastifyInstance;
let port: number;
const open: Connection[] = [];

test.beforeEach(async () => {
  back = await startBack();
  front = await startFront(back.origin);
  port = (front.server.address() as AddressInfo).port;
});

test.afterEach(async () => {
  for (const connection of open.splice(0)) connection.close();
  await closeGracefully(front);
  await back.close();
});

function connection(): Connection {
  const made = new Connection(port);
  open.push(made);
  return made;
}

/** Sends the head and a first part of a 1 MiB body, the rest only once the front has answered and the back's connection is gone. */
async function earlyAnswer(path: string): Promise<{ client: Connection; first: Answer | 'closed' | 'stuck' }> {
  const client = connection();
  await client.write(head('POST', path, BODY_BYTES) + 'x'.repeat(64 * 1024));
  const first = await client.next();
  // The back's close reaches the front's relay too before the rest of the body comes.
  await new Promise((resolve) => setTimeout(resolve, 200));
  client.socket.on('error', () => {});
  await client.write(Buffer.alloc(BODY_BYTES - 64 * 1024, 'x'));
  return { client, first };
}

test('a body the back refused and closed on: the answer is passed on, and the next request on the connection is not left waiting', async () => {
  const { client, first } = await earlyAnswer('/too-big');
  expect(first).toMatchObject({ status: 413, body: JSON.stringify({ message: 'Request body is too large' }) });
  // Before the fix this request waited for ever behind the unread rest of the 1 MiB body.
  await client.write(head('GET', '/after'));
  const second = await client.next();
  expect(second, 'the next request on the connection is answered, or the connection is ended').not.toBe('stuck');
  // The front closes it, as the back closed its own.
  expect((first as Answer).headers.connection).toBe('close');
  expect(second).toBe('closed');
  // And it serves new connections.
  const fresh = connection();
  await fresh.write(head('GET', '/after'));
  expect(await fresh.next()).toMatchObject({ status: 200, body: JSON.stringify({ size: 0 }) });
});

test('a back that drops the connection mid-body: 500 INTERNAL, and the connection is not left waiting', async () => {
  const { client, first } = await earlyAnswer('/crash');
  expect(first).toMatchObject({ status: 500 });
  expect(JSON.parse((first as Answer).body)).toMatchObject({ code: 'INTERNAL' });
  await client.write(head('GET', '/after'));
  expect(await client.next()).not.toBe('stuck');
});

test('a body the back reads whole: status, headers and body passed on, and the connection stays open for the next request', async () => {
  const client = connection();
  for (const size of [BODY_BYTES, 10]) {
    await client.write(head('POST', '/echo', size) + 'y'.repeat(size));
    const answer = await client.next();
    expect(answer).toMatchObject({ status: 200, body: JSON.stringify({ size }) });
    expect((answer as Answer).headers['x-back']).toBe('yes');
    expect((answer as Answer).headers.connection).not.toBe('close');
  }
});
