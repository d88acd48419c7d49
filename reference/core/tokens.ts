/**
 * The code flow, sending side: our token endpoint exchanges a share's secret
 * (the "code") for a short-lived bearer token that opens that share over
 * WebDAV (OCM §Code Flow; decisions/0008).
 *
 *  - A token is 256 random bits (base64url). Only its SHA-256 is kept, in
 *    memory: a restart ends every token, nothing is written to disk, and
 *    tokens never appear in logs.
 *  - Codes are reusable: the spec has no refresh token and tells receivers to
 *    repeat the request to get a new token, so every valid exchange issues a
 *    fresh token; earlier tokens stay valid until they expire.
 *  - Bounded: at most `maxTokensPerShare` live tokens per share (the oldest
 *    goes first) and `maxTokens` in all; expired ones are swept on issue.
 */
import { createHash, randomBytes } from 'node:crypto';
import { normaliseDomain } from '../providers/trusted-providers.ts';
import { sentShareBySecret, type Stores } from '../stores/index.ts';
import { nowSeconds, type SentShareRecord } from '../stores/records.ts';

/** OAuth error codes of the token endpoint (RFC 6749 §5.2 as the OCM draft uses them). */
export type TokenErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type';

/** A refusal of the token endpoint; `description` is safe to send (never a secret). */
export class TokenFailure extends Error {
  constructor(
    readonly error: TokenErrorCode,
    readonly description: string,
    /** Extra detail for the log only. */
    readonly logDetail?: string,
  ) {
    super(description);
    this.name = 'TokenFailure';
  }
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  share: SentShareRecord;
}

export interface TokenServiceDeps {
  stores: Stores;
  lifetimeSeconds: number;
  allowSharesWithoutInvite: boolean;
  isContact(localUserId: string, remoteUserId: string, remoteDomain: string): boolean;
  /** Milliseconds since the epoch; default Date.now (tests may move time). */
  now?: () => number;
  maxTokensPerShare?: number;
  maxTokens?: number;
}

interface TokenEntry {
  shareId: string;
  clientId: string;
  expiresAtMs: number;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export class TokenService {
  /** SHA-256(token) → entry, in insertion (= issue) order. */
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(private readonly deps: TokenServiceDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Exchanges `code` for a token on behalf of the authenticated server
   * `clientId` (host[:port], already checked to be the signer). The code must
   * be the secret of a live share we sent to a user at `clientId`.
   */
  exchange(clientId: string, code: string): IssuedToken {
    const client = normaliseDomain(clientId);
    const share = sentShareBySecret(this.deps.stores, code);
    // One answer for "no such code" and "a code issued to another server": nothing to learn by probing.
    if (!share || share.recipientDomain !== client)
      throw new TokenFailure(
        'invalid_grant',
        'the code is not valid for this client',
        share ? `code of a share to ${share.recipientDomain}` : 'unknown code',
      );
    if (share.state === 'declined') throw new TokenFailure('invalid_grant', 'the share behind this code was declined');
    if (share.expiration !== undefined && share.expiration <= nowSeconds())
      throw new TokenFailure('invalid_grant', 'the share behind this code has expired');
    if (!this.deps.allowSharesWithoutInvite && !this.deps.isContact(share.ownerId, share.recipientUserId, share.recipientDomain)) {
      throw new TokenFailure(
        'invalid_grant',
        'the share behind this code is no longer valid',
        'grantee is no longer a contact of the owner',
      );
    }
    this.sweep();
    const accessToken = randomBytes(32).toString('base64url');
    const expiresIn = this.deps.lifetimeSeconds;
    this.tokens.set(hashToken(accessToken), { shareId: share.id, clientId: client, expiresAtMs: this.now() + expiresIn * 1000 });
    this.bound(share.id);
    return { accessToken, expiresIn, share };
  }

  /** The share a live token opens, if any (ShareAccessService's `shareIdForToken`). */
  shareIdForToken(token: string): string | undefined {
    const key = hashToken(token);
    const entry = this.tokens.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.shareId;
  }

  /** Live tokens (for tests and diagnostics; no token values). */
  get size(): number {
    return this.tokens.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.tokens) if (entry.expiresAtMs <= now) this.tokens.delete(key);
  }

  private bound(shareId: string): void {
    const perShare = this.deps.maxTokensPerShare ?? 16;
    const ofShare = [...this.tokens].filter(([, e]) => e.shareId === shareId);
    for (const [key] of ofShare.slice(0, Math.max(0, ofShare.length - perShare))) this.tokens.delete(key);
    const max = this.deps.maxTokens ?? 10_000;
    for (const key of this.tokens.keys()) {
      if (this.tokens.size <= max) break;
      this.tokens.delete(key);
    }
  }
}
