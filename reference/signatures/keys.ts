/**
 * Signing keys: Ed25519 key pairs kept in `<dataDir>/signing-keys.json`, and
 * their publication as a JWK Set (what `jwksUri` serves).
 *
 * File format (private keys as JWK, file mode 0600):
 *   { "format": "ocm-conformance/signing-keys@1",
 *     "active": "<kid>",
 *     "keys": [ { "kid", "alg": "Ed25519", "created": ISO-8601, "jwk": {kty,crv,x,d} } ] }
 *
 * Key ids look like `<host[:port]>#key-<n>`. The prefix is the server's own
 * host as configured; when the server starts under another host the stored
 * keys are relabelled (kids are opaque to peers: they look them up in our
 * current JWKS), so a restarted dev server does not pile up keys.
 *
 * Writes are atomic: temp file, fsync, rename, fsync of the directory.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { httpSigAlgorithmFor, isJoseAlgorithm, type HttpSigAlgorithm, type JoseAlgorithm } from './algorithms.ts';

export const SIGNING_KEYS_FILE = 'signing-keys.json';
const FORMAT = 'ocm-conformance/signing-keys@1';

/** A JSON Web Key (RFC 7517) as found in a JWK Set; only the members we read are typed. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  [member: string]: unknown;
}

export interface JwkSet {
  keys: Jwk[];
}

export interface SigningKey {
  kid: string;
  alg: JoseAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** ISO-8601 creation time. */
  created: string;
}

export interface SigningKeyStore {
  /** The key new signatures are made with. */
  active: SigningKey;
  /** All keys, including the active one, oldest first; all are published. */
  keys: SigningKey[];
  file: string;
}

interface StoredKey {
  kid: string;
  alg: 'Ed25519';
  created: string;
  jwk: Jwk;
}

interface StoredFile {
  format: string;
  active: string;
  keys: StoredKey[];
}

// ---------------------------------------------------------------------------
// JWK import / export
// ---------------------------------------------------------------------------

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Imports the public part of a JWK (private members are dropped). Throws on symmetric or broken keys. */
export function importPublicJwk(jwk: Jwk): KeyObject {
  if (!jwk || typeof jwk !== 'object') throw new TypeError('JWK must be an object');
  if (jwk.kty !== 'OKP' && jwk.kty !== 'EC' && jwk.kty !== 'RSA') throw new TypeError(`unsupported JWK kty ${JSON.stringify(jwk.kty)}`);
  const material: Record<string, unknown> = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e']) {
    if (jwk[member] !== undefined) material[member] = jwk[member];
  }
  // node's JsonWebKey type is structural; the members were copied from a JWK.
  return createPublicKey({ key: material as import('node:crypto').JsonWebKey, format: 'jwk' });
}

export function importPrivateJwk(jwk: Jwk): KeyObject {
  if (jwk.d === undefined) throw new TypeError('JWK has no private part');
  return createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
}

/** The public JWK of a key, with kid, alg and use="sig". */
export function publicJwk(key: SigningKey): Jwk {
  const exported = key.publicKey.export({ format: 'jwk' }) as Jwk;
  const out: Jwk = { kty: exported.kty };
  for (const member of ['crv', 'x', 'y', 'n', 'e']) {
    if (exported[member] !== undefined) out[member] = exported[member];
  }
  for (const member of PRIVATE_MEMBERS) delete out[member];
  out.kid = key.kid;
  out.alg = key.alg;
  out.use = 'sig';
  return out;
}

/** The JWK Set to serve at `jwksUri`: every stored key (old ones stay so in-flight signatures still verify). */
export function publicJwks(keys: SigningKeyStore | readonly SigningKey[]): JwkSet {
  const list: readonly SigningKey[] = Array.isArray(keys) ? keys : (keys as SigningKeyStore).keys;
  return { keys: list.map(publicJwk) };
}

// ---------------------------------------------------------------------------
// key generation
// ---------------------------------------------------------------------------

export function generateEd25519SigningKey(kid: string, created: Date = new Date()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, alg: 'Ed25519', privateKey, publicKey, created: created.toISOString() };
}

/** Wraps an existing private key (any supported algorithm) as a SigningKey, e.g. for tests or ES256 peers. */
export function signingKeyFromPrivateKey(privateKey: KeyObject, kid: string, alg: JoseAlgorithm): SigningKey {
  if (!isJoseAlgorithm(alg)) throw new TypeError(`unsupported algorithm ${String(alg)}`);
  return { kid, alg, privateKey, publicKey: createPublicKey(privateKey), created: new Date().toISOString() };
}

/** RFC 9421 `alg` parameter value for a signing key. */
export function httpSigAlgorithmOf(key: SigningKey): HttpSigAlgorithm {
  return httpSigAlgorithmFor(key.alg);
}

export function makeKid(kidPrefix: string, n: number): string {
  return `${kidPrefix}#key-${n}`;
}

function checkKidPrefix(kidPrefix: string): void {
  // The kid travels as an RFC 8941 string (printable ASCII) in Signature-Input.
  if (
    typeof kidPrefix !== 'string' ||
    !/^[\x21-\x7e]+$/.test(kidPrefix) ||
    kidPrefix.includes('#') ||
    kidPrefix.includes('"') ||
    kidPrefix.includes('\\')
  ) {
    throw new TypeError(`kidPrefix must be a non-empty host[:port] without '#', quotes or spaces, got ${JSON.stringify(kidPrefix)}`);
  }
}

function keyNumber(kid: string): number | undefined {
  const m = /#key-(\d+)$/.exec(kid);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------
// persistence
// ---------------------------------------------------------------------------

function toStored(key: SigningKey): StoredKey {
  const jwk = key.privateKey.export({ format: 'jwk' }) as Jwk;
  return { kid: key.kid, alg: 'Ed25519', created: key.created, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d } };
}

function fromStored(stored: StoredKey, file: string): SigningKey {
  if (!stored || typeof stored.kid !== 'string' || stored.alg !== 'Ed25519' || !stored.jwk || typeof stored.jwk !== 'object') {
    throw new Error(`${file}: invalid key entry`);
  }
  try {
    const privateKey = importPrivateJwk(stored.jwk);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return { kid: stored.kid, alg: 'Ed25519', privateKey, publicKey: createPublicKey(privateKey), created: String(stored.created) };
  } catch (error) {
    throw new Error(`${file}: key ${stored.kid} does not load: ${(error as Error).message}`);
  }
}

async function writeAtomically(file: string, dir: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // Make the rename itself durable. Some platforms cannot open directories; that is best effort.
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    /* best effort */
  }
}

async function save(store: SigningKeyStore, dir: string): Promise<void> {
  const data: StoredFile = { format: FORMAT, active: store.active.kid, keys: store.keys.map(toStored) };
  await writeAtomically(store.file, dir, `${JSON.stringify(data, null, 2)}\n`);
}

async function readStore(file: string): Promise<StoredFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let data: StoredFile;
  try {
    data = JSON.parse(text) as StoredFile;
  } catch (error) {
    // Never silently replace a corrupt key file: that would change the server's identity.
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (!data || data.format !== FORMAT || !Array.isArray(data.keys) || data.keys.length === 0 || typeof data.active !== 'string') {
    throw new Error(`${file}: not a ${FORMAT} file`);
  }
  return data;
}

export interface SigningKeyOptions {
  /** The server's own `host[:port]`; kids become `<kidPrefix>#key-<n>`. */
  kidPrefix: string;
}

/**
 * Loads the key file from `dataDir`, or creates it with one fresh Ed25519 key
 * (`<kidPrefix>#key-1`). Stored keys whose kid has another prefix are
 * relabelled to `kidPrefix` (same number) and the file is rewritten.
 */
export async function loadOrCreateSigningKeys(dataDir: string, options: SigningKeyOptions): Promise<SigningKeyStore> {
  checkKidPrefix(options.kidPrefix);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SIGNING_KEYS_FILE);
  const data = await readStore(file);
  if (!data) {
    const key = generateEd25519SigningKey(makeKid(options.kidPrefix, 1));
    const store: SigningKeyStore = { active: key, keys: [key], file };
    await save(store, dataDir);
    return store;
  }
  let keys = data.keys.map((k) => fromStored(k, file));
  const activeIndex = keys.findIndex((k) => k.kid === data.active);
  if (activeIndex < 0) throw new Error(`${file}: active key ${data.active} is not among the keys`);
  let changed = false;
  keys = keys.map((key, i) => {
    const wanted = makeKid(options.kidPrefix, keyNumber(key.kid) ?? i + 1);
    if (wanted === key.kid) return key;
    changed = true;
    return { ...key, kid: wanted };
  });
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error(`${file}: duplicate key ids after relabelling`);
  const store: SigningKeyStore = { active: keys[activeIndex]!, keys, file };
  if (changed) await save(store, dataDir);
  return store;
}

/** Adds a new Ed25519 key `<kidPrefix>#key-<max+1>`, makes it active and persists. Old keys stay published. */
export async function rotateSigningKey(dataDir: string, store: SigningKeyStore, options: SigningKeyOptions): Promise<SigningKeyStore> {
  checkKidPrefix(options.kidPrefix);
  const next = Math.max(0, ...store.keys.map((k) => keyNumber(k.kid) ?? 0)) + 1;
  const key = generateEd25519SigningKey(makeKid(options.kidPrefix, next));
  const updated: SigningKeyStore = { active: key, keys: [...store.keys, key], file: store.file };
  await save(updated, dataDir);
  return updated;
}
