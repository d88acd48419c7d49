/**
 * Verifying RFC 9421 signatures on incoming requests under the OCM profile
 * (draft main / -07, §"Verification" and Appendix B):
 *
 *  1. find the one Signature-Input member whose parameters carry tag="ocm"
 *     (labels are ignored; none → unsigned; more than one → invalid);
 *  2. require "@method" "@target-uri" "content-digest" "content-length",
 *     `created` and `keyid`; check freshness (created not in the future beyond
 *     the skew, not older than maxAge; `expires` if present);
 *  3. look the keyid up (JWKS at the signer's `jwksUri`, done by the caller),
 *     take the algorithm from the JWK's `alg`; an `alg` parameter must denote
 *     the same algorithm;
 *  4. rebuild the signature base and verify;
 *  5. recompute Content-Digest (every recognised algorithm must match) and
 *     check Content-Length against the body.
 *
 * The signature is checked before the digest so that the two failures stay
 * distinguishable: a body changed after signing is `digest-mismatch`, a
 * changed signed header (Content-Digest included) is `bad-signature`.
 * Either way the request is rejected.
 *
 * Never throws on hostile input. `verifySignatureWithKey` is the
 * profile-free core (any covered components), used for the RFC test vectors.
 */
import type { KeyObject } from 'node:crypto';
import { verifyContentDigest, bodyBytes, type BodyInput } from './content-digest.ts';
import { isHttpSigAlgorithm, resolveJwkAlgorithm, verifyBytes, type HttpSigAlgorithm } from './algorithms.ts';
import { importPublicJwk, type Jwk } from './keys.ts';
import {
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_MAX_SKEW_SECONDS,
  OCM_REQUIRED_COMPONENTS,
  OCM_TAG,
  hostFromKeyId,
  normaliseHeaders,
  type HeaderMap,
  type InvalidReason,
  type VerifyResult,
} from './profile.ts';
import { buildSignatureBase, componentName, SignatureBaseError, type MessageRequest } from './signature-base.ts';
import { parseDictionary, serializeItem, type Dictionary, type InnerList } from './structured-fields.ts';
import { faults } from '../base/faults.ts';

export interface IncomingRequest {
  method: string;
  /** Absolute target URI as received: scheme + Host + raw request-target. */
  url: string;
  headers: HeaderMap;
  body: BodyInput;
}

/** A key lookup may also say which host the key belongs to (the host whose JWKS it came from). */
export type KeyLookupResult = Jwk | { jwk: Jwk; host?: string } | undefined | null;

export interface VerifyOcmOptions {
  /** Current time in Unix seconds (not milliseconds); default now. */
  now?: number;
  /** Oldest acceptable `created`, in seconds before now. Default 300. */
  maxAgeSeconds?: number;
  /** Allowed clock skew for `created` in the future (and `expires` in the past). Default 60. */
  maxSkewSeconds?: number;
  lookupKey: (keyid: string) => Promise<KeyLookupResult>;
  /** Require `alg` on the JWK (OCM main). Default true; false infers it for OKP/EC keys (draft -05 JWKS had no alg). */
  requireJwkAlg?: boolean;
  /** Components that must be covered. Default the OCM four. */
  requiredComponents?: readonly string[];
}

export interface ParsedSignature {
  label: string;
  input: InnerList;
  signature: Buffer;
}

type Failure = { ok: false; reason: InvalidReason; detail: string };

function invalid(reason: InvalidReason, detail: string, extra: { keyid?: string; label?: string } = {}): VerifyResult {
  return { status: 'invalid', scheme: 'rfc9421', reason, detail, ...extra };
}

/** The signature value stored under `label` in a parsed Signature dictionary. */
function signatureBytes(signatures: Dictionary, label: string): Buffer | Failure {
  const member = signatures.get(label);
  if (!member) return { ok: false, reason: 'malformed', detail: `Signature has no member "${label}"` };
  if (member.kind !== 'item' || member.value.type !== 'bytes') {
    return { ok: false, reason: 'malformed', detail: `Signature member "${label}" is not a byte sequence` };
  }
  return member.value.value;
}

/**
 * Profile-free verification of one signature with a known key and algorithm:
 * rebuilds the signature base from the covered components and checks the
 * signature. Does not look at created/expires, tags or digests.
 */
export function verifySignatureWithKey(
  request: MessageRequest,
  signature: ParsedSignature,
  publicKey: KeyObject,
  alg: HttpSigAlgorithm,
): { ok: true; base: string } | Failure {
  let base: string;
  try {
    base = buildSignatureBase(request, signature.input);
  } catch (error) {
    if (error instanceof SignatureBaseError) {
      return error.code === 'unavailable'
        ? { ok: false, reason: 'component-unavailable', detail: error.message }
        : { ok: false, reason: 'malformed', detail: error.message };
    }
    return { ok: false, reason: 'malformed', detail: `cannot build signature base: ${(error as Error).message}` };
  }
  const check = verifyBytes(alg, publicKey, Buffer.from(base, 'utf8'), signature.signature);
  return check.ok ? { ok: true, base } : { ok: false, reason: 'bad-signature', detail: check.detail };
}

/**
 * Parses Signature-Input and Signature and returns the signature under `label`
 * (for test vectors and diagnostics). Never throws.
 */
export function parseSignatureByLabel(headers: HeaderMap, label: string): ParsedSignature | Failure {
  const h = normaliseHeaders(headers);
  try {
    const inputs = parseDictionary(h.get('signature-input') ?? []);
    const signatures = parseDictionary(h.get('signature') ?? []);
    const input = inputs.get(label);
    if (!input || input.kind !== 'inner-list')
      return { ok: false, reason: 'malformed', detail: `Signature-Input has no inner list "${label}"` };
    const bytes = signatureBytes(signatures, label);
    if (!Buffer.isBuffer(bytes)) return bytes;
    return { label, input, signature: bytes };
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: (error as Error).message };
  }
}

function isTaggedOcm(params: Map<string, { type: string; value: unknown }>): boolean {
  const tag = params.get('tag');
  return tag !== undefined && tag.type === 'string' && tag.value === OCM_TAG;
}

function unwrapLookup(result: KeyLookupResult): { jwk: Jwk; host?: string } | undefined {
  if (!result || typeof result !== 'object') return undefined;
  if ('jwk' in result && result.jwk && typeof result.jwk === 'object' && !('kty' in result)) {
    const wrapped = result as { jwk: Jwk; host?: string };
    return wrapped.host !== undefined ? { jwk: wrapped.jwk, host: wrapped.host } : { jwk: wrapped.jwk };
  }
  return { jwk: result as Jwk };
}

/** Verifies the OCM signature of an incoming request. Never throws. */
export async function verifyOcmSignature(request: IncomingRequest, options: VerifyOcmOptions): Promise<VerifyResult> {
  try {
    return await verifyOcm(request, options);
  } catch (error) {
    // Defensive: every expected failure is handled below; this only catches bugs and hostile edge cases.
    return invalid('malformed', `verification aborted: ${(error as Error)?.message ?? String(error)}`);
  }
}

async function verifyOcm(request: IncomingRequest, options: VerifyOcmOptions): Promise<VerifyResult> {
  const headers = normaliseHeaders(request.headers);
  const inputLines = headers.get('signature-input');
  if (!inputLines || inputLines.length === 0) {
    return {
      status: 'unsigned',
      detail: headers.has('signature') ? 'Signature without Signature-Input (not RFC 9421; maybe draft-cavage)' : 'no Signature-Input',
    };
  }

  // 1. Find the tag="ocm" member.
  let inputs: Dictionary;
  try {
    inputs = parseDictionary(inputLines);
  } catch (error) {
    return invalid('malformed', `Signature-Input does not parse: ${(error as Error).message}`);
  }
  const tagged = [...inputs].filter(([, member]) => isTaggedOcm(member.params));
  if (tagged.length === 0) return { status: 'unsigned', detail: 'no signature carries tag="ocm"' };
  if (tagged.length > 1 && !faults.has('sig-two-signatures-accepted')) {
    return invalid('multiple-ocm-signatures', `signatures ${tagged.map(([l]) => `"${l}"`).join(', ')} all carry tag="ocm"`);
  }
  const [label, member] = tagged[0]!;
  if (member.kind !== 'inner-list') return invalid('malformed', `Signature-Input member "${label}" is not an inner list`, { label });
  const input = member;

  let signatures: Dictionary;
  try {
    signatures = parseDictionary(headers.get('signature') ?? []);
  } catch (error) {
    return invalid('malformed', `Signature does not parse: ${(error as Error).message}`, { label });
  }
  const signature = signatureBytes(signatures, label);
  if (!Buffer.isBuffer(signature)) return invalid(signature.reason, signature.detail, { label });

  // 2. Shape of the covered components and parameters.
  for (const item of input.items) {
    if (item.value.type !== 'string') return invalid('malformed', `component identifier ${serializeItem(item)} is not a string`, { label });
  }
  const seen = new Set<string>();
  for (const item of input.items) {
    const id = serializeItem(item);
    if (seen.has(id)) return invalid('malformed', `component ${id} is covered twice`, { label });
    seen.add(id);
  }
  const covered = new Set(input.items.filter((i) => !i.params.has('req') && !i.params.has('tr')).map(componentName));
  const required = options.requiredComponents ?? OCM_REQUIRED_COMPONENTS;
  const missing = required.filter((c) => !covered.has(c) && !(c === 'content-digest' && faults.has('sig-missing-component-accepted')));
  if (missing.length > 0) {
    return invalid('missing-component', `signature does not cover ${missing.map((c) => `"${c}"`).join(' ')}`, { label });
  }

  const createdParam = input.params.get('created');
  if (createdParam === undefined) return invalid('missing-created', 'signature parameters lack "created"', { label });
  if (createdParam.type !== 'integer') return invalid('malformed', '"created" is not an integer', { label });
  const keyidParam = input.params.get('keyid');
  if (keyidParam === undefined) return invalid('missing-keyid', 'signature parameters lack "keyid"', { label });
  if (keyidParam.type !== 'string' || keyidParam.value === '') return invalid('malformed', '"keyid" is not a non-empty string', { label });
  const keyid = keyidParam.value;
  const created = createdParam.value;

  const now = options.now ?? Math.floor(Date.now() / 1000);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const skew = options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (created > now + skew && !faults.has('sig-stale-created-accepted')) {
    return invalid('created-in-future', `created=${created} is ${created - now}s ahead of now (skew allowed ${skew}s)`, { label, keyid });
  }
  if (created < now - maxAge && !faults.has('sig-stale-created-accepted')) {
    return invalid('created-too-old', `created=${created} is ${now - created}s old (max age ${maxAge}s)`, { label, keyid });
  }
  const expiresParam = input.params.get('expires');
  if (expiresParam !== undefined) {
    if (expiresParam.type !== 'integer') return invalid('malformed', '"expires" is not an integer', { label, keyid });
    if (expiresParam.value < now - skew) return invalid('expired', `expires=${expiresParam.value} has passed`, { label, keyid });
  }

  // 3. Key and algorithm.
  let found: { jwk: Jwk; host?: string } | undefined;
  try {
    found = unwrapLookup(await options.lookupKey(keyid));
  } catch (error) {
    return invalid('key-lookup-failed', `key lookup for ${JSON.stringify(keyid)} failed: ${(error as Error)?.message ?? String(error)}`, {
      label,
      keyid,
    });
  }
  if (!found) return invalid('unknown-key', `no key with kid ${JSON.stringify(keyid)}`, { label, keyid });
  const { jwk } = found;
  if (jwk.kid !== undefined && jwk.kid !== keyid) {
    return invalid('unknown-key', `lookup returned kid ${JSON.stringify(jwk.kid)} for keyid ${JSON.stringify(keyid)}`, { label, keyid });
  }
  const resolved = resolveJwkAlgorithm(jwk, { requireAlg: options.requireJwkAlg ?? true });
  if (!resolved.ok) return invalid(resolved.reason, resolved.detail, { label, keyid });
  const algParam = input.params.get('alg');
  if (algParam !== undefined) {
    const claimed = algParam.type === 'string' ? algParam.value : serializeItem({ kind: 'item', value: algParam, params: new Map() });
    if (
      (algParam.type !== 'string' || !isHttpSigAlgorithm(claimed) || claimed !== resolved.httpSig) &&
      !faults.has('sig-alg-mismatch-ignored')
    ) {
      return invalid('alg-mismatch', `alg=${JSON.stringify(claimed)} does not denote the JWK's ${resolved.jose} (${resolved.httpSig})`, {
        label,
        keyid,
      });
    }
  }
  let publicKey: KeyObject;
  try {
    publicKey = importPublicJwk(jwk);
  } catch (error) {
    return invalid('invalid-key', `JWK ${JSON.stringify(keyid)} does not import: ${(error as Error).message}`, { label, keyid });
  }

  // Covered Content-Digest must exist for the digest step; say so precisely.
  if (!headers.has('content-digest')) return invalid('digest-missing', 'no Content-Digest field', { label, keyid });

  // 4. Signature.
  const checked = verifySignatureWithKey(
    { method: request.method, url: request.url, headers: request.headers },
    { label, input, signature },
    publicKey,
    resolved.httpSig,
  );
  if (!checked.ok) return invalid(checked.reason, checked.detail, { label, keyid });

  // 5. Body integrity.
  const body = bodyBytes(request.body);
  const digest = verifyContentDigest(headers.get('content-digest'), body);
  if (!digest.ok && !faults.has('sig-body-digest-ignored')) {
    const reason: InvalidReason =
      digest.reason === 'mismatch' ? 'digest-mismatch' : digest.reason === 'malformed' ? 'malformed' : 'digest-missing';
    return invalid(reason, digest.detail, { label, keyid });
  }
  const lengthValue = (headers.get('content-length') ?? []).join(', ').trim();
  if (!/^\d+$/.test(lengthValue) || Number(lengthValue) !== body.length) {
    return invalid('content-length-mismatch', `Content-Length ${JSON.stringify(lengthValue)} but the body has ${body.length} bytes`, {
      label,
      keyid,
    });
  }

  const signerHost = found.host ?? hostFromKeyId(keyid);
  return {
    status: 'valid',
    scheme: 'rfc9421',
    keyid,
    ...(signerHost !== undefined ? { signerHost } : {}),
    created,
    alg: resolved.httpSig,
    label,
    components: input.items.map(serializeItem),
  };
}
