/**
 * What the signature verifier needs to know about other servers, fetched on
 * demand and cached: a peer's discovery document (does it advertise
 * `http-sig`? its `jwksUri`, its legacy `publicKey`) and its JWK Set.
 *
 *  - Only trusted providers are ever asked (OcmClient refuses the rest).
 *  - The JWK Set comes from the discovery `jwksUri` (draft main), else from
 *    `/.well-known/jwks.json` (the fixed location of 1.3–1.4.0 peers). Either
 *    way it must be on the provider's trusted origin.
 *  - Entries live `ttlSeconds` and at most `maxEntries` peers are kept (least
 *    recently used go first). Failures are not cached: the next request asks
 *    again. A `kid` missing from a cached set triggers one refetch (key
 *    rotation) if the set is older than `refreshAfterMissSeconds`; so does a
 *    signature that does not verify with a cached key (`refreshJwks`: a peer
 *    that replaced its key under the same kid, e.g. after losing its state).
 *  - Concurrent lookups of one peer share one fetch.
 */
import type { DiscoveredPeer, OcmClient } from '../outbound/ocm-client.ts';
import { normaliseDomain } from '../providers/trusted-providers.ts';
import type { Jwk, JwkSet } from '../signatures/index.ts';

export interface PeerKeyCacheOptions {
  client: Pick<OcmClient, 'discover' | 'getJson'>;
  ttlSeconds: number;
  maxEntries: number;
  refreshAfterMissSeconds?: number;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

interface Entry {
  fetchedAt: number;
  peer: Promise<DiscoveredPeer>;
  jwks?: { fetchedAt: number; keys: Promise<Jwk[]> };
}

export interface LegacyPublicKey {
  keyId?: string;
  publicKeyPem: string;
}

export class PeerKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: PeerKeyCacheOptions) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private entry(domain: string): Entry {
    const key = normaliseDomain(domain);
    const existing = this.entries.get(key);
    if (existing && this.now() - existing.fetchedAt < this.options.ttlSeconds * 1000) {
      this.entries.delete(key); // move to the most recently used end
      this.entries.set(key, existing);
      return existing;
    }
    const peer = this.options.client.discover(key);
    const entry: Entry = { fetchedAt: this.now(), peer };
    peer.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** The peer's discovery (cached). Throws OutboundError like OcmClient.discover. */
  discovery(domain: string): Promise<DiscoveredPeer> {
    return this.entry(domain).peer;
  }

  /** Whether the peer's discovery advertises `http-sig`; undefined when it cannot be fetched. */
  async advertisesHttpSig(domain: string): Promise<boolean | undefined> {
    try {
      const peer = await this.discovery(domain);
      return Array.isArray(peer.document.capabilities) && peer.document.capabilities.includes('http-sig');
    } catch {
      return undefined;
    }
  }

  /** The JWK with this kid in the peer's JWK Set, or undefined. Throws when the set cannot be fetched. */
  async jwk(domain: string, kid: string): Promise<Jwk | undefined> {
    const entry = this.entry(domain);
    const keys = await this.jwks(entry, false);
    const found = keys.find((k) => k.kid === kid);
    if (found) return found;
    const age = this.now() - (entry.jwks?.fetchedAt ?? 0);
    if (age < (this.options.refreshAfterMissSeconds ?? 1) * 1000) return undefined;
    return (await this.jwks(entry, true)).find((k) => k.kid === kid);
  }

  /**
   * Drops the peer's cached discovery and JWK Set when they are older than
   * `refreshAfterMissSeconds`, so the next lookup fetches them again.
   * Answers whether anything was dropped (i.e. whether a retry can differ).
   */
  refreshJwks(domain: string): boolean {
    const key = normaliseDomain(domain);
    const entry = this.entries.get(key);
    if (!entry) return false;
    const fetchedAt = entry.jwks?.fetchedAt ?? entry.fetchedAt;
    if (this.now() - fetchedAt < (this.options.refreshAfterMissSeconds ?? 1) * 1000) return false;
    this.entries.delete(key);
    return true;
  }

  /** The draft-cavage key a 1.2-era peer publishes in its discovery (`publicKey`). */
  async legacyKey(domain: string): Promise<LegacyPublicKey | undefined> {
    const peer = await this.discovery(domain);
    const value = peer.document.publicKey as { keyId?: unknown; id?: unknown; publicKeyPem?: unknown } | undefined;
    if (!value || typeof value !== 'object' || typeof value.publicKeyPem !== 'string') return undefined;
    const keyId = typeof value.keyId === 'string' ? value.keyId : typeof value.id === 'string' ? value.id : undefined;
    return { publicKeyPem: value.publicKeyPem, ...(keyId !== undefined ? { keyId } : {}) };
  }

  /** Forgets everything (tests, or after the trust list changed). */
  clear(): void {
    this.entries.clear();
  }

  private jwks(entry: Entry, refresh: boolean): Promise<Jwk[]> {
    if (entry.jwks && !refresh) return entry.jwks.keys;
    const keys = entry.peer.then(async (peer) => {
      const url = typeof peer.document.jwksUri === 'string' ? peer.document.jwksUri : new URL('/.well-known/jwks.json', peer.origin).href;
      const set = (await this.options.client.getJson(peer, url, 'JwkSet')) as JwkSet;
      return set.keys;
    });
    const slot = { fetchedAt: this.now(), keys };
    entry.jwks = slot;
    keys.catch(() => {
      if (entry.jwks === slot) delete entry.jwks;
    });
    return keys;
  }
}
