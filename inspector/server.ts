/**
 * The inspector as its own small server, for `run --inspect`: the suites'
 * simulated peers live in Playwright's worker processes (or wherever a
 * lifecycle puts them), so they post each exchange to
 * `POST /_inspector/ingest` and this process keeps the ring and serves the
 * page. Loopback only; every forward is bounded.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { SchemaRegistry } from '../openapi/registry.ts';
import type { ExchangeInput } from './exchange.ts';
import type { WireBody } from './forward.ts';
import { Inspector } from './inspector.ts';
import { INSPECTOR_PATH, inspectorPlugin, isLoopbackAddress } from './plugin.ts';

export const INGEST_PATH = `${INSPECTOR_PATH}/ingest`;

type WireExchange = Omit<ExchangeInput, 'requestBody' | 'responseBody'> & { requestBody?: WireBody; responseBody?: WireBody };

const fromWire = (body: WireBody): string | Buffer | undefined =>
  body !== undefined && typeof body === 'object' ? Buffer.from(body.base64, 'base64') : body;

export interface InspectorServer {
  inspector: Inspector;
  /** The page, e.g. `http://127.0.0.1:41234/_inspector`. */
  pageUrl: string;
  /** Where capture points post exchanges. */
  ingestUrl: string;
  close(): Promise<void>;
}

export async function startInspectorServer(options: {
  registry: SchemaRegistry;
  host?: string;
  port?: number;
  capacity?: number;
  title?: string;
}): Promise<InspectorServer> {
  const inspector = new Inspector({ registry: options.registry, ...(options.capacity ? { capacity: options.capacity } : {}) });
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  await app.register(inspectorPlugin, { inspector, title: options.title ?? 'OCM inspector' });
  app.post(INGEST_PATH, async (request, reply) => {
    if (!isLoopbackAddress(request.socket.remoteAddress)) return reply.code(403).send({ message: 'loopback only' });
    const wire = request.body as WireExchange;
    if (!wire || typeof wire !== 'object' || typeof wire.method !== 'string' || typeof wire.url !== 'string')
      return reply.code(400).send({ message: 'an exchange needs at least method and url' });
    const id = inspector.capture({ ...wire, requestBody: fromWire(wire.requestBody), responseBody: fromWire(wire.responseBody) });
    return reply.code(201).send({ id });
  });
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const origin = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    inspector,
    pageUrl: `${origin}${INSPECTOR_PATH}`,
    ingestUrl: `${origin}${INGEST_PATH}`,
    close: () => app.close(),
  };
}
