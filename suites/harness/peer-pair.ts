/**
 * Starting one worker's pair of simulated peers at the configured addresses,
 * on https when the run says so (`peerTls`, `run --peer-tls`): each peer then
 * gets a certificate for its name (DNS SAN) and its address (IP SAN) signed
 * by the run CA (`run --peer-ca DIR`, or the fresh CA `run` made; see
 * certs/ca.ts). A peer that cannot start is a setup failure, returned as a
 * reason, never thrown into a check as the target's fault.
 */
import { isIP } from 'node:net';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { PEER_CA_DIR_ENV, PEER_TLS_ENV, parseBind, peerOrigin, peersUseTls, type PeerAddress, type PeerPair } from './peer-addresses.ts';
import { PeerSimulator } from './peer-simulator.ts';
import type { TargetConfig } from './target.ts';

/** Whether this run's peers serve https: `run` decides (OCM_PEER_TLS), else the config's `peerTls`. */
export function peerTlsEnabled(target: TargetConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  const decided = env[PEER_TLS_ENV];
  if (decided === '1' || decided === '0') return decided === '1';
  return peersUseTls(target.peerTls, target.baseUrl);
}

/** The names a peer's certificate covers: its public host (DNS or IP) and the address it listens on, unless that is every address. */
export function peerCertificateNames(address: PeerAddress, tls = true): string[] {
  const { host } = parseBind(address.bind);
  const publicHost = new URL(peerOrigin(address, tls, 1)).hostname.replace(/^\[(.*)\]$/, '$1');
  const names = [publicHost];
  if (host !== '0.0.0.0' && host !== '::' && isIP(host)) names.push(host);
  return [...new Set(names)];
}

let runCa: Promise<CertificateAuthority> | undefined;

/** The CA of this run: the one `run` chose (OCM_PEER_CA_DIR), else one made here for this process (a direct Playwright run). */
function peerCa(env: NodeJS.ProcessEnv): Promise<CertificateAuthority> {
  const dir = env[PEER_CA_DIR_ENV];
  // The certificate tooling (@peculiar/x509 and its ASN.1 stack) loads only for https peers.
  runCa ??= import('../../certs/ca.ts').then((ca) =>
    dir ? ca.readCertificateAuthority(dir) : ca.createCertificateAuthority({ commonName: 'ocm-conformance peers (this worker)' }),
  );
  return runCa;
}

export type PeerPairSetup = { peers: [PeerSimulator, PeerSimulator] } | { failure: string };

/** Starts the two peers of `pair` (both stopped again if either fails); a failure comes back as one line. */
export async function startPeerPair(
  pair: PeerPair,
  options: {
    tls: boolean;
    targetOrigin: string;
    /** Play 1.2-era servers (cavage keys and signatures); see `cavageEra` in cavage.ts. */
    cavage?: boolean;
    /** Where the peers keep their keys for the whole run. */
    runDir?: string;
    env?: NodeJS.ProcessEnv;
    beforeStart?: (peers: [PeerSimulator, PeerSimulator]) => void;
  },
): Promise<PeerPairSetup> {
  let peers: [PeerSimulator, PeerSimulator];
  try {
    const ca = options.tls ? await peerCa(options.env ?? process.env) : undefined;
    peers = (await Promise.all(
      pair.map(async (address, i) => {
        const { host, port } = parseBind(address.bind);
        peerOrigin(address, options.tls); // refuses a publicUrl whose scheme disagrees with the TLS setting
        return new PeerSimulator({
          name: `peer${i + 1}`,
          host,
          port,
          ...(address.publicUrl ? { publicUrl: address.publicUrl } : {}),
          ...(ca ? { tls: await (await import('../../certs/ca.ts')).issueServerCertificate(ca, peerCertificateNames(address)) } : {}),
          targetOrigin: options.targetOrigin,
          ...(options.cavage ? { cavage: true } : {}),
          ...(options.runDir ? { runDir: options.runDir } : {}),
        });
      }),
    )) as [PeerSimulator, PeerSimulator];
  } catch (error) {
    return { failure: `setup failed: the simulated peers ${pair.map((p) => p.bind).join(', ')}: ${(error as Error).message}` };
  }
  options.beforeStart?.(peers);
  const started = await Promise.allSettled(peers.map((peer) => peer.start()));
  const failed = started.findIndex((outcome) => outcome.status === 'rejected');
  if (failed >= 0) {
    await Promise.allSettled(peers.map((peer) => peer.stop()));
    const error = (started[failed] as PromiseRejectedResult).reason as NodeJS.ErrnoException;
    return { failure: `setup failed: cannot listen on ${pair[failed]!.bind}: ${error.code ?? error.message}` };
  }
  return { peers };
}
