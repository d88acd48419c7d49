/**
 * HTTP exchanges the suites make with the target, recorded for the reports.
 * Every call has a deadline and never follows redirects. Secrets never reach
 * a transcript: `Authorization` values, `sharedSecret`, tokens, passwords and
 * the `code` form field of token requests are replaced (JSON `code` members
 * are error codes and stay), and so is any registered secret wherever it shows.
 */

export interface Exchange {
  at: string;
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response?: { status: number; headers: Record<string, string>; body: string };
  error?: string;
  durationMs: number;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  /** Parsed JSON body; undefined when absent or not JSON. */
  json: any;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON (`content-type: application/json`). */
  json?: unknown;
  /** Sent form-encoded. */
  form?: Record<string, string>;
  /** Sent as is. */
  body?: string | Buffer;
  timeoutMs?: number;
}

const SECRET_KEYS =
  /("(?:sharedSecret|shared_secret|secret|access_token|refresh_token|token|password|client_secret|authorization|cookie)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
const SECRET_FORM = /\b(code|access_token|password|sharedSecret|token)=[^&\s"]*/g;
const REDACTED = '[redacted]';

/** Secrets seen in this process: scrubbed from every transcript and report. */
const knownSecrets = new Set<string>();

export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8) knownSecrets.add(secret);
}

export function redactText(text: string): string {
  let out = text.replace(SECRET_KEYS, `$1"${REDACTED}"`).replace(SECRET_FORM, `$1=${REDACTED}`);
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = /^(authorization|cookie|set-cookie|proxy-authorization)$/i.test(name)
      ? `${text.split(' ')[0]} ${REDACTED}`
      : redactText(text);
  }
  return out;
}

export class Transcript {
  readonly exchanges: Exchange[] = [];

  async request(url: string, options: RequestOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.json === 'string' ? options.json : JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const method = options.method ?? (body === undefined ? 'GET' : 'POST');
    const started = Date.now();
    const exchange: Exchange = {
      at: new Date(started).toISOString(),
      request: {
        method,
        url,
        headers: redactHeaders(headers),
        ...(body !== undefined ? { body: redactText(body.toString().slice(0, 8000)) } : {}),
      },
      durationMs: 0,
    };
    this.exchanges.push(exchange);
    try {
      const response = await fetch(url, {
        method,
        headers,
        body: toBody(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      const bytes = Buffer.from(await response.arrayBuffer());
      const text = bytes.toString('utf8');
      exchange.durationMs = Date.now() - started;
      exchange.response = {
        status: response.status,
        headers: redactHeaders(Object.fromEntries(response.headers.entries())),
        body: redactText(text.slice(0, 8000)),
      };
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, bytes, json };
    } catch (error) {
      exchange.durationMs = Date.now() - started;
      exchange.error =
        (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 15_000} ms` : String((error as Error).message);
      throw error;
    }
  }

  redactJson(value: unknown): string {
    return redactText(JSON.stringify(value, null, 2));
  }
}

/** fetch takes bytes as a Uint8Array view; Buffer's typing does not fit BodyInit on Node 20's types. */
function toBody(body: string | Buffer | undefined): string | Uint8Array<ArrayBuffer> | undefined {
  return Buffer.isBuffer(body) ? Uint8Array.from(body) : body;
}
