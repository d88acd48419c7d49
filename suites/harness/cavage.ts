/**
 * The judge's own draft-cavage-http-signatures-12 signer and verifier, for
 * OCM 1.2-era peers (rsa-sha256 over `(request-target) content-length date
 * digest host`, with an RFC 3230 `Digest: SHA-256=…`).
 *
 * It is written apart from the reference's `reference/signatures/cavage.ts`
 * on purpose: the judge must not share a bug with the server it judges, and
 * no maintained npm package signs draft-cavage-12 in a way we can use (see
 * decisions/0018). Only what a peer needs: rsa-sha256 signing, and a verifier
 * that answers a verdict instead of throwing.
 */
import { createHash, createPrivateKey, createPublicKey, createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CAVAGE_HEADERS = ['(request-target)', 'content-length', 'date', 'digest', 'host'] as const;

export interface CavageMessage {
  method: string;
  /** Absolute URL of the request. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function headerValue(headers: CavageMessage['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    return (Array.isArray(value) ? value : [value]).map((v) => v.trim()).join(', ');
  }
  return undefined;
}

/** The draft-cavage signing string over `names`; `undefined` when a named header is missing. */
export function signingString(message: CavageMessage, names: readonly string[]): string | undefined {
  const lines: string[] = [];
  for (const name of names) {
    if (name === '(request-target)') {
      const url = new URL(message.url);
      lines.push(`(request-target): ${message.method.toLowerCase()} ${url.pathname}${url.search}`);
      continue;
    }
    const value =
      name === 'host' ? (headerValue(message.headers, 'host') ?? new URL(message.url).host) : headerValue(message.headers, name);
    if (value === undefined) return undefined;
    lines.push(`${name}: ${value}`);
  }
  return lines.join('\n');
}

/** The RFC 3230 Digest of a body. */
export function sha256Digest(body: string | Buffer): string {
  return `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
}

export interface CavageSignOptions {
  keyId: string;
  privateKey: KeyObject;
  /** Headers to sign; default the five of OCM 1.2. */
  names?: readonly string[];
  /** Date to sign; default now. */
  date?: Date;
  /** A Digest to send instead of the body's own (negative cases). */
  digest?: string;
}

/**
 * Headers (date, digest, content-length, signature) of a 1.2-era signature of
 * a request with `body` to `url`. Host is left to the HTTP client, which sends
 * the value the signature covers.
 */
export function cavageSign(method: string, url: string, body: string | Buffer, options: CavageSignOptions): Record<string, string> {
  const names = options.names ?? CAVAGE_HEADERS;
  const headers: Record<string, string> = {
    date: (options.date ?? new Date()).toUTCString(),
    digest: options.digest ?? sha256Digest(body),
    'content-length': String(Buffer.byteLength(body)),
  };
  const base = signingString({ method, url, headers: { ...headers, host: new URL(url).host } }, names);
  if (base === undefined) throw new Error(`cannot sign headers ${names.join(' ')}: one is not in the request`);
  const signature = createSign('sha256').update(base).sign(options.privateKey).toString('base64');
  return { ...headers, signature: `keyId="${options.keyId}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"` };
}

export type CavageVerdict =
  | { status: 'valid'; keyId: string }
  | { status: 'absent' }
  | { status: 'invalid'; keyId?: string; reason: string };

/** Parses `keyId="…",algorithm="…",headers="…",signature="…"`; `undefined` if it does not parse. */
export function parseSignatureHeader(value: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
  let at = 0;
  while (at < value.length) {
    re.lastIndex = at;
    const match = re.exec(value);
    if (!match) return undefined;
    params.set(match[1]!, match[2]!);
    at = re.lastIndex;
    if (match[3] === '') break;
  }
  return params;
}

export interface CavageVerifyOptions {
  /** The signer's public key for a keyId, or undefined when it is unknown. Never throws into the caller. */
  lookupKey(keyId: string): Promise<KeyObject | string | undefined>;
  /** Seconds a Date may lie in the past or future; default 300. */
  maxAgeSeconds?: number;
  now?: Date;
}

/** Verifies a draft-cavage signature (rsa-sha256) with the body's Digest and the Date window. */
export async function cavageVerify(message: CavageMessage, body: Buffer, options: CavageVerifyOptions): Promise<CavageVerdict> {
  const header = headerValue(message.headers, 'signature');
  if (header === undefined) return { status: 'absent' };
  const params = parseSignatureHeader(header);
  const keyId = params?.get('keyId');
  if (!params || !keyId || !params.get('signature')) return { status: 'invalid', reason: 'the Signature header does not parse' };
  const algorithm = (params.get('algorithm') ?? 'rsa-sha256').toLowerCase();
  if (algorithm !== 'rsa-sha256' && algorithm !== 'hs2019')
    return { status: 'invalid', keyId, reason: `algorithm ${algorithm} is not rsa-sha256` };
  const names = (params.get('headers') ?? 'date').toLowerCase().split(/\s+/).filter(Boolean);
  for (const needed of CAVAGE_HEADERS.slice(1))
    if (!names.includes(needed)) return { status: 'invalid', keyId, reason: `${needed} is not signed` };
  let key: KeyObject | string | undefined;
  try {
    key = await options.lookupKey(keyId);
  } catch {
    key = undefined;
  }
  if (!key) return { status: 'invalid', keyId, reason: `no public key for keyId ${keyId}` };
  const base = signingString(message, names);
  if (base === undefined) return { status: 'invalid', keyId, reason: 'a signed header is not in the request' };
  let ok = false;
  try {
    ok = createVerify('sha256')
      .update(base)
      .verify(key, Buffer.from(params.get('signature')!, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) return { status: 'invalid', keyId, reason: 'the signature does not verify' };
  if (headerValue(message.headers, 'digest') !== sha256Digest(body))
    return { status: 'invalid', keyId, reason: 'the Digest does not match the body' };
  const date = Date.parse(headerValue(message.headers, 'date') ?? '');
  const maxAge = (options.maxAgeSeconds ?? 300) * 1000;
  if (!Number.isFinite(date) || Math.abs((options.now ?? new Date()).getTime() - date) > maxAge)
    return { status: 'invalid', keyId, reason: 'the Date is missing or outside the allowed window' };
  return { status: 'valid', keyId };
}

/**
 * Whether the simulated peers act as 1.2-era servers towards this target:
 * it is judged under profile 1.2, or it advertises a legacy draft-cavage
 * `publicKey` in its discovery. They then publish a `publicKey` of their own
 * and sign with draft-cavage where the target does not advertise http-sig.
 */
export function cavageEra(profile: string, discovery: Record<string, unknown> | undefined): boolean {
  const publicKey = discovery?.publicKey;
  return profile === '1.2' || (typeof publicKey === 'object' && publicKey !== null);
}

/**
 * The host a keyId URL names, or undefined when it is no valid URL: a keyId
 * comes from the other side, so reading it never throws.
 */
export function keyIdHost(keyId: unknown): string | undefined {
  if (typeof keyId !== 'string') return undefined;
  try {
    return new URL(keyId).host || undefined;
  } catch {
    return undefined;
  }
}

export interface CavageKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/**
 * A peer's RSA key for draft-cavage, one per peer address and run: kept in
 * `<runDir>/peer-cavage-keys/` so a worker that restarts after a failed check
 * signs with the key the target may have cached from the peer's discovery.
 * Without a run folder it lives in memory only.
 */
export function peerCavageKey(domain: string, keyId: string, runDir: string | undefined): CavageKey {
  const file = runDir ? join(runDir, 'peer-cavage-keys', `${domain.replace(/[^A-Za-z0-9.-]+/g, '_')}.pem`) : undefined;
  let privateKey: KeyObject | undefined;
  if (file && existsSync(file)) {
    try {
      privateKey = createPrivateKey(readFileSync(file, 'utf8'));
    } catch {
      privateKey = undefined;
    }
  }
  if (!privateKey) {
    privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    if (file) {
      mkdirSync(join(file, '..'), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
      renameSync(temp, file);
    }
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { keyId, privateKey, publicKeyPem };
}
