/**
 * The limits every HTTP server of the reference shares (the instance and the
 * split deployment's front): body size, how long a request may take, how
 * hostile JSON is treated, and how a stop ends stalled connections.
 */
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { ReferenceConfig } from '../base/config.ts';
import type { ServerTls } from './tls.ts';

/** How long a stop lets in-flight requests finish before cutting their connections. */
export const CLOSE_GRACE_MS = 1_000;
/** How long, and for how many bytes, a closing connection keeps reading what the client still sends. */
export const LINGER_MS = 2_000;
export const LINGER_BYTES = 16 * 1024 * 1024;

/** The fastify server options: the limits, and https with `tls` (serverTls). */
export function serverLimits(config: Pick<ReferenceConfig, 'bodyLimitBytes' | 'requestTimeoutMs'>, tls?: ServerTls) {
  // Node swaps the two timeouts when headersTimeout (default 60 s) is the larger, and checks
  // deadlines only every connectionsCheckingInterval (default 30 s): both would loosen the limit.
  const timeouts = {
    headersTimeout: Math.min(60_000, config.requestTimeoutMs),
    connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs),
  };
  return {
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // fastify passes `https` (not `http`) to https.createServer, which takes the same timeouts.
    ...(tls ? { https: { ...tls, ...timeouts } } : { http: timeouts }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
  } as const;
}

/**
 * Closes `app`. app.close() waits for in-flight requests; one whose client
 * stalls mid-body would hold it forever, so after a grace period every
 * remaining connection is cut.
 */
export async function closeGracefully(app: FastifyInstance, graceMs = CLOSE_GRACE_MS): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}

/**
 * Lingering close (as Apache and nginx do). When an answer ends a
 * connection while the client is still sending (a 413 for a body refused
 * from its Content-Length), closing the socket at once makes the kernel
 * reset the connection, and a reset can destroy the answer before the client
 * reads it: the client sees EPIPE instead of our 413. So a closing socket
 * sends its FIN, then reads and drops what still arrives until the client
 * closes, for at most LINGER_MS and LINGER_BYTES, then closes.
 */
export function lingerOnClose(server: Server): void {
  // Over TLS the HTTP layer ends the TLS socket, not the TCP one under it.
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    // node:http ends a `Connection: close` exchange with socket.destroySoon().
    socket.destroySoon = function lingeringDestroySoon(this: Socket) {
      if (this.writable) this.end();
      const linger = () => {
        if (this.destroyed) return;
        let dropped = 0;
        const timer = setTimeout(() => this.destroy(), LINGER_MS);
        timer.unref();
        this.once('close', () => clearTimeout(timer));
        // The HTTP parser is done with this socket: what arrives now is dropped here.
        this.removeAllListeners('data');
        this.on('data', (chunk: Buffer) => {
          dropped += chunk.length;
          if (dropped > LINGER_BYTES) this.destroy();
        });
        this.once('end', () => this.destroy());
        this.once('error', () => this.destroy());
        this.resume();
      };
      if (this.writableFinished) linger();
      else this.once('finish', linger);
    };
  });
}
