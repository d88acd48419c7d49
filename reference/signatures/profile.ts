/**
 * The OCM signature profile (OCM draft main / -07) as constants, plus the
 * result shape shared by the RFC 9421 and the legacy draft-cavage verifiers.
 *
 * Profile summary (see decisions/0005-http-signatures.md):
 *  - exactly one signature whose parameters carry tag="ocm" (the label is free);
 *  - covered components include "@method" "@target-uri" "content-digest" "content-length";
 *  - parameters include created and keyid (= the JWK kid); alg is optional and,
 *    when present, must denote the JWK's alg; Date is not covered;
 *  - Content-Digest: every recognised algorithm must match the body.
 */

export const OCM_TAG = 'ocm';
export const DEFAULT_SIGNATURE_LABEL = 'ocm';
export const OCM_REQUIRED_COMPONENTS = ['@method', '@target-uri', 'content-digest', 'content-length'] as const;
export const DEFAULT_MAX_AGE_SECONDS = 300;
export const DEFAULT_MAX_SKEW_SECONDS = 60;

/** Header map as seen by the verifiers: keys are matched case-insensitively. */
export type HeaderMap = Record<string, string | readonly string[] | undefined>;

/**
 * Stable reason codes. Consumers (reference server, conformance suites,
 * reports) may switch on them; do not rename.
 */
export type InvalidReason =
  /** Signature-Input / Signature (or the cavage Signature) does not parse, or is inconsistent. */
  | 'malformed'
  /** More than one signature carries tag="ocm". */
  | 'multiple-ocm-signatures'
  /** A component the profile requires is not covered (detail names which). */
  | 'missing-component'
  /** A covered component cannot be derived from the message (e.g. covered header absent). */
  | 'component-unavailable'
  | 'missing-created'
  | 'missing-keyid'
  | 'created-in-future'
  | 'created-too-old'
  /** The signature's own `expires` parameter has passed. */
  | 'expired'
  /** No key with this keyid (JWKS / discovery has no such kid). */
  | 'unknown-key'
  /** The key lookup itself failed (network, bad JWKS…): not proof that the key is unknown. */
  | 'key-lookup-failed'
  /** The published key cannot be used (does not import, wrong `use`/`key_ops`, kty/crv inconsistent with alg). */
  | 'invalid-key'
  /** The key's algorithm is not acceptable (symmetric, `none`, unsupported, missing). */
  | 'unacceptable-alg'
  /** The `alg` signature parameter does not denote the JWK's algorithm. */
  | 'alg-mismatch'
  /** The body does not match a recognised Content-Digest (or cavage Digest) value. */
  | 'digest-mismatch'
  /** No Content-Digest (or Digest) field, or none with a recognised algorithm. */
  | 'digest-missing'
  /** Content-Length does not match the received body length. */
  | 'content-length-mismatch'
  /** The cryptographic signature check failed. */
  | 'bad-signature';

export type SignatureScheme = 'rfc9421' | 'cavage';

export type VerifyResult =
  | { status: 'unsigned'; detail?: string }
  | {
      status: 'valid';
      scheme: SignatureScheme;
      keyid: string;
      /**
       * The host the key belongs to: the host the key lookup reported, or else
       * derived from the keyid (`host[:port]#…` or a URL). Only as trustworthy
       * as the lookup that produced the key.
       */
      signerHost?: string;
      /** Unix seconds: the `created` parameter (RFC 9421) or the `Date` header (cavage). */
      created: number;
      /** RFC 9421 algorithm name, or the cavage `algorithm` value. */
      alg: string;
      /** RFC 9421 label of the verified signature. */
      label?: string;
      /** Covered components (RFC 9421 identifiers, or the cavage `headers` list). */
      components: string[];
    }
  | { status: 'invalid'; scheme: SignatureScheme; reason: InvalidReason; detail: string; keyid?: string; label?: string };

/**
 * Best-effort host from a key id: `https://host:port/path#frag` → `host:port`,
 * `host:port#key-1` → `host:port`. Returns undefined when it does not look like either.
 */
export function hostFromKeyId(keyid: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(keyid)) {
    try {
      const host = new URL(keyid).host;
      return host || undefined;
    } catch {
      return undefined;
    }
  }
  const hash = keyid.indexOf('#');
  const candidate = hash >= 0 ? keyid.slice(0, hash) : '';
  return /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(candidate)
    ? candidate.toLowerCase()
    : undefined;
}

/** Lower-cases header names and drops undefined values; values stay as received. */
export function normaliseHeaders(headers: HeaderMap | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const list = out.get(key) ?? [];
    if (typeof value === 'string') list.push(value);
    else list.push(...value.filter((v): v is string => typeof v === 'string'));
    out.set(key, list);
  }
  return out;
}
