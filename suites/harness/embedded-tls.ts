/**
 * `run --tls`: the embedded pair and its peers on https under DNS names, with
 * the run CA. The names live under `.ocm.test` (a reserved test domain, never
 * in public DNS) and are pinned to their loopback addresses, in the pair
 * (`resolve`, as `serve --resolve`) and in the harness (target-trust.ts), so
 * the system resolver is never asked.
 */
import { isIP } from 'node:net';
import { parseBind, type PeerPair } from './peer-addresses.ts';

/** Set by `run --tls` for the global setup: start the embedded pair on https. */
export const EMBEDDED_TLS_ENV = 'OCM_EMBEDDED_TLS';

/** The names of the embedded instances A (the target) and B (its interop partner). */
export const EMBEDDED_NAMES: [string, string] = ['a.ocm.test', 'b.ocm.test'];

/** The name of the n-th default simulated peer (1-based), e.g. peer-1.ocm.test. */
export function peerName(n: number): string {
  return `peer-${n}.ocm.test`;
}

/** Name → address pins for the harness: A at `<subnet>.2`, B at `.3`, the default peers at `.10` to `.17`. */
export function embeddedTlsNames(subnet: string): Record<string, string> {
  const pins: Record<string, string> = { [EMBEDDED_NAMES[0]]: `${subnet}.2`, [EMBEDDED_NAMES[1]]: `${subnet}.3` };
  for (let n = 1; n <= 8; n++) pins[peerName(n)] = `${subnet}.${9 + n}`;
  return pins;
}

/** `name:port:address` pins (curl's --resolve) for the peers whose public URL names a host by DNS name. */
export function peerResolvePins(pairs: readonly PeerPair[]): string[] {
  const pins: string[] = [];
  for (const address of pairs.flat()) {
    if (!address.publicUrl) continue;
    const url = new URL(address.publicUrl);
    const { host, port } = parseBind(address.bind);
    if (isIP(url.hostname.replace(/^\[|\]$/g, '')) || host === '0.0.0.0' || host === '::') continue;
    pins.push(`${url.hostname}:${url.port || port}:${host}`);
  }
  return pins;
}
