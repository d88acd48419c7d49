/**
 * Content-Digest (RFC 9530): compute for outgoing bodies, check incoming ones.
 *
 * The field is a structured-field dictionary whose members are byte sequences
 * keyed by hash algorithm, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
 *
 * Checking rule (OCM, following RFC 9530 §3 and the OCM draft): every
 * recognised algorithm present must match the body; a single mismatch is an
 * integrity failure. Unknown algorithms are ignored. A field with no
 * recognised algorithm cannot vouch for the body and fails too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary, serializeDictionary, sf, StructuredFieldError, type Dictionary } from './structured-fields.ts';

export type DigestAlgorithm = 'sha-256' | 'sha-512';

/** RFC 9530 algorithm key → node:crypto hash name. Deprecated/insecure ones (md5, sha, crc32c…) are not recognised. */
const HASHES: Record<DigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

export function isDigestAlgorithm(name: string): name is DigestAlgorithm {
  return Object.prototype.hasOwnProperty.call(HASHES, name);
}

export type BodyInput = Buffer | Uint8Array | string;

export function bodyBytes(body: BodyInput | undefined | null): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export function digestBytes(body: BodyInput | undefined | null, alg: DigestAlgorithm): Buffer {
  return createHash(HASHES[alg]).update(bodyBytes(body)).digest();
}

/** Content-Digest field value for `body`, one member per algorithm, in the order given. */
export function computeContentDigest(body: BodyInput | undefined | null, algorithms: readonly DigestAlgorithm[] = ['sha-256']): string {
  if (algorithms.length === 0) throw new Error('computeContentDigest: at least one algorithm is needed');
  const dict: Dictionary = new Map();
  for (const alg of algorithms) dict.set(alg, sf.item(sf.bytes(digestBytes(body, alg))));
  return serializeDictionary(dict);
}

/**
 * Parses a Content-Digest field into algorithm → digest bytes. Every member
 * must be a byte sequence (members with parameters are accepted, parameters
 * ignored). Throws StructuredFieldError on anything else.
 */
export function parseContentDigest(value: string | readonly string[]): Map<string, Buffer> {
  const dict = parseDictionary(value);
  const out = new Map<string, Buffer>();
  for (const [alg, member] of dict) {
    if (member.kind !== 'item' || member.value.type !== 'bytes') {
      throw new StructuredFieldError(`Content-Digest member "${alg}" is not a byte sequence`);
    }
    out.set(alg, member.value.value);
  }
  return out;
}

export type ContentDigestCheck =
  | { ok: true; algorithms: DigestAlgorithm[] }
  | { ok: false; reason: 'missing' | 'malformed' | 'no-recognised-algorithm' | 'mismatch'; detail: string };

/** Checks a received Content-Digest field against the received body bytes. Never throws. */
export function verifyContentDigest(value: string | readonly string[] | undefined, body: BodyInput | undefined | null): ContentDigestCheck {
  if (value === undefined || (typeof value !== 'string' && value.length === 0)) {
    return { ok: false, reason: 'missing', detail: 'no Content-Digest field' };
  }
  let members: Map<string, Buffer>;
  try {
    members = parseContentDigest(value);
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: `Content-Digest does not parse: ${(error as Error).message}` };
  }
  const checked: DigestAlgorithm[] = [];
  for (const [alg, received] of members) {
    if (!isDigestAlgorithm(alg)) continue;
    const expected = digestBytes(body, alg);
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      return { ok: false, reason: 'mismatch', detail: `Content-Digest ${alg} does not match the body` };
    }
    checked.push(alg);
  }
  if (checked.length === 0) {
    const present = [...members.keys()].join(', ') || 'none';
    return { ok: false, reason: 'no-recognised-algorithm', detail: `Content-Digest has no recognised algorithm (present: ${present})` };
  }
  return { ok: true, algorithms: checked };
}
