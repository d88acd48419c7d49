/**
 * `run --inspect` on the suites' side: each simulated peer hands its
 * exchanges to the inspector server the run started (OCM_INSPECT_URL), with
 * the peer's own signature verdict. Ids are made here (worker and sequence),
 * so a check's transcript can name its exchanges.
 */
import type { ExchangeInput, SignatureVerdict } from '../../inspector/exchange.ts';
import { exchangeForwarder } from '../../inspector/forward.ts';
import type { PeerExchange, PeerSimulator, RecordedRequest } from './peer-simulator.ts';

export const INSPECT_URL_ENV = 'OCM_INSPECT_URL';

function signatureVerdict(recorded: RecordedRequest | undefined): SignatureVerdict {
  const verdict = recorded?.signature;
  if (!verdict) return { status: 'not-checked' };
  if (verdict.status === 'valid')
    return {
      status: 'signed',
      keyid: verdict.keyid,
      scheme: 'rfc9421',
      ...(verdict.keyid.includes('#') ? { signer: verdict.keyid.slice(0, verdict.keyid.indexOf('#')) } : {}),
    };
  if (verdict.status === 'invalid')
    return {
      status: 'refused',
      code: 'SIGNATURE_INVALID',
      reason: `rfc9421: ${verdict.reason}`,
      ...(verdict.keyid ? { keyid: verdict.keyid } : {}),
    };
  if (verdict.status === 'unsigned') return { status: 'unsigned' };
  return { status: 'not-checked', reason: verdict.reason };
}

/** Forwards the peers' exchanges when the run asked for the inspector; a no-op otherwise. */
export function forwardToInspector(peers: PeerSimulator[], workerIndex: number): void {
  const ingestUrl = process.env[INSPECT_URL_ENV];
  if (!ingestUrl) return;
  const forwarder = exchangeForwarder(ingestUrl);
  let sequence = 0;
  for (const peer of peers) {
    peer.onExchange = (exchange: PeerExchange) => {
      const id = `w${workerIndex}-${++sequence}`;
      const input: ExchangeInput = {
        id,
        direction: 'inbound',
        peer: `${peer.name} ${peer.domain}`,
        method: exchange.method,
        url: exchange.url,
        startedAt: exchange.startedAt,
        durationMs: exchange.durationMs,
        requestHeaders: exchange.headers,
        requestBody: exchange.rawBody,
        status: exchange.status,
        responseHeaders: exchange.responseHeaders,
        responseBody: exchange.responseBody,
        signature: signatureVerdict(exchange.recorded),
      };
      forwarder.send(input);
      return id;
    };
  }
}
