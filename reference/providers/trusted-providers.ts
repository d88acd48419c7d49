/**
 * Trusted providers (the `ocmproviderauthorizer` role), read from an
 * `ocmproviders.json` in the format oCIS and reva use: an array of provider
 * entries with snake_case keys and an `OCM` service.
 *
 * Matching is exact on host[:port], case-insensitive. A wildcard must be
 * written explicitly as a leading `*.` label (`*.example.org` matches
 * `a.example.org` and `a.b.example.org`, never `example.org` or
 * `badexample.org`). Nothing is a regular expression and nothing matches by
 * substring: reva's json driver does both, which trusts `evil-example.org`
 * for `example.org` (decisions/0003).
 */
import { readFile } from 'node:fs/promises';

export interface ProviderService {
  host?: string;
  api_version?: string;
  endpoint: {
    type: { name: string; description?: string };
    name?: string;
    path: string;
    is_monitored?: boolean;
    properties?: Record<string, string>;
  };
  additional_endpoints?: unknown[];
}

export interface ProviderInfo {
  name: string;
  full_name?: string;
  description?: string;
  organization?: string;
  domain: string;
  homepage?: string;
  email?: string;
  services: ProviderService[];
  properties?: Record<string, string>;
}

export class ProvidersFileError extends Error {
  constructor(source: string, detail: string) {
    super(`invalid providers file ${source}: ${detail}`);
    this.name = 'ProvidersFileError';
  }
}

interface Entry {
  info: ProviderInfo;
  /** Lower-cased exact domain, or the suffix (with leading dot) of a wildcard. */
  pattern: string;
  wildcard: boolean;
  port: string | undefined;
}

/** Splits `host[:port]` (IPv6 in brackets) and lower-cases the host. */
export function splitHostPort(domain: string): { host: string; port: string | undefined } {
  const value = domain.trim().toLowerCase();
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    const port = value.slice(close + 1).startsWith(':') ? value.slice(close + 2) : undefined;
    return { host: value.slice(0, close + 1), port };
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0 && value.indexOf(':') === colon) return { host: value.slice(0, colon), port: value.slice(colon + 1) };
  return { host: value, port: undefined };
}

export function normaliseDomain(domain: string): string {
  const { host, port } = splitHostPort(domain);
  return port === undefined ? host : `${host}:${port}`;
}

export class TrustedProviders {
  private readonly entries: Entry[];

  constructor(providers: ProviderInfo[], source = 'providers') {
    this.entries = providers.map((info, index) => toEntry(info, `${source}[${index}]`));
  }

  static async fromFile(file: string): Promise<TrustedProviders> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ProvidersFileError(file, (error as Error).message);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ProvidersFileError(file, `not JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
    }
    if (!Array.isArray(parsed)) throw new ProvidersFileError(file, 'the top level must be an array of providers');
    return new TrustedProviders(parsed as ProviderInfo[], file);
  }

  /** The provider entry trusted for `domain` (host[:port]), if any. */
  find(domain: string): ProviderInfo | undefined {
    const { host, port } = splitHostPort(domain);
    if (!host) return undefined;
    for (const entry of this.entries) {
      if (entry.port !== port) continue;
      if (entry.wildcard ? host.endsWith(entry.pattern) && host.length > entry.pattern.length : host === entry.pattern) {
        return entry.info;
      }
    }
    return undefined;
  }

  isTrusted(domain: string): boolean {
    return this.find(domain) !== undefined;
  }

  list(): ProviderInfo[] {
    return this.entries.map((e) => e.info);
  }

  /**
   * Where to reach the provider: the origin of its configured OCM service
   * URL when that is absolute (this is how a test federation says `http://`),
   * otherwise `https://<domain>`.
   */
  originFor(domain: string): URL | undefined {
    const info = this.find(domain);
    if (!info) return undefined;
    const configured = ocmService(info)?.endpoint.path;
    const normalised = normaliseDomain(domain);
    if (configured) {
      try {
        const url = new URL(configured);
        if (!info.domain.startsWith('*.')) return new URL(url.origin);
        return new URL(`${url.protocol}//${normalised}`);
      } catch {
        // a relative path: fall through to https
      }
    }
    return new URL(`https://${normalised}`);
  }
}

export function ocmService(info: ProviderInfo): ProviderService | undefined {
  return info.services?.find((s) => s?.endpoint?.type?.name === 'OCM');
}

function toEntry(info: ProviderInfo, where: string): Entry {
  if (typeof info !== 'object' || info === null) throw new ProvidersFileError(where, 'each provider must be an object');
  if (typeof info.name !== 'string' || info.name === '') throw new ProvidersFileError(where, '`name` must be a non-empty string');
  if (typeof info.domain !== 'string' || info.domain === '') throw new ProvidersFileError(where, '`domain` must be a non-empty string');
  if (!Array.isArray(info.services)) throw new ProvidersFileError(where, '`services` must be an array');
  for (const [i, service] of info.services.entries()) {
    if (typeof service?.endpoint?.type?.name !== 'string' || typeof service.endpoint.path !== 'string') {
      throw new ProvidersFileError(`${where}.services[${i}]`, 'each service needs `endpoint.type.name` and `endpoint.path`');
    }
  }
  if (!ocmService(info)) throw new ProvidersFileError(where, 'no service with endpoint.type.name "OCM"');
  const domain = info.domain.trim().toLowerCase();
  if (/[/\s@]|:\/\//.test(domain))
    throw new ProvidersFileError(where, `domain "${info.domain}" must be host[:port], without scheme or path`);
  const wildcard = domain.startsWith('*.');
  const rest = wildcard ? domain.slice(1) : domain;
  if (/[*^$()[\]{}|+?\\]/.test(rest.replace(/^\[[0-9a-f:.]+\]/, ''))) {
    throw new ProvidersFileError(where, `domain "${info.domain}": only a leading "*." wildcard is allowed`);
  }
  const { host, port } = splitHostPort(wildcard ? domain.slice(2) : domain);
  return { info, pattern: wildcard ? `.${host}` : host, wildcard, port };
}
