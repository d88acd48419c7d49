/**
 * The one schema registry. It parses our OpenAPI documents once, turns their
 * OpenAPI 3.0 schema objects into JSON Schema, and compiles them with a single
 * strict ajv: no coercion, nothing removed, every error reported, every format
 * known. The reference server validates each request and response with it and
 * the conformance suites judge other servers with the very same schemas.
 *
 * Lookups:
 *  - by schema name: `validate('ocm', 'NewShare', value)`;
 *  - by operation: `operation('ocm', 'createShare')` gives the method, path,
 *    request schema per media type and response schema per status.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { OpenAPIV3 } from 'openapi-types';
import { ocmDocument } from './ocm.ts';
import { sciencemeshDocument } from './sciencemesh.ts';
import { opsDocument } from './ops.ts';
import { ocsDocument } from './ocs.ts';
import { isFqdnWithPort } from './formats.ts';

// ajv-formats is CommonJS; under ESM its plugin function is the `default` export.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv) => Ajv;

export const documents = {
  ocm: ocmDocument,
  sciencemesh: sciencemeshDocument,
  ops: opsDocument,
  ocs: ocsDocument,
} as const satisfies Record<string, OpenAPIV3.Document>;

export type DocumentName = keyof typeof documents;

export interface ValidationIssue {
  /** Dotted path of the offending field, e.g. `protocol.webdav.uri`; `''` for the whole value. */
  name: string;
  /** Short machine-friendly description, e.g. `REQUIRED`, `MUST_BE_STRING`. */
  message: string;
}

export type ValidationOutcome = { ok: true } | { ok: false; issues: ValidationIssue[] };

export interface OperationInfo {
  document: DocumentName;
  operationId: string;
  method: string;
  /** Path as written in the document (relative to endPoint for `x-ocm-base: endPoint`). */
  path: string;
  base: 'root' | 'endPoint';
  /** media type → schema key */
  requestBody: Map<string, string>;
  requestBodyRequired: boolean;
  /** status code (as string, or `default`) → media type → schema key; an empty map means no body. */
  responses: Map<string, Map<string, string>>;
}

const SKIPPED_KEYWORDS = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'deprecated', 'readOnly', 'writeOnly']);

/**
 * Converts one OpenAPI 3.0 schema object into JSON Schema (draft-07 dialect as
 * ajv reads it): `nullable` becomes a type union, `$ref`s into
 * `#/components/schemas` point at the registered schema ids, and annotation
 * keywords ajv does not know are dropped.
 */
export function toJsonSchema(schema: unknown, docName: string): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toJsonSchema(item, docName));
  if (schema === null || typeof schema !== 'object') return schema;
  const source = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (SKIPPED_KEYWORDS.has(key) || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = refToId(value, docName);
    } else if (key === 'nullable') {
      continue;
    } else if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([prop, sub]) => [prop, toJsonSchema(sub, docName)]),
      );
    } else {
      out[key] = toJsonSchema(value, docName);
    }
  }
  if (source.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.enum) out.enum = [...(out.enum as unknown[]), null];
    else out.anyOf = [{ ...out }, { type: 'null' }];
  }
  return out;
}

function refToId(ref: string, docName: string): string {
  const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!match) throw new Error(`unsupported $ref ${ref} in ${docName}`);
  return schemaId(docName, match[1]!);
}

export function schemaId(docName: string, schemaName: string): string {
  return `${docName}#${schemaName}`;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export class SchemaRegistry {
  readonly ajv: Ajv;
  private readonly operations = new Map<string, OperationInfo>();
  private readonly validators = new Map<string, ValidateFunction>();
  private inlineCount = 0;

  constructor(docs: Record<string, OpenAPIV3.Document> = documents) {
    this.ajv = new Ajv({
      coerceTypes: false,
      removeAdditional: false,
      useDefaults: false,
      allErrors: true,
      strict: true,
      strictRequired: false,
      strictTypes: false,
      allowUnionTypes: true,
      validateFormats: true,
    });
    addFormats(this.ajv);
    this.ajv.addFormat('fqdn', { type: 'string', validate: isFqdnWithPort });
    for (const [docName, doc] of Object.entries(docs)) this.addDocument(docName, doc);
  }

  private addDocument(docName: string, doc: OpenAPIV3.Document): void {
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      this.ajv.addSchema(toJsonSchema(schema, docName) as object, schemaId(docName, name));
    }
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      if (!item) continue;
      const base = ((item as Record<string, unknown>)['x-ocm-base'] as 'root' | 'endPoint' | undefined) ?? 'root';
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (!op) continue;
        if (!op.operationId) throw new Error(`${docName}: ${method.toUpperCase()} ${path} has no operationId`);
        const requestBody = new Map<string, string>();
        const body = op.requestBody as OpenAPIV3.RequestBodyObject | undefined;
        for (const [mediaType, media] of Object.entries(body?.content ?? {})) {
          if (media.schema) requestBody.set(mediaType, this.keyFor(docName, media.schema));
        }
        const responses = new Map<string, Map<string, string>>();
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          const byType = new Map<string, string>();
          for (const [mediaType, media] of Object.entries((response as OpenAPIV3.ResponseObject).content ?? {})) {
            if (media.schema) byType.set(mediaType, this.keyFor(docName, media.schema));
          }
          responses.set(status, byType);
        }
        this.operations.set(`${docName}.${op.operationId}`, {
          document: docName as DocumentName,
          operationId: op.operationId,
          method: method.toUpperCase(),
          path,
          base,
          requestBody,
          requestBodyRequired: body?.required === true,
          responses,
        });
      }
    }
  }

  /** Registers an inline schema under a synthetic id, or returns the id of a `$ref`. */
  private keyFor(docName: string, schema: OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject): string {
    if ('$ref' in schema) return refToId(schema.$ref, docName);
    const id = `${docName}#inline-${++this.inlineCount}`;
    this.ajv.addSchema(toJsonSchema(schema, docName) as object, id);
    return id;
  }

  private validatorFor(key: string): ValidateFunction {
    const cached = this.validators.get(key);
    if (cached) return cached;
    const found = this.ajv.getSchema(key);
    if (!found) throw new Error(`unknown schema ${key}`);
    this.validators.set(key, found);
    return found;
  }

  /** Compiles every registered schema now, so a broken document fails at start-up, not on first use. */
  compileAll(): void {
    for (const key of Object.keys((this.ajv as unknown as { schemas: Record<string, unknown> }).schemas)) {
      if (key.includes('#')) this.validatorFor(key);
    }
  }

  hasSchema(docName: DocumentName, schemaName: string): boolean {
    return this.ajv.getSchema(schemaId(docName, schemaName)) !== undefined;
  }

  /** Validates `value` against the named component schema of a document. */
  validate(docName: DocumentName, schemaName: string, value: unknown): ValidationOutcome {
    return this.validateKey(schemaId(docName, schemaName), value);
  }

  validateKey(key: string, value: unknown): ValidationOutcome {
    const fn = this.validatorFor(key);
    if (fn(value)) return { ok: true };
    return { ok: false, issues: issuesFromAjv(fn.errors ?? []) };
  }

  operation(docName: DocumentName, operationId: string): OperationInfo {
    const op = this.operations.get(`${docName}.${operationId}`);
    if (!op) throw new Error(`unknown operation ${docName}.${operationId}`);
    return op;
  }

  listOperations(): OperationInfo[] {
    return [...this.operations.values()];
  }
}

/**
 * Turns ajv errors into `validationErrors` entries: one per field, named by
 * its dotted path. Errors below a failed `oneOf`/`anyOf` are folded into one
 * entry for the field that carried the alternatives, because listing every
 * branch's complaint tells a sender nothing useful.
 */
export function issuesFromAjv(errors: ErrorObject[]): ValidationIssue[] {
  const isAlternative = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const alternatives = errors.filter(isAlternative).map((e) => e.instancePath);
  const outermost = (path: string) => alternatives.filter((alt) => isWithin(path, alt)).sort((a, b) => a.length - b.length)[0];
  const issues = new Map<string, ValidationIssue>();
  for (const error of errors) {
    const folding = outermost(error.instancePath);
    let path = error.instancePath;
    let message = messageFor(error);
    if (folding !== undefined) {
      // Only the outermost alternative speaks for everything beneath it.
      if (!isAlternative(error) || folding !== error.instancePath) continue;
      message = 'NO_MATCHING_FORMAT';
    } else if (error.keyword === 'required') {
      path = `${path}/${(error.params as { missingProperty: string }).missingProperty}`;
    }
    const name = path.split('/').filter(Boolean).map(unescapePointer).join('.');
    if (!issues.has(name)) issues.set(name, { name, message });
  }
  return [...issues.values()];
}

function isWithin(path: string, ancestor: string): boolean {
  return ancestor === '' || path === ancestor || path.startsWith(`${ancestor}/`);
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function messageFor(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'REQUIRED';
    case 'type':
      return `MUST_BE_${String((error.params as { type: string }).type)
        .toUpperCase()
        .replace(/,/g, '_OR_')}`;
    case 'enum':
    case 'const':
      return 'NOT_ALLOWED_VALUE';
    case 'format':
      return `INVALID_${String((error.params as { format: string }).format)
        .toUpperCase()
        .replace(/-/g, '_')}`;
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return 'TOO_SHORT';
    case 'maxItems':
    case 'maxLength':
    case 'maxProperties':
      return 'TOO_LONG';
    case 'uniqueItems':
      return 'DUPLICATE_ITEMS';
    case 'additionalProperties':
      return 'UNKNOWN_PROPERTY';
    case 'pattern':
      return 'INVALID_FORMAT';
    default:
      return error.keyword.toUpperCase();
  }
}

let shared: SchemaRegistry | undefined;
let allCompiled = false;

/** The process-wide registry built from our documents, every schema compiled now (a broken document fails at start-up). */
export function getRegistry(): SchemaRegistry {
  const registry = getLazyRegistry();
  if (!allCompiled) {
    registry.compileAll();
    allCompiled = true;
  }
  return registry;
}

/**
 * The same process-wide registry, each schema compiled on its first use: for
 * the suites, whose checks validate a handful of the schemas; compiling them
 * all costs every test worker a third of a second at start-up.
 */
export function getLazyRegistry(): SchemaRegistry {
  shared ??= new SchemaRegistry();
  return shared;
}
