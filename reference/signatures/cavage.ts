/**
 * Legacy draft-cavage-http-signatures-12 verification, for OCM 1.2-era peers
 * (Nextcloud 30+ before its RFC 9421 "dual stack"). Receiving only: the
 * reference server never signs this way; `signCavage` exists for tests and
 * for suites that impersonate an old peer.
 *
 *   Signature: keyId="https://a.example/ocm#signature",algorithm="rsa-sha256",
 *              headers="(request-target) content-length date digest host",signature="…"
 *   Digest: SHA-256=<base64>
 *
 * OCM 1.2 rules enforced: `headers` must list at least content-length, date,
 * digest and host; Digest is recomputed; Date must be within the TTL.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { faults } from '../base/faults.ts';
import { bodyBytes, digestBytes, isDigestAlgorithm, type BodyInput } from './content-digest.ts';
import {
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_MAX_SKEW_SECONDS,
  hostFromKeyId,
  normaliseHeaders,
  type HeaderMap,
  type InvalidReason,
  type VerifyResult,
} from './profile.ts';

export const CAVAGE_REQUIRED_HEADERS = ['content-length', 'date', 'digest', 'host'] as const;

export type CavageAlgorithm = 'rsa-sha256' | 'rsa-sha512' | 'hs2019' | 'ed25519';

export interface CavageRequest {
  method: string;
  /** Absolute URL or origin-form request-target (`/path?query`). */
  url: string;
  headers: HeaderMap;
  body: BodyInput;
}

export interface CavageVerifyOptions {
  /** Unix seconds; default now. */
  now?: number;
  /** TTL of the Date header, seconds. Default 300. */
  maxAgeSeconds?: number;
  /** Allowed clock skew for a Date in the future. Default 60. */
  maxSkewSeconds?: number;
  /** Headers that must be signed. Default content-length, date, digest, host. */
  requiredHeaders?: readonly string[];
  /** keyId → public key (PEM or KeyObject), e.g. from the peer's discovery `publicKey`. */
  lookupKey: (keyId: string) => Promise<string | KeyObject | undefined | null>;
}

export interface CavageSignatureParams {
  keyId: string;
  algorithm?: string;
  headers: string[];
  signature: Buffer;
  created?: number;
  expires?: number;
}

type Failure = { ok: false; reason: InvalidReason; detail: string };

function invalid(reason: InvalidReason, detail: string, keyid?: string): VerifyResult {
  return { status: 'invalid', scheme: 'cavage', reason, detail, ...(keyid !== undefined ? { keyid } : {}) };
}

/** Parses `keyId="…",algorithm="…",headers="…",signature="…"` (optionally `created=…,expires=…`). */
export function parseCavageSignature(value: string): CavageSignatureParams | Failure {
  const params = new Map<string, string>();
  const re = /[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([0-9]+(?:\.[0-9]+)?))[ \t]*(,|$)/y;
  let pos = 0;
  while (pos < value.length) {
    re.lastIndex = pos;
    const m = re.exec(value);
    if (!m) return { ok: false, reason: 'malformed', detail: `cavage Signature does not parse at offset ${pos}` };
    const name = m[1]!;
    if (params.has(name)) return { ok: false, reason: 'malformed', detail: `cavage Signature repeats "${name}"` };
    params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    pos = re.lastIndex;
    if (m[4] === '') break;
  }
  if (pos < value.length) return { ok: false, reason: 'malformed', detail: 'trailing characters in cavage Signature' };
  const keyId = params.get('keyId');
  const signature = params.get('signature');
  if (!keyId) return { ok: false, reason: 'missing-keyid', detail: 'cavage Signature has no keyId' };
  if (signature === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(signature) || signature.length === 0) {
    return { ok: false, reason: 'malformed', detail: 'cavage Signature has no base64 signature' };
  }
  const headersParam = params.get('headers');
  // Draft-12 default when `headers` is absent is "(created)".
  const headers = (headersParam ?? '(created)')
    .toLowerCase()
    .split(/[ \t]+/)
    .filter(Boolean);
  const out: CavageSignatureParams = { keyId, headers, signature: Buffer.from(signature, 'base64') };
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined) out.algorithm = algorithm;
  for (const name of ['created', 'expires'] as const) {
    const v = params.get(name);
    if (v !== undefined) {
      if (!/^\d+$/.test(v)) return { ok: false, reason: 'malformed', detail: `cavage ${name} is not an integer` };
      out[name] = Number(v);
    }
  }
  return out;
}

function requestTarget(method: string, url: string): string {
  let target = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const parsed = new URL(url);
    target = `${parsed.pathname}${parsed.search}`;
  }
  return `${method.toLowerCase()} ${target}`;
}

/** The draft-cavage-12 §2.3 signing string. Throws if a listed header is absent. */
export function cavageSigningString(
  request: Omit<CavageRequest, 'body'>,
  headerNames: readonly string[],
  params: { created?: number; expires?: number } = {},
): string {
  const headers = normaliseHeaders(request.headers);
  return headerNames
    .map((name) => {
      if (name === '(request-target)') return `(request-target): ${requestTarget(request.method, request.url)}`;
      if (name === '(created)' || name === '(expires)') {
        const v = name === '(created)' ? params.created : params.expires;
        if (v === undefined) throw new Error(`${name} is signed but the parameter is missing`);
        return `${name}: ${v}`;
      }
      const values = headers.get(name);
      if (!values || values.length === 0) throw new Error(`signed header "${name}" is not in the message`);
      return `${name}: ${values.map((v) => v.trim()).join(', ')}`;
    })
    .join('\n');
}

/** Checks an RFC 3230 `Digest` field (`SHA-256=…[, SHA-512=…]`): every recognised algorithm must match. */
export function verifyLegacyDigest(value: string | undefined, body: BodyInput): { ok: true } | Failure {
  if (value === undefined || value.trim() === '') return { ok: false, reason: 'digest-missing', detail: 'no Digest field' };
  let recognised = 0;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'malformed', detail: 'Digest does not parse' };
    const alg = part.slice(0, eq).trim().toLowerCase();
    const b64 = part.slice(eq + 1).trim();
    if (!isDigestAlgorithm(alg)) continue;
    recognised++;
    const received = Buffer.from(b64, 'base64');
    const expected = digestBytes(body, alg);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || received.length !== expected.length || !timingSafeEqual(received, expected)) {
      return { ok: false, reason: 'digest-mismatch', detail: `Digest ${alg.toUpperCase()} does not match the body` };
    }
  }
  return recognised > 0 ? { ok: true } : { ok: false, reason: 'digest-missing', detail: 'Digest has no recognised algorithm' };
}

function cavageVerify(algorithm: string, key: KeyObject, data: Buffer, signature: Buffer): { ok: true } | Failure {
  const type = key.asymmetricKeyType;
  const isRsa = type === 'rsa' || type === 'rsa-pss';
  try {
    switch (algorithm) {
      case 'rsa-sha256':
      case 'rsa-sha512': {
        if (!isRsa) return { ok: false, reason: 'alg-mismatch', detail: `${algorithm} with a ${String(type)} key` };
        const ok = createVerify(algorithm === 'rsa-sha256' ? 'sha256' : 'sha512')
          .update(data)
          .verify({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
        return ok ? { ok: true } : { ok: false, reason: 'bad-signature', detail: `${algorithm} signature does not verify` };
      }
      case 'hs2019':
      case 'ed25519': {
        if (type === 'ed25519') {
          return edVerify(null, data, key, signature)
            ? { ok: true }
            : { ok: false, reason: 'bad-signature', detail: 'ed25519 signature does not verify' };
        }
        if (algorithm === 'hs2019' && isRsa) {
          const ok = createVerify('sha512')
            .update(data)
            .verify({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
          return ok
            ? { ok: true }
            : { ok: false, reason: 'bad-signature', detail: 'hs2019 (RSASSA-PSS SHA-512) signature does not verify' };
        }
        return { ok: false, reason: 'alg-mismatch', detail: `${algorithm} with a ${String(type)} key` };
      }
      default:
        return { ok: false, reason: 'unacceptable-alg', detail: `cavage algorithm ${JSON.stringify(algorithm)} is not accepted` };
    }
  } catch (error) {
    return { ok: false, reason: 'bad-signature', detail: `verification error: ${(error as Error).message}` };
  }
}

/** True when the headers carry a draft-cavage signature and no RFC 9421 Signature-Input. */
export function hasCavageSignature(headers: HeaderMap): boolean {
  const h = normaliseHeaders(headers);
  if (h.has('signature-input')) return false;
  const sig = (h.get('signature') ?? []).join(',');
  const auth = (h.get('authorization') ?? []).join(',');
  return /keyId\s*=/.test(sig) || /^\s*Signature\s+/i.test(auth);
}

/** Verifies a draft-cavage-12 signature. Never throws. */
export async function verifyCavageSignature(request: CavageRequest, options: CavageVerifyOptions): Promise<VerifyResult> {
  try {
    return await verifyCavage(request, options);
  } catch (error) {
    return invalid('malformed', `verification aborted: ${(error as Error)?.message ?? String(error)}`);
  }
}

async function verifyCavage(request: CavageRequest, options: CavageVerifyOptions): Promise<VerifyResult> {
  const headers = normaliseHeaders(request.headers);
  let raw = (headers.get('signature') ?? []).join(',');
  if (raw === '') {
    const auth = (headers.get('authorization') ?? []).join(',');
    const m = /^\s*Signature\s+(.*)$/is.exec(auth);
    if (m) raw = m[1]!;
  }
  if (raw.trim() === '') return { status: 'unsigned', detail: 'no cavage Signature' };
  const parsed = parseCavageSignature(raw.trim());
  if ('ok' in parsed) return invalid(parsed.reason, parsed.detail);
  const keyid = parsed.keyId;

  const required = options.requiredHeaders ?? CAVAGE_REQUIRED_HEADERS;
  const missing = required.filter((h) => !parsed.headers.includes(h));
  if (missing.length > 0) return invalid('missing-component', `cavage headers do not include ${missing.join(', ')}`, keyid);

  const dateValue = (headers.get('date') ?? []).join(', ');
  const dateMs = Date.parse(dateValue);
  if (!dateValue || Number.isNaN(dateMs)) return invalid('malformed', `Date ${JSON.stringify(dateValue)} is not an HTTP date`, keyid);
  const date = Math.floor(dateMs / 1000);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const skew = options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (date > now + skew) return invalid('created-in-future', `Date is ${date - now}s ahead of now`, keyid);
  if (date < now - maxAge) return invalid('created-too-old', `Date is ${now - date}s old (TTL ${maxAge}s)`, keyid);
  if (parsed.expires !== undefined && parsed.expires < now - skew) return invalid('expired', `expires=${parsed.expires} has passed`, keyid);

  let keyInput: string | KeyObject | undefined | null;
  try {
    keyInput = await options.lookupKey(keyid);
  } catch (error) {
    return invalid(
      'key-lookup-failed',
      `key lookup for ${JSON.stringify(keyid)} failed: ${(error as Error)?.message ?? String(error)}`,
      keyid,
    );
  }
  if (!keyInput) return invalid('unknown-key', `no key for keyId ${JSON.stringify(keyid)}`, keyid);
  let key: KeyObject;
  try {
    key = typeof keyInput === 'string' ? createPublicKey(keyInput) : keyInput.type === 'private' ? createPublicKey(keyInput) : keyInput;
  } catch (error) {
    return invalid('invalid-key', `public key for ${JSON.stringify(keyid)} does not load: ${(error as Error).message}`, keyid);
  }

  let signingString: string;
  try {
    signingString = cavageSigningString(request, parsed.headers, parsed);
  } catch (error) {
    return invalid('component-unavailable', (error as Error).message, keyid);
  }
  const algorithm = parsed.algorithm ?? (key.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa-sha256');
  const checked = cavageVerify(algorithm.toLowerCase(), key, Buffer.from(signingString, 'utf8'), parsed.signature);
  if (!checked.ok && !faults.has('sig-cavage-forged-accepted')) return invalid(checked.reason, checked.detail, keyid);

  const digest = verifyLegacyDigest((headers.get('digest') ?? []).join(', ') || undefined, request.body);
  if (!digest.ok) return invalid(digest.reason, digest.detail, keyid);
  const body = bodyBytes(request.body);
  const lengthValue = (headers.get('content-length') ?? []).join(', ').trim();
  if (!/^\d+$/.test(lengthValue) || Number(lengthValue) !== body.length) {
    return invalid('content-length-mismatch', `Content-Length ${JSON.stringify(lengthValue)} but the body has ${body.length} bytes`, keyid);
  }

  const signerHost = hostFromKeyId(keyid);
  return {
    status: 'valid',
    scheme: 'cavage',
    keyid,
    ...(signerHost !== undefined ? { signerHost } : {}),
    created: date,
    alg: algorithm,
    components: parsed.headers,
  };
}

export interface CavageSignOptions {
  keyId: string;
  privateKey: KeyObject | string;
  /** Default rsa-sha256 (what OCM 1.2 / Nextcloud use). */
  algorithm?: 'rsa-sha256' | 'rsa-sha512' | 'ed25519';
  /** Signed headers; default `(request-target) content-length date digest host`. */
  headers?: readonly string[];
  /** Date to put in the Date header; default now. */
  date?: Date;
}

/**
 * Signs like a 1.2-era peer: adds Date, Digest, Content-Length, Host and
 * Signature. For tests and peer impersonation only.
 */
export function signCavage(
  request: Omit<CavageRequest, 'headers'> & { headers?: HeaderMap },
  options: CavageSignOptions,
): Record<string, string> {
  const body = bodyBytes(request.body);
  const url = new URL(request.url);
  const added: Record<string, string> = {
    date: (options.date ?? new Date()).toUTCString(),
    digest: `SHA-256=${digestBytes(body, 'sha-256').toString('base64')}`,
    'content-length': String(body.length),
    host: url.host,
  };
  const headers: HeaderMap = { ...request.headers, ...added };
  const names = options.headers ?? ['(request-target)', 'content-length', 'date', 'digest', 'host'];
  const algorithm = options.algorithm ?? 'rsa-sha256';
  const privateKey = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  const data = Buffer.from(cavageSigningString({ method: request.method, url: request.url, headers }, names), 'utf8');
  const signature =
    algorithm === 'ed25519'
      ? edSign(null, data, privateKey)
      : createSign(algorithm === 'rsa-sha256' ? 'sha256' : 'sha512')
          .update(data)
          .sign({ key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  added.signature = `keyId="${options.keyId}",algorithm="${algorithm}",headers="${names.join(' ')}",signature="${signature.toString('base64')}"`;
  return added;
}
