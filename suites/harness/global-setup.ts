/**
 * Runs once before the suites. Without `OCM_TARGET_CONFIG` it starts the two
 * embedded reference instances (A is the target, B its interop partner),
 * each trusting the other and every simulated peer address, and writes a
 * target config for them. Then it fetches the target's discovery document
 * once, so suite files can decide at load time which checks apply.
 */
import { installTargetTrust, trustFromEnv } from './target-trust.ts';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { type ConfigLayer, startEmbeddedPair } from '../../reference/embedded.ts';
import { EMBEDDED_BY_RUN_ENV, TARGET_DISCOVERY_FILE } from './context.ts';
import { PROJECT_ROOT } from './requirements.ts';
import { loadTargetConfig } from './target.ts';
import { PEER_CA_DIR_ENV, peerOrigin, peerPairsFromEnv, type PeerPair } from './peer-addresses.ts';
import { EMBEDDED_NAMES, EMBEDDED_TLS_ENV, peerName, peerResolvePins } from './embedded-tls.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { stopRunWhenTargetStaysDown } from './liveness.ts';

/** Loopback addresses of the simulated peers in `subnet` (.10 to .17): one pair per parallel worker. */
export function peerHostsIn(subnet = '127.0.0'): Array<[string, string]> {
  return [10, 12, 14, 16].map((n) => [`${subnet}.${n}`, `${subnet}.${n + 1}`] as [string, string]);
}

/** Loopback addresses of the simulated peers: one pair per parallel worker. */
export const PEER_HOSTS: Array<[string, string]> = peerHostsIn();

/** A free TCP port on `host`, as the system hands one out. */
async function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function commonFreePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]!);
    const others = await Promise.all(hosts.slice(1).map((host) => isFree(host, port)));
    if (others.every(Boolean)) return port;
  }
  throw new Error('no port free on every peer address');
}

async function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port }, () => server.close(() => resolve(true)));
  });
}

export interface EmbeddedTargets {
  configFile: string;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Settings for both instances. */
  configure?: Record<string, unknown>;
  /** Settings for the target (A) only: e.g. faults with ALLOW_FAULTS (the mutation run, selftest/mutation). */
  configureTarget?: ConfigLayer;
  /** First three octets of every address: A at .2, B at .3, the peers at .10 to .17 (default 127.0.0), so runs side by side never meet. */
  subnet?: string;
  /**
   * Run A split in two, the oCIS way (decisions/0009): its public URL is an HTTP front over a back's
   * gRPC services; the back (`a`) listens on another port of A's address. Default: `OCM_SPLIT=1`.
   */
  split?: boolean;
  /** The simulated peers to trust (`run --peers`); default: pairs on `<subnet>.10` to `.17`, on a port free on all of them. */
  peers?: PeerPair[];
  /** The profile the target (A) is judged under (default main, the newest, which the reference implements). */
  profile?: string;
  /**
   * `run --tls`: A, B and the peers on https under DNS names (embedded-tls.ts),
   * certificates from this CA, which both instances trust; allowHttp off.
   */
  tls?: CertificateAuthority;
}

/** Whether the environment asks for the split deployment (`ocm-conformance run --split` sets it). */
export function splitRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OCM_SPLIT === '1';
}

/**
 * Starts the embedded pair (reference/embedded.ts, the reference's one public
 * entry), trusting every simulated peer address, and writes its target
 * config; used by the global setup and the mutation run.
 */
export async function startEmbeddedTargets(runDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedTargets> {
  await mkdir(runDir, { recursive: true });
  const subnet = options.subnet ?? '127.0.0';
  let peers = options.peers;
  if (!peers) {
    const peerHosts = peerHostsIn(subnet);
    const peerPort = await commonFreePort(peerHosts.flat());
    peers = peerHosts.map(([h1, h2], i) =>
      options.tls
        ? [
            { bind: `${h1}:${peerPort}`, publicUrl: `https://${peerName(2 * i + 1)}:${peerPort}` },
            { bind: `${h2}:${peerPort}`, publicUrl: `https://${peerName(2 * i + 2)}:${peerPort}` },
          ]
        : [{ bind: `${h1}:${peerPort}` }, { bind: `${h2}:${peerPort}` }],
    );
  }
  const tls = options.tls;
  const issue = async (name: string, address: string) => {
    const { issueServerCertificate } = await import('../../certs/ca.ts');
    const issued = await issueServerCertificate(tls!, [name, address]);
    return { cert: issued.certPem, key: issued.keyPem };
  };
  const pair = await startEmbeddedPair({
    dataDir: runDir,
    // Plain HTTP by default, and so are the peers it trusts; https for both with --tls.
    trust: peers.flat().map((address) => peerOrigin(address, Boolean(tls))),
    ...(tls
      ? {
          tls: { a: await issue(EMBEDDED_NAMES[0], `${subnet}.2`), b: await issue(EMBEDDED_NAMES[1], `${subnet}.3`), ca: tls.certPem },
          names: EMBEDDED_NAMES,
          resolve: peerResolvePins(peers),
        }
      : {}),
    subnet,
    ...(options.configure ? { configure: options.configure } : {}),
    ...(options.configureTarget ? { configureTarget: options.configureTarget } : {}),
    split: options.split ?? splitRequested(),
  });
  const { origins, grpc } = pair;
  const users = JSON.parse(await readFile(join(PROJECT_ROOT, 'fixtures/users.json'), 'utf8')) as Array<{
    id: string;
    username: string;
    password: string;
    displayName: string;
  }>;
  const driverFor = () => ({
    kind: 'ocs+sciencemesh',
    users: users.map((u) => ({ username: u.username, password: u.password, id: u.id, displayName: u.displayName })),
    receivedDav: '/dav/ocm-received/{id}/{path}',
  });
  const target = (name: string, origin: string, grpc: string | undefined, profile = 'main') => ({
    name,
    baseUrl: origin,
    profile,
    peers,
    driver: driverFor(),
    exposes: { sciencemesh: true, ocs: true, ...(grpc ? { grpc } : {}) },
    // Plain http is a test setup; with --tls every endpoint is https and http is not tolerated.
    allowHttp: !tls,
  });
  const config = {
    ...target('reference A (embedded)', origins[0], grpc[0], options.profile),
    interopWith: target('reference B (embedded)', origins[1], grpc[1]),
  };
  const configFile = join(runDir, 'embedded-target.yaml');
  await writeFile(configFile, `# Written by the suites' global setup for the embedded reference pair.\n${toYaml(config)}`);
  return { configFile, close: () => pair.close() };
}

/** Fetches and stores the target's discovery document (or why it could not be read). */
export async function recordTargetDiscovery(configFile: string, runDir: string): Promise<void> {
  const target = loadTargetConfig(configFile);
  const url = `${target.baseUrl}/.well-known/ocm`;
  let record: Record<string, unknown>;
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      document = undefined;
    }
    record = {
      url,
      fetchedAt: new Date().toISOString(),
      status: response.status,
      contentType: response.headers.get('content-type'),
      document,
    };
  } catch (error) {
    record = { url, fetchedAt: new Date().toISOString(), error: (error as Error).message };
  }
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, TARGET_DISCOVERY_FILE), JSON.stringify(record, null, 2));
}

/** `run --tls`: the run CA that `run` made (or `--peer-ca`), which signs the peers' certificates too. */
async function embeddedTlsCa(env: NodeJS.ProcessEnv = process.env): Promise<CertificateAuthority> {
  const dir = env[PEER_CA_DIR_ENV];
  if (!dir) throw new Error(`${EMBEDDED_TLS_ENV}=1 needs the run CA in ${PEER_CA_DIR_ENV}: start it with ocm-conformance run --tls`);
  return (await import('../../certs/ca.ts')).readCertificateAuthority(dir);
}

/** The embedded pair as the environment asks for it: subnet (OCM_SUBNET), peers (`run --peers`), `run --tls`, `run --split`. */
export async function startEmbeddedFromEnv(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedTargets> {
  // OCM_SUBNET: runs side by side (the split parity test) each on their own loopback addresses.
  // `run --peers`: the embedded pair trusts those peers instead of its defaults.
  const peers = peerPairsFromEnv(env);
  return startEmbeddedTargets(dir, {
    ...(env.OCM_SUBNET ? { subnet: env.OCM_SUBNET } : {}),
    ...(peers ? { peers } : {}),
    ...(env[EMBEDDED_TLS_ENV] === '1' ? { tls: await embeddedTlsCa(env) } : {}),
    split: splitRequested(env),
  });
}

/**
 * With EMBEDDED_BY_RUN_ENV (context.ts), `ocm-conformance run` starts the pair in its own process while
 * Playwright starts up (the two take about a second each, and the CLI would only wait otherwise): the global
 * setup then waits for the pair's ready marker in the run folder instead of starting one.
 */
const EMBEDDED_READY_FILE = 'embedded-ready.json';

/** Written by whoever started the pair for the suites: its config file, or why it could not start. */
export async function markEmbeddedPair(runDir: string, outcome: { configFile: string } | { failure: string }): Promise<void> {
  const file = join(runDir, EMBEDDED_READY_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(outcome));
  await rename(`${file}.tmp`, file); // whole or absent: the waiting side never reads half of it
}

/** Waits (bounded) for `markEmbeddedPair`; answers the config file, or throws the reason the pair did not start. */
export async function waitForEmbeddedPair(runDir: string, timeoutMs = 120_000): Promise<string> {
  const file = join(runDir, EMBEDDED_READY_FILE);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const outcome = JSON.parse(text) as { configFile?: string; failure?: string };
      if (outcome.configFile) return outcome.configFile;
      throw new Error(`setup failed: the embedded reference pair did not start: ${outcome.failure}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  throw new Error(`setup failed: the embedded reference pair was not ready within ${timeoutMs / 1000} s`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  // run --ca-file / --insecure: this process's own requests to the target (discovery record, peers' calls).
  installTargetTrust(trustFromEnv());
  // Each run gets its own folder, so runs side by side never share state.
  const ownRunDir = !process.env.OCM_RUN_DIR;
  const dir = process.env.OCM_RUN_DIR ?? (await mkdtemp(join(tmpdir(), 'ocm-run-')));
  process.env.OCM_RUN_DIR = dir;
  let embedded: EmbeddedTargets | undefined;
  if (process.env[EMBEDDED_BY_RUN_ENV] === '1') process.env.OCM_TARGET_CONFIG = await waitForEmbeddedPair(dir);
  else if (!process.env.OCM_TARGET_CONFIG) {
    embedded = await startEmbeddedFromEnv(dir);
    process.env.OCM_TARGET_CONFIG = embedded.configFile;
  }
  await recordTargetDiscovery(process.env.OCM_TARGET_CONFIG, dir);
  // A target that stopped answering ends the run within seconds (liveness.ts, decisions/0015).
  const stopWatching = stopRunWhenTargetStaysDown(dir, loadTargetConfig(process.env.OCM_TARGET_CONFIG).baseUrl);
  return async () => {
    stopWatching();
    await embedded?.close();
    if (ownRunDir) await rm(dir, { recursive: true, force: true });
  };
}
