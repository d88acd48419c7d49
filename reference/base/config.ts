/**
 * Configuration of one reference instance: defaults, a YAML or JSON config
 * file, then command-line flags, in that order of precedence. Everything is
 * checked here, before anything starts, and a bad value stops start-up with
 * one line saying which key is wrong.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ALLOW_FAULTS, checkFaultNames } from './faults.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ReferenceConfig {
  host: string;
  port: number;
  grpcPort?: number | undefined;
  /**
   * Run as an HTTP front over another instance (decisions/0009-http-over-grpc.md):
   * the HTTP surfaces call its CS3 gRPC services and relay the rest to its HTTP
   * listener; this process opens no stores, files or keys.
   */
  backend?: BackendSettings | undefined;
  /** Serve https with this certificate and key (PEM files; `serve --tls-cert/--tls-key`); absent: plain http. */
  tls?: TlsSettings | undefined;
  /** What discovery advertises; default `http://HOST:PORT` (`https://` with `tls`). */
  publicUrl: string;
  dataDir: string;
  usersFile: string;
  providersFile: string;
  /** Branding name in discovery. */
  providerName: string;
  apiVersion: string;
  /** Admission criteria advertised in discovery and enforced. */
  criteria: string[];
  /** Let local users share with remote users they exchanged no invite with. */
  allowSharesWithoutInvite: boolean;
  /** Lifetime of invite tokens, seconds. */
  inviteExpirySeconds: number;
  /** Largest request body accepted, bytes. */
  bodyLimitBytes: number;
  /** Longest a client may take to send a whole request (headers and body), ms; then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** The WebDAV prefix advertised for OCM share access. */
  webdavPath: string;
  /** What form of `webdav.uri` this server can receive. */
  webdavReceive: 'absolute' | 'relative';
  /** Outbound calls to other OCM servers. */
  outbound: {
    timeoutMs: number;
    maxResponseBytes: number;
    /** Let peers named by host name resolve to private, loopback or link-local addresses. */
    allowPrivateAddresses: boolean;
    /** PEM bundle trusted for the peers we call, on top of the public roots (`serve --ca-file`). */
    caFile?: string | undefined;
    /**
     * `name:port:address` entries, as curl's `--resolve`: calls to `name:port`
     * connect to `address`, TLS still checks the certificate against `name`
     * (`serve --resolve`, repeatable). The system resolver is never asked nor changed.
     */
    resolve?: string[] | undefined;
  };
  /** HTTP message signatures (RFC 9421, OCM profile); decisions/0008. */
  signatures: SignatureSettings;
  /** The code flow: our token endpoint and exchanging codes at senders; decisions/0008. */
  tokenExchange: TokenExchangeSettings;
  logLevel: string;
  /**
   * Deliberate protocol violations (reference/base/faults.ts) for the mutation
   * run; empty in every normal run. Only a layer carrying ALLOW_FAULTS may set it.
   */
  faults: string[];
}

/** One layer of settings; `[ALLOW_FAULTS]: true` (code only) lets it set `faults`. */
export type ConfigLayer = Partial<ReferenceConfig> & { [ALLOW_FAULTS]?: true };

export interface SignatureSettings {
  /** Sign outbound OCM requests to peers that advertise `http-sig` (or demand `must-use-http-sig`); publish our keys; advertise `http-sig` and `jwksUri`. */
  sign: boolean;
  /** Verify signatures on inbound OCM requests (off: every request counts as unsigned). */
  verify: boolean;
  /** Also verify draft-cavage signatures of 1.2-era peers with their discovery `publicKey`. */
  legacyCavage: boolean;
  /**
   * Publish a draft-cavage `publicKey {keyId, publicKeyPem}` (RSA) in discovery,
   * as 1.2-era servers do, so 1.2-era peers and the 1.2 signature checks see a
   * cavage verifier (test setup for a 1.2-era target; needs legacyCavage).
   * The key is made at start-up and kept in memory; outbound requests stay
   * signed with RFC 9421 only.
   */
  legacyPublicKey: boolean;
  /** Refuse unsigned requests that claim to come from a peer whose discovery advertises `http-sig`. */
  refuseUnsignedFromSigners: boolean;
  /** Oldest acceptable `created` (or cavage `Date`), seconds before now. */
  maxAgeSeconds: number;
  /** Allowed clock skew for a `created` in the future, seconds. */
  maxSkewSeconds: number;
  /** How long a peer's discovery and JWK Set are cached, seconds. */
  keyCacheSeconds: number;
  /** At most this many peers are cached (least recently used go first). */
  keyCacheSize: number;
  /** Folder of `signing-keys.json`; default the data dir. */
  keyDir?: string | undefined;
  /** Key ids are `<kidPrefix>#key-<n>`; default our host[:port]. */
  kidPrefix?: string | undefined;
}

export interface TlsSettings {
  /** The server certificate (PEM; a chain may follow it). */
  certFile: string;
  /** Its private key (PEM). */
  keyFile: string;
}

export interface BackendSettings {
  /** host:port of the back's CS3 gRPC services (its `--grpc-port`). */
  grpc: string;
  /** Origin of the back's own HTTP listener (file bytes, notifications, the token endpoint, keys, discovery). */
  http: string;
}

export interface TokenExchangeSettings {
  /** Serve the token endpoint (capability `exchange-token`, `tokenEndPoint`) and exchange codes as a receiver. */
  enabled: boolean;
  /** Lifetime of the access tokens we issue, seconds. */
  tokenLifetimeSeconds: number;
  /** Put `must-exchange-token` in every share we send, not only to receivers that demand it. */
  alwaysRequireExchange: boolean;
  /** As a receiver, also exchange when the sender merely offers it (falling back on the secret on failure); off: only when a share requires it. */
  tryWhenOffered: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A bad TLS or `--resolve` setting: the instance cannot start as asked, so
 * `serve` stops with this one line and exit code 2 (a setup stop).
 */
export class NetworkSettingError extends ConfigError {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'NetworkSettingError';
  }
}

/** One `--resolve` entry: calls to `name:port` connect to `address`. */
export interface ResolveEntry {
  /** Lower-case DNS name. */
  name: string;
  port: number;
  /** An IPv4 or IPv6 address (IPv6 without brackets). */
  address: string;
}

const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** Parses `name:port:address` (curl's `--resolve` form; an IPv6 address may be bracketed). */
export function parseResolveEntry(value: unknown): ResolveEntry {
  const wrong = (why: string) =>
    new NetworkSettingError(`--resolve ${JSON.stringify(value)}: ${why}; expected name:port:address, e.g. peer-a.test:9400:127.0.0.10`);
  if (typeof value !== 'string') throw wrong('not a string');
  const first = value.indexOf(':');
  const second = first < 0 ? -1 : value.indexOf(':', first + 1);
  if (second < 0) throw wrong('three parts are needed');
  const name = value.slice(0, first);
  const port = value.slice(first + 1, second);
  const address = value.slice(second + 1).replace(/^\[(.*)\]$/, '$1');
  if (!DNS_NAME.test(name) || isIP(name)) throw wrong(`${JSON.stringify(name)} is not a DNS name`);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw wrong(`${JSON.stringify(port)} is not a port (1-65535)`);
  if (!isIP(address)) throw wrong(`${JSON.stringify(address)} is not an IP address`);
  return { name: name.toLowerCase(), port: Number(port), address };
}

export function defaultConfig(): ReferenceConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    publicUrl: '',
    dataDir: resolve('data'),
    usersFile: resolve(PROJECT_ROOT, 'fixtures/users.json'),
    providersFile: resolve(PROJECT_ROOT, 'fixtures/ocmproviders.json'),
    providerName: 'OCM Conformance Reference',
    apiVersion: '1.4.0',
    criteria: [],
    allowSharesWithoutInvite: false,
    inviteExpirySeconds: 24 * 3600,
    bodyLimitBytes: 1024 * 1024,
    requestTimeoutMs: 30_000,
    webdavPath: '/dav/ocm',
    webdavReceive: 'absolute',
    outbound: { timeoutMs: 10_000, maxResponseBytes: 1024 * 1024, allowPrivateAddresses: false },
    signatures: {
      sign: true,
      verify: true,
      legacyCavage: true,
      legacyPublicKey: false,
      refuseUnsignedFromSigners: true,
      maxAgeSeconds: 300,
      maxSkewSeconds: 60,
      keyCacheSeconds: 300,
      keyCacheSize: 256,
    },
    tokenExchange: { enabled: true, tokenLifetimeSeconds: 300, alwaysRequireExchange: false, tryWhenOffered: false },
    logLevel: 'warn',
    faults: [],
  };
}

const KNOWN_CRITERIA = ['must-use-http-sig', 'must-exchange-token', 'denylist', 'allowlist', 'must-invite'];

/** Reads a YAML or JSON config file; relative paths in it are relative to the file. */
export async function readConfigFile(file: string): Promise<Partial<ReferenceConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML is a superset of JSON
  } catch (error) {
    throw new ConfigError(`config file ${file} is not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a mapping of settings`);
  }
  const base = dirname(resolve(file));
  const config = parsed as Record<string, unknown>;
  for (const key of ['dataDir', 'usersFile', 'providersFile'] as const) {
    if (typeof config[key] === 'string') config[key] = resolve(base, config[key] as string);
  }
  const signatures = config.signatures as Record<string, unknown> | undefined;
  if (signatures && typeof signatures === 'object' && typeof signatures.keyDir === 'string') {
    config.signatures = { ...signatures, keyDir: resolve(base, signatures.keyDir) };
  }
  const tls = config.tls as Record<string, unknown> | undefined;
  if (tls && typeof tls === 'object' && !Array.isArray(tls)) {
    config.tls = Object.fromEntries(
      Object.entries(tls).map(([key, value]) => [key, typeof value === 'string' ? resolve(base, value) : value]),
    );
  }
  const outbound = config.outbound as Record<string, unknown> | undefined;
  if (outbound && typeof outbound === 'object' && typeof outbound.caFile === 'string') {
    config.outbound = { ...outbound, caFile: resolve(base, outbound.caFile) };
  }
  return config as Partial<ReferenceConfig>;
}

/** Merges layers over the defaults and validates the result. */
export function buildConfig(...layers: ConfigLayer[]): ReferenceConfig {
  const config = defaultConfig();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (!Object.hasOwn(config, key) && key !== 'grpcPort' && key !== 'backend' && key !== 'tls')
        throw new ConfigError(`unknown setting "${key}"`);
      if (key === 'faults') {
        // Faults break the protocol on purpose: never from a config file or the environment.
        if (layer[ALLOW_FAULTS] !== true)
          throw new ConfigError(
            'faults can only be enabled with `serve --fault NAME --allow-faults` (or by the mutation run), never from a config file',
          );
        try {
          config.faults = checkFaultNames(value);
        } catch (error) {
          throw new ConfigError((error as Error).message);
        }
      } else if (key === 'outbound') {
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          throw new ConfigError('outbound must be a mapping of timeoutMs, maxResponseBytes, allowPrivateAddresses, caFile and resolve');
        const unknown = Object.keys(value).find((sub) => !Object.hasOwn(config.outbound, sub) && sub !== 'caFile' && sub !== 'resolve');
        if (unknown !== undefined) throw new ConfigError(`unknown setting "outbound.${unknown}"`);
        Object.assign(config.outbound, value);
      } else if (key === 'signatures' || key === 'tokenExchange') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${key} must be a mapping`);
        const known = key === 'signatures' ? [...Object.keys(config.signatures), 'keyDir', 'kidPrefix'] : Object.keys(config.tokenExchange);
        const unknown = Object.keys(value).find((sub) => !known.includes(sub));
        if (unknown !== undefined) throw new ConfigError(`unknown setting "${key}.${unknown}"`);
        Object.assign(config[key], value);
      } else if (key === 'tls' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        // Merged key by key, so a flag can name the certificate and the config file the key.
        config.tls = { ...config.tls, ...(value as Partial<TlsSettings>) } as TlsSettings;
      } else if (key === 'backend' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        // Merged key by key, so a flag can set one address and the config file the other.
        config.backend = { ...config.backend, ...(value as Partial<BackendSettings>) } as BackendSettings;
      } else (config as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return validateConfig(config);
}

function validateConfig(config: ReferenceConfig): ReferenceConfig {
  const port = (name: string, value: unknown, allowZero = true) => {
    if (!Number.isInteger(value) || (value as number) < (allowZero ? 0 : 1) || (value as number) > 65535) {
      throw new ConfigError(`${name} must be a port number (0-65535), got ${JSON.stringify(value)}`);
    }
  };
  if (typeof config.host !== 'string' || config.host === '') throw new ConfigError('host must be a non-empty string');
  port('port', config.port);
  if (config.grpcPort !== undefined) port('grpcPort', config.grpcPort);
  if (config.backend !== undefined) validateBackend(config);
  if (config.tls !== undefined) validateTls(config);
  validateOutboundNetwork(config);
  if (!config.publicUrl)
    config.publicUrl = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  let url: URL;
  try {
    url = new URL(config.publicUrl);
  } catch {
    throw new ConfigError(`publicUrl must be an absolute URL, got ${JSON.stringify(config.publicUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('publicUrl must use http or https');
  if (url.pathname !== '/' || url.search || url.hash) throw new ConfigError('publicUrl must have no path, query or fragment');
  config.publicUrl = url.origin;
  if (!Array.isArray(config.criteria) || config.criteria.some((c) => !KNOWN_CRITERIA.includes(c))) {
    throw new ConfigError(`criteria must be a list drawn from ${KNOWN_CRITERIA.join(', ')}`);
  }
  if (typeof config.allowSharesWithoutInvite !== 'boolean') throw new ConfigError('allowSharesWithoutInvite must be true or false');
  for (const key of ['inviteExpirySeconds', 'bodyLimitBytes', 'requestTimeoutMs'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new ConfigError(`${key} must be a positive integer`);
  }
  // Node keeps the request deadline as a 32-bit count of ms.
  if (config.requestTimeoutMs > 2 ** 31 - 1) throw new ConfigError('requestTimeoutMs must be at most 2147483647');
  if (!Number.isInteger(config.outbound.timeoutMs) || config.outbound.timeoutMs <= 0)
    throw new ConfigError('outbound.timeoutMs must be a positive integer');
  if (typeof config.outbound.allowPrivateAddresses !== 'boolean')
    throw new ConfigError('outbound.allowPrivateAddresses must be true or false');
  if (!Number.isInteger(config.outbound.maxResponseBytes) || config.outbound.maxResponseBytes <= 0) {
    throw new ConfigError('outbound.maxResponseBytes must be a positive integer');
  }
  if (!/^\/[^?#]*$/.test(config.webdavPath)) throw new ConfigError('webdavPath must be a path starting with "/"');
  if (config.webdavReceive !== 'absolute' && config.webdavReceive !== 'relative')
    throw new ConfigError('webdavReceive must be "absolute" or "relative"');
  validateSignatureSettings(config);
  return config;
}

function validateTls(config: ReferenceConfig): void {
  const tls = config.tls as unknown;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls))
    throw new NetworkSettingError('tls must be a mapping of certFile and keyFile');
  const unknown = Object.keys(tls).find((key) => key !== 'certFile' && key !== 'keyFile');
  if (unknown !== undefined) throw new NetworkSettingError(`unknown setting "tls.${unknown}"`);
  const { certFile, keyFile } = tls as Partial<TlsSettings>;
  const given = (file: unknown) => typeof file === 'string' && file !== '';
  if (!given(certFile) && !given(keyFile)) {
    config.tls = undefined; // an empty mapping: plain http
    return;
  }
  if (!given(certFile)) throw new NetworkSettingError('--tls-key needs --tls-cert (config tls.certFile): the server certificate, PEM');
  if (!given(keyFile)) throw new NetworkSettingError("--tls-cert needs --tls-key (config tls.keyFile): the certificate's private key, PEM");
}

function validateOutboundNetwork(config: ReferenceConfig): void {
  const { caFile, resolve: entries } = config.outbound;
  if (caFile !== undefined && (typeof caFile !== 'string' || caFile === ''))
    throw new NetworkSettingError('outbound.caFile (--ca-file) must be a file name');
  if (entries === undefined) return;
  if (!Array.isArray(entries)) throw new NetworkSettingError('outbound.resolve (--resolve) must be a list of name:port:address');
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const { name, port, address } = parseResolveEntry(entry);
    const previous = seen.get(`${name}:${port}`);
    if (previous !== undefined && previous !== address)
      throw new NetworkSettingError(`--resolve ${name}:${port} is given twice, with ${previous} and ${address}`);
    seen.set(`${name}:${port}`, address);
  }
}

function validateBackend(config: ReferenceConfig): void {
  const backend = config.backend as unknown;
  if (typeof backend !== 'object' || backend === null || Array.isArray(backend))
    throw new ConfigError('backend must be a mapping of grpc and http');
  const unknown = Object.keys(backend).find((key) => key !== 'grpc' && key !== 'http');
  if (unknown !== undefined) throw new ConfigError(`unknown setting "backend.${unknown}"`);
  const { grpc, http } = backend as Partial<BackendSettings>;
  if (
    typeof grpc !== 'string' ||
    !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(grpc) ||
    Number(grpc.slice(grpc.lastIndexOf(':') + 1)) > 65535
  ) {
    throw new ConfigError(`backend.grpc must be host:port of the back's gRPC services, got ${JSON.stringify(grpc)}`);
  }
  let url: URL | undefined;
  try {
    url = typeof http === 'string' ? new URL(http) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError(`backend.http must be the origin of the back's HTTP listener (http://host:port), got ${JSON.stringify(http)}`);
  }
  if (config.grpcPort !== undefined)
    throw new ConfigError('grpcPort and backend exclude each other: a front serves no gRPC, its back does');
  config.backend = { grpc, http: url.origin };
}

/** host[:port] of the public URL: the server part of this instance's OCM Addresses. */
export function providerDomain(config: ReferenceConfig): string {
  return new URL(config.publicUrl).host;
}

function validateSignatureSettings(config: ReferenceConfig): void {
  const { signatures, tokenExchange } = config;
  for (const key of ['sign', 'verify', 'legacyCavage', 'legacyPublicKey', 'refuseUnsignedFromSigners'] as const) {
    if (typeof signatures[key] !== 'boolean') throw new ConfigError(`signatures.${key} must be true or false`);
  }
  if (signatures.legacyPublicKey && !(signatures.legacyCavage && signatures.verify))
    throw new ConfigError('signatures.legacyPublicKey needs signatures.legacyCavage and signatures.verify');
  for (const key of ['maxAgeSeconds', 'keyCacheSeconds', 'keyCacheSize'] as const) {
    if (!Number.isInteger(signatures[key]) || signatures[key] <= 0) throw new ConfigError(`signatures.${key} must be a positive integer`);
  }
  if (!Number.isInteger(signatures.maxSkewSeconds) || signatures.maxSkewSeconds < 0)
    throw new ConfigError('signatures.maxSkewSeconds must be a whole number of seconds');
  if (signatures.keyDir !== undefined && (typeof signatures.keyDir !== 'string' || signatures.keyDir === ''))
    throw new ConfigError('signatures.keyDir must be a folder');
  if (
    signatures.kidPrefix !== undefined &&
    (typeof signatures.kidPrefix !== 'string' || !/^[\x21-\x7e]+$/.test(signatures.kidPrefix) || /[#"\\]/.test(signatures.kidPrefix))
  ) {
    throw new ConfigError('signatures.kidPrefix must be printable ASCII without spaces, "#", quotes or backslashes');
  }
  for (const key of ['enabled', 'alwaysRequireExchange', 'tryWhenOffered'] as const) {
    if (typeof tokenExchange[key] !== 'boolean') throw new ConfigError(`tokenExchange.${key} must be true or false`);
  }
  if (!Number.isInteger(tokenExchange.tokenLifetimeSeconds) || tokenExchange.tokenLifetimeSeconds <= 0) {
    throw new ConfigError('tokenExchange.tokenLifetimeSeconds must be a positive integer');
  }
  // Combinations the spec makes meaningless.
  if (config.criteria.includes('must-use-http-sig') && !signatures.verify)
    throw new ConfigError('criterion must-use-http-sig needs signatures.verify');
  if (tokenExchange.enabled && !(signatures.sign && signatures.verify)) {
    throw new ConfigError(
      'tokenExchange.enabled needs signatures.sign and signatures.verify (the code flow authenticates servers by their signatures)',
    );
  }
  if (config.criteria.includes('must-exchange-token') && !tokenExchange.enabled)
    throw new ConfigError('criterion must-exchange-token needs tokenExchange.enabled');
  if (tokenExchange.alwaysRequireExchange && !tokenExchange.enabled)
    throw new ConfigError('tokenExchange.alwaysRequireExchange needs tokenExchange.enabled');
}
