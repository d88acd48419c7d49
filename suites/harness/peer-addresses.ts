/**
 * Where the simulated peers listen and how the target reaches them. A peer
 * has a bind address (`host:port`, what it listens on) and, optionally, a
 * public URL (what it advertises and what the target calls, e.g.
 * `https://peer-a.test:9400` on a compose network). Peers come in pairs:
 * each parallel worker needs a pair of its own (`peer` and `peer2`).
 *
 * Target config `peers` accepts a list of pairs (`[[a, b], …]`, today's form)
 * or a flat list taken two by two; each peer is `"host:port"` or
 * `{ bind, publicUrl }`. Port 0 picks a free port: the public URL then gets
 * the actual port and must not name one itself.
 */
import { createServer, isIP, type Server } from 'node:net';

export interface PeerAddress {
  /** `host:port` the peer listens on (IPv4, or IPv6 in brackets); port 0 picks a free port. */
  bind: string;
  /** The origin the target reaches the peer at; default `http(s)://<bind>`. */
  publicUrl?: string;
}

export type PeerPair = [PeerAddress, PeerAddress];

/** `peerTls`: `auto` means https when the target's baseUrl is https. */
export const PEER_TLS_MODES = ['auto', 'on', 'off'] as const;
export type PeerTlsMode = (typeof PEER_TLS_MODES)[number];

/** Carry the run's peer settings from `run` to the global setup and the Playwright workers. */
export const PEERS_ENV = 'OCM_PEERS';
export const PEER_TLS_ENV = 'OCM_PEER_TLS';
export const PEER_CA_DIR_ENV = 'OCM_PEER_CA_DIR';

/** A bad `peers` value, `--peers` or `--peer-public-url`: the message names what is wrong. */
export class PeerAddressError extends Error {}

/** Splits `host:port` (IPv6 in brackets); throws on anything else. */
export function parseBind(bind: string): { host: string; port: number } {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(bind);
  const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1');
  const port = Number(match?.[2]);
  if (!match || !host || !isIP(host) || port > 65535)
    throw new PeerAddressError(
      `peer bind address ${JSON.stringify(bind)} must be host:port with an IP address (e.g. 127.0.0.10:9400 or 0.0.0.0:0)`,
    );
  return { host, port };
}

function parsePublicUrl(value: string, bind: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PeerAddressError(`peer publicUrl ${JSON.stringify(value)} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PeerAddressError(`peer publicUrl ${value} must be http or https`);
  if (url.pathname !== '/' || url.search || url.hash || url.username)
    throw new PeerAddressError(`peer publicUrl ${value} must be an origin (scheme, host, port), no path`);
  if (parseBind(bind).port === 0 && url.port)
    throw new PeerAddressError(
      `peer ${bind} picks a free port (port 0): its publicUrl ${value} must not name a port, the actual one is added`,
    );
  return url;
}

/** One peer of the config: `"host:port"` or `{ bind, publicUrl }`. */
export function parsePeerAddress(value: unknown): PeerAddress {
  if (typeof value === 'string') {
    parseBind(value);
    return { bind: value };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new PeerAddressError('each peer is "host:port" or { bind: "host:port", publicUrl: "https://name:port" }');
  const { bind, publicUrl, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new PeerAddressError(`unknown peer key "${unknown}" (a peer has bind and publicUrl)`);
  if (typeof bind !== 'string') throw new PeerAddressError('each peer needs bind: "host:port"');
  parseBind(bind);
  if (publicUrl === undefined) return { bind };
  if (typeof publicUrl !== 'string') throw new PeerAddressError(`peer ${bind}: publicUrl must be a URL`);
  parsePublicUrl(publicUrl, bind);
  return { bind, publicUrl: publicUrl.replace(/\/+$/, '') };
}

/** The config's `peers`: pairs (`[[a, b], …]`) or a flat list taken two by two. */
export function parsePeerPairs(value: unknown): PeerPair[] {
  if (!Array.isArray(value) || value.length === 0) throw new PeerAddressError('peers must be a non-empty list');
  const allPairs = value.every((item) => Array.isArray(item));
  const noPairs = value.every((item) => !Array.isArray(item));
  if (!allPairs && !noPairs) throw new PeerAddressError('peers must be all pairs ([a, b]) or all single peers, not a mix');
  let pairs: unknown[][];
  if (allPairs) {
    if (!value.every((pair: unknown[]) => pair.length === 2)) throw new PeerAddressError('each peer pair must hold exactly two peers');
    pairs = value as unknown[][];
  } else {
    if (value.length % 2 !== 0)
      throw new PeerAddressError(`peers must come in pairs (one pair per parallel worker): ${value.length} peers given`);
    pairs = [];
    for (let i = 0; i < value.length; i += 2) pairs.push([value[i], value[i + 1]]);
  }
  const parsed = pairs.map((pair) => pair.map(parsePeerAddress) as PeerPair);
  const binds = parsed.flat().map((p) => p.bind);
  const repeated = binds.find((bind, i) => !bind.endsWith(':0') && binds.indexOf(bind) !== i);
  if (repeated) throw new PeerAddressError(`peer address ${repeated} is given twice: every peer needs its own`);
  return parsed;
}

/** `run --peers BIND[,BIND…]` and `--peer-public-url URL[,URL…]` (same count, same order). */
export function peerPairsFromFlags(binds: string, publicUrls?: string): PeerPair[] {
  const bindList = binds
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const urlList = publicUrls
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (urlList && urlList.length !== bindList.length)
    throw new PeerAddressError(
      `--peer-public-url gives ${urlList.length} URLs for ${bindList.length} --peers addresses: give one per peer`,
    );
  return parsePeerPairs(bindList.map((bind, i) => (urlList ? { bind, publicUrl: urlList[i] } : bind)));
}

export function parsePeerTlsMode(value: unknown, where: string): PeerTlsMode {
  if (typeof value === 'string' && (PEER_TLS_MODES as readonly string[]).includes(value)) return value as PeerTlsMode;
  throw new PeerAddressError(`${where} must be auto, on or off`);
}

/** Whether the peers serve https: `on`, or `auto` with an https target. */
export function peersUseTls(mode: PeerTlsMode, targetBaseUrl: string): boolean {
  if (mode === 'auto') return new URL(targetBaseUrl).protocol === 'https:';
  return mode === 'on';
}

/**
 * The origin a peer advertises and the target calls: its publicUrl (whose
 * scheme must agree with the TLS setting), else `http(s)://<bind>`. With port
 * 0, `actualPort` fills the port in once the peer listens.
 */
export function peerOrigin(address: PeerAddress, tls: boolean, actualPort?: number): string {
  const { host, port } = parseBind(address.bind);
  const scheme = tls ? 'https:' : 'http:';
  const finalPort = port === 0 ? actualPort : port;
  if (address.publicUrl) {
    const url = parsePublicUrl(address.publicUrl, address.bind);
    if (url.protocol !== scheme)
      throw new PeerAddressError(
        `peer publicUrl ${address.publicUrl} is ${url.protocol.slice(0, -1)} but the peers serve ${scheme.slice(0, -1)} (peerTls / --peer-tls)`,
      );
    if (port === 0 && finalPort !== undefined) url.port = String(finalPort);
    return url.origin;
  }
  if (host === '0.0.0.0' || host === '::')
    throw new PeerAddressError(`peer ${address.bind} listens on every address: give its publicUrl (how the target reaches it)`);
  const shownHost = isIP(host) === 6 ? `[${host}]` : host;
  return `${scheme}//${shownHost}:${finalPort ?? 0}`;
}

/** How a peer is shown in reports: its public URL with the bind address, `https://<bind>` for a TLS peer, else the bind address. */
export function describePeer(address: PeerAddress, tls = false): string {
  if (address.publicUrl) return `${address.publicUrl} (bind ${address.bind})`;
  return tls ? `https://${address.bind}` : address.bind;
}

/** A peer that cannot listen: stops the run before any check (exit 2). */
export class PeerBindError extends Error {
  constructor(
    readonly address: string,
    readonly code: string,
  ) {
    super(`setup: cannot listen on ${address}: ${code}`);
  }
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolveServer(server));
  });
}

/**
 * Binds every peer address once, then releases them all, before the suites
 * start: a taken address stops the run with one line instead of failing
 * checks. Port 0 is replaced by the port the system handed out (all are held
 * until the end, so two port-0 peers on one host never get the same port).
 */
export async function preflightPeerPairs(pairs: PeerPair[]): Promise<PeerPair[]> {
  const held: Server[] = [];
  try {
    const resolved: PeerPair[] = [];
    for (const pair of pairs) {
      const out: PeerAddress[] = [];
      for (const address of pair) {
        const { host, port } = parseBind(address.bind);
        let server: Server;
        try {
          server = await listen(host, port);
        } catch (error) {
          throw new PeerBindError(address.bind, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
        }
        held.push(server);
        const actual = (server.address() as { port: number }).port;
        const shownHost = isIP(host) === 6 ? `[${host}]` : host;
        const bind = `${shownHost}:${actual}`;
        if (port !== 0 || !address.publicUrl) out.push({ ...address, bind });
        else {
          const url = new URL(address.publicUrl);
          url.port = String(actual);
          out.push({ bind, publicUrl: url.origin });
        }
      }
      resolved.push(out as PeerPair);
    }
    return resolved;
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((done) => server.close(() => done()))));
  }
}

/** The peers `run` resolved (JSON in `OCM_PEERS`), overriding the config's; undefined when not set. */
export function peerPairsFromEnv(env: NodeJS.ProcessEnv = process.env): PeerPair[] | undefined {
  const value = env[PEERS_ENV];
  return value ? parsePeerPairs(JSON.parse(value)) : undefined;
}
