/**
 * Keeps our OpenAPI documents honest:
 *  1. against the facts of the official OCM OpenAPI file (main @ 6a05861),
 *     stored as data in spec-facts/: paths, status codes, required lists,
 *     property names, enums, formats. Every place where we knowingly differ is
 *     declared below with a reason and a pointer to the decision record;
 *  2. against our own structural rules: operationIds, `$ref`-only bodies,
 *     OpenAPI 3.0 keywords only, known formats, open request schemas;
 *  3. through the schema registry, on sample payloads (the three protocol
 *     encodings are mutually exclusive, loopback hosts pass as fqdn, ...).
 */
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import type { OpenAPIV3 } from 'openapi-types';
import { ocmDocument, OCM_CAPABILITIES, OCM_CRITERIA, OCM_NOTIFICATION_TYPES, OCM_SHARE_TYPES, OCM_RESOURCE_TYPES } from './ocm.ts';
import { sciencemeshDocument } from './sciencemesh.ts';
import { opsDocument } from './ops.ts';
import { SchemaRegistry } from './registry.ts';

interface SpecFacts {
  source: { file: string; commit: string };
  paths: Record<string, Record<string, string[]>>;
  schemas: Record<string, { required: string[]; properties: string[] }>;
  types: Record<string, string>;
  enums: Record<string, string[] | { listedIn: string; values: string[] }>;
}

const facts = JSON.parse(readFileSync(new URL('./spec-facts/ocm-main-6a05861.json', import.meta.url), 'utf8')) as SpecFacts;

const DECISION = 'decisions/0002-ocm-openapi-differences.md';

/** Paths we serve that the official file does not list. */
const extraPaths: Record<string, string> = {
  'GET /ocm-provider': 'pre-1.4 discovery location, still probed by older peers',
  'GET /.well-known/jwks.json': 'fixed JWKS location of 1.3 and 1.4.0 peers',
  'GET /jwks': 'the URL our discovery advertises as jwksUri',
  'POST /token': 'the URL our discovery advertises as tokenEndPoint (the draft makes it discoverable, not fixed)',
};

/**
 * Where our required lists, enums or property sets knowingly differ from the
 * official YAML. Keys are fact locations (`required:<schema>`, `enum:<name>`).
 */
const deliberateDifferences: Record<string, { extra: string[]; reason: string; see: string }> = {
  'required:Discovery.resourceTypes[]': {
    extra: ['name', 'shareTypes', 'protocols'],
    reason: 'the draft text and the official discovery JSON Schema require all three',
    see: DECISION,
  },
  'required:NewShare.protocol.ssh': {
    extra: ['uri'],
    reason: 'the draft text makes the ssh uri required; an ssh share without it is unusable',
    see: DECISION,
  },
  'required:shares.201': {
    extra: ['recipientDisplayName'],
    reason: 'the 1.4+ draft text requires it in the 201 body',
    see: DECISION,
  },
};

/** Official schema location → our component schema. */
const schemaFor: Record<string, string> = {
  Discovery: 'Discovery',
  'Discovery.resourceTypes[]': 'ResourceType',
  'Discovery.resourceTypes[].protocols': 'DiscoveryProtocols',
  'Discovery.resourceTypes[].protocols.webdav-receive': 'WebdavReceive',
  'Discovery.resourceTypes[].protocols.webapp-receive': 'WebappReceive',
  NewShare: 'NewShare',
  'NewShare.protocol': 'ShareProtocol',
  'NewShare.protocol.webdav': 'WebdavProtocol',
  'NewShare.protocol.webapp': 'WebappProtocol',
  'NewShare.protocol.ssh': 'SshProtocol',
  NewNotification: 'NewNotification',
  AcceptedInvite: 'AcceptedInvite',
  AcceptedInviteResponse: 'AcceptedInviteResponse',
  RequestShare: 'RequestShare',
  TokenRequest: 'TokenRequest',
  TokenResponse: 'TokenResponse',
  Error: 'Error',
  'shares.201': 'CreateShareResponse',
};

/** Official enum → where the same list lives in our document (schema, then property/items steps). */
const enumAt: Record<string, [string, ...string[]]> = {
  shareType: ['NewShare', 'shareType'],
  'resourceTypes[].shareTypes': ['ResourceType', 'shareTypes', '[]'],
  capabilities: ['Discovery', 'capabilities', '[]'],
  criteria: ['Discovery', 'criteria', '[]'],
  notificationType: ['NotificationType'],
  requirements: ['WebdavProtocol', 'requirements', '[]'],
  'webapp.requirements': ['WebappProtocol', 'requirements', '[]'],
  webdavPermissions: ['WebdavProtocol', 'permissions', '[]'],
  webappPermissions: ['WebappProtocol', 'permissions', '[]'],
  webappTargets: ['WebappProtocol', 'targets', '[]'],
  'webapp-receive.targets': ['WebappReceive', 'targets', '[]'],
  'webdav.accessTypes': ['WebdavProtocol', 'accessTypes', '[]'],
  'ssh.accessTypes': ['SshProtocol', 'accessTypes', '[]'],
  'webdav-receive.uri': ['WebdavReceive', 'uri'],
  grant_type: ['TokenRequest', 'grant_type'],
  token_type: ['TokenResponse', 'token_type'],
};

/** Official property type/format facts → [our schema, property]. */
const typeAt: Record<string, [string, string, 'type' | 'format']> = {
  'NewShare.expiration': ['NewShare', 'expiration', 'type'],
  'TokenResponse.expires_in': ['TokenResponse', 'expires_in', 'type'],
  'AcceptedInvite.recipientProvider': ['AcceptedInvite', 'recipientProvider', 'format'],
  'TokenRequest.client_id': ['TokenRequest', 'client_id', 'format'],
  'Discovery.jwksUri': ['Discovery', 'jwksUri', 'format'],
  'Discovery.tokenEndPoint': ['Discovery', 'tokenEndPoint', 'format'],
};

type AnySchema = OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function componentSchemas(doc: OpenAPIV3.Document): Record<string, AnySchema> {
  return doc.components?.schemas ?? {};
}

function resolve(doc: OpenAPIV3.Document, schema: AnySchema | undefined): OpenAPIV3.SchemaObject {
  let current = schema;
  for (let hops = 0; current && '$ref' in current; hops++) {
    if (hops > 10) throw new Error('reference loop');
    const name = current.$ref.replace('#/components/schemas/', '');
    current = componentSchemas(doc)[name];
  }
  if (!current) throw new Error('unresolvable schema');
  return current;
}

/** Follows property names and `[]` (array items) from a named component, resolving refs. */
function schemaAt(doc: OpenAPIV3.Document, [name, ...steps]: [string, ...string[]]): OpenAPIV3.SchemaObject {
  let current = resolve(doc, componentSchemas(doc)[name]);
  for (const step of steps) {
    const next: AnySchema | undefined = step === '[]' ? (current as OpenAPIV3.ArraySchemaObject).items : current.properties?.[step];
    if (!next) throw new Error(`${name}: no ${step}`);
    current = resolve(doc, next);
  }
  return current;
}

interface Operation {
  key: string;
  path: string;
  method: string;
  op: OpenAPIV3.OperationObject;
}

function operationsOf(doc: OpenAPIV3.Document): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (op) out.push({ key: `${method.toUpperCase()} ${path}`, path, method, op });
    }
  }
  return out;
}

/** Every schema object in the document's components, with a readable location. */
function* walkSchemas(value: unknown, at: string): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* walkSchemas(item, `${at}[${i}]`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const schema = value as Record<string, unknown>;
  yield [at, schema];
  for (const key of ['items', 'not', 'additionalProperties'] as const) {
    if (typeof schema[key] === 'object') yield* walkSchemas(schema[key], `${at}.${key}`);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) yield* walkSchemas(schema[key], `${at}.${key}`);
  }
  if (schema.properties && typeof schema.properties === 'object') {
    for (const [prop, sub] of Object.entries(schema.properties)) yield* walkSchemas(sub, `${at}.${prop}`);
  }
}

/** Names of every component reachable from `name` through `$ref`s. */
function reachable(doc: OpenAPIV3.Document, name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const [, node] of walkSchemas(componentSchemas(doc)[name], name)) {
    if (typeof node.$ref === 'string') reachable(doc, node.$ref.replace('#/components/schemas/', ''), seen);
  }
  return seen;
}

const sorted = (values: Iterable<string>) => [...values].sort();

test.describe('ocmDocument vs the official OCM OpenAPI facts (main 6a05861)', () => {
  test('the facts file names its source', () => {
    expect(facts.source.file).toBe('ocm-spec-main-6a05861.yaml');
    expect(facts.source.commit).toBe('6a05861');
  });

  test('every official operation exists; extra operations are exactly the declared ones', () => {
    const ours = new Set(operationsOf(ocmDocument).map((o) => o.key));
    const official = new Set(
      Object.entries(facts.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    for (const key of official) expect(ours, `missing official operation ${key}`).toContain(key);
    const extras = sorted([...ours].filter((key) => !official.has(key)));
    expect(extras).toEqual(sorted(Object.keys(extraPaths)));
  });

  test('every official status code is declared by our operation', () => {
    for (const [path, methods] of Object.entries(facts.paths)) {
      for (const [method, codes] of Object.entries(methods)) {
        const op = ocmDocument.paths[path]?.[method as (typeof METHODS)[number]];
        expect(op, `${method} ${path}`).toBeDefined();
        const ourCodes = Object.keys(op!.responses);
        for (const code of codes) expect(ourCodes, `${method.toUpperCase()} ${path} lacks ${code}`).toContain(code);
      }
    }
  });

  test('paths carry x-ocm-base; discovery and the fixed JWKS live at the root', () => {
    const roots: string[] = [];
    for (const [path, item] of Object.entries(ocmDocument.paths)) {
      const base = (item as Record<string, unknown>)['x-ocm-base'];
      expect(['root', 'endPoint'], `${path} x-ocm-base`).toContain(base);
      if (base === 'root') roots.push(path);
    }
    expect(sorted(roots)).toEqual(['/.well-known/jwks.json', '/.well-known/ocm', '/ocm-provider']);
  });

  test('required lists match the official ones, apart from declared differences', () => {
    for (const [location, official] of Object.entries(facts.schemas)) {
      const ourName = schemaFor[location];
      expect(ourName, `no mapping for official schema ${location}`).toBeDefined();
      const ours = resolve(ocmDocument, componentSchemas(ocmDocument)[ourName!]);
      const required = new Set(ours.required ?? []);
      for (const field of official.required) expect(required, `${ourName} must require ${field}`).toContain(field);
      const extra = sorted([...required].filter((field) => !official.required.includes(field)));
      const declared = deliberateDifferences[`required:${location}`];
      expect(extra, `${ourName}: undeclared extra required fields`).toEqual(sorted(declared?.extra ?? []));
    }
  });

  test('our schemas know every official property', () => {
    for (const [location, official] of Object.entries(facts.schemas)) {
      const ours = resolve(ocmDocument, componentSchemas(ocmDocument)[schemaFor[location]!]);
      const props = Object.keys(ours.properties ?? {});
      for (const prop of official.properties) expect(props, `${location}.${prop}`).toContain(prop);
    }
  });

  test('the tolerant IncomingShare requires the same top-level fields as NewShare', () => {
    const incoming = resolve(ocmDocument, componentSchemas(ocmDocument).IncomingShare);
    expect(sorted(incoming.required ?? [])).toEqual(sorted(facts.schemas.NewShare!.required));
  });

  test('enums cover the official values, apart from declared differences', () => {
    for (const [name, fact] of Object.entries(facts.enums)) {
      const official = Array.isArray(fact) ? fact : fact.values;
      const location = enumAt[name];
      expect(location, `no mapping for official enum ${name}`).toBeDefined();
      const ours = (schemaAt(ocmDocument, location!).enum ?? []) as string[];
      for (const value of official) expect(ours, `${name} lacks ${value}`).toContain(value);
      const extra = sorted(ours.filter((value) => !official.includes(value)));
      expect(extra, `${name}: undeclared extra values`).toEqual(sorted(deliberateDifferences[`enum:${name}`]?.extra ?? []));
    }
  });

  test('exported value lists are the ones the document uses', () => {
    const enumOf = (name: string) => componentSchemas(ocmDocument)[name] as OpenAPIV3.SchemaObject;
    expect(enumOf('Capability').enum).toEqual([...OCM_CAPABILITIES]);
    expect(enumOf('Criterion').enum).toEqual([...OCM_CRITERIA]);
    expect(enumOf('NotificationType').enum).toEqual([...OCM_NOTIFICATION_TYPES]);
    expect(enumOf('ShareType').enum).toEqual([...OCM_SHARE_TYPES]);
    expect(enumOf('RegisteredResourceType').enum).toEqual([...OCM_RESOURCE_TYPES]);
  });

  test('NewNotification.notificationType is a free string (the handler answers unknown types)', () => {
    const type = schemaAt(ocmDocument, ['NewNotification', 'notificationType']);
    expect(type.type).toBe('string');
    expect(type.enum).toBeUndefined();
  });

  test('types and formats of the official properties carry over', () => {
    for (const [fact, [schema, prop, aspect]] of Object.entries(typeAt)) {
      expect(facts.types[fact], `fact ${fact}`).toBeDefined();
      expect(schemaAt(ocmDocument, [schema, prop])[aspect], fact).toBe(facts.types[fact]);
    }
  });

  test('deliberate differences all point at the decision record', () => {
    for (const [key, difference] of Object.entries(deliberateDifferences)) {
      expect(difference.see, key).toBe(DECISION);
      expect(difference.reason.length, key).toBeGreaterThan(10);
    }
  });
});

const documents: Record<string, OpenAPIV3.Document> = {
  ocm: ocmDocument,
  sciencemesh: sciencemeshDocument,
  ops: opsDocument,
};

const ALLOWED_FORMATS = new Set(['date-time', 'uri', 'uri-reference', 'email', 'fqdn', 'int32', 'int64', 'uuid']);
/** Schema keywords of newer JSON Schema drafts that OpenAPI 3.0 does not have. */
const NOT_IN_OPENAPI_30 = [
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
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'propertyNames',
];

for (const [docName, doc] of Object.entries(documents)) {
  test.describe(`${docName} document structure`, () => {
    test('is OpenAPI 3.0.3 with unique operationIds on every operation', () => {
      expect(doc.openapi).toBe('3.0.3');
      const ids = operationsOf(doc).map((o) => o.op.operationId);
      for (const [i, id] of ids.entries()) expect(id, `operation ${i}`).toMatch(/^[a-z][A-Za-z]+$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    test('every request body and response body is a $ref to an existing component schema', () => {
      const names = new Set(Object.keys(componentSchemas(doc)));
      for (const { key, op } of operationsOf(doc)) {
        const body = op.requestBody as OpenAPIV3.RequestBodyObject | undefined;
        for (const [media, content] of Object.entries(body?.content ?? {})) {
          const ref = (content.schema as OpenAPIV3.ReferenceObject | undefined)?.$ref ?? '';
          expect(ref, `${key} request ${media}`).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
          expect(names, `${key} request ${media}`).toContain(ref.split('/').pop());
        }
        expect(Object.keys(op.responses).length, key).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(op.responses)) {
          const content = (response as OpenAPIV3.ResponseObject).content ?? {};
          // Every answer is JSON, except pages meant for a browser (the invite dialog).
          const media = Object.keys(content);
          expect(
            media.length === 1 && ['application/json', 'text/html'].includes(media[0]!),
            `${key} ${status} has one JSON (or HTML page) body: ${media}`,
          ).toBe(true);
          const ref = (content[media[0]!]!.schema as OpenAPIV3.ReferenceObject | undefined)?.$ref ?? '';
          expect(ref, `${key} ${status}`).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
          expect(names, `${key} ${status}`).toContain(ref.split('/').pop());
        }
      }
    });

    test('component schemas use OpenAPI 3.0 keywords, known formats and resolvable $refs', () => {
      const names = new Set(Object.keys(componentSchemas(doc)));
      const problems: string[] = [];
      for (const [name, schema] of Object.entries(componentSchemas(doc))) {
        for (const [at, node] of walkSchemas(schema, name)) {
          for (const keyword of NOT_IN_OPENAPI_30) if (keyword in node) problems.push(`${at} uses ${keyword}`);
          if ('type' in node && typeof node.type !== 'string') problems.push(`${at}: type must be one string`);
          if ('format' in node && !ALLOWED_FORMATS.has(String(node.format))) problems.push(`${at}: unknown format ${node.format}`);
          if (typeof node.$ref === 'string') {
            if (!names.has(node.$ref.replace(/^#\/components\/schemas\//, ''))) problems.push(`${at}: dangling ${node.$ref}`);
            if (Object.keys(node).length !== 1) problems.push(`${at}: $ref with siblings`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('request schemas never forbid unknown properties', () => {
      const closed: string[] = [];
      for (const { key, op } of operationsOf(doc)) {
        const body = op.requestBody as OpenAPIV3.RequestBodyObject | undefined;
        for (const content of Object.values(body?.content ?? {})) {
          const root = (content.schema as OpenAPIV3.ReferenceObject).$ref.replace('#/components/schemas/', '');
          for (const name of reachable(doc, root)) {
            for (const [at, node] of walkSchemas(componentSchemas(doc)[name], name)) {
              if (node.additionalProperties === false) closed.push(`${key}: ${at}`);
            }
          }
        }
      }
      expect(closed).toEqual([]);
    });
  });
}

test('sciencemesh operations live under /sciencemesh and require HTTP Basic', () => {
  expect(sciencemeshDocument.security).toEqual([{ basic: [] }]);
  expect(sciencemeshDocument.components?.securitySchemes?.basic).toMatchObject({ type: 'http', scheme: 'basic' });
  for (const { key, path, op } of operationsOf(sciencemeshDocument)) {
    expect(path, key).toMatch(/^\/sciencemesh\//);
    expect(op.security, key).toBeUndefined();
    expect(Object.keys(op.responses), key).toContain('401');
  }
});

test.describe('sample payloads through the schema registry', () => {
  let registry: SchemaRegistry;
  test.beforeAll(() => {
    registry = new SchemaRegistry();
    registry.compileAll();
  });
  const valid = (schema: string, value: unknown) => registry.validate('ocm', schema, value).ok;

  const shareBase = {
    shareWith: 'marie@receiver.example.org',
    name: 'notes.md',
    providerId: 'a1b2c3',
    owner: 'albert@127.0.0.2:8080',
    sender: 'albert@127.0.0.2:8080',
    shareType: 'user',
    resourceType: 'file',
  };
  const webdav = { uri: 'a1b2c3', sharedSecret: 'secret-1', permissions: ['read'] };

  const encodings: Record<string, { protocol: unknown; branch: string }> = {
    'legacy name+options': {
      protocol: { name: 'webdav', options: { sharedSecret: 'secret-1', permissions: '{http://open-cloud-mesh.org/ns}share-permissions' } },
      branch: 'LegacyProtocol',
    },
    'single webdav object': { protocol: { name: 'webdav', webdav }, branch: 'SingleProtocol' },
    'single webdav object with options alongside': {
      protocol: { name: 'webdav', options: { sharedSecret: 'secret-1' }, webdav },
      branch: 'SingleProtocol',
    },
    'multi, newest draft': {
      protocol: { name: 'multi', webdav: { ...webdav, requirements: ['must-exchange-token'] } },
      branch: 'MultiProtocol',
    },
    'multi as reva sends it (empty options, pre-1.4 webapp)': {
      protocol: {
        name: 'multi',
        options: {},
        webdav,
        webapp: { uriTemplate: 'https://x.example/{relative-path-to-shared-resource}', viewMode: '' },
      },
      branch: 'MultiProtocol',
    },
  };

  for (const [label, { protocol, branch }] of Object.entries(encodings)) {
    test(`IncomingShare accepts ${label}, matching exactly one encoding`, () => {
      expect(valid('IncomingShare', { ...shareBase, protocol })).toBe(true);
      const matches = ['LegacyProtocol', 'SingleProtocol', 'MultiProtocol'].filter((b) => valid(b, protocol));
      expect(matches).toEqual([branch]);
    });
  }

  const badProtocols: Record<string, unknown> = {
    'multi without any protocol': { name: 'multi' },
    'legacy without a secret': { name: 'webdav', options: {} },
    'webdav without options or object': { name: 'webdav' },
    'webdav object without secret or uri': { name: 'webdav', webdav: { permissions: ['read'] } },
    'webdav object with a uri but no secret (1.1 secret-in-uri)': { name: 'multi', webdav: { uri: 'https://x.example/s/hash' } },
    'empty requirements': { name: 'multi', webdav: { ...webdav, requirements: [] } },
    'unknown requirement': { name: 'multi', webdav: { ...webdav, requirements: ['x-unknown'] } },
    '1.4 webapp without targets': {
      name: 'multi',
      webapp: { uri: 'https://app.example/x', sharedSecret: 's', permissions: ['read'], requirements: ['must-exchange-token'] },
    },
    'unknown protocol name': { name: 'ftp', webdav },
  };
  for (const [label, protocol] of Object.entries(badProtocols)) {
    test(`IncomingShare rejects ${label}`, () => {
      expect(valid('IncomingShare', { ...shareBase, protocol })).toBe(false);
    });
  }

  test('IncomingShare leaves shareType and resourceType to the handler (501, not 400)', () => {
    expect(
      valid('IncomingShare', { ...shareBase, shareType: 'team', resourceType: 'calendar', protocol: { name: 'webdav', webdav } }),
    ).toBe(true);
  });

  test('NewShare takes only the newest-draft multi encoding with full webdav fields', () => {
    expect(valid('NewShare', { ...shareBase, protocol: { name: 'multi', webdav } })).toBe(true);
    expect(valid('NewShare', { ...shareBase, protocol: encodings['legacy name+options']!.protocol })).toBe(false);
    expect(valid('NewShare', { ...shareBase, protocol: { name: 'webdav', webdav } })).toBe(false);
    const { permissions: _omitted, ...noPermissions } = webdav;
    expect(valid('NewShare', { ...shareBase, protocol: { name: 'multi', webdav: noPermissions } })).toBe(false);
    expect(valid('NewShare', { ...shareBase, shareWith: 'no-host', protocol: { name: 'multi', webdav } })).toBe(false);
    expect(valid('NewShare', { ...shareBase, shareType: 'team', protocol: { name: 'multi', webdav } })).toBe(false);
  });

  test('request schemas accept vendor extensions', () => {
    const samples: Record<string, object> = {
      IncomingShare: { ...shareBase, protocol: { name: 'multi', webdav, 'x-vendor': {} } },
      NewShare: { ...shareBase, protocol: { name: 'multi', webdav } },
      NewNotification: { notificationType: 'SHARE_ACCEPTED', resourceType: 'file', providerId: 'a1b2c3' },
      AcceptedInvite: { recipientProvider: 'receiver.example.org', token: 't', userID: 'u', email: 'u@example.org', name: 'U' },
      RequestShare: { owner: 'albert@sender.example.org', shareWith: 'marie@receiver.example.org', share: 'a1b2c3' },
      TokenRequest: { grant_type: 'authorization_code', client_id: 'receiver.example.org', code: 'secret-1', redirect_uri: 'https://x' },
    };
    for (const [schema, sample] of Object.entries(samples)) {
      expect(valid(schema, sample), schema).toBe(true);
      expect(valid(schema, { ...sample, 'x-vendor': 'extension' }), `${schema} + extension`).toBe(true);
    }
  });

  test('NewNotification accepts unknown types but requires resourceType', () => {
    expect(valid('NewNotification', { notificationType: 'SYNC_CALENDAR', resourceType: 'calendar', providerId: 'calendar' })).toBe(true);
    expect(valid('NewNotification', { notificationType: 'SHARE_ACCEPTED', providerId: 'a1b2c3' })).toBe(false);
  });

  test('fqdn accepts host[:port] with DNS names and IP literals, never a URL', () => {
    const invite = (recipientProvider: string) =>
      valid('AcceptedInvite', { recipientProvider, token: 't', userID: 'u', email: '', name: 'U' });
    for (const host of ['receiver.example.org', 'receiver.example.org:8443', '127.0.0.2:8080', '[::1]:8080', 'localhost']) {
      expect(invite(host), host).toBe(true);
    }
    for (const host of ['https://receiver.example.org', 'receiver.example.org/ocm', '', 'a b']) {
      expect(invite(host), host).toBe(false);
    }
  });

  test('token endpoint shapes', () => {
    expect(valid('TokenResponse', { access_token: 'at', token_type: 'Bearer', expires_in: 300 })).toBe(true);
    expect(valid('TokenResponse', { access_token: 'at', token_type: 'bearer' })).toBe(false);
    expect(valid('TokenRequest', { grant_type: 'ocm_authorization_code', client_id: 'r.example.org', code: 'c' })).toBe(false);
    expect(valid('TokenError', { error: 'invalid_grant' })).toBe(true);
    expect(valid('TokenError', { error: 'access_denied' })).toBe(false);
  });

  test('discovery: a newest-draft document passes; unknown capabilities and bad protocols fail', () => {
    const discovery = {
      enabled: true,
      apiVersion: '1.4.0',
      endPoint: 'http://127.0.0.2:8080/ocm',
      provider: 'peer-a',
      resourceTypes: [
        {
          name: 'file',
          shareTypes: ['user'],
          protocols: { webdav: '/dav/ocm/', 'webdav-receive': { uri: 'relative' }, 'talk-v1': '/talk/' },
        },
      ],
      capabilities: ['exchange-token', 'http-sig', 'invites', 'notifications', 'protocol-object'],
      criteria: ['must-use-http-sig'],
      tokenEndPoint: 'http://127.0.0.2:8080/ocm/token',
      jwksUri: 'http://127.0.0.2:8080/ocm/jwks',
      inviteAcceptDialog: '/accept',
    };
    expect(valid('Discovery', discovery)).toBe(true);
    expect(valid('Discovery', { ...discovery, capabilities: ['webdav-uri'] })).toBe(false);
    const rt = discovery.resourceTypes[0]!;
    expect(valid('Discovery', { ...discovery, resourceTypes: [{ ...rt, protocols: {} }] })).toBe(false);
    expect(valid('Discovery', { ...discovery, resourceTypes: [{ ...rt, protocols: { webdav: 'https://x/dav' } }] })).toBe(false);
    expect(valid('Discovery', { ...discovery, resourceTypes: [{ ...rt, shareTypes: [] }] })).toBe(false);
  });

  test('JWKs need kid and an asymmetric alg', () => {
    expect(valid('JwkSet', { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1', alg: 'Ed25519' }] })).toBe(true);
    expect(valid('Jwk', { kty: 'OKP', kid: 'k1' })).toBe(false);
    expect(valid('Jwk', { kty: 'oct', kid: 'k1', alg: 'HS256' })).toBe(false);
    expect(valid('Jwk', { kty: 'OKP', kid: 'k1', alg: 'none' })).toBe(false);
  });

  test('201 to /shares must name the recipient', () => {
    expect(valid('CreateShareResponse', { recipientDisplayName: 'Marie' })).toBe(true);
    expect(valid('CreateShareResponse', {})).toBe(false);
  });

  test('sciencemesh accept-invite takes token+providerDomain or the invite string', () => {
    const sm = (schema: string, value: unknown) => registry.validate('sciencemesh', schema, value).ok;
    expect(sm('AcceptInviteRequest', { token: 't', providerDomain: 'cloud.example.org' })).toBe(true);
    expect(sm('AcceptInviteRequest', { invite: 'dEBjbG91ZC5leGFtcGxlLm9yZw' })).toBe(true);
    expect(sm('AcceptInviteRequest', { token: 't' })).toBe(false);
    expect(sm('AcceptInviteRequest', {})).toBe(false);
    expect(sm('InviteToken', { token: 't', expiration: 1_900_000_000, invite_string: 'dEBjbG91ZC5leGFtcGxlLm9yZw' })).toBe(true);
    expect(sm('InviteToken', { token: 't', expiration: 1_900_000_000, invite_string: 'dEBj+/==' })).toBe(false);
    expect(sm('AcceptedUser', { user_id: 'u', idp: 'cloud.example.org', display_name: 'U', mail: '' })).toBe(true);
    expect(registry.validate('ops', 'Health', { status: 'ok' }).ok).toBe(true);
  });
});
