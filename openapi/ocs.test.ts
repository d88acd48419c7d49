/**
 * Keeps the OCS document honest: its shape (operation ids, both flavours with
 * the same operations, the status mapping, `$ref`-only bodies, OpenAPI 3.0
 * keywords) and, through the schema registry, sample payloads.
 */
import { test, expect } from '@playwright/test';
import type { OpenAPIV3 } from 'openapi-types';
import { ocsDocument, OCS_PERMISSIONS, OCS_SHARE_TYPE_FEDERATED, OCS_STATE, OCS_V1_BASE, OCS_V2_BASE } from './ocs.ts';
import { SchemaRegistry, documents } from './registry.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  key: string;
  path: string;
  method: string;
  op: OpenAPIV3.OperationObject;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(ocsDocument.paths)) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (op) out.push({ key: `${method.toUpperCase()} ${path}`, path, method, op });
    }
  }
  return out;
}

const schemas = (): Record<string, OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject> => ocsDocument.components?.schemas ?? {};

function refName(schema: unknown): string {
  const ref = (schema as OpenAPIV3.ReferenceObject | undefined)?.$ref ?? '';
  return ref.replace('#/components/schemas/', '');
}

/** Every schema node below a component, with a readable location. */
function* walk(value: unknown, at: string): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* walk(item, `${at}[${i}]`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Record<string, unknown>;
  yield [at, node];
  for (const key of ['items', 'not', 'additionalProperties'] as const) {
    if (typeof node[key] === 'object') yield* walk(node[key], `${at}.${key}`);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[key])) yield* walk(node[key], `${at}.${key}`);
  }
  if (node.properties && typeof node.properties === 'object') {
    for (const [prop, sub] of Object.entries(node.properties)) yield* walk(sub, `${at}.${prop}`);
  }
}

function reachable(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const [, node] of walk(schemas()[name], name)) {
    if (typeof node.$ref === 'string') reachable(refName(node), seen);
  }
  return seen;
}

const EXPECTED_OPERATIONS = [
  'POST /shares createShare',
  'GET /shares listShares',
  'GET /shares/{id} getShare',
  'PUT /shares/{id} updateShare',
  'DELETE /shares/{id} deleteShare',
  'POST /shares/pending/{id} acceptPendingShare',
  'DELETE /shares/pending/{id} declinePendingShare',
].sort();

function operationsUnder(base: string, idSuffix: string): string[] {
  return operations()
    .filter((o) => o.path.startsWith(`${base}/`))
    .map((o) => {
      const id = o.op.operationId ?? '';
      expect(id.endsWith(idSuffix), o.key).toBe(true);
      return `${o.method.toUpperCase()} ${o.path.slice(base.length)} ${id.slice(0, id.length - idSuffix.length)}`;
    })
    .sort();
}

test.describe('ocsDocument structure', () => {
  test('is registered and compiles in the schema registry', () => {
    expect(documents.ocs).toBe(ocsDocument);
    const registry = new SchemaRegistry();
    expect(() => registry.compileAll()).not.toThrow();
    expect(registry.hasSchema('ocs', 'OcsShare')).toBe(true);
  });

  test('is OpenAPI 3.0.3, every operation has a unique operationId, all paths sit under the two bases', () => {
    expect(ocsDocument.openapi).toBe('3.0.3');
    expect(OCS_V1_BASE).toBe('/ocs/v1.php/apps/files_sharing/api/v1');
    expect(OCS_V2_BASE).toBe('/ocs/v2.php/apps/files_sharing/api/v1');
    const ids = operations().map((o) => o.op.operationId);
    for (const [i, id] of ids.entries()) expect(id, `operation ${i}`).toMatch(/^[a-z][A-Za-z]+(V1)?$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, path } of operations()) {
      expect(path.startsWith(`${OCS_V1_BASE}/`) || path.startsWith(`${OCS_V2_BASE}/`), key).toBe(true);
    }
  });

  test('v2 has exactly the expected operations with plain ids; v1 has the same set with ids ending in V1', () => {
    expect(operationsUnder(OCS_V2_BASE, '')).toEqual(EXPECTED_OPERATIONS);
    expect(operationsUnder(OCS_V1_BASE, 'V1')).toEqual(EXPECTED_OPERATIONS);
    for (const o of operations().filter((x) => x.path.startsWith(`${OCS_V2_BASE}/`))) {
      expect(o.op.operationId, o.key).not.toMatch(/V1$/);
    }
  });

  test('v1 and v2 twins take the same parameters and request bodies', () => {
    for (const v2 of operations().filter((o) => o.path.startsWith(`${OCS_V2_BASE}/`))) {
      const v1Path = `${OCS_V1_BASE}${v2.path.slice(OCS_V2_BASE.length)}`;
      const v1 = ocsDocument.paths[v1Path]?.[v2.method as 'get'];
      expect(v1, v2.key).toBeDefined();
      expect(v1!.parameters, v2.key).toEqual(v2.op.parameters);
      expect(v1!.requestBody, v2.key).toEqual(v2.op.requestBody);
    }
  });

  test('HTTP Basic everywhere; every operation answers a failed login with 401 and a challenge', () => {
    expect(ocsDocument.security).toEqual([{ basic: [] }]);
    expect(ocsDocument.components?.securitySchemes?.basic).toMatchObject({ type: 'http', scheme: 'basic' });
    for (const { key, op } of operations()) {
      expect(op.security, key).toBeUndefined();
      const unauthorised = op.responses['401'] as OpenAPIV3.ResponseObject | undefined;
      expect(unauthorised, key).toBeDefined();
      expect(refName(unauthorised!.content?.['application/json']?.schema), key).toBe('OcsErrorResponse');
      expect(Object.keys(unauthorised!.headers ?? {}), key).toContain('WWW-Authenticate');
    }
  });

  test('status mapping: v1 answers 200 (success or failure envelope) and 401 only; v2 failures use the error envelope', () => {
    for (const { key, path, op } of operations()) {
      const statuses = Object.keys(op.responses).sort();
      const success = refName((op.responses['200'] as OpenAPIV3.ResponseObject).content?.['application/json']?.schema);
      if (path.startsWith(`${OCS_V1_BASE}/`)) {
        expect(statuses, key).toEqual(['200', '401']);
        expect(success, key).toMatch(/^Ocs(Share|ShareList|Empty)Outcome$/);
        const branches = (schemas()[success] as OpenAPIV3.SchemaObject).oneOf?.map(refName);
        expect(branches, key).toContain('OcsErrorResponse');
      } else {
        expect(success, key).toMatch(/^Ocs(Share|ShareList|Empty)Response$/);
        for (const status of statuses.filter((s) => s !== '200')) {
          expect(Number(status), `${key} ${status}`).toBeGreaterThanOrEqual(400);
          const schema = (op.responses[status] as OpenAPIV3.ResponseObject).content?.['application/json']?.schema;
          expect(refName(schema), `${key} ${status}`).toBe('OcsErrorResponse');
        }
      }
    }
  });

  test('v2 status codes per operation', () => {
    const v2 = (path: string, method: 'get' | 'post' | 'put' | 'delete') =>
      Object.keys(ocsDocument.paths[`${OCS_V2_BASE}${path}`]![method]!.responses).sort();
    expect(v2('/shares', 'post')).toEqual(['200', '400', '401', '403', '404', '409', '413', '415', '500', '502', '504']);
    expect(v2('/shares', 'get')).toEqual(['200', '400', '401', '413', '415', '500']);
    expect(v2('/shares/{id}', 'get')).toEqual(['200', '400', '401', '404', '413', '415', '500']);
    expect(v2('/shares/{id}', 'put')).toEqual(['200', '400', '401', '404', '413', '415', '500', '502', '504']);
    expect(v2('/shares/{id}', 'delete')).toEqual(['200', '400', '401', '404', '413', '415', '500']);
    expect(v2('/shares/pending/{id}', 'post')).toEqual(['200', '400', '401', '404', '409', '413', '415', '500']);
    expect(v2('/shares/pending/{id}', 'delete')).toEqual(['200', '400', '401', '404', '409', '413', '415', '500']);
  });

  test('request bodies take form and JSON; every body is a $ref to an existing letters-only component', () => {
    const names = new Set(Object.keys(schemas()));
    for (const { key, op } of operations()) {
      const body = op.requestBody as OpenAPIV3.RequestBodyObject | undefined;
      if (body) {
        expect(Object.keys(body.content).sort(), key).toEqual(['application/json', 'application/x-www-form-urlencoded']);
        expect(body.required, key).toBe(true);
      }
      for (const [media, content] of Object.entries(body?.content ?? {})) {
        expect((content.schema as OpenAPIV3.ReferenceObject).$ref, `${key} ${media}`).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
        expect(names, `${key} ${media}`).toContain(refName(content.schema));
      }
      for (const [status, response] of Object.entries(op.responses)) {
        const content = (response as OpenAPIV3.ResponseObject).content ?? {};
        expect(Object.keys(content), `${key} ${status}`).toEqual(['application/json']);
        const schema = content['application/json']!.schema;
        expect((schema as OpenAPIV3.ReferenceObject).$ref, `${key} ${status}`).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
        expect(names, `${key} ${status}`).toContain(refName(schema));
      }
    }
  });

  test('schemas use OpenAPI 3.0 keywords only, no formats beyond int64, resolvable bare $refs; nothing is closed', () => {
    const names = new Set(Object.keys(schemas()));
    const notIn30 = [
      'const',
      'if',
      'then',
      'else',
      '$defs',
      '$id',
      '$schema',
      'contains',
      'prefixItems',
      'examples',
      'patternProperties',
      'propertyNames',
    ];
    const problems: string[] = [];
    for (const [name, schema] of Object.entries(schemas())) {
      for (const [at, node] of walk(schema, name)) {
        for (const keyword of notIn30) if (keyword in node) problems.push(`${at} uses ${keyword}`);
        if ('type' in node && typeof node.type !== 'string') problems.push(`${at}: type must be one string`);
        if ('format' in node && node.format !== 'int64') problems.push(`${at}: format ${String(node.format)}`);
        if (node.additionalProperties === false) problems.push(`${at}: closed`);
        if (typeof node.$ref === 'string') {
          if (!names.has(refName(node))) problems.push(`${at}: dangling ${node.$ref}`);
          if (Object.keys(node).length !== 1) problems.push(`${at}: $ref with siblings`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(reachable('OcsShareOutcome')).toEqual(
      new Set(['OcsShareOutcome', 'OcsShareResponse', 'OcsErrorResponse', 'OcsOkMeta', 'OcsFailureMeta', 'OcsMeta', 'OcsShare']),
    );
  });

  test('exported constants match the document', () => {
    expect(Object.values(OCS_PERMISSIONS).reduce((a, b) => a + b, 0)).toBe(31);
    expect(OCS_SHARE_TYPE_FEDERATED).toBe(6);
    const share = schemas().OcsShare as OpenAPIV3.SchemaObject;
    const props = share.properties as Record<string, OpenAPIV3.SchemaObject>;
    expect(props.share_type!.enum).toEqual([OCS_SHARE_TYPE_FEDERATED]);
    expect(props.state!.enum).toEqual(Object.values(OCS_STATE));
    expect(OCS_STATE).toEqual({ accepted: 0, pending: 1, declined: 2 });
    expect(props.permissions).toMatchObject({ minimum: 0, maximum: 31 });
  });
});

test.describe('ocs payloads through the schema registry', () => {
  let registry: SchemaRegistry;
  test.beforeAll(() => {
    registry = new SchemaRegistry();
    registry.compileAll();
  });
  const valid = (schema: string, value: unknown) => registry.validate('ocs', schema, value).ok;
  const issues = (schema: string, value: unknown) => {
    const outcome = registry.validate('ocs', schema, value);
    return outcome.ok ? [] : outcome.issues;
  };

  const form = { shareType: '6', path: '/Documents/notes.md', shareWith: 'marie', shareWithProvider: 'cloud.example.org' };

  test('the registry knows the operations and their media types', () => {
    const create = registry.operation('ocs', 'createShare');
    expect(create.method).toBe('POST');
    expect(create.path).toBe(`${OCS_V2_BASE}/shares`);
    expect([...create.requestBody.keys()].sort()).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(create.requestBodyRequired).toBe(true);
    expect(create.responses.get('200')?.get('application/json')).toBe('ocs#OcsShareResponse');
    const createV1 = registry.operation('ocs', 'createShareV1');
    expect(createV1.path).toBe(`${OCS_V1_BASE}/shares`);
    expect(createV1.responses.get('200')?.get('application/json')).toBe('ocs#OcsShareOutcome');
    expect(createV1.responses.has('404')).toBe(false);
  });

  test('createShare: shareType as the string a form sends or as a JSON number', () => {
    expect(valid('CreateShareRequest', form)).toBe(true);
    expect(valid('CreateShareRequest', { ...form, shareType: 6 })).toBe(true);
    expect(valid('CreateShareRequest', { ...form, shareType: 'six' })).toBe(false);
    expect(valid('CreateShareRequest', { ...form, shareType: '' })).toBe(false);
    expect(valid('CreateShareRequest', { ...form, shareType: 6.5 })).toBe(false);
  });

  test('createShare: path, shareWith, shareWithProvider and shareType are required and not empty', () => {
    for (const field of ['shareType', 'path', 'shareWith', 'shareWithProvider'] as const) {
      const { [field]: _omitted, ...rest } = form;
      expect(issues('CreateShareRequest', rest), field).toEqual([{ name: field, message: 'REQUIRED' }]);
    }
    expect(valid('CreateShareRequest', { ...form, path: '' })).toBe(false);
    expect(valid('CreateShareRequest', { ...form, shareWith: '' })).toBe(false);
  });

  test('createShare: permissions 1..31 as number or decimal string, role viewer|editor, expireDate YYYY-MM-DD', () => {
    for (const permissions of [1, 31, '1', '15', '31']) {
      expect(valid('CreateShareRequest', { ...form, permissions }), String(permissions)).toBe(true);
    }
    for (const permissions of [0, 32, -1, '0', '32', '01', 'read', '1.5', 1.5]) {
      expect(valid('CreateShareRequest', { ...form, permissions }), String(permissions)).toBe(false);
    }
    expect(valid('CreateShareRequest', { ...form, role: 'viewer' })).toBe(true);
    expect(valid('CreateShareRequest', { ...form, role: 'editor' })).toBe(true);
    expect(valid('CreateShareRequest', { ...form, role: 'owner' })).toBe(false);
    expect(valid('CreateShareRequest', { ...form, expireDate: '2030-12-31' })).toBe(true);
    for (const expireDate of ['31/12/2030', '2030-13-01', '2030-12-31T00:00:00Z', '']) {
      expect(valid('CreateShareRequest', { ...form, expireDate }), expireDate).toBe(false);
    }
  });

  test('createShare accepts the extra fields clients send', () => {
    expect(valid('CreateShareRequest', { ...form, format: 'json', space_ref: 'x', publicUpload: 'false' })).toBe(true);
  });

  test('updateShare needs at least one change; an empty expireDate removes the expiry', () => {
    expect(valid('UpdateShareRequest', {})).toBe(false);
    expect(valid('UpdateShareRequest', { format: 'json' })).toBe(false);
    expect(valid('UpdateShareRequest', { permissions: '3' })).toBe(true);
    expect(valid('UpdateShareRequest', { permissions: 3 })).toBe(true);
    expect(valid('UpdateShareRequest', { role: 'editor' })).toBe(true);
    expect(valid('UpdateShareRequest', { expireDate: '2031-01-01' })).toBe(true);
    expect(valid('UpdateShareRequest', { expireDate: '' })).toBe(true);
    expect(valid('UpdateShareRequest', { permissions: '64' })).toBe(false);
    expect(valid('UpdateShareRequest', { expireDate: 'tomorrow' })).toBe(false);
  });

  const outgoing = {
    id: 'c2b1d3a4',
    share_type: 6,
    uid_owner: 'einstein',
    displayname_owner: 'Albert Einstein',
    uid_file_owner: 'einstein',
    displayname_file_owner: 'Albert Einstein',
    share_with: 'marie@cloud.example.org',
    share_with_displayname: 'Marie Curie',
    share_with_provider: 'cloud.example.org',
    permissions: OCS_PERMISSIONS.read | OCS_PERMISSIONS.share,
    stime: 1_700_000_000,
    expiration: null,
    path: '/Documents/notes.md',
    item_type: 'file',
    mimetype: 'text/markdown',
    name: 'notes.md',
    file_target: '/notes.md',
  };
  const received = {
    ...outgoing,
    id: 'r-77',
    uid_owner: 'einstein@sender.example.org',
    share_with: 'marie',
    path: '/Shares/notes.md',
    file_target: '/Shares/notes.md',
    state: OCS_STATE.pending,
    remote_id: 'c2b1d3a4',
  };

  test('OcsShare: outgoing and received shares pass; extra server fields are fine', () => {
    expect(valid('OcsShare', outgoing)).toBe(true);
    expect(valid('OcsShare', received)).toBe(true);
    expect(valid('OcsShare', { ...outgoing, item_source: 'x', storage_id: 'y', token: null })).toBe(true);
    expect(valid('OcsShare', { ...outgoing, item_type: 'folder', mimetype: 'httpd/unix-directory' })).toBe(true);
  });

  test('OcsShare never carries the shared secret', () => {
    expect(valid('OcsShare', { ...outgoing, sharedSecret: 's3cret' })).toBe(false);
    expect(valid('OcsShare', { ...received, shared_secret: 's3cret' })).toBe(false);
    const props = (schemas().OcsShare as OpenAPIV3.SchemaObject).properties ?? {};
    expect(Object.keys(props).filter((p) => /secret/i.test(p))).toEqual([]);
    expect((props.token as OpenAPIV3.SchemaObject).description).toMatch(/never the OCM shared secret/i);
  });

  test('OcsShare: required fields and value ranges', () => {
    for (const field of ['id', 'share_type', 'permissions', 'stime', 'item_type'] as const) {
      const { [field]: _omitted, ...rest } = outgoing;
      expect(issues('OcsShare', rest), field).toEqual([{ name: field, message: 'REQUIRED' }]);
    }
    expect(valid('OcsShare', { ...outgoing, share_type: 0 })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, share_type: '6' })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, id: 42 })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, permissions: 32 })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, permissions: 0 })).toBe(true);
    expect(valid('OcsShare', { ...received, state: 3 })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, item_type: 'dir' })).toBe(false);
    expect(valid('OcsShare', { ...outgoing, expiration: '2030-12-31 00:00:00' })).toBe(true);
    expect(valid('OcsShare', { ...outgoing, expiration: '' })).toBe(true);
    expect(valid('OcsShare', { ...outgoing, expiration: 'soon' })).toBe(false);
  });

  const ok = (statuscode: number) => ({ status: 'ok', statuscode, message: 'OK' });
  const failure = (statuscode: number) => ({ status: 'failure', statuscode, message: 'share not found' });

  test('success envelopes (v2 statuscode 200, v1 statuscode 100)', () => {
    expect(valid('OcsShareResponse', { ocs: { meta: ok(200), data: outgoing } })).toBe(true);
    expect(valid('OcsShareResponse', { ocs: { meta: ok(100), data: outgoing } })).toBe(true);
    expect(
      valid('OcsShareListResponse', { ocs: { meta: { ...ok(200), totalitems: '', itemsperpage: '' }, data: [outgoing, received] } }),
    ).toBe(true);
    expect(valid('OcsShareListResponse', { ocs: { meta: ok(200), data: [] } })).toBe(true);
    expect(valid('OcsShareListResponse', { ocs: { meta: ok(200), data: outgoing } })).toBe(false);
    expect(valid('OcsEmptyResponse', { ocs: { meta: ok(200), data: [] } })).toBe(true);
    expect(valid('OcsEmptyResponse', { ocs: { meta: ok(200), data: [outgoing] } })).toBe(false);
    expect(valid('OcsEmptyResponse', { ocs: { meta: ok(200), data: {} } })).toBe(false);
    expect(valid('OcsShareResponse', { ocs: { meta: ok(404), data: outgoing } })).toBe(false);
    expect(valid('OcsShareResponse', { ocs: { meta: { ...ok(200), status: 'failure' }, data: outgoing } })).toBe(false);
    expect(valid('OcsShareResponse', { ocs: { meta: { status: 'ok', statuscode: 200 }, data: outgoing } })).toBe(false);
    expect(valid('OcsShareResponse', { meta: ok(200), data: outgoing })).toBe(false);
  });

  test('failure envelope: status failure, an error statuscode, empty data (or none, as reva sends)', () => {
    expect(valid('OcsErrorResponse', { ocs: { meta: failure(404), data: [] } })).toBe(true);
    expect(valid('OcsErrorResponse', { ocs: { meta: { ...failure(400), message: '' }, data: {} } })).toBe(true);
    expect(valid('OcsErrorResponse', { ocs: { meta: { ...failure(998), status: 'error' } } })).toBe(true);
    expect(valid('OcsErrorResponse', { ocs: { meta: { ...failure(404), status: 'ok' }, data: [] } })).toBe(false);
    expect(valid('OcsErrorResponse', { ocs: { meta: failure(100), data: [] } })).toBe(false);
    expect(valid('OcsErrorResponse', { ocs: { meta: failure(200), data: [] } })).toBe(false);
    expect(valid('OcsErrorResponse', { ocs: { meta: failure(404), data: [outgoing] } })).toBe(false);
    expect(valid('OcsErrorResponse', { ocs: { meta: failure(404), data: { id: 'x' } } })).toBe(false);
  });

  test('v1 outcomes are a success or a failure envelope, never both', () => {
    const cases: [string, unknown, 'OcsShareResponse' | 'OcsShareListResponse' | 'OcsEmptyResponse' | 'OcsErrorResponse' | null][] = [
      ['OcsShareOutcome', { ocs: { meta: ok(100), data: outgoing } }, 'OcsShareResponse'],
      ['OcsShareOutcome', { ocs: { meta: failure(404), data: [] } }, 'OcsErrorResponse'],
      ['OcsShareListOutcome', { ocs: { meta: ok(100), data: [received] } }, 'OcsShareListResponse'],
      ['OcsShareListOutcome', { ocs: { meta: failure(409), data: [] } }, 'OcsErrorResponse'],
      ['OcsEmptyOutcome', { ocs: { meta: ok(100), data: [] } }, 'OcsEmptyResponse'],
      ['OcsEmptyOutcome', { ocs: { meta: failure(404), data: [] } }, 'OcsErrorResponse'],
      ['OcsShareOutcome', { ocs: { meta: ok(100), data: [] } }, null],
      ['OcsShareOutcome', { ocs: { meta: failure(100), data: [] } }, null],
    ];
    const branches = ['OcsShareResponse', 'OcsShareListResponse', 'OcsEmptyResponse', 'OcsErrorResponse'] as const;
    for (const [outcome, value, branch] of cases) {
      const label = `${outcome} ${JSON.stringify(value).slice(0, 60)}`;
      expect(valid(outcome, value), label).toBe(branch !== null);
      const own = ((schemas()[outcome] as OpenAPIV3.SchemaObject).oneOf ?? []).map(refName);
      expect(
        branches.filter((b) => own.includes(b) && valid(b, value)),
        label,
      ).toEqual(branch ? [branch] : []);
    }
  });
});
