/**
 * The baseline of the discovery benchmark: a bare fastify 5 app with one
 * route that serves fixed bytes (the reference's discovery document, as it
 * answered it) with the same content type. No hooks, no validation, no
 * logging. Run as a child process by bench/discovery.ts:
 *
 *   node --import tsx bench/bare-server.ts <host> <port> <body-file> <content-type>
 */
import Fastify from 'fastify';
import { readFile } from 'node:fs/promises';

const [host = '127.0.0.1', port = '0', file = '', contentType = 'application/json; charset=utf-8'] = process.argv.slice(2);
const body = await readFile(file);
const app = Fastify({ logger: false });
app.get('/.well-known/ocm', (_request, reply) => {
  reply.header('content-type', contentType).send(body);
});
await app.listen({ host, port: Number(port) });
const address = app.server.address();
console.log(`bare fastify listening on http://${host}:${typeof address === 'object' && address ? address.port : port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
