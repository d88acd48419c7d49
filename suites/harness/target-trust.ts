/**
 * How the harness trusts the target's TLS certificate: `--ca-file` (config
 * `targetCa`) adds a PEM bundle to the public roots, `--insecure` (config
 * `insecure: true`) skips verification. Both are undici dispatchers on the
 * harness's own requests, never NODE_TLS_REJECT_UNAUTHORIZED or
 * NODE_EXTRA_CA_CERTS. A TLS failure becomes one line naming the cause and
 * both options.
 */
import { readFileSync } from 'node:fs';
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { createRequire } from 'node:module';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import type { Dispatcher, fetch as undiciFetch } from 'undici';

/**
 * npm undici, loaded on first use: most runs trust the target the default way and never need it, and
 * every Playwright worker would otherwise load its hundred modules at start-up.
 */
export function undici(): typeof import('undici') {
  return createRequire(import.meta.url)('undici') as typeof import('undici');
}

export interface TargetTrust {
  /** PEM bundle file trusted for the target, on top of the public roots. */
  caFile?: string;
  /** Skip certificate verification for the target (reported in every format). */
  insecure?: boolean;
  /**
   * Host names pinned to addresses (`run --tls`: a.ocm.test → the embedded
   * target's loopback address), like the reference's `--resolve`: the
   * harness's connections to these names go to the address, TLS still checks
   * the name, and the system resolver is never asked.
   */
  resolve?: Record<string, string>;
}

/** Carries the trust settings from `run` to the Playwright workers. */
export const TARGET_CA_FILE_ENV = 'OCM_TARGET_CA_FILE';
export const TARGET_INSECURE_ENV = 'OCM_TARGET_INSECURE';
export const TARGET_RESOLVE_ENV = 'OCM_TARGET_RESOLVE';

function parseResolve(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const pins: Record<string, string> = {};
  for (const entry of value.split(',').filter(Boolean)) {
    const at = entry.indexOf('=');
    if (at > 0) pins[entry.slice(0, at).toLowerCase()] = entry.slice(at + 1);
  }
  return Object.keys(pins).length > 0 ? pins : undefined;
}

export function trustFromEnv(env: NodeJS.ProcessEnv = process.env): TargetTrust {
  return {
    ...(env[TARGET_CA_FILE_ENV] ? { caFile: env[TARGET_CA_FILE_ENV] } : {}),
    ...(env[TARGET_INSECURE_ENV] === '1' ? { insecure: true } : {}),
    ...(parseResolve(env[TARGET_RESOLVE_ENV]) ? { resolve: parseResolve(env[TARGET_RESOLVE_ENV])! } : {}),
  };
}

export function trustToEnv(trust: TargetTrust): Record<string, string> {
  return {
    ...(trust.caFile ? { [TARGET_CA_FILE_ENV]: trust.caFile } : {}),
    ...(trust.insecure ? { [TARGET_INSECURE_ENV]: '1' } : {}),
    ...(trust.resolve
      ? {
          [TARGET_RESOLVE_ENV]: Object.entries(trust.resolve)
            .map(([name, address]) => `${name}=${address}`)
            .join(','),
        }
      : {}),
  };
}

/**
 * A `lookup` for net/tls connect that answers the pinned names from
 * `resolve` and leaves every other name to the system resolver.
 */
export function pinnedLookup(resolve: Record<string, string> | undefined): LookupFunction | undefined {
  if (!resolve) return undefined;
  return ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    const address = resolve[hostname.toLowerCase()];
    if (!address) return dnsLookup(hostname, options, callback as never);
    const family = isIP(address);
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

/** The connect options of the trust (CA bundle or no verification, pinned names); undefined when the defaults apply. */
function connectOptions(trust: TargetTrust): ConnectionOptions | undefined {
  const lookup = pinnedLookup(trust.resolve);
  const pinned = lookup ? { lookup } : {};
  if (trust.insecure) return { rejectUnauthorized: false, ...pinned };
  if (trust.caFile) {
    let bundle: string;
    try {
      bundle = readFileSync(trust.caFile, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the CA file ${trust.caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!bundle.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`the CA file ${trust.caFile} holds no PEM certificate`);
    return { ca: [...rootCertificates, bundle], ...pinned };
  }
  return lookup ? pinned : undefined;
}

/** TLS and socket options for a raw connection (node:tls connect) with the same trust as the harness's fetch. */
export function rawConnectOptions(trust: TargetTrust): ConnectionOptions {
  return connectOptions(trust) ?? {};
}

/** The dispatcher for requests to the target; undefined when the defaults apply. */
export function targetDispatcher(trust: TargetTrust): Dispatcher | undefined {
  const connect = connectOptions(trust);
  return connect ? new (undici().Agent)({ connect: connect as never }) : undefined;
}

/**
 * Makes the trust settings apply to every fetch of this harness process
 * (suites, simulated peers' calls to the target, discovery recording). It is
 * the fetch of this process only: the target and the reference are other
 * processes or use their own dispatchers.
 *
 * The dispatcher is npm undici's (7.x); Node 20's built-in fetch bundles
 * undici 6, whose request handling does not match a 7.x dispatcher (a request
 * with its own Content-Length fails with "invalid content-length header").
 * So the global dispatcher is left alone and globalThis.fetch becomes npm
 * undici's fetch bound to this dispatcher: fetch and dispatcher always come
 * from the same undici.
 */
export function installTargetTrust(trust: TargetTrust): void {
  const dispatcher = targetDispatcher(trust);
  if (!dispatcher) return;
  const { fetch } = undici();
  const trustedFetch = (input: Parameters<typeof undiciFetch>[0], init: Parameters<typeof undiciFetch>[1] = {}) =>
    fetch(input, { ...init, dispatcher: init.dispatcher ?? dispatcher });
  globalThis.fetch = trustedFetch as unknown as typeof globalThis.fetch;
}

const TLS_CAUSES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the target's certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the target's certificate chains to a self-signed CA that is not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the target's certificate is signed by a CA that is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the target's certificate is signed by a CA that is not trusted",
  UNABLE_TO_GET_ISSUER_CERT: "the target's certificate is signed by a CA that is not trusted",
  CERT_HAS_EXPIRED: "the target's certificate has expired",
  CERT_NOT_YET_VALID: "the target's certificate is not yet valid",
  ERR_TLS_CERT_ALTNAME_INVALID: "the target's certificate does not name its host",
};

/** The innermost error code of a failed fetch (undici wraps the socket error in `cause`). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** One line for a certificate failure (naming the cause and both options), or undefined when the error is not about trust. */
export function tlsFailureHint(error: unknown): string | undefined {
  const code = errorCode(error);
  if (!code) return undefined;
  const cause = TLS_CAUSES[code] ?? (/CERT|SSL|TLS/.test(code) ? `the target's TLS handshake failed` : undefined);
  if (!cause) return undefined;
  return `${cause} (${code}): pass --ca-file or --insecure`;
}
