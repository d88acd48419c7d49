/**
 * `ocm-conformance serve`: one reference instance.
 */
import { Command, InvalidArgumentError } from 'commander';
import { buildConfig, parseResolveEntry, readConfigFile, type ConfigLayer, type ReferenceConfig } from '../reference/base/config.ts';
import { ALLOW_FAULTS, checkFaultNames } from '../reference/base/faults.ts';
import { startInstance } from '../reference/main.ts';
import { freePort } from '../reference/pair.ts';
import { rmSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_CAPACITY, Inspector } from '../inspector/inspector.ts';
import { INSPECTOR_PATH, isLoopbackHost } from '../inspector/plugin.ts';
import { getRegistry } from '../openapi/registry.ts';

function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** Negatable switches: commander defaults them to true, which must not override the config file. */
const SWITCHES = ['sign', 'verify', 'legacyCavage', 'tokenExchange'] as const;

interface ServeFlags {
  readyFile?: string;
  pidFile?: string;
  host?: string;
  port?: number;
  grpcPort?: number;
  grpcBackend?: string;
  httpBackend?: string;
  publicUrl?: string;
  dataDir?: string;
  users?: string;
  providers?: string;
  config?: string;
  criteria?: string[];
  inviteExpiry?: number;
  bodyLimit?: number;
  requestTimeout?: number;
  logLevel?: string;
  sign?: boolean;
  verify?: boolean;
  legacyCavage?: boolean;
  signatureMaxAge?: number;
  signatureMaxSkew?: number;
  keyDir?: string;
  tokenExchange?: boolean;
  tokenLifetime?: number;
  alwaysRequireExchange?: boolean;
  fault?: string[];
  allowFaults?: boolean;
  inspect?: boolean;
  inspectAllowRemote?: boolean;
  inspectKeep?: number;
  tlsCert?: string;
  tlsKey?: string;
  caFile?: string;
  resolve?: string[];
}

/**
 * `--inspect`: the OCM inspector's options, or why they are refused. The page
 * shows every exchange (secrets masked, but peers, users and paths in clear),
 * so on a host reachable from elsewhere it needs `--inspect-allow-remote`.
 */
export function inspectOptions(
  flags: Pick<ServeFlags, 'inspect' | 'inspectAllowRemote' | 'inspectKeep'>,
  host: string,
): { capacity: number; allowRemote: boolean } | undefined {
  if (!flags.inspect) {
    if (flags.inspectAllowRemote || flags.inspectKeep !== undefined)
      throw new Error('--inspect-allow-remote and --inspect-keep need --inspect');
    return undefined;
  }
  const allowRemote = flags.inspectAllowRemote === true;
  if (!allowRemote && !isLoopbackHost(host))
    throw new Error(
      `--inspect refused on ${host}: the inspector shows every exchange to whoever can reach it; listen on a loopback address or add --inspect-allow-remote`,
    );
  return { capacity: flags.inspectKeep ?? DEFAULT_CAPACITY, allowRemote };
}

/**
 * The fault layer of `--fault NAME` (repeatable): refused without
 * `--allow-faults`, and for unknown names. The only way a command line
 * enables a fault (reference/base/faults.ts).
 */
export function faultLayer(flags: Pick<ServeFlags, 'fault' | 'allowFaults'>): ConfigLayer {
  const names = flags.fault ?? [];
  if (names.length === 0) return {};
  if (!flags.allowFaults) {
    throw new Error(
      `--fault ${names.join(', ')} refused: faults make the reference break the OCM protocol on purpose; add --allow-faults if that is what you want`,
    );
  }
  return { faults: checkFaultNames(names), [ALLOW_FAULTS]: true };
}

function defined<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

export function flagsToConfig(flags: ServeFlags): Partial<ReferenceConfig> {
  return {
    host: flags.host,
    tls: defined({
      certFile: flags.tlsCert === undefined ? undefined : resolve(flags.tlsCert),
      keyFile: flags.tlsKey === undefined ? undefined : resolve(flags.tlsKey),
    }) as ReferenceConfig['tls'],
    port: flags.port,
    grpcPort: flags.grpcPort,
    backend: defined({ grpc: flags.grpcBackend, http: flags.httpBackend }) as ReferenceConfig['backend'],
    publicUrl: flags.publicUrl,
    dataDir: flags.dataDir === undefined ? undefined : resolve(flags.dataDir),
    usersFile: flags.users === undefined ? undefined : resolve(flags.users),
    providersFile: flags.providers === undefined ? undefined : resolve(flags.providers),
    criteria: flags.criteria,
    inviteExpirySeconds: flags.inviteExpiry,
    bodyLimitBytes: flags.bodyLimit,
    requestTimeoutMs: flags.requestTimeout,
    outbound: defined({
      caFile: flags.caFile === undefined ? undefined : resolve(flags.caFile),
      resolve: flags.resolve,
    }) as ReferenceConfig['outbound'] | undefined,
    logLevel: flags.logLevel,
    signatures: defined({
      sign: flags.sign,
      verify: flags.verify,
      legacyCavage: flags.legacyCavage,
      maxAgeSeconds: flags.signatureMaxAge,
      maxSkewSeconds: flags.signatureMaxSkew,
      keyDir: flags.keyDir === undefined ? undefined : resolve(flags.keyDir),
    }) as ReferenceConfig['signatures'] | undefined,
    tokenExchange: defined({
      enabled: flags.tokenExchange,
      tokenLifetimeSeconds: flags.tokenLifetime,
      alwaysRequireExchange: flags.alwaysRequireExchange,
    }) as ReferenceConfig['tokenExchange'] | undefined,
  };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start one reference OCM instance (HTTP, and the CS3 gRPC services with --grpc-port)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port (default 8080; 0 picks a free one)', portNumber)
    .option(
      '--grpc-port <port>',
      'serve the five CS3 gRPC services on this port (0 picks a free one; bind to loopback or a trusted network)',
      portNumber,
    )
    .option(
      '--grpc-backend <host:port>',
      'run as an HTTP front over another instance: call its CS3 gRPC services at this address (needs --http-backend; opens no stores)',
    )
    .option(
      '--http-backend <url>',
      "with --grpc-backend: the back's own HTTP listener, for file bytes, notifications, the token endpoint, keys and discovery",
    )
    .option('--public-url <url>', 'base URL advertised in discovery (default http://HOST:PORT, https:// with --tls-cert)')
    .option('--tls-cert <file>', 'serve https with this certificate (PEM, e.g. from `ca issue`; needs --tls-key; test setups)')
    .option('--tls-key <file>', "the certificate's private key (PEM; needs --tls-cert)")
    .option(
      '--ca-file <file>',
      'PEM bundle trusted for the peers this instance calls, on top of the public roots (e.g. the ca.pem of `ca init`)',
    )
    .option(
      '--resolve <name:port:address>',
      "outbound calls to name:port connect to address, as curl's --resolve; TLS still checks the name (repeatable; test setups)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--data-dir <dir>', 'where the JSON stores live (default ./data)')
    .option('--users <file>', 'local users file (default fixtures/users.json)')
    .option('--providers <file>', 'trusted providers, ocmproviders.json format (default fixtures/ocmproviders.json)')
    .option('--config <file>', 'YAML or JSON file with any of these settings; flags override it')
    .option('--criteria <list>', 'comma-separated criteria to advertise and enforce, e.g. must-invite', (v) => v.split(',').filter(Boolean))
    .option('--invite-expiry <seconds>', 'lifetime of invite tokens (default 86400)', positiveInt)
    .option('--body-limit <bytes>', 'largest request body accepted (default 1048576)', positiveInt)
    .option(
      '--request-timeout <ms>',
      'longest a client may take to send a whole request; then 408 and the connection is closed (default 30000)',
      positiveInt,
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default warn)')
    .option('--no-sign', 'do not sign outbound requests, publish keys or advertise http-sig (needs --no-token-exchange)')
    .option('--no-verify', 'do not verify inbound signatures (every request counts as unsigned; needs --no-token-exchange)')
    .option('--no-legacy-cavage', 'do not verify draft-cavage signatures of 1.2-era peers')
    .option('--signature-max-age <seconds>', 'oldest acceptable signature created time (default 300)', positiveInt)
    .option('--signature-max-skew <seconds>', 'allowed clock skew for signatures (default 60)', wholeNumber)
    .option('--key-dir <dir>', 'folder of signing-keys.json (default the data dir)')
    .option('--no-token-exchange', 'do not serve the token endpoint nor exchange codes (the code flow)')
    .option('--token-lifetime <seconds>', 'lifetime of issued access tokens (default 300)', positiveInt)
    .option('--always-require-exchange', 'put must-exchange-token in every share sent')
    .option(
      '--fault <name>',
      'break the protocol on purpose with this named fault (repeatable; needs --allow-faults; for the mutation run)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--allow-faults', 'allow --fault (never use it for anything but testing a conformance suite)')
    .option('--inspect', 'serve the OCM inspector at /_inspector: every exchange live, with its verdicts (loopback only)')
    .option('--inspect-allow-remote', 'with --inspect: also serve the inspector to clients that are not on loopback')
    .option('--inspect-keep <n>', 'with --inspect: how many exchanges the inspector keeps in memory (default 1000)', positiveInt)
    .option('--ready-file <file>', 'write the URL to this file once the server accepts connections (scripts wait for it); removed on stop')
    .option('--pid-file <file>', "write the server's process id to this file (kill $(cat FILE) stops it, also behind npx); removed on stop")
    .action(async (flags: ServeFlags, command: Command) => {
      for (const name of SWITCHES) if (command.getOptionValueSource(name) !== 'cli') delete flags[name];
      const files = await processFiles(flags);
      const faultFlags = faultLayer(flags);
      const fromFile = flags.config ? await readConfigFile(flags.config) : {};
      let config = buildConfig(fromFile, flagsToConfig(flags), faultFlags);
      // Discovery names the port, so "any free port" is chosen before anything is built.
      if (config.port === 0)
        config = buildConfig(fromFile, flagsToConfig(flags), faultFlags, {
          port: await freePort(config.host),
          publicUrl: fromFile.publicUrl ?? flags.publicUrl,
        });
      if (config.faults.length > 0)
        console.error(`WARNING: deliberately broken: faults ${config.faults.join(', ')} are on; this instance violates the OCM protocol`);
      const inspect = inspectOptions(flags, config.host);
      if (config.backend) {
        if (inspect) throw new Error('--inspect applies to an instance that owns its stores; a front relays, start the back with it');
        return serveFront(config, files);
      }
      const inspector = inspect ? new Inspector({ registry: getRegistry(), capacity: inspect.capacity }) : undefined;
      const instance = await startInstance(
        config,
        inspector && inspect ? { inspect: { inspector, allowRemote: inspect.allowRemote } } : {},
      );
      console.log(`ocm-conformance reference listening on ${instance.url}`);
      console.log(`  discovery:   ${config.publicUrl}/.well-known/ocm`);
      console.log(`  OCM API:     ${instance.core.discovery.endPoint}`);
      console.log(`  sciencemesh: ${config.publicUrl}/sciencemesh`);
      console.log(`  data dir:    ${config.dataDir}`);
      for (const line of networkLines(config)) console.log(line);
      if (inspector)
        console.log(`  inspector:   ${instance.url}${INSPECTOR_PATH} (keeps the last ${inspector.capacity} exchanges in memory)`);
      if (instance.grpcAddress)
        console.log(`  gRPC:        ${instance.grpcAddress} (CS3 OCM services; metadata authorization: Basic base64(user:password))`);
      await files.ready(instance.url);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`received ${signal}, stopping`);
        await instance.close();
        files.remove();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}

/** What the TLS and --resolve settings do, for the start-up banner (empty without them). */
export function networkLines(config: ReferenceConfig): string[] {
  const lines: string[] = [];
  if (config.tls) lines.push(`  tls:         ${config.tls.certFile} (key ${config.tls.keyFile})`);
  if (config.outbound.caFile) lines.push(`  peers' CA:   ${config.outbound.caFile} (trusted on top of the public roots)`);
  for (const entry of config.outbound.resolve ?? []) {
    const { name, port, address } = parseResolveEntry(entry);
    lines.push(`  resolve:     ${name}:${port} -> ${address}`);
  }
  return lines;
}

interface ProcessFiles {
  /** Writes the ready file (atomically: a waiting script never reads half a URL). */
  ready(url: string): Promise<void>;
  remove(): void;
}

/**
 * `--pid-file` is written at once, `--ready-file` only when the server
 * listens; a ready file left by an earlier run is removed first, so it never
 * announces a server that is not up yet. Both go when the server stops.
 */
async function processFiles(flags: Pick<ServeFlags, 'readyFile' | 'pidFile'>): Promise<ProcessFiles> {
  const readyFile = flags.readyFile === undefined ? undefined : resolve(flags.readyFile);
  const pidFile = flags.pidFile === undefined ? undefined : resolve(flags.pidFile);
  if (readyFile) await rm(readyFile, { force: true });
  if (pidFile) await writeFile(pidFile, `${process.pid}\n`);
  return {
    async ready(url) {
      if (!readyFile) return;
      await writeFile(`${readyFile}.tmp`, `${url}\n`);
      await rename(`${readyFile}.tmp`, readyFile);
    },
    remove() {
      for (const file of [readyFile, pidFile]) if (file) rmSync(file, { force: true });
    },
  };
}

/** `serve --grpc-backend … --http-backend …`: an HTTP front over another instance (decisions/0009). */
async function serveFront(config: ReferenceConfig, files: ProcessFiles): Promise<void> {
  if ((config.faults ?? []).length > 0)
    throw new Error('--fault applies to the instance that owns the stores: start the back with it, not the front');
  // Loaded only in front mode: a normal instance does not pay for it at start-up.
  const { startFront } = await import('../reference/front/front-app.ts');
  const front = await startFront(config);
  console.log(`ocm-conformance reference (HTTP front) listening on ${front.url}`);
  console.log(`  discovery:    ${config.publicUrl}/.well-known/ocm (relayed from the back)`);
  console.log(`  OCM API:      ${front.discovery.endPoint}`);
  console.log(`  sciencemesh:  ${config.publicUrl}/sciencemesh`);
  console.log(`  gRPC backend: ${config.backend!.grpc} (CS3 services; metadata authorization: Basic base64(user:password))`);
  console.log(`  HTTP backend: ${config.backend!.http} (file bytes, notifications, token endpoint, keys, discovery)`);
  console.log('  data dir:     none (a front opens no stores)');
  for (const line of networkLines(config)) console.log(line);
  await files.ready(front.url);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`received ${signal}, stopping`);
    await front.close();
    files.remove();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
