/**
 * A request to a fastify app over a real socket, for what `inject()` cannot
 * send: a path byte for byte (inject normalises `..`) and a body in chunks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface RawResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

export interface RawRequest {
  /** The loopback address the app listens on (it starts listening on first use). */
  host: string;
  method: string;
  /** Sent as is. */
  path: string;
  headers: Record<string, string>;
  /** Written one chunk at a time. */
  body?: Buffer[];
}

export async function socketRequest(app: FastifyInstance, request: RawRequest): Promise<RawResponse> {
  if (!app.server.listening) await app.listen({ host: request.host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: request.host, port, method: request.method, path: request.path, headers: request.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of request.body ?? []) req.write(chunk);
    req.end();
  });
}
