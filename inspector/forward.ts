/**
 * The sending side of `run --inspect`: capture points in other processes
 * (the simulated peers in Playwright's workers) post each exchange to the
 * inspector server's ingest URL (server.ts). Kept apart from the server so a
 * worker that only forwards does not load fastify for it.
 */
import type { ExchangeInput } from './exchange.ts';

/** A body on the wire: text as is, bytes as base64. */
export type WireBody = string | { base64: string } | undefined;

const toWire = (body: string | Buffer | undefined): WireBody => (Buffer.isBuffer(body) ? { base64: body.toString('base64') } : body);

/**
 * Posts exchanges to an inspector server, fire and forget: at most
 * `maxInFlight` at once (more are dropped, counted), each within 2 s, so a
 * slow or absent inspector never slows the run down.
 */
export function exchangeForwarder(ingestUrl: string, maxInFlight = 32): { send(exchange: ExchangeInput): void; dropped(): number } {
  let inFlight = 0;
  let dropped = 0;
  return {
    send(exchange) {
      if (inFlight >= maxInFlight) {
        dropped++;
        return;
      }
      inFlight++;
      const body = JSON.stringify({ ...exchange, requestBody: toWire(exchange.requestBody), responseBody: toWire(exchange.responseBody) });
      fetch(ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(2000) })
        .then((response) => response.body?.cancel())
        .catch(() => {
          dropped++;
        })
        .finally(() => {
          inFlight--;
        });
    },
    dropped: () => dropped,
  };
}
