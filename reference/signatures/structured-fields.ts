/**
 * A small RFC 8941 (Structured Field Values for HTTP) parser and serialiser,
 * enough for HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530):
 * dictionaries, lists, items, inner lists, parameters and the six RFC 8941
 * bare item types (integer, decimal, string, token, byte sequence, boolean).
 *
 * Parsing follows the algorithms of RFC 8941 §4.2 step by step and fails
 * (throws StructuredFieldError) on anything they reject; callers that handle
 * untrusted headers catch that error and report "malformed".
 *
 * Serialisation follows RFC 8941 §4.1. Round-tripping a well-formed value
 * gives its canonical form, which RFC 9421 relies on for "@signature-params".
 */

export class StructuredFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructuredFieldError';
  }
}

export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Buffer }
  | { type: 'boolean'; value: boolean };

export type Parameters = Map<string, BareItem>;

export interface Item {
  kind: 'item';
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: 'inner-list';
  items: Item[];
  params: Parameters;
}

export type Member = Item | InnerList;
export type Dictionary = Map<string, Member>;
export type List = Member[];

// ---------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------

export const sf = {
  integer: (value: number): BareItem => ({ type: 'integer', value }),
  decimal: (value: number): BareItem => ({ type: 'decimal', value }),
  string: (value: string): BareItem => ({ type: 'string', value }),
  token: (value: string): BareItem => ({ type: 'token', value }),
  bytes: (value: Buffer): BareItem => ({ type: 'bytes', value }),
  boolean: (value: boolean): BareItem => ({ type: 'boolean', value }),
  item: (value: BareItem, params: Parameters = new Map()): Item => ({ kind: 'item', value, params }),
  innerList: (items: Item[], params: Parameters = new Map()): InnerList => ({ kind: 'inner-list', items, params }),
};

// ---------------------------------------------------------------------------
// parsing (RFC 8941 §4.2)
// ---------------------------------------------------------------------------

const MAX_INPUT = 64 * 1024;

/** Joins the field lines of one field the way RFC 9110 §5.3 combines them. */
export function combineFieldLines(value: string | readonly string[]): string {
  return typeof value === 'string' ? value : value.join(', ');
}

class Parser {
  private pos = 0;
  constructor(private readonly input: string) {
    if (input.length > MAX_INPUT) throw new StructuredFieldError('field value too long');
    // RFC 8941 §4.2: fields are ASCII; anything else fails parsing.
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c > 0x7e || (c < 0x20 && c !== 0x09)) throw new StructuredFieldError(`non-ASCII or control character at ${i}`);
    }
  }

  private peek(): string {
    return this.input[this.pos] ?? '';
  }

  private eof(): boolean {
    return this.pos >= this.input.length;
  }

  private fail(what: string): never {
    throw new StructuredFieldError(`${what} at offset ${this.pos}`);
  }

  private skipSP(): void {
    while (this.peek() === ' ') this.pos++;
  }

  private skipOWS(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Top-level entry: leading and trailing SP are discarded, then the whole input must be consumed. */
  top<T>(parse: () => T): T {
    this.skipSP();
    const result = parse();
    this.skipSP();
    if (!this.eof()) this.fail('unexpected trailing characters');
    return result;
  }

  dictionary(): Dictionary {
    const dict: Dictionary = new Map();
    while (!this.eof()) {
      const key = this.key();
      let member: Member;
      if (this.peek() === '=') {
        this.pos++;
        member = this.itemOrInnerList();
      } else {
        member = sf.item(sf.boolean(true), this.parameters());
      }
      // RFC 8941: a repeated key overwrites the earlier value.
      dict.delete(key);
      dict.set(key, member);
      this.skipOWS();
      if (this.eof()) return dict;
      if (this.peek() !== ',') this.fail('expected ","');
      this.pos++;
      this.skipOWS();
      if (this.eof()) this.fail('trailing ","');
    }
    return dict;
  }

  list(): List {
    const list: List = [];
    while (!this.eof()) {
      list.push(this.itemOrInnerList());
      this.skipOWS();
      if (this.eof()) return list;
      if (this.peek() !== ',') this.fail('expected ","');
      this.pos++;
      this.skipOWS();
      if (this.eof()) this.fail('trailing ","');
    }
    return list;
  }

  itemOrInnerList(): Member {
    return this.peek() === '(' ? this.innerList() : this.item();
  }

  innerList(): InnerList {
    if (this.peek() !== '(') this.fail('expected "("');
    this.pos++;
    const items: Item[] = [];
    while (!this.eof()) {
      this.skipSP();
      if (this.peek() === ')') {
        this.pos++;
        return sf.innerList(items, this.parameters());
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in inner list');
    }
    return this.fail('unterminated inner list');
  }

  item(): Item {
    const value = this.bareItem();
    return sf.item(value, this.parameters());
  }

  parameters(): Parameters {
    const params: Parameters = new Map();
    while (this.peek() === ';') {
      this.pos++;
      this.skipSP();
      const key = this.key();
      let value: BareItem = sf.boolean(true);
      if (this.peek() === '=') {
        this.pos++;
        value = this.bareItem();
      }
      params.delete(key);
      params.set(key, value);
    }
    return params;
  }

  key(): string {
    const start = this.pos;
    const first = this.peek();
    if (!/^[a-z*]$/.test(first)) this.fail('invalid key');
    this.pos++;
    while (/^[a-z0-9_\-.*]$/.test(this.peek())) this.pos++;
    return this.input.slice(start, this.pos);
  }

  bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || /^[0-9]$/.test(c)) return this.number();
    if (c === '"') return this.string();
    if (c === '*' || /^[A-Za-z]$/.test(c)) return this.token();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    return this.fail('unrecognised item');
  }

  number(): BareItem {
    let sign = 1;
    if (this.peek() === '-') {
      sign = -1;
      this.pos++;
    }
    if (!/^[0-9]$/.test(this.peek())) this.fail('expected digit');
    let num = '';
    let isDecimal = false;
    while (!this.eof()) {
      const c = this.peek();
      if (/^[0-9]$/.test(c)) {
        num += c;
        this.pos++;
      } else if (!isDecimal && c === '.') {
        if (num.length > 12) this.fail('decimal integer part too long');
        num += c;
        isDecimal = true;
        this.pos++;
      } else {
        break;
      }
      if (!isDecimal && num.length > 15) this.fail('integer too long');
      if (isDecimal && num.length > 16) this.fail('decimal too long');
    }
    if (!isDecimal) return sf.integer(sign * Number.parseInt(num, 10));
    if (num.endsWith('.')) this.fail('decimal ends with "."');
    if (num.length - num.indexOf('.') - 1 > 3) this.fail('decimal fraction too long');
    return sf.decimal(sign * Number.parseFloat(num));
  }

  string(): BareItem {
    this.pos++; // opening DQUOTE
    let out = '';
    while (!this.eof()) {
      const c = this.input[this.pos++]!;
      if (c === '\\') {
        if (this.eof()) this.fail('unterminated escape');
        const next = this.input[this.pos++]!;
        if (next !== '"' && next !== '\\') this.fail('invalid escape');
        out += next;
      } else if (c === '"') {
        return sf.string(out);
      } else {
        const code = c.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) this.fail('invalid string character');
        out += c;
      }
    }
    return this.fail('unterminated string');
  }

  token(): BareItem {
    const start = this.pos;
    this.pos++;
    while (/^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]$/.test(this.peek())) this.pos++;
    return sf.token(this.input.slice(start, this.pos));
  }

  bytes(): BareItem {
    this.pos++; // opening ":"
    const start = this.pos;
    while (/^[A-Za-z0-9+/=]$/.test(this.peek())) this.pos++;
    if (this.peek() !== ':') this.fail('unterminated or invalid byte sequence');
    const b64 = this.input.slice(start, this.pos);
    this.pos++;
    // Padding must only appear at the end, and the length must be a whole number of quanta
    // once padded; RFC 8941 lets parsers be lenient about missing padding, so we accept that.
    if (/=[^=]/.test(b64) || b64.replace(/=+$/, '').length % 4 === 1) {
      this.pos = start;
      this.fail('invalid base64 in byte sequence');
    }
    return sf.bytes(Buffer.from(b64, 'base64'));
  }

  boolean(): BareItem {
    this.pos++; // "?"
    const c = this.peek();
    if (c === '1' || c === '0') {
      this.pos++;
      return sf.boolean(c === '1');
    }
    return this.fail('invalid boolean');
  }
}

export function parseDictionary(value: string | readonly string[]): Dictionary {
  const p = new Parser(combineFieldLines(value));
  return p.top(() => p.dictionary());
}

export function parseList(value: string | readonly string[]): List {
  const p = new Parser(combineFieldLines(value));
  return p.top(() => p.list());
}

export function parseItem(value: string | readonly string[]): Item {
  const p = new Parser(combineFieldLines(value));
  return p.top(() => p.item());
}

// ---------------------------------------------------------------------------
// serialising (RFC 8941 §4.1)
// ---------------------------------------------------------------------------

export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case 'integer':
      if (!Number.isInteger(item.value) || Math.abs(item.value) > 999_999_999_999_999) {
        throw new StructuredFieldError(`not a structured-field integer: ${item.value}`);
      }
      return String(item.value);
    case 'decimal': {
      const rounded = Math.round(item.value * 1000) / 1000;
      if (!Number.isFinite(rounded) || Math.abs(Math.trunc(rounded)) > 999_999_999_999) {
        throw new StructuredFieldError(`not a structured-field decimal: ${item.value}`);
      }
      const s = String(rounded);
      return s.includes('.') ? s : `${s}.0`;
    }
    case 'string':
      if (!/^[\x20-\x7e]*$/.test(item.value)) throw new StructuredFieldError('string contains non-printable characters');
      return `"${item.value.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
    case 'token':
      if (!/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(item.value)) throw new StructuredFieldError(`invalid token ${item.value}`);
      return item.value;
    case 'bytes':
      return `:${item.value.toString('base64')}:`;
    case 'boolean':
      return item.value ? '?1' : '?0';
  }
}

function serializeKey(key: string): string {
  if (!/^[a-z*][a-z0-9_\-.*]*$/.test(key)) throw new StructuredFieldError(`invalid key ${key}`);
  return key;
}

export function serializeParameters(params: Parameters): string {
  let out = '';
  for (const [key, value] of params) {
    out += `;${serializeKey(key)}`;
    if (!(value.type === 'boolean' && value.value)) out += `=${serializeBareItem(value)}`;
  }
  return out;
}

export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(' ')})${serializeParameters(list.params)}`;
}

export function serializeMember(member: Member): string {
  return member.kind === 'inner-list' ? serializeInnerList(member) : serializeItem(member);
}

export function serializeList(list: List): string {
  return list.map(serializeMember).join(', ');
}

export function serializeDictionary(dict: Dictionary): string {
  const parts: string[] = [];
  for (const [key, member] of dict) {
    if (member.kind === 'item' && member.value.type === 'boolean' && member.value.value) {
      parts.push(serializeKey(key) + serializeParameters(member.params));
    } else {
      parts.push(`${serializeKey(key)}=${serializeMember(member)}`);
    }
  }
  return parts.join(', ');
}
