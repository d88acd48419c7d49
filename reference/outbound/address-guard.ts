/**
 * Outbound address policy: a peer named by a host name may not resolve to a
 * private, loopback, link-local or otherwise internal address (a DNS entry
 * must not turn a federation peer into a probe of our own network). A peer
 * configured with an IP literal was chosen explicitly by the operator and is
 * allowed, and so is a name that `--resolve` (`outbound.resolve`) pins to an
 * address: the operator chose that address too, and the system resolver is
 * not asked. `outbound.allowPrivateAddresses` lifts the rule (test
 * federations, closed networks).
 *
 * The check resolves before connecting; a resolver that answers differently
 * the second time (DNS rebinding) is not defended against here.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export class PrivateAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `${host} resolves to ${address}, an internal address; peers must be configured by IP or allowed with outbound.allowPrivateAddresses`,
    );
    this.name = 'PrivateAddressError';
  }
}

/** Whether an IPv4 or IPv6 address is internal (not routable on the public internet). */
export function isInternalAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    );
  }
  if (version === 6) {
    const lower = address.toLowerCase();
    if (lower === '::' || lower === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isInternalAddress(mapped[1]!);
    return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(lower);
  }
  return true;
}

/** Refuses a URL whose host NAME resolves to an internal address, unless allowed. */
export async function assertAllowedDestination(
  url: string,
  allowPrivateAddresses: boolean,
  pinnedAddress: (url: string) => string | undefined = () => undefined,
): Promise<void> {
  if (allowPrivateAddresses) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return; // an IP literal in the trust list is the operator's explicit choice
  if (pinnedAddress(url) !== undefined) return; // so is a --resolve entry
  const addresses = await lookup(host, { all: true, verbatim: true });
  const internal = addresses.find((a) => isInternalAddress(a.address));
  if (internal) throw new PrivateAddressError(host, internal.address);
}
