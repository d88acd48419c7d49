/**
 * fast-check arbitraries derived from the JSON Schemas of our OpenAPI
 * documents (as the registry compiled them), and the mutations the fuzzer
 * applies to the valid values they produce.
 *
 *  - `schemaArbitrary(registry, key, hints)` walks the schema behind a
 *    registry key (`ocm#IncomingShare`, an inline request body id, …):
 *    `$ref`, `allOf` (merged), `anyOf`/`oneOf` (one branch; required-only
 *    branches are merged into their parent), `enum`/`const`, `type` (also
 *    unions), string `format`/`pattern`/length, integer bounds, objects
 *    (required + optional + extra properties), arrays (bounds, uniqueness).
 *    `not` is not generated against; `isValid` tells the caller which values
 *    really pass. `hints` swaps in realistic values for named properties
 *    (a local recipient, a known token) so cases reach past the schema check.
 *  - `mutateValue` breaks a value the ways hostile peers do: a wrong type,
 *    a missing or an extra field (prototype keys included), a huge string,
 *    odd Unicode (RTL, zero-width, astral, lone surrogates).
 *  - `serialiseMutated` turns a value into body bytes, optionally with deep
 *    nesting spliced in, invalid UTF-8 (raw lone surrogates too) or a cut.
 */
import fc from 'fast-check';
import type { SchemaRegistry } from '../../openapi/registry.ts';

type JsonSchema = Record<string, any>;

export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** Strings that break naive handling: direction overrides, invisible characters, astral planes, lone surrogates. */
export const ODD_UNICODE = [
  '\u202Eevil\u202C', // right-to-left override
  '\u200B', // zero-width space
  '\u200D\u200C\u2060', // joiners, word joiner
  '\uFEFF', // BOM inside a string
  '😀🏳️‍🌈𝕏', // astral + ZWJ sequence
  '\uD800', // lone high surrogate
  '\uDC00', // lone low surrogate
  '\uDBFF\uDBFF', // two highs
  'a\u0000b', // NUL
  '\u0301\u0301\u0301', // combining marks with no base
  'ﷺ', // a very wide ligature
  '\u2028\u2029', // JS line separators
  '../..\\..\\',
  '%00%2F%2e%2e',
  'e\u0301', // decomposed é
  '\u{10FFFF}',
] as const;

export const oddUnicodeString: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...ODD_UNICODE), fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ maxLength: 6 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => parts.join(''));

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  uri: fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.3:9/ocm', 'https://cloud.example.org/ocm/')),
  'uri-reference': fc.oneof(fc.webUrl(), fc.constantFrom('/dav/ocm/abc', 'abc')),
  email: fc.emailAddress(),
  'date-time': fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString()),
  date: fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  uuid: fc.uuid(),
  fqdn: fc.oneof(
    fc.domain(),
    fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([d, p]) => `${d}:${p}`),
    fc.ipV4().map((ip) => `${ip}:${8080}`),
  ),
};

interface Ctx {
  registry: SchemaRegistry;
  hints: Hints;
  depth: number;
  /** Name of the component schema being expanded (`IncomingShare`), for `Name.property` hints. */
  schemaName?: string;
}

const MAX_DEPTH = 6;

function resolveRef(ctx: Ctx, ref: string): JsonSchema {
  const found = ctx.registry.ajv.getSchema(ref);
  if (!found) throw new Error(`unknown schema ${ref}`);
  return found.schema as JsonSchema;
}

/** The schema with `$ref`s at the top and `allOf` parts merged into one object schema (shallow). */
function flatten(ctx: Ctx, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let i = 0; i < 20 && typeof current.$ref === 'string'; i++) {
    const { $ref, ...rest } = current;
    current = { ...resolveRef(ctx, $ref), ...rest };
  }
  if (Array.isArray(current.allOf)) {
    const { allOf, ...rest } = current;
    let merged: JsonSchema = { ...rest };
    for (const part of allOf as JsonSchema[]) {
      const flat = flatten(ctx, part);
      merged = {
        ...flat,
        ...merged,
        properties: { ...(flat.properties ?? {}), ...(merged.properties ?? {}) },
        required: [...new Set([...(flat.required ?? []), ...(merged.required ?? [])])],
      };
      if (flat.type && !rest.type) merged.type = flat.type;
    }
    current = merged;
  }
  return current;
}

function isRequiredOnly(branch: JsonSchema): boolean {
  return Object.keys(branch).every((k) => k === 'required');
}

/** An arbitrary of values shaped by `schema`. */
function build(ctx: Ctx, input: JsonSchema | boolean): fc.Arbitrary<unknown> {
  if (input === true || input === undefined) return fc.jsonValue({ maxDepth: 1 });
  if (input === false) return fc.constant(undefined);
  if (typeof input.$ref === 'string') {
    const name = input.$ref.split('#')[1];
    if (name && !name.startsWith('inline-')) ctx = { ...ctx, schemaName: name };
  }
  const schema = flatten(ctx, input);
  const deeper: Ctx = { ...ctx, depth: ctx.depth + 1 };

  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (alternatives) {
    const { oneOf: _o, anyOf: _a, ...parent } = schema;
    if (alternatives.every(isRequiredOnly)) {
      // {properties…, anyOf: [{required: [a]}, {required: [b]}]}: each branch adds its required names.
      return fc.oneof(
        ...alternatives.map((branch) =>
          build(ctx, { ...parent, required: [...new Set([...(parent.required ?? []), ...branch.required])] }),
        ),
      );
    }
    const hasOwnShape = parent.type !== undefined || parent.properties !== undefined;
    return fc.oneof(...alternatives.map((branch) => build(ctx, hasOwnShape ? { ...parent, ...flatten(ctx, branch) } : branch)));
  }
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);

  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : guessTypes(schema);
  if (types.length > 1) return fc.oneof(...types.map((type) => build(ctx, { ...schema, type })));
  switch (types[0]) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return integerArbitrary(schema);
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (ctx.depth > MAX_DEPTH) return fc.constant([]);
      const items = build(deeper, schema.items ?? true);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) };
      if (constraints.maxLength < constraints.minLength) constraints.maxLength = constraints.minLength;
      return schema.uniqueItems
        ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(items, constraints);
    }
    case 'object':
    default:
      return objectArbitrary(ctx, deeper, schema);
  }
}

function guessTypes(schema: JsonSchema): string[] {
  if (schema.properties || schema.required || schema.additionalProperties !== undefined) return ['object'];
  if (schema.items) return ['array'];
  if (schema.pattern || schema.format || schema.minLength !== undefined) return ['string'];
  return ['string', 'integer', 'boolean', 'object'];
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format && FORMATS[schema.format]) return FORMATS[schema.format]!;
  if (typeof schema.pattern === 'string') {
    return fc
      .stringMatching(new RegExp(schema.pattern))
      .filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? 1e9));
  }
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 24, 64));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: oddUnicodeString.filter((s) => s.length >= minLength) },
  );
}

function integerArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const int32 = schema.format === 'int32';
  const min = schema.minimum ?? (int32 ? -(2 ** 31) : Number.MIN_SAFE_INTEGER);
  const max = schema.maximum ?? (int32 ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER);
  return fc.oneof(fc.integer({ min: Math.max(min, -1000), max: Math.min(max, 4_102_444_800) }), fc.integer({ min, max }));
}

function objectArbitrary(ctx: Ctx, deeper: Ctx, schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  if (ctx.depth > MAX_DEPTH) return fc.constant({});
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set<string>(schema.required ?? []);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of new Set([...Object.keys(properties), ...required])) {
    const fromSchema = build(deeper, properties[name] ?? true);
    const hint = (ctx.schemaName ? ctx.hints[`${ctx.schemaName}.${name}`] : undefined) ?? ctx.hints[name];
    record[name] = hint ? fc.oneof({ weight: 12, arbitrary: hint }, { weight: 1, arbitrary: fromSchema }) : fromSchema;
  }
  const base = fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
  const extraValue =
    schema.additionalProperties === false
      ? undefined
      : build(deeper, typeof schema.additionalProperties === 'object' ? schema.additionalProperties : true);
  if (!extraValue) return base;
  const extras = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in properties) && k !== '__proto__'),
    extraValue,
    { maxKeys: 2 },
  );
  return fc.tuple(base, fc.option(extras, { freq: 3 })).map(([value, extra]) => ({ ...(extra ?? {}), ...value }));
}

/** An arbitrary of values for the schema registered under `key` (e.g. `ocm#IncomingShare`). */
export function schemaArbitrary(registry: SchemaRegistry, key: string, hints: Hints = {}): fc.Arbitrary<unknown> {
  return build({ registry, hints, depth: 0 }, { $ref: key });
}

// ---------------------------------------------------------------------------
// mutations

export type ValueMutation =
  | 'none'
  | 'wrong-type'
  | 'drop-field'
  | 'extra-field'
  | 'huge-string'
  | 'odd-unicode'
  | 'null-body'
  | 'not-an-object';
export type ByteMutation =
  | 'none'
  | 'deep-nesting'
  | 'invalid-utf8'
  | 'raw-lone-surrogate'
  | 'truncate'
  | 'bom'
  | 'random-bytes'
  | 'trailing-garbage'
  | 'empty';

type Path = Array<string | number>;

/** Every path into `value` (containers and leaves), root first. */
export function pathsOf(value: unknown, prefix: Path = [], out: Path[] = [], limit = 200): Path[] {
  if (out.length >= limit) return out;
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) pathsOf(item, [...prefix, i], out, limit);
  } else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out, limit);
  return out;
}

function getAt(value: any, path: Path): any {
  return path.reduce((node, key) => (node == null ? undefined : node[key]), value);
}

function setAt(root: any, path: Path, replacement: unknown): any {
  if (path.length === 0) return replacement;
  const parent = getAt(root, path.slice(0, -1));
  if (parent && typeof parent === 'object') parent[path[path.length - 1]!] = replacement;
  return root;
}

const WRONG_TYPED: unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  true,
  false,
  null,
  [],
  {},
  '',
  'x',
  [1, 'a', null],
  { nested: { deeper: [] } },
  '0',
  'true',
  'null',
];
const EXTRA_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'x'.repeat(300),
  '\u0000',
  '$ref',
  'validationErrors',
  'sharedSecret',
];

export interface MutationChoice {
  value: ValueMutation;
  bytes: ByteMutation;
  /** Picks in [0,1) that steer where and how the mutation applies. */
  picks: number[];
  hugeLength: number;
  nestingDepth: number;
  odd: string;
  noise: Uint8Array;
}

export const mutationChoice: fc.Arbitrary<MutationChoice> = fc.record({
  value: fc.oneof(
    { weight: 12, arbitrary: fc.constant<ValueMutation>('none') },
    { weight: 10, arbitrary: fc.constantFrom<ValueMutation>('wrong-type', 'drop-field', 'extra-field', 'odd-unicode') },
    { weight: 2, arbitrary: fc.constantFrom<ValueMutation>('huge-string', 'null-body', 'not-an-object') },
  ),
  bytes: fc.oneof(
    { weight: 24, arbitrary: fc.constant<ByteMutation>('none') },
    { weight: 4, arbitrary: fc.constant<ByteMutation>('deep-nesting') },
    {
      weight: 6,
      arbitrary: fc.constantFrom<ByteMutation>(
        'invalid-utf8',
        'raw-lone-surrogate',
        'truncate',
        'bom',
        'random-bytes',
        'trailing-garbage',
        'empty',
      ),
    },
  ),
  picks: fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 4, maxLength: 4 }),
  hugeLength: fc.constantFrom(5_000, 70_000, 600_000, 1_100_000),
  nestingDepth: fc.constantFrom(50, 1_000, 20_000, 300_000),
  odd: oddUnicodeString,
  noise: fc.uint8Array({ maxLength: 300 }),
});

function pick<T>(items: readonly T[], r: number): T {
  return items[Math.floor(r * items.length) % items.length]!;
}

/** A mutated deep copy of `value`. */
export function mutateValue(value: unknown, choice: MutationChoice): unknown {
  const copy = value === undefined ? undefined : structuredClone(value);
  const [r0 = 0, r1 = 0, r2 = 0] = choice.picks;
  switch (choice.value) {
    case 'none':
      return copy;
    case 'null-body':
      return null;
    case 'not-an-object':
      return pick(['a string', 42, [copy], true], r0);
    case 'wrong-type': {
      const path = pick(pathsOf(copy), r0);
      const current = getAt(copy, path);
      const candidates = WRONG_TYPED.filter((c) => typeof c !== typeof current || Array.isArray(c) !== Array.isArray(current));
      return setAt(copy, path, structuredClone(pick(candidates, r1)));
    }
    case 'drop-field': {
      const paths = pathsOf(copy).filter((p) => p.length > 0 && typeof p[p.length - 1] === 'string');
      if (paths.length === 0) return copy;
      const path = pick(paths, r0);
      const parent = getAt(copy, path.slice(0, -1));
      if (parent && typeof parent === 'object') delete parent[path[path.length - 1]!];
      return copy;
    }
    case 'extra-field': {
      const objects = pathsOf(copy).filter((p) => {
        const node = getAt(copy, p);
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      });
      if (objects.length === 0) return copy;
      const target = getAt(copy, pick(objects, r0));
      Object.defineProperty(target, pick(EXTRA_KEYS, r1), {
        value: structuredClone(pick(WRONG_TYPED, r2)),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return copy;
    }
    case 'huge-string':
    case 'odd-unicode': {
      const leaves = pathsOf(copy).filter((p) => typeof getAt(copy, p) === 'string');
      const replacement =
        choice.value === 'huge-string' ? pick(['A', 'é', '😀', '\u202E'], r1).repeat(Math.ceil(choice.hugeLength / 2)) : choice.odd;
      if (leaves.length === 0) return setAt(copy, [], replacement);
      return setAt(
        copy,
        pick(leaves, r0),
        choice.value === 'odd-unicode' && r2 < 0.5 ? `${getAt(copy, pick(leaves, r0))}${replacement}` : replacement,
      );
    }
  }
}

/** Placeholder for the nesting (printable: JSON.stringify escapes control characters, which would hide it). */
const NEST = '__FUZZ_NEST_MARKER__';
const MARKER = `"${NEST}"`;
const INVALID_UTF8 = [
  Buffer.from([0xc3, 0x28]), // bad continuation
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xfe]),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xe2, 0x82]), // truncated sequence
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0x80]),
];
/** A UTF-16 surrogate encoded as if it were a code point (CESU / WTF-8): not valid UTF-8. */
const RAW_SURROGATES = [
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xed, 0xbf, 0xbf]),
  Buffer.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]),
];

/** Bytes of `value` as JSON (or `text` when given), with one byte-level mutation. */
export function serialiseMutated(value: unknown, choice: MutationChoice, text?: string): Buffer {
  const [r0 = 0, r1 = 0] = choice.picks;
  if (choice.bytes === 'deep-nesting') {
    // Half the time as a new extension member of an object (schemas that allow extra members let it through), else in place of a value.
    const objects = pathsOf(value).filter((p) => {
      const node = getAt(value, p);
      return node !== null && typeof node === 'object' && !Array.isArray(node);
    });
    let marked: unknown;
    let depth = choice.nestingDepth;
    if (objects.length > 0 && r1 >= 0.75) {
      // In every object at once: one of them is bound to be stored as given (extension members of protocol objects are).
      marked = structuredClone(value);
      for (const path of objects) getAt(marked, path)['x-deep'] = NEST;
      depth = Math.min(depth, 20_000);
    } else if (objects.length > 0 && r1 >= 0.5) {
      marked = structuredClone(value);
      const target = getAt(marked, pick(objects, r0));
      target[`x-deep-${Math.floor(r1 * 1000)}`] = NEST;
    } else {
      const leaves = pathsOf(value).filter((p) => p.length > 0);
      marked = leaves.length > 0 ? setAt(structuredClone(value), pick(leaves, r0), NEST) : NEST;
    }
    // Objects in the everywhere mode: protocol extension members must be objects to pass the schema.
    const open = r1 >= 0.75 || Math.floor(r1 * 4) % 2 === 1 ? '{"a":' : '[';
    const close = open === '[' ? ']' : '}';
    const json = JSON.stringify(marked) ?? MARKER;
    return Buffer.from(json.replaceAll(MARKER, `${open.repeat(depth)}1${close.repeat(depth)}`));
  }
  const bytes = Buffer.from(text ?? JSON.stringify(value) ?? '', 'utf8');
  switch (choice.bytes) {
    case 'none':
      return bytes;
    case 'empty':
      return Buffer.alloc(0);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 'trailing-garbage':
      return Buffer.concat([bytes, Buffer.from(pick(['}', ' x', '\u0000', ',', '{}', '\n\n{"a":1}'], r0))]);
    case 'truncate':
      return bytes.subarray(0, Math.floor(r0 * bytes.length));
    case 'random-bytes':
      return Buffer.from(choice.noise);
    case 'invalid-utf8':
    case 'raw-lone-surrogate': {
      const insert = pick(choice.bytes === 'invalid-utf8' ? INVALID_UTF8 : RAW_SURROGATES, r1);
      // Inside a string literal when there is one, so JSON still parses byte-wise.
      const quote = bytes.indexOf(0x22, Math.floor(r0 * bytes.length));
      const at = quote >= 0 ? quote + 1 : Math.floor(r0 * bytes.length);
      return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
    }
  }
}
