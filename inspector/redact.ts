/**
 * Redaction of captured exchanges: nothing secret ever enters the ring.
 *
 *  - headers: `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`
 *    keep their scheme only; `Signature` keeps its labels, not the values;
 *  - JSON bodies: every member named like a secret (`sharedSecret`, `secret`,
 *    `token`, `access_token`, `refresh_token`, `password`, `client_secret`)
 *    is masked, and each such value is then masked wherever else it shows in
 *    the exchange (a `webdav.uri` that carries the secret, a URL);
 *  - form bodies and query strings: the same names, plus `code` (the token
 *    request's shared secret); JSON `code` members are error codes and stay;
 *  - text that is not JSON: the same patterns by text;
 *  - every body is capped at 64 KiB, binary bodies are described, not kept.
 */

export const MASK = '[redacted]';
export const BODY_CAP_BYTES = 64 * 1024;

const JSON_SECRET_NAMES = new Set([
  'sharedsecret',
  'invite_string',
  'invitestring',
  'shared_secret',
  'secret',
  'token',
  'access_token',
  'accesstoken',
  'refresh_token',
  'password',
  'client_secret',
]);
const FORM_SECRET_NAMES = new Set([...JSON_SECRET_NAMES, 'code']);
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
const NAMES = [...FORM_SECRET_NAMES].join('|');
const JSON_SECRET_TEXT = new RegExp(`("(?:${[...JSON_SECRET_NAMES].join('|')})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
const FORM_SECRET_TEXT = new RegExp(`\\b(${NAMES})=[^&\\s"'<]*`, 'gi');
const AUTH_SCHEME_TEXT = /\b(Bearer|Basic)\s+(?!\[redacted\])[A-Za-z0-9._~+/=:-]{6,}/g;

/** Secret values found in one exchange, masked wherever else they show in it. */
export class SecretSet {
  private readonly values = new Set<string>();

  add(value: unknown): void {
    if (typeof value === 'string' && value.length >= 6) this.values.add(value);
  }

  scrub(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  }
}

/** Collects the secret values of a body (JSON or form) before anything is written out. */
export function collectSecrets(body: string | undefined, contentType: string | undefined, into: SecretSet): void {
  if (!body) return;
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(body)) if (FORM_SECRET_NAMES.has(name.toLowerCase())) into.add(value);
    return;
  }
  const parsed = tryJson(body);
  if (parsed === undefined) return;
  const walk = (value: unknown, key?: string): void => {
    if (typeof value === 'string') {
      if (key !== undefined && JSON_SECRET_NAMES.has(key.toLowerCase())) into.add(value);
    } else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(parsed);
}

/** Credentials in headers: the scheme stays, the value goes. */
export function collectHeaderSecrets(headers: Record<string, unknown>, into: SecretSet): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase()) || typeof value !== 'string') continue;
    const credential = value.split(/\s+/).slice(1).join(' ') || value;
    into.add(credential);
    // Basic credentials of a share (secret as user name) also show decoded.
    if (/^basic\s/i.test(value)) {
      const user = Buffer.from(credential, 'base64').toString('utf8').split(':')[0];
      into.add(user);
    }
  }
}

export function redactHeaders(headers: Record<string, unknown>, secrets: SecretSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    if (CREDENTIAL_HEADERS.has(name)) out[name] = name.includes('cookie') ? MASK : `${text.split(/\s+/)[0]} ${MASK}`;
    // Signature values are not secrets, but they are credentials of one request: labels only.
    else if (name === 'signature')
      out[name] = text.replace(/=\s*:[^:]*:/g, `=:${MASK}:`).replace(/signature="[^"]*"/gi, `signature="${MASK}"`);
    else out[name] = redactText(text, secrets);
  }
  return out;
}

/** Text redaction: JSON members and form fields named like secrets, credentials after an auth scheme, known values. */
export function redactText(text: string, secrets: SecretSet): string {
  return secrets
    .scrub(text)
    .replace(JSON_SECRET_TEXT, `$1"${MASK}"`)
    .replace(FORM_SECRET_TEXT, `$1=${MASK}`)
    .replace(AUTH_SCHEME_TEXT, `$1 ${MASK}`);
}

/** A body as the record keeps it: redacted, at most 64 KiB, binary described. */
export function captureBody(
  body: string | Buffer | undefined,
  contentType: string | undefined,
  secrets: SecretSet,
): { body?: string; bytes: number; truncated?: boolean } {
  if (body === undefined) return { bytes: 0 };
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (bytes === 0) return { bytes };
  if (Buffer.isBuffer(body) && !isTextual(contentType))
    return { body: `[${bytes} bytes of ${mediaType(contentType) ?? 'unlabelled data'}]`, bytes };
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const type = mediaType(contentType);
  let redacted: string;
  const parsed = bytes <= BODY_CAP_BYTES && type !== 'application/x-www-form-urlencoded' ? tryJson(text) : undefined;
  if (parsed !== undefined) redacted = redactText(JSON.stringify(maskJson(parsed), null, 2), secrets);
  else redacted = redactText(text, secrets);
  if (Buffer.byteLength(redacted) <= BODY_CAP_BYTES) return { body: redacted, bytes };
  return { body: Buffer.from(redacted).subarray(0, BODY_CAP_BYTES).toString('utf8'), bytes, truncated: true };
}

function maskJson(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && JSON_SECRET_NAMES.has(key.toLowerCase()) ? MASK : value;
  if (Array.isArray(value)) return value.map((item) => maskJson(item));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskJson(v, k)]));
  return value;
}

export function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function isTextual(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  if (!type) return false;
  return type.startsWith('text/') || /[/+](json|xml)$/.test(type) || type === 'application/x-www-form-urlencoded';
}

export function tryJson(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const CURL_SKIPPED_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'accept-encoding',
  'user-agent',
  'transfer-encoding',
  'keep-alive',
]);

/** `curl` for a redacted request: masked secrets stay masked (fill them in by hand). */
export function curlFor(method: string, url: string, headers: Record<string, string>, body: string | undefined): string {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const parts = ['curl', '-X', method, quote(url)];
  for (const [name, value] of Object.entries(headers)) if (!CURL_SKIPPED_HEADERS.has(name)) parts.push('-H', quote(`${name}: ${value}`));
  if (body !== undefined && !/^\[\d+ bytes of /.test(body)) parts.push('--data-raw', quote(body));
  return parts.join(' ');
}
