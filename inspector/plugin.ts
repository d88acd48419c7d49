/**
 * The inspector's HTTP surface, one fastify plugin for the reference and the
 * harness alike:
 *   GET /_inspector                  the page (self-contained: no request leaves its origin)
 *   GET /_inspector/events           new exchanges as server-sent events (plain SSE)
 *   GET /_inspector/exchanges.json   the kept exchanges, newest first, for tools
 *   GET /_inspector/requirements     the requirement texts the page links to
 * Loopback clients only, unless `allowRemote`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import type { Inspector } from './inspector.ts';
import { inspectorPage, requirementsPage } from './page.ts';
import { requirementMap } from './requirements.ts';

export const INSPECTOR_PATH = '/_inspector';

export interface InspectorPluginOptions {
  inspector: Inspector;
  /** Serve clients that are not on loopback (`--inspect-allow-remote`). */
  allowRemote?: boolean;
  /** Shown in the page's title, e.g. `reference at http://127.0.0.1:8080`. */
  title?: string;
}

/** Whether an address (as a socket reports it) is loopback: 127.0.0.0/8, ::1, or ::ffff:127.x. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.replace(/^::ffff:/i, '');
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/** Whether a host to listen on is loopback (an address, or `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare.toLowerCase() === 'localhost' || isLoopbackAddress(bare);
}

const HEARTBEAT_MS = 15_000;

export async function inspectorPlugin(app: FastifyInstance, options: InspectorPluginOptions): Promise<void> {
  const { inspector } = options;
  const open = new Set<FastifyReply>();
  const page = inspectorPage(options.title ?? 'OCM inspector');

  app.addHook('onRequest', async (request, reply) => {
    if (!options.allowRemote && !isLoopbackAddress(request.socket.remoteAddress))
      return reply
        .code(403)
        .type('application/json')
        .send({ message: 'the inspector answers loopback clients only (--inspect-allow-remote)' });
  });
  // Before the server waits for open connections: an event stream never ends by itself.
  app.addHook('preClose', (done) => {
    for (const reply of open) reply.raw.end();
    done();
  });

  app.get(INSPECTOR_PATH, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page));
  app.get(`${INSPECTOR_PATH}/exchanges.json`, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ capacity: inspector.capacity, total: inspector.total, exchanges: inspector.list() }),
  );
  app.get(`${INSPECTOR_PATH}/requirements`, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(requirementsPage([...requirementMap().texts.values()])),
  );
  app.get(`${INSPECTOR_PATH}/events`, (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    raw.write('retry: 1000\n\n');
    open.add(reply);
    const unsubscribe = inspector.subscribe((record) => {
      raw.write(`id: ${record.id}\nevent: exchange\ndata: ${JSON.stringify(record)}\n\n`);
    });
    const heartbeat = setInterval(() => raw.write(': still here\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    request.raw.once('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      open.delete(reply);
    });
  });
}
