/**
 * The schema verdict of an exchange and the requirements it touched. The
 * judging is the openapi/ registry's (the one the reference validates every
 * request and response with, and the suites judge other servers with); this
 * module only finds the operation, picks the schema for the media type and
 * status, and turns the registry's issues into JSON pointers and sentences.
 */
import type { ErrorObject } from 'ajv';
import { issuesFromAjv, type DocumentName, type OperationInfo, type SchemaRegistry, type ValidationIssue } from '../openapi/registry.ts';
import type { ExchangeInput, SchemaVerdict, SchemaViolation, SignatureVerdict } from './exchange.ts';
import { mediaType, tryJson } from './redact.ts';
import { requirementsForField, type RequirementMap } from './requirements.ts';

/** The operation an exchange belongs to: the capture point's, else an `ocm` operation matched by method and path. */
export function findOperation(
  registry: SchemaRegistry,
  input: Pick<ExchangeInput, 'operation' | 'method'>,
  path: string,
): OperationInfo | undefined {
  if (input.operation) {
    try {
      return registry.operation(input.operation.doc as DocumentName, input.operation.id);
    } catch {
      return undefined;
    }
  }
  const candidates = registry.listOperations().filter((op) => op.document === 'ocm' && op.method === input.method.toUpperCase());
  return (
    candidates.find((op) => op.base === 'root' && op.path === path) ??
    candidates.find((op) => op.base === 'endPoint' && path.endsWith(op.path))
  );
}

export function requestVerdict(
  registry: SchemaRegistry,
  operation: OperationInfo | undefined,
  body: string | undefined,
  contentType: string | undefined,
  byField: Record<string, string[]>,
): SchemaVerdict {
  if (!operation) return { status: 'not-checked', reason: 'no OpenAPI operation describes this exchange' };
  if (operation.requestBody.size === 0) return { status: 'not-checked', reason: 'the operation takes no body' };
  const name = `${operation.document}.${operation.operationId} request`;
  if (!body) {
    return operation.requestBodyRequired
      ? invalid(name, [{ name: '', message: 'REQUIRED' }], byField)
      : { status: 'not-checked', reason: 'no body' };
  }
  const type = mediaType(contentType);
  const key = type ? operation.requestBody.get(type) : undefined;
  if (!key) return invalid(name, [{ name: '', message: `UNSUPPORTED_MEDIA_TYPE ${type ?? '(none)'}` }], byField);
  const value = type === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(body)) : tryJson(body);
  if (value === undefined) return invalid(name, [{ name: '', message: 'INVALID_JSON' }], byField);
  const outcome = registry.validateKey(key, value);
  return outcome.ok ? { status: 'valid', schema: name } : invalid(name, explainAlternatives(registry, key, value, outcome.issues), byField);
}

export function responseVerdict(
  registry: SchemaRegistry,
  operation: OperationInfo | undefined,
  status: number | undefined,
  body: string | undefined,
  contentType: string | undefined,
  byField: Record<string, string[]>,
): SchemaVerdict {
  if (!operation) return { status: 'not-checked', reason: 'no OpenAPI operation describes this exchange' };
  if (status === undefined) return { status: 'not-checked', reason: 'no answer' };
  const name = `${operation.document}.${operation.operationId} ${status}`;
  const declared = operation.responses.get(String(status)) ?? operation.responses.get('default');
  if (!declared) return invalid(name, [{ name: '', message: `UNDECLARED_STATUS ${status}` }], byField);
  if (declared.size === 0) return { status: 'valid', schema: name };
  const type = mediaType(contentType);
  const key = declared.get('application/json');
  if (!type || !/[/+]json$/.test(type)) {
    return type && declared.has(type)
      ? { status: 'valid', schema: name }
      : invalid(name, [{ name: '', message: `UNDECLARED_MEDIA_TYPE ${type ?? '(none)'}` }], byField);
  }
  if (!key) return invalid(name, [{ name: '', message: `UNDECLARED_MEDIA_TYPE ${type}` }], byField);
  const value = body ? tryJson(body) : undefined;
  if (value === undefined) return invalid(name, [{ name: '', message: 'INVALID_JSON' }], byField);
  const outcome = registry.validateKey(key, value);
  return outcome.ok ? { status: 'valid', schema: name } : invalid(name, explainAlternatives(registry, key, value, outcome.issues), byField);
}

type SchemaNode = Record<string, unknown>;

/**
 * The registry folds a failed `oneOf`/`anyOf` into one `NO_MATCHING_FORMAT`
 * (right for an error body: every branch's complaint tells a sender
 * nothing). A developer wants the closest branch: this validates the value
 * against each alternative with the same registry and reports the issues of
 * the one it came closest to: no branch whose discriminator (an enum or a
 * const) failed, then the deepest issues, then the fewest.
 */
function explainAlternatives(registry: SchemaRegistry, key: string, value: unknown, issues: ValidationIssue[]): ValidationIssue[] {
  return issues.flatMap((issue) => {
    if (issue.message !== 'NO_MATCHING_FORMAT') return [issue];
    const segments = issue.name === '' ? [] : issue.name.split('.');
    const node = schemaAt(registry, { $ref: key }, segments);
    const branches = (node?.oneOf ?? node?.anyOf) as SchemaNode[] | undefined;
    const part = segments.reduce<unknown>((v, s) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined), value);
    if (!branches) return [issue];
    let best: { errors: ErrorObject[]; depth: number } | undefined;
    for (const branch of branches) {
      const errors = branchErrors(registry, branch, part);
      if (errors.length === 0 || errors.some((e) => e.keyword === 'enum' || e.keyword === 'const')) continue;
      const depth = Math.max(...errors.map((e) => e.instancePath.split('/').length + (e.keyword === 'required' ? 1 : 0)));
      if (!best || depth > best.depth || (depth === best.depth && errors.length < best.errors.length)) best = { errors, depth };
    }
    if (!best) return [issue];
    const prefix = issue.name === '' ? '' : `${issue.name}.`;
    return issuesFromAjv(best.errors).map((inner) => ({ name: `${prefix}${inner.name}`.replace(/\.$/, ''), message: inner.message }));
  });
}

const branchValidators = new WeakMap<SchemaNode, (value: unknown) => ErrorObject[]>();

function branchErrors(registry: SchemaRegistry, branch: SchemaNode, value: unknown): ErrorObject[] {
  let validate = branchValidators.get(branch);
  if (!validate) {
    const compiled = registry.ajv.compile(branch);
    validate = (v) => (compiled(v) ? [] : [...(compiled.errors ?? [])]);
    branchValidators.set(branch, validate);
  }
  return validate(value);
}

/** The (JSON) schema that applies at a dotted path, following properties, items and $refs. */
function schemaAt(registry: SchemaRegistry, start: SchemaNode, segments: string[]): SchemaNode | undefined {
  const resolve = (node: SchemaNode | undefined): SchemaNode | undefined => {
    let current = node;
    for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++)
      current = registry.ajv.getSchema(current.$ref)?.schema as SchemaNode | undefined;
    return current;
  };
  let node = resolve(start);
  for (const segment of segments) {
    if (!node) return undefined;
    const properties = node.properties as Record<string, SchemaNode> | undefined;
    node = resolve(properties?.[segment] ?? (/^\d+$/.test(segment) ? (node.items as SchemaNode | undefined) : undefined));
  }
  return node;
}

function invalid(schema: string, issues: ValidationIssue[], byField: Record<string, string[]>): SchemaVerdict {
  return {
    status: 'invalid',
    schema,
    violations: issues.map(
      (issue): SchemaViolation => ({
        pointer:
          issue.name === ''
            ? ''
            : `/${issue.name
                .split('.')
                .map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1'))
                .join('/')}`,
        field: issue.name,
        code: issue.message,
        text: `${issue.name || 'the body'} ${sentence(issue.message)}`,
        requirements: requirementsForField(byField, issue.name),
      }),
    ),
  };
}

function sentence(code: string): string {
  if (code === 'REQUIRED') return 'is required';
  if (code === 'NO_MATCHING_FORMAT') return 'matches none of its allowed forms';
  if (code === 'NOT_ALLOWED_VALUE') return 'has a value that is not allowed';
  if (code === 'UNKNOWN_PROPERTY') return 'has a member the schema does not allow';
  if (code === 'TOO_SHORT' || code === 'TOO_LONG') return `is ${code.slice(4).toLowerCase()}`;
  if (code === 'INVALID_FORMAT') return 'does not match its pattern';
  if (code === 'INVALID_JSON') return 'is not JSON';
  if (code.startsWith('MUST_BE_')) return `must be ${code.slice(8).toLowerCase().replace(/_or_/g, ' or ')}`;
  if (code.startsWith('INVALID_')) return `is not a valid ${code.slice(8).toLowerCase().replace(/_/g, '-')}`;
  if (code.startsWith('UNSUPPORTED_MEDIA_TYPE')) return `has a content type the operation does not take (${code.slice(23)})`;
  if (code.startsWith('UNDECLARED_STATUS')) return `has status ${code.slice(18)}, which the operation does not declare`;
  if (code.startsWith('UNDECLARED_MEDIA_TYPE')) return `has a content type not declared for this status (${code.slice(22)})`;
  return code.toLowerCase();
}

/** Touched and failed requirements of one exchange. */
export function requirementsOf(
  map: RequirementMap,
  operationKey: string | undefined,
  surface: string,
  schema: { request: SchemaVerdict; response: SchemaVerdict },
  signature: SignatureVerdict,
): { touched: string[]; failed: string[] } {
  const entry = operationKey ? map.operations.get(operationKey) : undefined;
  const touched = new Set<string>([...(entry?.touches ?? []), ...(entry ? [] : (map.surfaces.get(surface) ?? []))]);
  const failed = new Set<string>();
  for (const verdict of [schema.request, schema.response]) {
    if (verdict.status !== 'invalid') continue;
    for (const violation of verdict.violations) for (const id of violation.requirements) failed.add(id);
  }
  if (entry && (signature.status === 'signed' || signature.status === 'refused')) {
    for (const id of entry.signature) {
      touched.add(id);
      if (signature.status === 'refused') failed.add(id);
    }
  }
  for (const id of failed) touched.add(id);
  return { touched: sortIds([...touched]), failed: sortIds([...failed]) };
}

export function sortIds(ids: string[]): string[] {
  return ids.sort((a, b) => {
    const [pa, na] = a.split('-');
    const [pb, nb] = b.split('-');
    return pa === pb ? Number(na) - Number(nb) : pa!.localeCompare(pb!);
  });
}

/** `schema ✘ protocol.webdav.uri is required (SHR-13) +1 more`. */
export function schemaLine(schema: { request: SchemaVerdict; response: SchemaVerdict }): string {
  const violations = [
    ...(schema.request.status === 'invalid' ? schema.request.violations : []),
    ...(schema.response.status === 'invalid' ? schema.response.violations.map((v) => ({ ...v, text: `response: ${v.text}` })) : []),
  ];
  if (violations.length > 0) {
    const first = violations[0]!;
    const ids = first.requirements.length ? ` (${first.requirements.join(', ')})` : '';
    return `schema ✘ ${first.text}${ids}${violations.length > 1 ? ` +${violations.length - 1} more` : ''}`;
  }
  if (schema.request.status === 'valid' || schema.response.status === 'valid') return 'schema ✔';
  return 'schema –';
}

export function signatureLine(signature: SignatureVerdict): string {
  switch (signature.status) {
    case 'signed':
      return `signed ✔ ${signature.keyid}`;
    case 'refused':
      return `signature ✘ ${signature.code} (${signature.reason})`;
    case 'unsigned':
      return 'unsigned';
    default:
      return 'signature –';
  }
}
