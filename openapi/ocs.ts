/**
 * Our OpenAPI 3.0.3 document for the OCS share API, restricted to OCM shares
 * (share type 6): the calls a signed-in local user makes to share a file with
 * a federated contact, list outgoing and received shares, accept or decline a
 * pending received share, change and remove a share. Same routes and field
 * names as reva/oCIS and Nextcloud expose (reva-ocis-reference §6), so their
 * clients and our `ocs` target driver work unchanged.
 *
 * Both OCS flavours are served, under `OCS_V1_BASE` and `OCS_V2_BASE`, with
 * the same operations: v2 ids are plain (`createShare`), v1 ids end in `V1`.
 * Every path is rooted at the server origin and needs HTTP Basic.
 *
 * Answers are always JSON in the OCS envelope `{ocs: {meta, data}}`, whether
 * or not the client sends `format=json` (XML is not offered).
 *
 * Status mapping (one rule for both flavours):
 *  - v2: the HTTP status equals `meta.statuscode`; success is 200/200, a
 *    failure uses the HTTP error code in both places (400, 403, 404, ...).
 *  - v1: HTTP 200 for every outcome; `meta.statuscode` is 100 on success and,
 *    on failure, the very code v2 would use (404, not reva's 998).
 *  - Exception: a missing or wrong Basic login is HTTP 401 (with a
 *    `WWW-Authenticate` challenge) and statuscode 401 in both flavours.
 * Failures carry `meta.status` `failure` and `data: []`.
 *
 * Where we differ from reva: no 99x status codes, every failure has a body
 * (reva answers an unparsable permission with an empty 200), DELETE answers
 * `data: []` (reva echoes the share without its id), and no share data ever
 * holds the OCM shared secret (Nextcloud puts it in `token`).
 *
 * Every request/response body is a `$ref` to a named schema; request schemas
 * and response schemas allow unknown properties.
 */
import type { OpenAPIV3 } from 'openapi-types';

/** Path prefix of the OCS v1 share API. */
export const OCS_V1_BASE = '/ocs/v1.php/apps/files_sharing/api/v1';
/** Path prefix of the OCS v2 share API. */
export const OCS_V2_BASE = '/ocs/v2.php/apps/files_sharing/api/v1';

/** OCS permission bits; a share's `permissions` is their sum (0..31). */
export const OCS_PERMISSIONS = { read: 1, update: 2, create: 4, delete: 8, share: 16 } as const;

/** OCS share type of a federated (OCM) share, the only type this API handles. */
export const OCS_SHARE_TYPE_FEDERATED = 6;

/** `state` of a received share. */
export const OCS_STATE = { accepted: 0, pending: 1, declined: 2 } as const;

/** Named roles accepted instead of a permission number. */
export const OCS_ROLES = ['viewer', 'editor'] as const;

/** `meta.statuscode` of a successful answer, per flavour. */
export const OCS_SUCCESS_STATUSCODE = { v1: 100, v2: 200 } as const;

type Schema = OpenAPIV3.SchemaObject;

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

function body(schema: string, description: string): OpenAPIV3.RequestBodyObject {
  return {
    description,
    required: true,
    content: Object.fromEntries([FORM_TYPE, JSON_TYPE].map((m) => [m, { schema: ref(schema) }])),
  };
}

function reply(schema: string, description: string, headers?: OpenAPIV3.ResponseObject['headers']): OpenAPIV3.ResponseObject {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { [JSON_TYPE]: { schema: ref(schema) } },
  };
}

const challenge: OpenAPIV3.ResponseObject['headers'] = {
  'WWW-Authenticate': { description: 'The Basic challenge.', schema: { type: 'string' } },
};

/** v2 failures: HTTP status == meta.statuscode. */
const error = {
  400: reply('OcsErrorResponse', 'Missing or malformed parameters (meta.statuscode 400).'),
  401: reply('OcsErrorResponse', 'No valid Basic login for a local user (HTTP 401 and statuscode 401 in v1 too).', challenge),
  403: reply('OcsErrorResponse', 'The caller may not share this resource, or the other server refuses (statuscode 403).'),
  404: reply('OcsErrorResponse', 'Unknown share, path, contact or provider (statuscode 404).'),
  409: reply('OcsErrorResponse', 'The share is not in a state that allows this (statuscode 409).'),
  413: reply('OcsErrorResponse', 'The request body is too large (statuscode 413).'),
  415: reply('OcsErrorResponse', 'The request body has an unsupported media type (statuscode 415).'),
  500: reply('OcsErrorResponse', 'Unexpected fault on this server, never caused by bad input (statuscode 500).'),
  502: reply('OcsErrorResponse', 'The other server gave an unusable answer or could not be reached (statuscode 502).'),
  504: reply('OcsErrorResponse', 'The other server did not answer in time (statuscode 504).'),
} satisfies Record<number, OpenAPIV3.ResponseObject>;

type ErrorStatus = keyof typeof error;

const format: OpenAPIV3.ParameterObject = {
  name: 'format',
  in: 'query',
  required: false,
  description: 'Clients send `json`; the answer is JSON whatever the value, and also without it.',
  schema: { type: 'string', example: 'json' },
};

const shareId: OpenAPIV3.ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Share id as given in `OcsShare.id` (outgoing or received share).',
  schema: { type: 'string', minLength: 1 },
};

const sharedWithMe: OpenAPIV3.ParameterObject = {
  name: 'shared_with_me',
  in: 'query',
  required: false,
  description: '`true` lists shares others made with the caller; otherwise the shares the caller made.',
  schema: { type: 'string', enum: ['true', 'false'] },
};

const stateFilter: OpenAPIV3.ParameterObject = {
  name: 'state',
  in: 'query',
  required: false,
  description: 'With shared_with_me=true: which received shares (0 accepted, 1 pending, 2 declined, all). Absent means 0.',
  schema: { type: 'string', enum: ['0', '1', '2', 'all'] },
};

interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  parameters: OpenAPIV3.ParameterObject[];
  requestBody?: OpenAPIV3.RequestBodyObject;
  /** v2 success schema (the v1 answer is the matching `…Outcome`). */
  success: { schema: 'OcsShareResponse' | 'OcsShareListResponse' | 'OcsEmptyResponse'; description: string };
  /** v2 failures besides 401 and 500, which every operation has. */
  errors: ErrorStatus[];
  /** Descriptions that fit this operation better than the generic ones. */
  errorText?: Partial<Record<ErrorStatus, string>>;
}

const OUTCOME = {
  OcsShareResponse: 'OcsShareOutcome',
  OcsShareListResponse: 'OcsShareListOutcome',
  OcsEmptyResponse: 'OcsEmptyOutcome',
} as const;

const operations: OperationSpec[] = [
  {
    method: 'post',
    path: '/shares',
    operationId: 'createShare',
    tags: ['shares'],
    summary: 'Share a file or folder of the caller with a federated contact (share type 6)',
    description:
      "Resolves the recipient among the caller's accepted contacts, records the share and sends the OCM share " +
      "creation notification (POST <endPoint>/shares) to the recipient's server before answering.",
    parameters: [format],
    requestBody: body('CreateShareRequest', 'Form fields (the usual client encoding) or the same fields as JSON.'),
    success: { schema: 'OcsShareResponse', description: 'The new share.' },
    errors: [400, 403, 404, 409, 413, 415, 502, 504],
    errorText: {
      400: 'Missing or malformed field, share type other than 6, or the root of the home cannot be shared (statuscode 400).',
      404: 'No such path, the recipient is not an accepted contact, or the provider is unknown (statuscode 404).',
      409: 'The same resource is already shared with this recipient (statuscode 409).',
    },
  },
  {
    method: 'get',
    path: '/shares',
    operationId: 'listShares',
    tags: ['shares'],
    summary: 'OCM shares the caller made, or received shares with shared_with_me=true',
    parameters: [format, sharedWithMe, stateFilter],
    success: { schema: 'OcsShareListResponse', description: 'The matching shares (possibly none).' },
    errors: [400],
    errorText: { 400: 'Unknown value of shared_with_me or state (statuscode 400).' },
  },
  {
    method: 'get',
    path: '/shares/{id}',
    operationId: 'getShare',
    tags: ['shares'],
    summary: 'One share the caller made or received',
    description: 'Like Nextcloud and reva, data is an array holding the one share.',
    parameters: [shareId, format],
    success: { schema: 'OcsShareListResponse', description: 'An array with exactly one share.' },
    errors: [404],
    errorText: { 404: 'The caller has no share with this id (statuscode 404).' },
  },
  {
    method: 'put',
    path: '/shares/{id}',
    operationId: 'updateShare',
    tags: ['shares'],
    summary: 'Change the permissions or expiry of a share the caller made',
    parameters: [shareId, format],
    requestBody: body('UpdateShareRequest', 'At least one of permissions, role, expireDate.'),
    success: { schema: 'OcsShareResponse', description: 'The share as it is now.' },
    errors: [400, 404, 413, 415, 502, 504],
    errorText: { 404: 'The caller made no share with this id (statuscode 404).' },
  },
  {
    method: 'delete',
    path: '/shares/{id}',
    operationId: 'deleteShare',
    tags: ['shares'],
    summary: 'Remove (unshare) a share the caller made',
    description:
      "Stops access at once and sends the SHARE_UNSHARED notification to the recipient's server; a failure to deliver " +
      'it does not undo the removal. data is an empty array.',
    parameters: [shareId, format],
    success: { schema: 'OcsEmptyResponse', description: 'The share is gone.' },
    errors: [404],
    errorText: { 404: 'The caller made no share with this id (statuscode 404).' },
  },
  {
    method: 'post',
    path: '/shares/pending/{id}',
    operationId: 'acceptPendingShare',
    tags: ['pending'],
    summary: 'Accept a pending share the caller received',
    description: 'Sends the SHARE_ACCEPTED notification to the sharing server. data is an array with the one share, state 0.',
    parameters: [shareId, format],
    success: { schema: 'OcsShareListResponse', description: 'An array with the accepted share.' },
    errors: [404, 409],
    errorText: {
      404: 'The caller received no share with this id (statuscode 404).',
      409: 'The share is not pending (statuscode 409).',
    },
  },
  {
    method: 'delete',
    path: '/shares/pending/{id}',
    operationId: 'declinePendingShare',
    tags: ['pending'],
    summary: 'Decline a pending share the caller received',
    description: 'Sends the SHARE_DECLINED notification to the sharing server. data is an array with the one share, state 2.',
    parameters: [shareId, format],
    success: { schema: 'OcsShareListResponse', description: 'An array with the declined share.' },
    errors: [404, 409],
    errorText: {
      404: 'The caller received no share with this id (statuscode 404).',
      409: 'The share is not pending (statuscode 409).',
    },
  },
];

function errorReply(spec: OperationSpec, status: ErrorStatus): OpenAPIV3.ResponseObject {
  const text = spec.errorText?.[status];
  return text ? reply('OcsErrorResponse', text) : error[status];
}

function v2Operation(spec: OperationSpec): OpenAPIV3.OperationObject {
  // Any request may come with a malformed, unsupported or oversized body, whatever the operation takes.
  const statuses = [...new Set<ErrorStatus>([400, 401, 413, 415, ...spec.errors, 500])].sort((a, b) => a - b);
  return {
    operationId: spec.operationId,
    tags: spec.tags,
    summary: spec.summary,
    description: [spec.description, 'OCS v2: the HTTP status equals meta.statuscode (200 on success).'].filter(Boolean).join(' '),
    parameters: spec.parameters,
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: {
      200: reply(spec.success.schema, `${spec.success.description} meta.statuscode 200.`),
      ...Object.fromEntries(statuses.map((status) => [status, errorReply(spec, status)])),
    },
  };
}

function v1Operation(spec: OperationSpec): OpenAPIV3.OperationObject {
  const failures = [...spec.errors, 500].sort((a, b) => a - b).join(', ');
  return {
    operationId: `${spec.operationId}V1`,
    tags: spec.tags,
    summary: `${spec.summary} (OCS v1)`,
    description: [
      spec.description,
      'OCS v1: HTTP 200 for every outcome but a failed login. On success meta.statuscode is 100;',
      `on failure meta.status is failure and meta.statuscode is the code v2 answers with (${failures}).`,
    ]
      .filter(Boolean)
      .join(' '),
    parameters: spec.parameters,
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: {
      200: reply(OUTCOME[spec.success.schema], `${spec.success.description} (meta.statuscode 100), or a failure envelope.`),
      401: error[401],
    },
  };
}

function pathSet(base: string, build: (spec: OperationSpec) => OpenAPIV3.OperationObject): OpenAPIV3.PathsObject {
  const out: Record<string, OpenAPIV3.PathItemObject> = {};
  for (const spec of operations) {
    const item = (out[`${base}${spec.path}`] ??= {});
    item[spec.method] = build(spec);
  }
  return out;
}

const paths: OpenAPIV3.PathsObject = {
  ...pathSet(OCS_V2_BASE, v2Operation),
  ...pathSet(OCS_V1_BASE, v1Operation),
};

const digits = (description: string): Schema => ({ type: 'string', pattern: '^[0-9]+$', description });

/** 1..31 as a JSON number or as the decimal string a form sends. */
const permissionsInput: Schema = {
  description: 'OCS permission bits (1 read, 2 update, 4 create, 8 delete, 16 share), 1..31; a number or its decimal string.',
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 31 },
    { type: 'string', pattern: '^([1-9]|[12][0-9]|3[01])$' },
  ],
};

const DATE = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';

const schemas: Record<string, Schema> = {
  // ---- envelope -----------------------------------------------------------
  OcsMeta: {
    type: 'object',
    description: 'The meta part of every OCS answer.',
    required: ['status', 'statuscode', 'message'],
    properties: {
      status: {
        type: 'string',
        enum: ['ok', 'failure', 'error'],
        description: "ok, or failure on error. We send failure (Nextcloud's word); reva writes error, which is accepted when reading.",
      },
      statuscode: {
        type: 'integer',
        description: 'Success: 100 (v1) or 200 (v2). Failure: the HTTP error code, which v2 also uses as the HTTP status.',
      },
      message: { type: 'string', description: 'Human-readable detail; may be empty.' },
      totalitems: {
        description: 'Paging hint; Nextcloud sends an empty string.',
        anyOf: [{ type: 'integer' }, { type: 'string' }],
      },
      itemsperpage: {
        description: 'Paging hint; Nextcloud sends an empty string.',
        anyOf: [{ type: 'integer' }, { type: 'string' }],
      },
    },
  },
  OcsOkMeta: {
    description: 'Meta of a successful answer: status ok, statuscode 100 (v1) or 200 (v2).',
    allOf: [
      ref('OcsMeta'),
      { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, statuscode: { type: 'integer', enum: [100, 200] } } },
    ],
  },
  OcsFailureMeta: {
    description: 'Meta of a failed answer: status failure, statuscode the error code (never 100 or 200).',
    allOf: [
      ref('OcsMeta'),
      {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['failure', 'error'] },
          statuscode: { type: 'integer', not: { enum: [100, 200] } },
        },
      },
    ],
  },
  OcsShareResponse: {
    type: 'object',
    description: 'Success envelope holding one share.',
    required: ['ocs'],
    properties: {
      ocs: { type: 'object', required: ['meta', 'data'], properties: { meta: ref('OcsOkMeta'), data: ref('OcsShare') } },
    },
  },
  OcsShareListResponse: {
    type: 'object',
    description: 'Success envelope holding a list of shares.',
    required: ['ocs'],
    properties: {
      ocs: {
        type: 'object',
        required: ['meta', 'data'],
        properties: { meta: ref('OcsOkMeta'), data: { type: 'array', items: ref('OcsShare') } },
      },
    },
  },
  OcsEmptyResponse: {
    type: 'object',
    description: 'Success envelope without data: data is an empty array (as Nextcloud sends it).',
    required: ['ocs'],
    properties: {
      ocs: {
        type: 'object',
        required: ['meta', 'data'],
        properties: { meta: ref('OcsOkMeta'), data: { type: 'array', maxItems: 0, items: {} } },
      },
    },
  },
  OcsErrorResponse: {
    type: 'object',
    description: 'Failure envelope. We always send data: []; reva leaves data out, Nextcloud may send {}.',
    required: ['ocs'],
    properties: {
      ocs: {
        type: 'object',
        required: ['meta'],
        properties: {
          meta: ref('OcsFailureMeta'),
          data: {
            anyOf: [
              { type: 'array', maxItems: 0, items: {} },
              { type: 'object', maxProperties: 0 },
            ],
          },
        },
      },
    },
  },
  OcsShareOutcome: {
    description: 'A v1 answer (always HTTP 200): a share, or a failure envelope.',
    oneOf: [ref('OcsShareResponse'), ref('OcsErrorResponse')],
  },
  OcsShareListOutcome: {
    description: 'A v1 answer (always HTTP 200): a list of shares, or a failure envelope.',
    oneOf: [ref('OcsShareListResponse'), ref('OcsErrorResponse')],
  },
  OcsEmptyOutcome: {
    description: 'A v1 answer (always HTTP 200): an empty success, or a failure envelope.',
    oneOf: [ref('OcsEmptyResponse'), ref('OcsErrorResponse')],
  },

  // ---- share data ---------------------------------------------------------
  OcsShare: {
    type: 'object',
    description:
      'An OCM share as OCS presents it, outgoing (made by the caller) or received (state present). ' +
      "It never holds the OCM shared secret, under any property name: only the owner's and the recipient's " +
      'servers know it. Servers add further fields (item_source, storage_id, space_id, ...).',
    required: ['id', 'share_type', 'permissions', 'stime', 'item_type'],
    properties: {
      id: { type: 'string', minLength: 1, description: "Share id (a received share has its own id, not the sender's)." },
      share_type: { type: 'integer', enum: [OCS_SHARE_TYPE_FEDERATED], description: 'Always 6, federated.' },
      uid_owner: { type: 'string', description: 'Who made the share (user@provider for a received share).' },
      displayname_owner: { type: 'string' },
      uid_file_owner: { type: 'string', description: 'Who owns the resource.' },
      displayname_file_owner: { type: 'string' },
      share_with: { type: 'string', description: 'Recipient: user@provider for an outgoing share, the local user for a received one.' },
      share_with_displayname: { type: 'string' },
      share_with_provider: { type: 'string', description: "Recipient's server (host[:port]) for an outgoing share." },
      permissions: {
        type: 'integer',
        minimum: 0,
        maximum: 31,
        description: 'OCS permission bits (1 read, 2 update, 4 create, 8 delete, 16 share).',
      },
      stime: { type: 'integer', format: 'int64', minimum: 0, description: 'Creation time, Unix seconds.' },
      expiration: {
        type: 'string',
        nullable: true,
        pattern: `^(${DATE}( [0-9]{2}:[0-9]{2}:[0-9]{2})?)?$`,
        description: 'End of validity as "YYYY-MM-DD 00:00:00", or null when none (reva sends an empty string).',
      },
      path: { type: 'string', description: "Path in the caller's view: the shared resource, or /Shares/<name> when received." },
      item_type: { type: 'string', enum: ['file', 'folder'] },
      mimetype: { type: 'string', description: 'httpd/unix-directory for folders.' },
      name: { type: 'string', description: 'Name of the shared resource.' },
      file_target: { type: 'string' },
      state: {
        type: 'integer',
        enum: [OCS_STATE.accepted, OCS_STATE.pending, OCS_STATE.declined],
        description: 'Received shares only: 0 accepted, 1 pending, 2 declined.',
      },
      remote_id: { type: 'string', description: 'The OCM providerId the sending server gave the share.' },
      token: {
        type: 'string',
        nullable: true,
        description: 'Never the OCM shared secret (Nextcloud exposes it here; we do not). Usually absent or null.',
      },
    },
    not: { anyOf: [{ required: ['sharedSecret'] }, { required: ['shared_secret'] }] },
  },

  // ---- requests -----------------------------------------------------------
  CreateShareRequest: {
    type: 'object',
    description:
      'Form values are strings, so numbers may come as decimal strings. Give role or permissions; without either the ' +
      'share is read-only (viewer); when both are given, permissions decides.',
    required: ['shareType', 'path', 'shareWith', 'shareWithProvider'],
    properties: {
      shareType: {
        description: 'Must be 6 (federated); other values are refused with 400.',
        anyOf: [{ type: 'integer' }, digits('Decimal share type, e.g. "6".')],
      },
      path: { type: 'string', minLength: 1, description: "Resource to share, relative to the caller's home, e.g. /Documents/notes.md." },
      shareWith: { type: 'string', minLength: 1, description: "The contact's user id at their server, as listed by find-accepted-users." },
      shareWithProvider: { type: 'string', minLength: 1, description: "The contact's server (idp), as listed by find-accepted-users." },
      permissions: permissionsInput,
      role: { type: 'string', enum: [...OCS_ROLES], description: 'viewer (read) or editor (read and write).' },
      expireDate: { type: 'string', pattern: `^${DATE}$`, description: 'Last day of validity, YYYY-MM-DD.' },
    },
  },
  UpdateShareRequest: {
    type: 'object',
    description: 'Names at least one of permissions, role, expireDate; when both permissions and role are given, permissions decides.',
    properties: {
      permissions: permissionsInput,
      role: { type: 'string', enum: [...OCS_ROLES] },
      expireDate: {
        type: 'string',
        pattern: `^(${DATE})?$`,
        description: 'New last day of validity, YYYY-MM-DD; an empty string removes it.',
      },
    },
    anyOf: [{ required: ['permissions'] }, { required: ['role'] }, { required: ['expireDate'] }],
  },
};

export const ocsDocument: OpenAPIV3.Document = {
  openapi: '3.0.3',
  info: {
    title: 'OCS share API for OCM shares (ocm-conformance)',
    version: '1.0.0',
    description:
      'Local-user API to create and manage federated (share type 6) shares, compatible with reva/oCIS and Nextcloud ' +
      'clients, at both OCS flavours. Always JSON. v2: HTTP status = meta.statuscode. v1: HTTP 200 with meta.statuscode ' +
      '100 on success or the v2 error code on failure. A failed Basic login is HTTP 401 in both.',
    license: { name: 'Apache-2.0' },
  },
  servers: [{ url: '{origin}', variables: { origin: { default: 'https://cloud.example.org' } } }],
  security: [{ basic: [] }],
  tags: [{ name: 'shares' }, { name: 'pending' }],
  paths,
  components: {
    securitySchemes: {
      basic: { type: 'http', scheme: 'basic', description: 'A local user from the users file.' },
    },
    schemas,
  },
};
