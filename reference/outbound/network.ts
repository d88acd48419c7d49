/**
 * How the reference's own outbound calls reach the network: which CAs they
 * trust (`outbound.caFile`, `serve --ca-file`) and which addresses names
 * connect to (`outbound.resolve`, `serve --resolve name:port:address`, as
 * curl's). Both live in one undici dispatcher owned by the instance and given
 * to its own fetches only: no process-wide environment switch
 * (NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED), no global dispatcher,
 * no change to the system resolver, so a harness or another instance in the
 * same process keeps its own trust.
 *
 * A resolved name keeps its name everywhere but in the socket's address: the
 * Host header and the TLS server name (SNI and the certificate check against
 * the DNS SAN) stay `name`. Without either setting the calls go through the
 * global fetch, exactly as before.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { NetworkSettingError, parseResolveEntry, type ReferenceConfig } from '../base/config.ts';
import { faults } from '../base/faults.ts';

/** The URL an outbound call goes to: the fault `peer-calls-over-http` turns https into plain http. */
function outboundUrl(url: string): string {
  return faults.has('peer-calls-over-http') ? url.replace(/^https:/i, 'http:') : url;
}

/** Fault `peer-tls-unverified`: a dispatcher that takes any certificate. */
let unverified: Agent | undefined;
function unverifiedDispatcher(): Agent {
  unverified ??= new Agent({ connect: { rejectUnauthorized: false } });
  return unverified;
}

export type OutboundFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface OutboundNetwork {
  /** fetch with this instance's trust and name pins. */
  fetch: OutboundFetch;
  /** The address `--resolve` pins `host:port` of this URL to, if any (the operator's explicit choice). */
  pinnedAddress(url: string | URL): string | undefined;
  /** Closes the dispatcher's connections (instance stop). */
  close(): Promise<void>;
}

/** The plain network: the global fetch (which tests may intercept), the system resolver and the public roots. */
export const DEFAULT_NETWORK: OutboundNetwork = {
  // Looked up at call time: a test's interceptor replaces globalThis.fetch after this module loaded.
  fetch: (url, init) =>
    faults.has('peer-tls-unverified')
      ? (undiciFetch(outboundUrl(url), {
          ...(init as Parameters<typeof undiciFetch>[1]),
          dispatcher: unverifiedDispatcher(),
        }) as unknown as Promise<Response>)
      : fetch(outboundUrl(url), init),
  pinnedAddress: () => undefined,
  close: async () => undefined,
};

export interface OutboundNetworkSettings {
  /** PEM bundle file trusted on top of the public roots. */
  caFile?: string | undefined;
  /** `name:port:address` entries. */
  resolve?: readonly string[] | undefined;
}

/** The CA bundle of `caFile`, or one line saying why it cannot be used. */
export function readCaBundle(caFile: string): string {
  let bundle: string;
  try {
    bundle = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new NetworkSettingError(
      `cannot read the CA file ${caFile} (--ca-file): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!bundle.includes('-----BEGIN CERTIFICATE-----'))
    throw new NetworkSettingError(`the CA file ${caFile} (--ca-file) holds no PEM certificate`);
  return bundle;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** The outbound network of an instance with these settings (DEFAULT_NETWORK when there are none). */
export function outboundNetwork(settings: OutboundNetworkSettings | ReferenceConfig['outbound']): OutboundNetwork {
  const pins = new Map<string, string>();
  for (const entry of settings.resolve ?? []) {
    const { name, port, address } = parseResolveEntry(entry);
    pins.set(`${name}:${port}`, address);
  }
  const ca = settings.caFile ? readCaBundle(settings.caFile) : undefined;
  if (!ca && pins.size === 0) return DEFAULT_NETWORK;

  const pinnedAddress = (url: string | URL) => {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    const port = parsed.port === '' ? defaultPort(parsed.protocol) : Number(parsed.port);
    return pins.get(`${parsed.hostname.toLowerCase()}:${port}`);
  };
  // Our CA on top of the public roots: a peer with a publicly trusted certificate stays reachable.
  const connector = buildConnector(ca ? { ca: [...rootCertificates, ca] } : {});
  const uncheckedConnector = buildConnector({ rejectUnauthorized: false });
  const agent = (connect: typeof connector) =>
    new Agent({
      connect(options, callback) {
        const host = options.hostname; // undici has already taken the brackets off an IPv6 literal
        const port = Number(options.port) || defaultPort(options.protocol);
        const address = pins.get(`${host.toLowerCase()}:${port}`);
        if (address === undefined) return connect(options, callback);
        // Connect to the pinned address; the server name (SNI, certificate check) stays the name.
        return connect(
          {
            ...options,
            hostname: address,
            ...(options.protocol === 'https:' ? { servername: host } : {}),
          },
          callback,
        );
      },
    });
  const dispatcher = agent(connector);
  let unchecked: Agent | undefined; // fault peer-tls-unverified only: made on first use
  return {
    fetch: (url, init) => {
      const chosen = faults.has('peer-tls-unverified') ? (unchecked ??= agent(uncheckedConnector)) : dispatcher;
      return undiciFetch(outboundUrl(url), {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher: chosen,
      }) as unknown as Promise<Response>;
    },
    pinnedAddress,
    close: async () => {
      await Promise.all([dispatcher.close(), unchecked?.close()]);
    },
  };
}
