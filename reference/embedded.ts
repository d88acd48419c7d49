/**
 * The reference's one public entry for the conformance suites: starts the
 * embedded pair, two reference instances on two loopback addresses (A at
 * `<subnet>.2`, B at `<subnet>.3`) that trust each other and the peer origins
 * they are given. The suites import nothing else of the reference (see
 * decisions/0005): they judge it over the wire like any other server.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { buildConfig, type ConfigLayer } from './base/config.ts';
import { startInstance } from './main.ts';
import { freePort, providerEntry, startFrontOver } from './pair.ts';
import { TrustedProviders } from './providers/trusted-providers.ts';

export type { ConfigLayer };

export interface EmbeddedPairOptions {
  /** Folder for the two instances' stores (`data-a`, `data-b`), emptied first. */
  dataDir: string;
  /** Origins (`http://host:port`) of the servers both instances trust besides each other. */
  trust: readonly string[];
  /** First three octets of the pair's addresses (default 127.0.0). */
  subnet?: string;
  /** Settings for both instances. */
  configure?: Record<string, unknown>;
  /** Settings for A only: e.g. faults with ALLOW_FAULTS (the mutation run, selftest/mutation). */
  configureTarget?: ConfigLayer;
  /**
   * Run A split in two, the oCIS way (decisions/0009): its public URL is an HTTP front over a back's
   * gRPC services; the back listens on another port of A's address and advertises the front's URL.
   */
  split?: boolean;
  /**
   * Serve both instances on https (for `run --tls`): each one's certificate and
   * key (PEM; the certificate must name the instance's host name from `names`,
   * or its address) and the CA bundle (PEM) both trust for the servers they call,
   * on top of the public roots. Split, the front serves https; the back's own
   * listener stays internal and plain.
   */
  tls?: { a: PemPair; b: PemPair; ca: string };
  /**
   * DNS names of A and B in their origins (default their addresses). Each
   * instance reaches both names through `--resolve` pins to the addresses, so
   * no system resolver is asked.
   */
  names?: [string, string];
  /** More `name:port:address` pins (curl's `--resolve`) for both instances' calls, e.g. the peers' names. */
  resolve?: readonly string[];
}

export interface PemPair {
  cert: string;
  key: string;
}

export interface EmbeddedPair {
  /** Origins of A (the target) and B (its interop partner). */
  origins: [string, string];
  /** host:port of each instance's CS3 gRPC services, when served. */
  grpc: [string | undefined, string | undefined];
  close(): Promise<void>;
}

export async function startEmbeddedPair(options: EmbeddedPairOptions): Promise<EmbeddedPair> {
  // Every run starts from empty stores.
  await Promise.all(['data-a', 'data-b'].map((dir) => rm(join(options.dataDir, dir), { recursive: true, force: true })));
  const subnet = options.subnet ?? '127.0.0';
  const [hostA, hostB] = [`${subnet}.2`, `${subnet}.3`];
  const [portA, portB] = [await freePort(hostA), await freePort(hostB)];
  const scheme = options.tls ? 'https' : 'http';
  const [nameA, nameB] = options.names ?? [hostA, hostB];
  const origins: [string, string] = [`${scheme}://${nameA}:${portA}`, `${scheme}://${nameB}:${portB}`];
  const network = await networkLayers(options, [
    { name: nameA, host: hostA, port: portA },
    { name: nameB, host: hostB, port: portB },
  ]);
  const providers = new TrustedProviders([
    providerEntry('reference-a', origins[0]),
    providerEntry('reference-b', origins[1]),
    ...options.trust.map((origin, i) => providerEntry(`peer-${i}`, origin)),
  ]);
  const logger = pino({ level: process.env.OCM_LOG_LEVEL ?? 'silent' });
  const start = (host: string, port: number, name: string, own: ConfigLayer = {}) =>
    startInstance(
      buildConfig(
        { host, port, grpcPort: 0, dataDir: join(options.dataDir, `data-${name}`), ...(options.configure ?? {}) },
        { outbound: network.outbound } as ConfigLayer,
        own,
      ),
      { logger, providers },
    );
  const split = options.split ?? false;
  // Split: the back takes another port and advertises the front's URL; the front takes A's public port.
  const a = await start(hostA, split ? await freePort(hostA) : portA, 'a', {
    publicUrl: origins[0],
    ...(split ? {} : network.tls.a),
    ...options.configureTarget,
  });
  let front: Awaited<ReturnType<typeof startFrontOver>> | undefined;
  const b = await (async () => {
    if (split) {
      const frontConfig = buildConfig(
        { host: hostA, port: portA, ...(options.configure ?? {}) },
        { outbound: network.outbound, publicUrl: origins[0], ...network.tls.a } as ConfigLayer,
        options.configureTarget ?? {},
      );
      front = await startFrontOver(a, frontConfig, logger);
    }
    return start(hostB, portB, 'b', { publicUrl: origins[1], ...network.tls.b });
  })().catch(async (error) => {
    await Promise.all([a.close(), front?.close()]);
    throw error;
  });
  return {
    origins,
    grpc: [a.grpcAddress, b.grpcAddress],
    async close() {
      await front?.close();
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/**
 * The settings `tls`, `names` and `resolve` become: PEM files in the data
 * folder (the instances read files, as `serve --tls-cert` does) and pins of
 * both names to their addresses.
 */
async function networkLayers(
  options: EmbeddedPairOptions,
  instances: ReadonlyArray<{ name: string; host: string; port: number }>,
): Promise<{ outbound: { caFile?: string; resolve?: string[] }; tls: { a: ConfigLayer; b: ConfigLayer } }> {
  const resolve = [
    ...instances.filter(({ name, host }) => name !== host).map(({ name, host, port }) => `${name}:${port}:${host}`),
    ...(options.resolve ?? []),
  ];
  const outbound: { caFile?: string; resolve?: string[] } = resolve.length > 0 ? { resolve } : {};
  if (!options.tls) return { outbound, tls: { a: {}, b: {} } };
  const dir = join(options.dataDir, 'tls');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const write = async (file: string, text: string) => {
    await writeFile(join(dir, file), text, { mode: 0o600 });
    return join(dir, file);
  };
  outbound.caFile = await write('ca.pem', options.tls.ca);
  const layer = async (which: 'a' | 'b'): Promise<ConfigLayer> => ({
    tls: {
      certFile: await write(`${which}.pem`, options.tls![which].cert),
      keyFile: await write(`${which}-key.pem`, options.tls![which].key),
    },
  });
  return { outbound, tls: { a: await layer('a'), b: await layer('b') } };
}
