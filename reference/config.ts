/**
 * Configuration of one reference instance: defaults, a YAML or JSON config
 * file, then command-line flags, in that order of precedence. Everything is
 * checked here, before anything starts, and a bad value stops start-up with
 * one line saying which key is wrong.
 */
import { readFile } from 'node:fs/promises';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ReferenceConfig {
  host: string;
  port: number;
  grpcPort?: number | undefined;
  /** What discovery advertises; default `http://HOST:PORT`. */
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
  /** The WebDAV prefix advertised for OCM share access. */
  webdavPath: string;
  /** What form of `webdav.uri` this server can receive. */
  webdavReceive: 'absolute' | 'relative';
  /** Outbound calls to other OCM servers. */
  outbound: {
    timeoutMs: number;
    maxResponseBytes: number;
  };
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
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
    webdavPath: '/dav/ocm',
    webdavReceive: 'absolute',
    outbound: { timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 },
    logLevel: 'warn',
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
  return config as Partial<ReferenceConfig>;
}

/** Merges layers over the defaults and validates the result. */
export function buildConfig(...layers: Partial<ReferenceConfig>[]): ReferenceConfig {
  const config = defaultConfig();
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (!(key in config) && key !== 'grpcPort') throw new ConfigError(`unknown setting "${key}"`);
      if (key === 'outbound') Object.assign(config.outbound, value);
      else (config as unknown as Record<string, unknown>)[key] = value;
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
  if (!config.publicUrl) config.publicUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
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
  for (const key of ['inviteExpirySeconds', 'bodyLimitBytes'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new ConfigError(`${key} must be a positive integer`);
  }
  if (!Number.isInteger(config.outbound.timeoutMs) || config.outbound.timeoutMs <= 0) throw new ConfigError('outbound.timeoutMs must be a positive integer');
  if (!Number.isInteger(config.outbound.maxResponseBytes) || config.outbound.maxResponseBytes <= 0) {
    throw new ConfigError('outbound.maxResponseBytes must be a positive integer');
  }
  if (!/^\/[^?#]*$/.test(config.webdavPath)) throw new ConfigError('webdavPath must be a path starting with "/"');
  if (config.webdavReceive !== 'absolute' && config.webdavReceive !== 'relative') throw new ConfigError('webdavReceive must be "absolute" or "relative"');
  return config;
}

/** host[:port] of the public URL: the server part of this instance's OCM Addresses. */
export function providerDomain(config: ReferenceConfig): string {
  return new URL(config.publicUrl).host;
}
