/**
 * Who sent an inbound OCM request: verifies its HTTP message signature
 * (RFC 9421 OCM profile, or legacy draft-cavage) against the keys the
 * signing server publishes, binds the signer to the server the payload
 * speaks for, and applies the policy for unsigned requests (decisions/0008).
 *
 * Framework-free: the HTTP layer (http/ocm-signatures.ts, http/ocm-token.ts)
 * passes the method, the absolute target URI as received, the headers and
 * the raw body bytes, plus the hosts the payload claims to speak for
 * (`sender`/`owner` of a share, `recipientProvider`, `client_id`, or the
 * other party of the share a notification names).
 *
 * Keys are looked up, in this order, at the host named by the keyid (when it
 * is a trusted provider) and at the claimed hosts; the signer is the host
 * whose JWK Set holds the kid. Only trusted providers are asked.
 *
 * Outcomes:
 *  - `signed`: a valid signature; `signerDomain` is the signing host, and
 *    with `bind` it equals every claimed host.
 *  - `unsigned`: no `tag="ocm"` signature (nor a cavage one when those are
 *    verified) and the policy lets it through; `unsignedRefusedFrom` lists
 *    claimed hosts that advertise `http-sig` (the caller must not attribute
 *    the request to them; used for notifications).
 *  - `refused`: SIGNATURE_INVALID (any verification failure),
 *    SIGNATURE_REQUIRED (unsigned where a signature is needed) or
 *    SIGNER_MISMATCH (valid, but the payload speaks for another host).
 *    `reason`/`detail` are for the log, never for the answer.
 */
import type { SignatureSettings } from '../base/config.ts';
import type { ErrorCode } from '../base/errors.ts';
import { normaliseDomain, type TrustedProviders } from '../providers/trusted-providers.ts';
import {
  hasCavageSignature,
  hostFromKeyId,
  normaliseHeaders,
  verifyCavageSignature,
  verifyOcmSignature,
  type HeaderMap,
  type Jwk,
  type VerifyResult,
} from '../signatures/index.ts';
import type { PeerKeyCache } from './peer-keys.ts';
import { faults } from '../base/faults.ts';

export interface InboundMessage {
  method: string;
  /** Absolute target URI as received: our public URL + the raw request-target. */
  url: string;
  headers: HeaderMap;
  body: Buffer;
}

export interface AuthClaim {
  /** host[:port] of every server the payload speaks for. */
  hosts: string[];
  /** The signer must be each of `hosts` (true), or the caller decides (notifications). */
  bind: boolean;
  /** Refuse unsigned requests whatever the configuration (the token endpoint). */
  requireSignature?: boolean;
}

export type RefusalCode = Extract<ErrorCode, 'SIGNATURE_REQUIRED' | 'SIGNATURE_INVALID' | 'SIGNER_MISMATCH'>;

export type InboundAuth =
  | { status: 'signed'; signerDomain: string; scheme: 'rfc9421' | 'cavage'; keyid: string }
  | { status: 'unsigned'; unsignedRefusedFrom: string[]; detail: string }
  | { status: 'refused'; code: RefusalCode; reason: string; detail: string; keyid?: string };

export interface AuthEvent {
  method: string;
  url: string;
  claim: AuthClaim;
  outcome: InboundAuth;
}

export interface InboundAuthDeps {
  settings: SignatureSettings;
  criteria: readonly string[];
  providers: Pick<TrustedProviders, 'isTrusted'>;
  keys: PeerKeyCache;
}

/** Failures a stale cached key can cause. */
const KEY_FAULTS: readonly string[] = ['bad-signature', 'invalid-key', 'unacceptable-alg', 'alg-mismatch'];

export class InboundAuthenticator {
  /** Sees every decision (tests, diagnostics). */
  observer: ((event: AuthEvent) => void) | undefined;

  constructor(private readonly deps: InboundAuthDeps) {}

  async authenticate(message: InboundMessage, claim: AuthClaim): Promise<InboundAuth> {
    const outcome = await this.decide(message, claim);
    this.observer?.({ method: message.method, url: message.url, claim, outcome });
    return outcome;
  }

  private async decide(message: InboundMessage, claim: AuthClaim): Promise<InboundAuth> {
    const hosts = [...new Set(claim.hosts.filter((h) => h !== '').map(normaliseDomain))];
    const { settings } = this.deps;
    if (!settings.verify) return { status: 'unsigned', unsignedRefusedFrom: [], detail: 'signature verification is switched off' };

    const headers = normaliseHeaders(message.headers);
    let result: VerifyResult;
    let signerHost: string | undefined;
    if (headers.has('signature-input')) {
      const verify = () =>
        verifyOcmSignature(
          { method: message.method, url: message.url, headers: message.headers, body: message.body },
          {
            maxAgeSeconds: settings.maxAgeSeconds,
            maxSkewSeconds: settings.maxSkewSeconds,
            lookupKey: async (keyid) => {
              const found = await this.findJwk(keyid, hosts);
              if (found) signerHost = found.host;
              return found;
            },
          },
        );
      result = await verify();
      // A cached key that no longer fits (the peer replaced it under the same kid): fetch its keys again, once.
      if (
        result.status === 'invalid' &&
        KEY_FAULTS.includes(result.reason) &&
        signerHost !== undefined &&
        this.deps.keys.refreshJwks(signerHost)
      ) {
        signerHost = undefined;
        result = await verify();
      }
    } else if (settings.legacyCavage && hasCavageSignature(message.headers)) {
      result = await verifyCavageSignature(
        { method: message.method, url: message.url, headers: message.headers, body: message.body },
        {
          maxAgeSeconds: settings.maxAgeSeconds,
          maxSkewSeconds: settings.maxSkewSeconds,
          lookupKey: async (keyId) => {
            const found = await this.findLegacyKey(keyId, hosts);
            if (found) signerHost = found.host;
            return found?.pem;
          },
        },
      );
    } else {
      result = { status: 'unsigned', detail: headers.has('signature') ? 'a Signature field that is not an OCM signature' : 'no signature' };
    }

    // A verifier that never accepts (a wrong signature base, a broken key import): every good signature fails.
    if (result.status === 'valid' && faults.has('sig-valid-signature-refused'))
      result = {
        status: 'invalid',
        scheme: result.scheme,
        reason: 'bad-signature',
        detail: 'every signature fails (fault)',
        keyid: result.keyid,
      };
    if (result.status === 'invalid') {
      return {
        status: 'refused',
        code: 'SIGNATURE_INVALID',
        reason: `${result.scheme}: ${result.reason}`,
        detail: result.detail,
        ...(result.keyid !== undefined ? { keyid: result.keyid } : {}),
      };
    }
    if (result.status === 'unsigned') return this.unsigned(claim, hosts, result.detail ?? 'no signature');

    const signer = signerHost ?? result.signerHost;
    if (!signer)
      return {
        status: 'refused',
        code: 'SIGNATURE_INVALID',
        reason: 'no-signer-host',
        detail: `cannot tell which host keyid ${result.keyid} belongs to`,
        keyid: result.keyid,
      };
    if (claim.bind && !faults.has('sig-signer-mismatch-accepted')) {
      if (hosts.length === 0)
        return {
          status: 'refused',
          code: 'SIGNER_MISMATCH',
          reason: 'no-claimed-host',
          detail: `signed by ${signer}, but the payload names no server`,
          keyid: result.keyid,
        };
      const others = hosts.filter((h) => h !== signer);
      if (others.length > 0) {
        return {
          status: 'refused',
          code: 'SIGNER_MISMATCH',
          reason: 'signer-mismatch',
          detail: `signed by ${signer}, but the payload speaks for ${others.join(', ')}`,
          keyid: result.keyid,
        };
      }
    }
    return { status: 'signed', signerDomain: signer, scheme: result.scheme, keyid: result.keyid };
  }

  private async unsigned(claim: AuthClaim, hosts: string[], detail: string): Promise<InboundAuth> {
    if (claim.requireSignature)
      return {
        status: 'refused',
        code: 'SIGNATURE_REQUIRED',
        reason: 'unsigned',
        detail: `${detail}; this endpoint takes signed requests only`,
      };
    if (faults.has('sig-unsigned-accepted')) return { status: 'unsigned', unsignedRefusedFrom: [], detail };
    if (this.deps.criteria.includes('must-use-http-sig')) {
      return {
        status: 'refused',
        code: 'SIGNATURE_REQUIRED',
        reason: 'unsigned',
        detail: `${detail}; our criteria include must-use-http-sig`,
      };
    }
    if (!this.deps.settings.refuseUnsignedFromSigners || faults.has('sig-unsigned-from-signer-accepted'))
      return { status: 'unsigned', unsignedRefusedFrom: [], detail };
    // A peer that advertises http-sig signs everything it sends us (it MUST); an unsigned request in its name is not from it.
    const signers: string[] = [];
    for (const host of hosts) {
      if (this.deps.providers.isTrusted(host) && (await this.deps.keys.advertisesHttpSig(host)) === true) signers.push(host);
    }
    if (claim.bind && signers.length > 0) {
      return {
        status: 'refused',
        code: 'SIGNATURE_REQUIRED',
        reason: 'unsigned-from-signer',
        detail: `${detail}; ${signers.join(', ')} advertise http-sig and must sign`,
      };
    }
    return { status: 'unsigned', unsignedRefusedFrom: signers, detail };
  }

  /** Hosts to ask for a key: the keyid's host if trusted, then the claimed hosts; each once. */
  private candidates(keyid: string, hosts: string[]): string[] {
    const fromKeyId = hostFromKeyId(keyid);
    const list = [...(fromKeyId ? [normaliseDomain(fromKeyId)] : []), ...hosts];
    return [...new Set(list)].filter((h) => this.deps.providers.isTrusted(h));
  }

  private async findJwk(keyid: string, hosts: string[]): Promise<{ jwk: Jwk; host: string } | undefined> {
    let failure: unknown;
    for (const host of this.candidates(keyid, hosts)) {
      try {
        const jwk = await this.deps.keys.jwk(host, keyid);
        if (jwk) return { jwk, host };
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return undefined;
  }

  private async findLegacyKey(keyId: string, hosts: string[]): Promise<{ pem: string; host: string } | undefined> {
    let failure: unknown;
    for (const host of this.candidates(keyId, hosts)) {
      try {
        const key = await this.deps.keys.legacyKey(host);
        // The keyId must be the one the peer publishes (when it names one).
        if (key && (key.keyId === undefined || key.keyId === keyId)) return { pem: key.publicKeyPem, host };
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return undefined;
  }
}
