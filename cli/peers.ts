/**
 * `ocm-conformance peers trust-list`: the simulated peers a target must trust,
 * from its target config, so the trust list is written before the target
 * starts. `--format ocmproviders` prints them in the `ocmproviders.json` shape
 * of reva, oCIS and OpenCloud (the one `serve --providers` reads): an array of
 * providers, each with a `domain` (host[:port], no scheme) and one `OCM`
 * service whose `endpoint.path` is the peer's `…/ocm/` URL. `--format json`
 * prints a plain list.
 */
import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { loadTargetConfig, type TargetConfig } from '../suites/harness/target.ts';
import { PeerAddressError, parseBind, peerOrigin, peersUseTls } from '../suites/harness/peer-addresses.ts';

/** The API version the simulated peers advertise in their discovery (suites/harness/peer-simulator.ts). */
const PEER_API_VERSION = '1.4.0';

export interface PeerTrustEntry {
  name: string;
  /** What the peer listens on. */
  bind: string;
  /** The origin the target reaches it at. */
  origin: string;
  /** host[:port] of the origin: the server part of the peer's OCM Addresses. */
  domain: string;
  /** Its OCM API endPoint. */
  endPoint: string;
}

/** Every peer of the config, with the origin it advertises (https when the peers use TLS). */
export function peerTrustEntries(target: TargetConfig): PeerTrustEntry[] {
  const tls = peersUseTls(target.peerTls, target.baseUrl);
  return target.peers.flat().map((address, i) => {
    if (parseBind(address.bind).port === 0)
      throw new Error(`peer ${address.bind} picks a free port at run time (port 0), so no trust list can name it: give it a fixed port`);
    let origin: string;
    try {
      origin = peerOrigin(address, tls);
    } catch (error) {
      if (error instanceof PeerAddressError) throw new Error(error.message);
      throw error;
    }
    return { name: `peer-${i + 1}`, bind: address.bind, origin, domain: new URL(origin).host, endPoint: `${origin}/ocm` };
  });
}

/** The entries in the `ocmproviders.json` shape (snake_case keys, one `OCM` service each). */
export function ocmProviders(entries: PeerTrustEntry[]): unknown[] {
  return entries.map((entry) => ({
    name: entry.name,
    full_name: `ocm-conformance simulated peer ${entry.name.replace(/^peer-/, '')}`,
    domain: entry.domain,
    homepage: entry.origin,
    services: [
      {
        host: entry.domain,
        api_version: PEER_API_VERSION,
        endpoint: { type: { name: 'OCM' }, name: `${entry.name} OCM API`, path: `${entry.endPoint}/`, is_monitored: false },
      },
    ],
  }));
}

function format(value: string): 'ocmproviders' | 'json' {
  if (value !== 'ocmproviders' && value !== 'json') throw new InvalidArgumentError('must be ocmproviders or json');
  return value;
}

export function peersCommand(): Command {
  const peers = new Command('peers').description('the simulated peers of a target config');
  peers
    .command('trust-list')
    .description('print the trust entries the target needs for the simulated peers')
    .requiredOption('--target-config <file>', 'YAML target config (its peers, peerTls and baseUrl)')
    .option('--format <format>', "ocmproviders (reva's ocmproviders.json, the default) or json (a plain list)", format, 'ocmproviders')
    .action((flags: { targetConfig: string; format: 'ocmproviders' | 'json' }) => {
      const entries = peerTrustEntries(loadTargetConfig(resolve(flags.targetConfig)));
      console.log(JSON.stringify(flags.format === 'json' ? entries : ocmProviders(entries), null, 2));
    });
  return peers;
}
