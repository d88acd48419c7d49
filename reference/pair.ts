/**
 * Two reference instances on two loopback addresses that trust each other:
 * what `ocm-conformance run` tests by default and what end-to-end tests use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildConfig, type ReferenceConfig } from './base/config.ts';
import { startInstance, type RunningInstance } from './main.ts';
import { TrustedProviders, type ProviderInfo } from './providers/trusted-providers.ts';

/** A provider entry trusting the instance at `origin` (e.g. http://127.0.0.2:8080). */
export function providerEntry(name: string, origin: string): ProviderInfo {
  const host = new URL(origin).host;
  return {
    name,
    full_name: `OCM conformance reference ${name}`,
    organization: 'ocm-conformance',
    domain: host,
    homepage: origin,
    services: [
      {
        host,
        api_version: '1.4.0',
        endpoint: { type: { name: 'OCM' }, name: `${host} - OCM API`, path: `${origin}/ocm/`, is_monitored: true },
      },
    ],
  };
}

/** Finds a free TCP port on `host` (a loopback address). */
export async function freePort(host: string): Promise<number> {
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

export interface Pair {
  a: RunningInstance;
  b: RunningInstance;
  dataDirs: [string, string];
  close(): Promise<void>;
}

export interface PairOptions {
  hosts?: [string, string];
  ports?: [number, number];
  /** Extra settings for each instance. */
  configure?: (name: 'a' | 'b') => Partial<ReferenceConfig>;
  /** Keep the data dirs after close (default: remove temp dirs). */
  dataDirs?: [string, string];
  logLevel?: string;
  /** A logger for both instances (default: pino at `logLevel`, silent). */
  logger?: pino.Logger;
}

export async function startPair(options: PairOptions = {}): Promise<Pair> {
  const hosts = options.hosts ?? ['127.0.0.2', '127.0.0.3'];
  const ports = options.ports ?? [await freePort(hosts[0]), await freePort(hosts[1])];
  const origins = [`http://${hosts[0]}:${ports[0]}`, `http://${hosts[1]}:${ports[1]}`] as const;
  const providers = new TrustedProviders([providerEntry('a', origins[0]), providerEntry('b', origins[1])]);
  const ownDirs = !options.dataDirs;
  const dataDirs = options.dataDirs ?? [await mkdtemp(join(tmpdir(), 'ocm-a-')), await mkdtemp(join(tmpdir(), 'ocm-b-'))];
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'silent' });
  const start = (index: 0 | 1) =>
    startInstance(
      buildConfig({
        host: hosts[index],
        port: ports[index],
        dataDir: dataDirs[index],
        ...(options.configure?.(index === 0 ? 'a' : 'b') ?? {}),
      }),
      { logger, providers },
    );
  const a = await start(0);
  let b: RunningInstance;
  try {
    b = await start(1);
  } catch (error) {
    await a.close();
    throw error;
  }
  return {
    a,
    b,
    dataDirs,
    async close() {
      await Promise.all([a.close(), b.close()]);
      if (ownDirs) await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
