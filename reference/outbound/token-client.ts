/**
 * The code flow, receiving side: exchange a received share's secret for a
 * bearer token at the sender's `tokenEndPoint` (OCM §Code Flow and
 * §Resource Access step 3; decisions/0008).
 *
 * `exchangeForShare(share)` answers the token to use for WebDAV access, or
 * undefined to use the secret:
 *  - share requires `must-exchange-token`: the exchange is mandatory; on
 *    failure it answers undefined and the caller must NOT fall back on the
 *    secret (webdav-client refuses with `token-required`);
 *  - otherwise, only with `tryWhenOffered` (default off): when the sender
 *    advertises `exchange-token` and a `tokenEndPoint` the exchange is tried
 *    and a failure answers undefined, i.e. fall back on the secret;
 *  - otherwise: no call at all (not even discovery), undefined.
 * The request is a signed form POST (`grant_type=authorization_code`,
 * `client_id=<our host[:port]>`, `code=<sharedSecret>`) to a `tokenEndPoint`
 * on the sender's trusted origin. Tokens are cached in memory per share until
 * shortly before they expire and never logged.
 *
 * Pass `tokenClient.exchangeForShare` as webdav-client's `getAccessToken`.
 */
import type { ReceivedShareRecord } from '../stores/records.ts';
import type { OcmClient } from './ocm-client.ts';
import { faults } from '../base/faults.ts';

export interface TokenClientDeps {
  client: Pick<OcmClient, 'discover' | 'postForm' | 'canSign'>;
  /** Our host[:port]: the `client_id`. */
  domain: string;
  /** tokenExchange.enabled: when off, never exchange (a share that requires it cannot be opened). */
  enabled: boolean;
  /** Exchange when the sender merely offers it. */
  tryWhenOffered: boolean;
  /** Where failures are reported (never with a token or secret). */
  log?: (message: string, detail: Record<string, unknown>) => void;
  /** Milliseconds; default Date.now. */
  now?: () => number;
  maxCached?: number;
}

export type ExchangeOutcome =
  | { kind: 'token'; token: string; expiresIn: number }
  | { kind: 'not-attempted'; why: string }
  | { kind: 'failed'; why: string };

/** Tokens are reused until this long before they expire. */
const EXPIRY_MARGIN_MS = 10_000;

export class TokenClient {
  private readonly cache = new Map<string, { token: string; expiresAtMs: number }>();

  constructor(private readonly deps: TokenClientDeps) {}

  /** The bearer token to use for this share, or undefined (see the module comment). */
  exchangeForShare = async (share: ReceivedShareRecord): Promise<string | undefined> => {
    const outcome = await this.exchange(share);
    return outcome.kind === 'token' ? outcome.token : undefined;
  };

  /** Like exchangeForShare, with the reason when there is no token. */
  async exchange(share: ReceivedShareRecord): Promise<ExchangeOutcome> {
    const webdav = share.protocols.webdav;
    if (!webdav) return { kind: 'not-attempted', why: 'the share has no webdav access' };
    const required = webdav.requirements?.includes('must-exchange-token') === true && !faults.has('tok-receiver-skips-exchange');
    if (!this.deps.enabled)
      return required
        ? this.fail(share, 'token exchange is switched off here')
        : { kind: 'not-attempted', why: 'token exchange is switched off' };
    const cached = this.cache.get(share.id);
    const now = this.deps.now?.() ?? Date.now();
    if (cached && cached.expiresAtMs - EXPIRY_MARGIN_MS > now)
      return { kind: 'token', token: cached.token, expiresIn: Math.floor((cached.expiresAtMs - now) / 1000) };
    this.cache.delete(share.id);
    if (!required && !this.deps.tryWhenOffered) return { kind: 'not-attempted', why: 'the share does not require token exchange' };

    let peer;
    try {
      peer = await this.deps.client.discover(share.senderDomain);
    } catch (error) {
      return required
        ? this.fail(share, `discovery failed: ${(error as Error).message}`)
        : { kind: 'not-attempted', why: 'the sender cannot be discovered' };
    }
    const endpoint = typeof peer.document.tokenEndPoint === 'string' ? peer.document.tokenEndPoint : undefined;
    const offered =
      Array.isArray(peer.document.capabilities) && peer.document.capabilities.includes('exchange-token') && endpoint !== undefined;
    if (!required && !(offered && this.deps.tryWhenOffered))
      return { kind: 'not-attempted', why: 'the sender does not offer token exchange' };
    if (!endpoint) return this.fail(share, 'the share requires token exchange but the sender advertises no tokenEndPoint', required);
    if (!this.deps.client.canSign()) return this.fail(share, 'token requests must be signed and this server has no signing key', required);

    try {
      const answer = await this.deps.client.postForm(
        peer,
        endpoint,
        'exchangeToken',
        {
          grant_type: 'authorization_code',
          client_id: faults.has('tok-receiver-wrong-client-id') ? `https://${this.deps.domain}` : this.deps.domain,
          code: webdav.sharedSecret,
        },
        { sign: true },
      );
      const body = answer.body as { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown } | undefined;
      if (answer.status !== 200 || typeof body?.access_token !== 'string' || body.access_token === '') {
        return this.fail(
          share,
          `the token endpoint answered ${answer.status}${typeof body?.error === 'string' ? ` (${body.error})` : ''}`,
          required,
        );
      }
      const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
      this.remember(share.id, body.access_token, now + expiresIn * 1000);
      return { kind: 'token', token: body.access_token, expiresIn };
    } catch (error) {
      return this.fail(share, `the token request failed: ${(error as Error).message}`, required);
    }
  }

  /** Forgets the cached token of a share (e.g. the sender refused it). */
  forget(shareId: string): void {
    this.cache.delete(shareId);
  }

  private remember(shareId: string, token: string, expiresAtMs: number): void {
    this.cache.delete(shareId);
    this.cache.set(shareId, { token, expiresAtMs });
    const max = this.deps.maxCached ?? 1000;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
  }

  private fail(share: ReceivedShareRecord, why: string, required = true): ExchangeOutcome {
    this.deps.log?.(required ? 'token exchange failed; the share cannot be opened' : 'token exchange failed; falling back on the secret', {
      share: share.id,
      sender: share.senderDomain,
      why,
    });
    return { kind: 'failed', why };
  }
}
