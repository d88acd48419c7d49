/**
 * The limits every HTTP server of the reference shares (the instance and the
 * split deployment's front): body size, how long a request may take, how
 * hostile JSON is treated, and how a stop ends stalled connections.
 */
import type { FastifyInstance } from 'fastify';
import type { ReferenceConfig } from '../config.ts';

/** How long a stop lets in-flight requests finish before cutting their connections. */
export const CLOSE_GRACE_MS = 1_000;

export function serverLimits(config: Pick<ReferenceConfig, 'bodyLimitBytes' | 'requestTimeoutMs'>) {
  return {
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // Node swaps the two timeouts when headersTimeout (default 60 s) is the larger, and checks
    // deadlines only every connectionsCheckingInterval (default 30 s): both would loosen the limit.
    http: { headersTimeout: Math.min(60_000, config.requestTimeoutMs), connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs) },
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
