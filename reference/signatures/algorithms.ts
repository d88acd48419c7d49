/**
 * Signature algorithms: the JOSE names a JWK carries (`alg`) and the RFC 9421
 * HTTP Signature Algorithms registry names a Signature-Input `alg` parameter
 * carries, plus raw sign/verify over a signature base with node:crypto.
 *
 * Only asymmetric algorithms exist here: OCM forbids HMAC and `none`.
 */
import { constants, createSign, createVerify, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { Jwk } from './keys.ts';

/** RFC 9421 §6.2 registry names we implement. */
export type HttpSigAlgorithm = 'ed25519' | 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'rsa-pss-sha512' | 'rsa-v1_5-sha256';

/**
 * JOSE algorithm names accepted on a JWK. `EdDSA` is the polymorphic name
 * RFC 9864 deprecates in favour of `Ed25519`; still accepted with crv Ed25519
 * because the OCM draft only says SHOULD be fully specified.
 */
export type JoseAlgorithm = 'Ed25519' | 'EdDSA' | 'ES256' | 'ES384' | 'PS512' | 'RS256';

interface AlgorithmInfo {
  httpSig: HttpSigAlgorithm;
  kty: 'OKP' | 'EC' | 'RSA';
  crv?: string;
  /** Node's asymmetricKeyType for the KeyObject. */
  keyType: 'ed25519' | 'ec' | 'rsa' | 'rsa-pss';
}

const JOSE: Record<JoseAlgorithm, AlgorithmInfo> = {
  Ed25519: { httpSig: 'ed25519', kty: 'OKP', crv: 'Ed25519', keyType: 'ed25519' },
  EdDSA: { httpSig: 'ed25519', kty: 'OKP', crv: 'Ed25519', keyType: 'ed25519' },
  ES256: { httpSig: 'ecdsa-p256-sha256', kty: 'EC', crv: 'P-256', keyType: 'ec' },
  ES384: { httpSig: 'ecdsa-p384-sha384', kty: 'EC', crv: 'P-384', keyType: 'ec' },
  PS512: { httpSig: 'rsa-pss-sha512', kty: 'RSA', keyType: 'rsa' },
  RS256: { httpSig: 'rsa-v1_5-sha256', kty: 'RSA', keyType: 'rsa' },
};

const HTTPSIG_NAMES: readonly HttpSigAlgorithm[] = [
  'ed25519',
  'ecdsa-p256-sha256',
  'ecdsa-p384-sha384',
  'rsa-pss-sha512',
  'rsa-v1_5-sha256',
];

/** Fixed signature lengths (bytes) where the algorithm has one. */
const SIGNATURE_LENGTH: Partial<Record<HttpSigAlgorithm, number>> = {
  ed25519: 64,
  'ecdsa-p256-sha256': 64,
  'ecdsa-p384-sha384': 96,
};

export function isJoseAlgorithm(alg: unknown): alg is JoseAlgorithm {
  return typeof alg === 'string' && Object.prototype.hasOwnProperty.call(JOSE, alg);
}

export function isHttpSigAlgorithm(alg: unknown): alg is HttpSigAlgorithm {
  return typeof alg === 'string' && (HTTPSIG_NAMES as readonly string[]).includes(alg);
}

/** The RFC 9421 name denoting the same algorithm as a JOSE name, e.g. `Ed25519` → `ed25519`, `ES256` → `ecdsa-p256-sha256`. */
export function httpSigAlgorithmFor(jose: JoseAlgorithm): HttpSigAlgorithm {
  return JOSE[jose].httpSig;
}

export type JwkAlgorithmResolution =
  | { ok: true; jose: JoseAlgorithm; httpSig: HttpSigAlgorithm }
  | { ok: false; reason: 'unacceptable-alg' | 'invalid-key'; detail: string };

/**
 * Decides which algorithm a JWK is to be used with. The OCM draft (main)
 * makes `alg` mandatory on every JWK; with `requireAlg: false` a missing alg
 * is inferred where that is unambiguous (OKP/Ed25519, EC/P-256, EC/P-384 —
 * not RSA, whose padding cannot be inferred).
 */
export function resolveJwkAlgorithm(jwk: Jwk, options: { requireAlg?: boolean } = {}): JwkAlgorithmResolution {
  const requireAlg = options.requireAlg ?? true;
  let alg = jwk.alg;
  if (alg === undefined) {
    if (requireAlg) return { ok: false, reason: 'unacceptable-alg', detail: 'JWK has no "alg" (required by the OCM profile)' };
    if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') alg = 'Ed25519';
    else if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
    else if (jwk.kty === 'EC' && jwk.crv === 'P-384') alg = 'ES384';
    else return { ok: false, reason: 'unacceptable-alg', detail: `JWK has no "alg" and none can be inferred from kty=${String(jwk.kty)}` };
  }
  if (!isJoseAlgorithm(alg)) {
    return {
      ok: false,
      reason: 'unacceptable-alg',
      detail: `JWK alg ${JSON.stringify(alg)} is not an acceptable asymmetric signature algorithm`,
    };
  }
  const info = JOSE[alg];
  if (jwk.kty !== info.kty || (info.crv !== undefined && jwk.crv !== info.crv)) {
    return {
      ok: false,
      reason: 'invalid-key',
      detail: `JWK alg ${alg} needs kty=${info.kty}${info.crv ? ` crv=${info.crv}` : ''}, got kty=${String(jwk.kty)} crv=${String(jwk.crv)}`,
    };
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    return { ok: false, reason: 'invalid-key', detail: `JWK use is ${JSON.stringify(jwk.use)}, not "sig"` };
  }
  if (jwk.key_ops !== undefined && (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify'))) {
    return { ok: false, reason: 'invalid-key', detail: 'JWK key_ops does not include "verify"' };
  }
  return { ok: true, jose: alg, httpSig: info.httpSig };
}

/** Does the KeyObject's type fit the algorithm? */
export function keyFitsAlgorithm(key: KeyObject, alg: HttpSigAlgorithm): boolean {
  const type = key.asymmetricKeyType;
  switch (alg) {
    case 'ed25519':
      return type === 'ed25519';
    case 'ecdsa-p256-sha256':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    case 'ecdsa-p384-sha384':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    case 'rsa-pss-sha512':
    case 'rsa-v1_5-sha256':
      return type === 'rsa' || type === 'rsa-pss';
  }
}

/** Signs `data` (a signature base) with the RFC 9421 algorithm. ECDSA output is the raw r||s form RFC 9421 §3.3.4 requires. */
export function signBytes(alg: HttpSigAlgorithm, privateKey: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    case 'ed25519':
      return edSign(null, data, privateKey);
    case 'ecdsa-p256-sha256':
      return createSign('sha256').update(data).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ecdsa-p384-sha384':
      return createSign('sha384').update(data).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss-sha512':
      // RFC 9421 §3.3.1: MGF1 with SHA-512, salt length 64 bytes.
      return createSign('sha512').update(data).sign({ key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
    case 'rsa-v1_5-sha256':
      return createSign('sha256').update(data).sign({ key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  }
}

export type SignatureCheck = { ok: true } | { ok: false; detail: string };

/** Verifies a signature over `data`. Never throws. */
export function verifyBytes(alg: HttpSigAlgorithm, publicKey: KeyObject, data: Buffer, signature: Buffer): SignatureCheck {
  if (!keyFitsAlgorithm(publicKey, alg)) {
    return { ok: false, detail: `key type ${String(publicKey.asymmetricKeyType)} cannot verify ${alg}` };
  }
  const expectedLength = SIGNATURE_LENGTH[alg];
  if (expectedLength !== undefined && signature.length !== expectedLength) {
    const derHint = alg.startsWith('ecdsa') && signature[0] === 0x30 ? ' (looks DER-encoded; RFC 9421 requires the raw r||s form)' : '';
    return { ok: false, detail: `${alg} signature must be ${expectedLength} bytes, got ${signature.length}${derHint}` };
  }
  let ok: boolean;
  try {
    switch (alg) {
      case 'ed25519':
        ok = edVerify(null, data, publicKey, signature);
        break;
      case 'ecdsa-p256-sha256':
        ok = createVerify('sha256').update(data).verify({ key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
        break;
      case 'ecdsa-p384-sha384':
        ok = createVerify('sha384').update(data).verify({ key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
        break;
      case 'rsa-pss-sha512':
        // Salt length is recovered from the signature (RSA_PSS_SALTLEN_AUTO) rather than pinned to 64:
        // deployed signers (e.g. node's default) use the maximum salt length. See decision 0005.
        ok = createVerify('sha512')
          .update(data)
          .verify({ key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
        break;
      case 'rsa-v1_5-sha256':
        ok = createVerify('sha256').update(data).verify({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
        break;
    }
  } catch (error) {
    return { ok: false, detail: `verification error: ${(error as Error).message}` };
  }
  return ok ? { ok: true } : { ok: false, detail: `${alg} signature does not verify` };
}
