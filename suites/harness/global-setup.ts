/**
 * Runs once before the suites. Without `OCM_TARGET_CONFIG` it starts the two
 * embedded reference instances (A is the target, B its interop partner),
 * each trusting the other and every simulated peer address, and writes a
 * target config for them. Then it fetches the target's discovery document
 * once, so suite files can decide at load time which checks apply.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import pino from 'pino';
import { buildConfig, type ConfigLayer } from '../../reference/base/config.ts';
import { startInstance, type RunningInstance } from '../../reference/main.ts';
import { freePort, providerEntry } from '../../reference/pair.ts';
import { TrustedProviders } from '../../reference/providers/trusted-providers.ts';
import { PROJECT_ROOT } from '../../reference/base/config.ts';
import { TARGET_DISCOVERY_FILE } from './context.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { loadTargetConfig } from './target.ts';

/** Loopback addresses of the simulated peers in `subnet` (.10 to .17): one pair per parallel worker. */
export function peerHostsIn(subnet = '127.0.0'): Array<[string, string]> {
  return [10, 12, 14, 16].map((n) => [`${subnet}.${n}`, `${subnet}.${n + 1}`] as [string, string]);
}

/** Loopback addresses of the simulated peers: one pair per parallel worker. */
export const PEER_HOSTS: Array<[string, string]> = peerHostsIn();

async function commonFreePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]!);
    const others = await Promise.all(hosts.slice(1).map((host) => isFree(host, port)));
    if (others.every(Boolean)) return port;
  }
  throw new Error('no port free on every peer address');
}

async function isFree(host: string, port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port }, () => server.close(() => resolve(true)));
  });
}

export interface EmbeddedTargets {
  a: RunningInstance;
  b: RunningInstance;
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
}

/** Starts the embedded pair and writes its target config; used by the global setup and `ocm-conformance run`. */
export async function startEmbeddedTargets(runDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedTargets> {
  await mkdir(runDir, { recursive: true });
  // Every run starts from empty stores.
  await Promise.all(['data-a', 'data-b'].map((dir) => rm(join(runDir, dir), { recursive: true, force: true })));
  const subnet = options.subnet ?? '127.0.0';
  const peerHosts = peerHostsIn(subnet);
  const peerPort = await commonFreePort(peerHosts.flat());
  const peerOrigins = peerHosts.flat().map((host) => `http://${host}:${peerPort}`);
  const [hostA, hostB] = [`${subnet}.2`, `${subnet}.3`];
  const [portA, portB] = [await freePort(hostA), await freePort(hostB)];
  const origins = [`http://${hostA}:${portA}`, `http://${hostB}:${portB}`];
  const providers = new TrustedProviders([
    providerEntry('reference-a', origins[0]!),
    providerEntry('reference-b', origins[1]!),
    ...peerOrigins.map((origin, i) => providerEntry(`peer-${i}`, origin)),
  ]);
  const logger = pino({ level: process.env.OCM_LOG_LEVEL ?? 'silent' });
  const start = (host: string, port: number, name: string, own: ConfigLayer = {}) =>
    startInstance(buildConfig({ host, port, grpcPort: 0, dataDir: join(runDir, `data-${name}`), ...(options.configure ?? {}) }, own), {
      logger,
      providers,
    });
  const a = await start(hostA, portA, 'a', options.configureTarget);
  const b = await start(hostB, portB, 'b').catch(async (error) => {
    await a.close();
    throw error;
  });
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
  const target = (name: string, origin: string, grpc: string | undefined) => ({
    name,
    baseUrl: origin,
    profile: 'main',
    peers: peerHosts.map(([h1, h2]) => [`${h1}:${peerPort}`, `${h2}:${peerPort}`]),
    driver: driverFor(),
    exposes: { sciencemesh: true, ocs: true, ...(grpc ? { grpc } : {}) },
    allowHttp: true,
  });
  const config = {
    ...target('reference A (embedded)', origins[0]!, a.grpcAddress),
    interopWith: target('reference B (embedded)', origins[1]!, b.grpcAddress),
  };
  const configFile = join(runDir, 'embedded-target.yaml');
  await writeFile(configFile, `# Written by the suites' global setup for the embedded reference pair.\n${toYaml(config)}`);
  return {
    a,
    b,
    configFile,
    async close() {
      await Promise.all([a.close(), b.close()]);
    },
  };
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

export default async function globalSetup(): Promise<() => Promise<void>> {
  // Each run gets its own folder, so runs side by side never share state.
  const ownRunDir = !process.env.OCM_RUN_DIR;
  const dir = process.env.OCM_RUN_DIR ?? (await mkdtemp(join(tmpdir(), 'ocm-run-')));
  process.env.OCM_RUN_DIR = dir;
  let embedded: EmbeddedTargets | undefined;
  if (!process.env.OCM_TARGET_CONFIG) {
    embedded = await startEmbeddedTargets(dir);
    process.env.OCM_TARGET_CONFIG = embedded.configFile;
  }
  await recordTargetDiscovery(process.env.OCM_TARGET_CONFIG, dir);
  return async () => {
    await embedded?.close();
    if (ownRunDir) await rm(dir, { recursive: true, force: true });
  };
}
