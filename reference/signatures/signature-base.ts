/**
 * The RFC 9421 signature base (§2.5) for requests: the one implementation
 * used by both the signer and the verifier.
 *
 * Supported component identifiers:
 *  - derived: "@method" "@target-uri" "@authority" "@scheme" "@request-target"
 *    "@path" "@query" "@query-param";name="…"
 *  - HTTP fields by lower-case name, with the `sf`, `key` and `bs` parameters.
 * Request-bound (`req`) and trailer (`tr`) parameters and "@status" only make
 * sense for responses / trailers and are rejected as unavailable.
 *
 * The request URL must be the absolute target URI as sent on the wire (for a
 * receiver: scheme + Host + raw request-target). It is used verbatim for
 * "@target-uri" and parsed for the other derived components.
 */
import { normaliseHeaders, type HeaderMap } from './profile.ts';
import {
  parseDictionary,
  parseItem,
  parseList,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeList,
  serializeMember,
  sf,
  type InnerList,
  type Item,
  type Parameters,
} from './structured-fields.ts';

export interface MessageRequest {
  method: string;
  url: string | URL;
  headers: HeaderMap;
}

export class SignatureBaseError extends Error {
  constructor(
    readonly code: 'unavailable' | 'invalid-component',
    readonly component: string,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureBaseError';
  }
}

/** Fields whose structured type we know, for the `sf` parameter. */
const STRUCTURED_FIELD_TYPES: Record<string, 'dictionary' | 'list' | 'item'> = {
  'content-digest': 'dictionary',
  'repr-digest': 'dictionary',
  'want-content-digest': 'dictionary',
  'want-repr-digest': 'dictionary',
  signature: 'dictionary',
  'signature-input': 'dictionary',
  'accept-signature': 'dictionary',
  priority: 'dictionary',
  'cache-status': 'list',
  'proxy-status': 'list',
};

const DERIVED = new Set(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', '@query-param']);

/**
 * Turns a component written as a bare name (`@method`, `content-type`) or as a
 * serialised identifier (`"@query-param";name="id"`, `"content-digest";sf`)
 * into an RFC 8941 item.
 */
export function componentId(spec: string | Item): Item {
  if (typeof spec !== 'string') return spec;
  if (spec.startsWith('"')) return parseItem(spec);
  return sf.item(sf.string(spec));
}

export function componentName(id: Item): string {
  return id.value.type === 'string' ? id.value.value : serializeItem(id);
}

/** Builds the serialised `@signature-params` value: `("c1" "c2");p1=…;p2=…`. */
export function signatureParams(components: readonly Item[], params: Parameters): InnerList {
  return sf.innerList([...components], params);
}

function urlOf(request: MessageRequest, component: string): URL {
  try {
    return typeof request.url === 'string' ? new URL(request.url) : request.url;
  } catch {
    throw new SignatureBaseError(
      'unavailable',
      component,
      `${component}: request URL ${JSON.stringify(String(request.url))} is not absolute`,
    );
  }
}

/** RFC 9421 §2.2.8: percent-encoding of the application/x-www-form-urlencoded set, space as %20. */
function formEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9*\-._]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function formDecode(value: string): string {
  return new URLSearchParams(`a=${value}`).get('a') ?? '';
}

function derivedValue(request: MessageRequest, name: string, params: Parameters): string {
  for (const key of params.keys()) {
    if (!(name === '@query-param' && key === 'name')) {
      throw new SignatureBaseError('unavailable', name, `${name}: parameter ";${key}" is not supported on a request component`);
    }
  }
  switch (name) {
    case '@method':
      return request.method;
    case '@target-uri':
      urlOf(request, name);
      return String(request.url);
    case '@authority':
      return urlOf(request, name).host.toLowerCase();
    case '@scheme':
      return urlOf(request, name).protocol.replace(/:$/, '').toLowerCase();
    case '@request-target': {
      const url = urlOf(request, name);
      return `${url.pathname}${url.search}`;
    }
    case '@path':
      return urlOf(request, name).pathname || '/';
    case '@query':
      return urlOf(request, name).search || '?';
    case '@query-param': {
      const nameParam = params.get('name');
      if (!nameParam || nameParam.type !== 'string') {
        throw new SignatureBaseError('invalid-component', name, '@query-param needs a string ";name" parameter');
      }
      const wanted = formDecode(nameParam.value);
      const values = new URLSearchParams(urlOf(request, name).search).getAll(wanted).map(formEncode);
      if (values.length === 0)
        throw new SignatureBaseError('unavailable', name, `@query-param: no query parameter ${JSON.stringify(wanted)}`);
      // RFC 9421 §2.2.8: a parameter that occurs more than once cannot be covered.
      if (values.length > 1)
        throw new SignatureBaseError('unavailable', name, `@query-param: query parameter ${JSON.stringify(wanted)} occurs more than once`);
      return values[0]!;
    }
    default:
      throw new SignatureBaseError('unavailable', name, `unsupported derived component ${name}`);
  }
}

function fieldValue(headers: Map<string, string[]>, name: string, params: Parameters): string {
  if (name !== name.toLowerCase())
    throw new SignatureBaseError('invalid-component', name, `component name ${JSON.stringify(name)} must be lower case`);
  for (const key of params.keys()) {
    if (key !== 'sf' && key !== 'key' && key !== 'bs') {
      throw new SignatureBaseError('unavailable', name, `"${name}": parameter ";${key}" is not supported on a request field`);
    }
  }
  const lines = headers.get(name);
  if (!lines || lines.length === 0) throw new SignatureBaseError('unavailable', name, `covered field "${name}" is not in the message`);
  // RFC 9421 §2.1: trim each field line, replace obs-fold, join with ", ".
  const cleaned = lines.map((line) => line.replace(/\r?\n[ \t]+/g, ' ').trim());
  const hasBs = params.has('bs');
  const keyParam = params.get('key');
  if (hasBs && (params.has('sf') || keyParam))
    throw new SignatureBaseError('invalid-component', name, `"${name}": ;bs cannot be combined with ;sf or ;key`);
  if (hasBs) return cleaned.map((line) => `:${Buffer.from(line, 'latin1').toString('base64')}:`).join(', ');
  if (keyParam) {
    if (keyParam.type !== 'string') throw new SignatureBaseError('invalid-component', name, `"${name}": ;key must be a string`);
    let dict;
    try {
      dict = parseDictionary(cleaned);
    } catch (error) {
      throw new SignatureBaseError('unavailable', name, `"${name}" is not a structured dictionary: ${(error as Error).message}`);
    }
    const member = dict.get(keyParam.value);
    if (!member) throw new SignatureBaseError('unavailable', name, `"${name}" has no member ${JSON.stringify(keyParam.value)}`);
    return serializeMember(member);
  }
  if (params.has('sf')) {
    const type = STRUCTURED_FIELD_TYPES[name];
    if (!type) throw new SignatureBaseError('unavailable', name, `"${name}";sf: structured type of this field is unknown`);
    try {
      if (type === 'dictionary') return serializeDictionary(parseDictionary(cleaned));
      if (type === 'list') return serializeList(parseList(cleaned));
      return serializeItem(parseItem(cleaned));
    } catch (error) {
      throw new SignatureBaseError('unavailable', name, `"${name}";sf does not parse: ${(error as Error).message}`);
    }
  }
  return cleaned.join(', ');
}

/** The value of one covered component. Throws SignatureBaseError when the message cannot supply it. */
export function componentValue(request: MessageRequest, id: Item, headers = normaliseHeaders(request.headers)): string {
  if (id.value.type !== 'string')
    throw new SignatureBaseError('invalid-component', serializeItem(id), 'component identifiers must be strings');
  const name = id.value.value;
  if (name === '@signature-params')
    throw new SignatureBaseError('invalid-component', name, '"@signature-params" cannot be a covered component');
  if (name === '@status') throw new SignatureBaseError('unavailable', name, '"@status" does not exist on a request');
  if (name.startsWith('@')) {
    if (!DERIVED.has(name)) throw new SignatureBaseError('unavailable', name, `unsupported derived component ${name}`);
    return derivedValue(request, name, id.params);
  }
  return fieldValue(headers, name, id.params);
}

/** Throws when the same identifier (name and parameters) is covered twice (RFC 9421 §2.5). */
export function assertNoDuplicateComponents(components: readonly Item[]): void {
  const seen = new Set<string>();
  for (const id of components) {
    const key = serializeItem(id);
    if (seen.has(key)) throw new SignatureBaseError('invalid-component', key, `component ${key} is covered more than once`);
    seen.add(key);
  }
}

/**
 * RFC 9421 §2.5: one line `<identifier>: <value>` per covered component, then
 * `"@signature-params": <inner list>`, joined by LF without a trailing LF.
 */
export function buildSignatureBase(request: MessageRequest, input: InnerList): string {
  assertNoDuplicateComponents(input.items);
  const headers = normaliseHeaders(request.headers);
  const lines: string[] = [];
  for (const id of input.items) {
    const value = componentValue(request, id, headers);
    if (/[\r\n]/.test(value)) throw new SignatureBaseError('unavailable', serializeItem(id), 'component value contains a line break');
    lines.push(`${serializeItem(id)}: ${value}`);
  }
  lines.push(`"@signature-params": ${serializeInnerList(input)}`);
  return lines.join('\n');
}
