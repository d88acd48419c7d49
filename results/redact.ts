/**
 * Secrets never appear in a report. Transcripts are redacted when they are
 * recorded (results/transcript.ts); the reports redact again, on
 * three levels:
 *  - `redactDeep` walks a value: a property whose name is a secret's
 *    (`sharedSecret`, `token`, `code`, `Authorization`, …, any case) loses its
 *    value, and every string goes through `scrubText`;
 *  - `scrubText` is `redactText` (JSON and form secrets, every registered
 *    secret) plus what it does not cover: JSON escaped inside a JSON string
 *    (`\"sharedSecret\":\"…\"`), keys in any case, `Bearer`/`Basic` credentials;
 *  - every output file is passed through `scrubText` before it is written.
 * `collectRunSecrets` registers the secrets the embedded reference stored
 * during the run (shared secrets, invite tokens, codes), and the target
 * config's user passwords, so they are scrubbed wherever they show.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { redactText, registerSecret } from './transcript.ts';

export const REDACTED = '[redacted]';

const SECRET_NAMES = [
  'sharedSecret',
  'shared_secret',
  'secret',
  'code',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'token',
  'password',
  'client_secret',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
];
const SECRET_NAME_SET = new Set(SECRET_NAMES.map((n) => n.toLowerCase()));
const NAMES = SECRET_NAMES.map((n) => n.replace(/[-_]/g, '[-_]?')).join('|');
/** "name": "value" in any case (redactText's own pattern is case-sensitive). */
const JSON_SECRET = new RegExp(`("(?:${NAMES})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
/** \"name\":\"value\" — JSON inside a JSON string. */
const ESCAPED_JSON_SECRET = new RegExp(`(\\\\"(?:${NAMES})\\\\"\\s*:\\s*)\\\\"(?:(?!\\\\").)*\\\\"`, 'gi');
/** name=value in query strings and form bodies, any case. */
const FORM_SECRET = /\b(code|access_token|refresh_token|password|sharedSecret|shared_secret|token|client_secret)=[^&\s"'<\\]*/gi;
/** Credentials after an auth scheme. */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)\s+(?!\[redacted\])[A-Za-z0-9._~+/=:-]{6,}/g;

export function isSecretName(name: string): boolean {
  return SECRET_NAME_SET.has(name.toLowerCase());
}

/** `token=<token>`, `code={code}`, `token=&lt;token&gt;`: placeholders in prose, never secrets. */
const PLACEHOLDER = /\b[\w-]+=(?:<|&lt;|\{)[A-Za-z][\w .-]{0,40}(?:>|&gt;|\})/g;

export function scrubText(text: string): string {
  const kept: string[] = [];
  const protectedText = text.includes('\u0001') ? text : text.replace(PLACEHOLDER, (match) => `\u0001${kept.push(match) - 1}\u0001`);
  return redactText(protectedText)
    .replace(JSON_SECRET, `$1"${REDACTED}"`)
    .replace(ESCAPED_JSON_SECRET, `$1\\"${REDACTED}\\"`)
    .replace(FORM_SECRET, `$1=${REDACTED}`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(/\u0001(\d+)\u0001/g, (_, i: string) => kept[Number(i)] ?? '');
}

/** A redacted copy of `value`. */
export function redactDeep<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      // The whole value goes (scheme included), so redacting twice changes nothing.
      if (key !== undefined && isSecretName(key)) return REDACTED;
      return scrubText(v);
    }
    if (Array.isArray(v)) return v.map((item) => walk(item));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, k);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** Also private key material in the stores (a JWK's `d`, PEM keys). */
const STORED_SECRET_NAMES = new Set(['d', 'privatekey', 'private_key', 'pem']);

function secretValues(value: unknown, into: Set<string>, key?: string): void {
  if (typeof value === 'string') {
    if (key !== undefined && (isSecretName(key) || STORED_SECRET_NAMES.has(key.toLowerCase()))) into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const item of value) secretValues(item, into);
  else if (value && typeof value === 'object') for (const [k, item] of Object.entries(value)) secretValues(item, into, k);
}

/**
 * Secret values stored under `dir` (recursively: `*.json` and `*.jsonl`
 * files of the reference's data folders): every string under a secret's
 * property name. Files that are not JSON are skipped.
 */
export function findStoredSecrets(dir: string): Set<string> {
  const found = new Set<string>();
  if (!existsSync(dir)) return found;
  const visit = (path: string, depth: number) => {
    for (const name of readdirSync(path)) {
      const file = join(path, name);
      const stat = statSync(file);
      if (stat.isDirectory()) {
        if (depth < 4) visit(file, depth + 1);
        continue;
      }
      if (!/\.jsonl?$/.test(name) || stat.size > 50 * 1024 * 1024) continue;
      const text = readFileSync(file, 'utf8');
      const docs = name.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim()) : [text];
      for (const doc of docs) {
        try {
          secretValues(JSON.parse(doc), found);
        } catch {
          // a torn journal line or another format: nothing to learn from it
        }
      }
    }
  };
  visit(dir, 0);
  return found;
}

/** Registers the run's secrets (see the module comment); returns them for a final check. */
export function collectRunSecrets(runDir: string, users: Array<{ username: string; password: string }> = []): Set<string> {
  const secrets = findStoredSecrets(runDir);
  for (const user of users) {
    secrets.add(user.password);
    secrets.add(Buffer.from(`${user.username}:${user.password}`).toString('base64'));
  }
  for (const secret of secrets) registerSecret(secret);
  return new Set([...secrets].filter((s) => s.length >= 8));
}
