/**
 * A tiny HTTP client for tests and the smoke run: JSON in, JSON (or bytes) out,
 * HTTP Basic for local users, a deadline on every call.
 */
export interface Credentials {
  username: string;
  password: string;
}

export interface CallOptions {
  method?: string;
  user?: Credentials;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  body: any;
}

export function basic(user: Credentials): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

export async function call(url: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.user) headers.authorization = basic(options.user);
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers,
    body: toBody(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, bytes, body: parsed };
}

/** fetch takes bytes as a Uint8Array view; Buffer's typing does not fit BodyInit on Node 20's types. */
function toBody(body: string | Buffer | undefined): string | Uint8Array<ArrayBuffer> | undefined {
  return Buffer.isBuffer(body) ? Uint8Array.from(body) : body;
}
