/**
 * The inspector: a bounded ring of the latest exchanges (1,000 by default,
 * in memory only), each turned into an `ExchangeRecord` with its redacted
 * transcript and verdicts when first read (or at once while someone listens:
 * the page's event stream), so recording costs little on the request path.
 */
import type { SchemaRegistry } from '../openapi/registry.ts';
import type { ExchangeInput, ExchangeRecord, SignatureVerdict } from './exchange.ts';
import { surfaceOf } from './exchange.ts';
import {
  BODY_CAP_BYTES,
  captureBody,
  collectHeaderSecrets,
  collectSecrets,
  curlFor,
  redactHeaders,
  redactText,
  SecretSet,
} from './redact.ts';
import { requirementMap, type RequirementMap } from './requirements.ts';
import { findOperation, requestVerdict, requirementsOf, responseVerdict, schemaLine, signatureLine } from './verdicts.ts';

export const DEFAULT_CAPACITY = 1000;

export interface InspectorOptions {
  registry: SchemaRegistry;
  /** How many exchanges the ring keeps (default 1,000); the oldest go first. */
  capacity?: number;
  /** Prefix of record ids (e.g. `a` for instance A), so ids from several sources never clash. */
  idPrefix?: string;
}

type Listener = (record: ExchangeRecord) => void;

/**
 * One slot of the ring: the raw facts as captured, turned into the shown
 * record (redaction, schema verdicts, requirement links) once, when first read.
 * Recording stays cheap on the request path; what is shown is the same.
 */
interface Slot {
  id: string;
  input?: ExchangeInput;
  record?: ExchangeRecord;
}

/**
 * Bodies above this size are turned into records at once, so a pending slot
 * never keeps more than about what a record keeps (the shown body is capped at
 * the same size): the ring's memory stays bounded as before.
 */
const LAZY_BODY_LIMIT_BYTES = BODY_CAP_BYTES;

export class Inspector {
  readonly capacity: number;
  private readonly ring: Array<Slot | undefined>;
  private next = 0;
  private sequence = 0;
  private readonly listeners = new Set<Listener>();
  private readonly registry: SchemaRegistry;
  private readonly requirements: RequirementMap;
  private readonly idPrefix: string;

  constructor(options: InspectorOptions) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error('the inspector keeps at least one exchange');
    this.ring = new Array(this.capacity);
    this.registry = options.registry;
    this.requirements = requirementMap();
    this.idPrefix = options.idPrefix ?? 'x';
  }

  /** How many exchanges were recorded since start (the ring keeps the last `capacity`). */
  get total(): number {
    return this.sequence;
  }

  /** Records an exchange and returns its record (built at once). */
  record(input: ExchangeInput): ExchangeRecord {
    return this.recordOf(this.store(input));
  }

  /**
   * Records an exchange cheaply and returns its id: the record is built when
   * first read, or at once when someone listens (the page's live view) or a
   * body is large.
   */
  capture(input: ExchangeInput): string {
    return this.store(input).id;
  }

  private store(input: ExchangeInput): Slot {
    const id = input.id ?? `${this.idPrefix}${this.sequence + 1}`;
    this.sequence++;
    const slot: Slot = { id, input };
    this.ring[this.next] = slot;
    this.next = (this.next + 1) % this.capacity;
    if (
      this.listeners.size > 0 ||
      bodySize(input.requestBody) > LAZY_BODY_LIMIT_BYTES ||
      bodySize(input.responseBody) > LAZY_BODY_LIMIT_BYTES
    ) {
      const record = this.recordOf(slot);
      for (const listener of this.listeners) {
        try {
          listener(record);
        } catch {
          // a listener that fails (a closed page) never disturbs the capture
        }
      }
    }
    return slot;
  }

  /** Kept exchanges, newest first. */
  list(): ExchangeRecord[] {
    const out: ExchangeRecord[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const slot = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (!slot) break;
      out.push(this.recordOf(slot));
    }
    return out;
  }

  get(id: string): ExchangeRecord | undefined {
    const slot = this.ring.find((s) => s?.id === id);
    return slot ? this.recordOf(slot) : undefined;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private recordOf(slot: Slot): ExchangeRecord {
    if (!slot.record) {
      slot.record = this.build(slot.id, slot.input!);
      slot.input = undefined;
    }
    return slot.record;
  }

  private build(id: string, input: ExchangeInput): ExchangeRecord {
    const requestType = header(input.requestHeaders, 'content-type');
    const responseType = header(input.responseHeaders ?? {}, 'content-type');
    const requestText = textOf(input.requestBody);
    const responseText = textOf(input.responseBody);
    // Secrets are collected from everything first, so each is masked wherever else it shows.
    const secrets = new SecretSet();
    collectHeaderSecrets(input.requestHeaders, secrets);
    collectHeaderSecrets(input.responseHeaders ?? {}, secrets);
    collectSecrets(requestText, requestType, secrets);
    collectSecrets(responseText, responseType, secrets);

    let path: string;
    try {
      path = new URL(input.url).pathname;
    } catch {
      path = input.url.split('?')[0]!;
    }
    const surface = surfaceOf(path);
    const operation = findOperation(this.registry, input, path);
    const operationKey = operation ? `${operation.document}.${operation.operationId}` : undefined;
    const fields = operationKey ? this.requirements.operations.get(operationKey) : undefined;
    const schema = {
      request: requestVerdict(this.registry, operation, requestText, requestType, fields?.request ?? {}),
      response: responseVerdict(this.registry, operation, input.status, responseText, responseType, fields?.response ?? {}),
    };
    const signature: SignatureVerdict = input.signature ?? { status: 'not-checked' };
    const requirements = requirementsOf(this.requirements, operationKey, surface, schema, signature);
    const url = redactText(input.url, secrets);
    const requestHeaders = redactHeaders(input.requestHeaders, secrets);
    const request = { headers: requestHeaders, ...captureBody(input.requestBody, requestType, secrets) };
    const problem =
      input.status === undefined ||
      input.status >= 400 ||
      schema.request.status === 'invalid' ||
      schema.response.status === 'invalid' ||
      signature.status === 'refused';
    const shownPath = redactText(path, secrets);
    const verdict = [
      `${input.method} ${shownPath} ${input.status ?? 'no answer'}`,
      schemaLine(schema),
      signatureLine(signature),
      ...(input.error ? [redactText(input.error, secrets)] : []),
    ].join(' · ');
    return {
      id,
      at: new Date(input.startedAt).toISOString(),
      direction: input.direction,
      surface,
      peer: input.peer,
      method: input.method,
      url,
      ...(input.status !== undefined ? { status: input.status } : {}),
      ...(input.error ? { error: redactText(input.error, secrets) } : {}),
      durationMs: Math.round(input.durationMs * 10) / 10,
      request,
      ...(input.responseHeaders || input.responseBody !== undefined
        ? {
            response: {
              headers: redactHeaders(input.responseHeaders ?? {}, secrets),
              ...captureBody(input.responseBody, responseType, secrets),
            },
          }
        : {}),
      ...(operationKey ? { operation: operationKey } : {}),
      signature,
      schema,
      requirements,
      problem,
      verdict,
      curl: curlFor(input.method, url, requestHeaders, request.body),
    };
  }
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
}

function textOf(body: string | Buffer | undefined): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? body : body.subarray(0, 1024 * 1024).toString('utf8');
}

/** Size of a body, cheaply: bytes of a buffer, UTF-16 units of a string (its UTF-8 size is at most three times that). */
function bodySize(body: string | Buffer | undefined): number {
  if (body === undefined) return 0;
  return body.length;
}
