/**
 * Our OpenAPI 3.0.3 document for the OCM server-to-server API, newest draft
 * (cs3org/OCM-API main @ 6a05861, which calls itself 1.4.0).
 *
 * Invariants (checked by ocm-spec-facts.test.ts):
 * - Paths are relative to the OCM `endPoint` from discovery, except the ones
 *   marked `x-ocm-base: 'root'`, which live at the server's origin.
 * - Every request body and every response body is a `$ref` to a named schema
 *   in `components.schemas`, so the registry can look schemas up by name.
 * - Request schemas never forbid unknown properties: senders add extensions.
 * - `NewShare` is the strict shape a newest-draft sender must send;
 *   `IncomingShare` is what we accept as a receiver (1.0–1.4 encodings).
 * - Formats used: date-time, uri, uri-reference, email, fqdn, int32, int64,
 *   uuid (all registered in our ajv). `fqdn` means `host[:port]`.
 * Where we differ from the official YAML or text: decisions/0002.
 */
import type { OpenAPIV3 } from 'openapi-types';

/** Notification type names known to the newest draft (YAML list + IANA registry). */
export const OCM_NOTIFICATION_TYPES = [
  'SHARE_ACCEPTED',
  'SHARE_DECLINED',
  'REQUEST_RESHARE',
  'SHARE_UNSHARED',
  'RESHARE_UNDO',
  'RESHARE_CHANGE_PERMISSION',
  'USER_REMOVED',
] as const;

/** Discovery `capabilities` values of the newest draft. */
export const OCM_CAPABILITIES = [
  'enforce-mfa',
  'exchange-token',
  'http-sig',
  'invites',
  'invite-wayf',
  'notifications',
  'protocol-object',
] as const;

/** Discovery `criteria` values of the newest draft. */
export const OCM_CRITERIA = ['must-use-http-sig', 'must-exchange-token', 'denylist', 'allowlist', 'must-invite'] as const;

/** Recipient share types. */
export const OCM_SHARE_TYPES = ['user', 'group', 'federation'] as const;

/** Resource types in the OCM Resource Types registry. */
export const OCM_RESOURCE_TYPES = ['file', 'folder'] as const;

/** Values of a protocol's `requirements` array. */
export const OCM_REQUIREMENTS = ['must-use-mfa', 'must-exchange-token'] as const;

/** Values of `protocol.webdav.permissions`. */
export const OCM_WEBDAV_PERMISSIONS = ['read', 'write', 'share'] as const;

/** Values of `protocol.webapp.permissions`. */
export const OCM_WEBAPP_PERMISSIONS = ['view', 'read', 'write', 'share'] as const;

/** Ways a receiver may present a webapp share. */
export const OCM_WEBAPP_TARGETS = ['blank', 'iframe'] as const;

/** Values of `accessTypes` (webdav and ssh). */
export const OCM_ACCESS_TYPES = ['remote', 'datatx'] as const;

/** OAuth-style error codes of the token endpoint. */
export const OCM_TOKEN_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
] as const;

/** Where a path of `ocmDocument` is rooted. */
export type OcmPathBase = 'root' | 'endPoint';
export type OcmPathItem = OpenAPIV3.PathItemObject & { 'x-ocm-base': OcmPathBase };

type Schema = OpenAPIV3.SchemaObject;
type Ref = OpenAPIV3.ReferenceObject;

const ref = (name: string): Ref => ({ $ref: `#/components/schemas/${name}` });
const enumOf = (values: readonly string[]): string[] => [...values];

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

function jsonBody(schema: string, description: string, mediaTypes: readonly string[] = [JSON_TYPE]): OpenAPIV3.RequestBodyObject {
  return {
    description,
    required: true,
    content: Object.fromEntries(mediaTypes.map((m) => [m, { schema: ref(schema) }])),
  };
}

function reply(schema: string, description: string, headers?: OpenAPIV3.ResponseObject['headers']): OpenAPIV3.ResponseObject {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { [JSON_TYPE]: { schema: ref(schema) } },
  };
}

const retryAfter: OpenAPIV3.ResponseObject['headers'] = {
  'Retry-After': {
    description: 'When to try again: an HTTP-date or a number of seconds.',
    schema: { type: 'string' },
  },
};

/** Error responses shared by the JSON endpoints under `endPoint`. */
const errors = {
  400: reply('ValidationErrorResponse', 'The body is malformed, misses a required field or names an unknown recipient.'),
  401: reply('Error', 'The calling server could not be authenticated (e.g. missing or bad signature).'),
  403: reply('Error', 'The calling server is authenticated but not allowed to do this.'),
  404: reply('Error', 'The referenced share, resource or user does not exist here.'),
  409: reply('Error', 'The request conflicts with the current state (e.g. already accepted).'),
  413: reply('Error', 'The request body is larger than this server accepts.'),
  415: reply('Error', 'The request body has a media type this endpoint does not accept.'),
  501: reply('Error', 'This server does not implement the feature, type or value asked for.'),
  503: reply('Error', 'Temporarily unavailable; see Retry-After.', retryAfter),
} satisfies Record<number, OpenAPIV3.ResponseObject>;

const paths: Record<string, OcmPathItem> = {
  '/.well-known/ocm': {
    'x-ocm-base': 'root',
    servers: [{ url: '{origin}', variables: { origin: { default: 'https://cloud.example.org' } } }],
    get: {
      operationId: 'getDiscovery',
      tags: ['discovery'],
      summary: 'Discovery document (RFC 8615 well-known location)',
      responses: { 200: reply('Discovery', 'What this server offers and where its OCM API lives.') },
    },
  },
  '/ocm-provider': {
    'x-ocm-base': 'root',
    servers: [{ url: '{origin}', variables: { origin: { default: 'https://cloud.example.org' } } }],
    get: {
      operationId: 'getLegacyDiscovery',
      tags: ['discovery'],
      summary: 'Discovery document at the pre-1.4 location (same body)',
      description: 'Kept for peers older than 1.4, which probe this path first or only.',
      deprecated: true,
      responses: { 200: reply('Discovery', 'The same document as /.well-known/ocm.') },
    },
  },
  '/.well-known/jwks.json': {
    'x-ocm-base': 'root',
    servers: [{ url: '{origin}', variables: { origin: { default: 'https://cloud.example.org' } } }],
    get: {
      operationId: 'getJwks',
      tags: ['keys'],
      summary: 'Signing keys at the fixed location used by 1.3 and 1.4.0',
      responses: { 200: reply('JwkSet', 'Public keys this server signs OCM requests with.') },
    },
  },
  '/jwks': {
    'x-ocm-base': 'endPoint',
    get: {
      operationId: 'getJwksFromEndPoint',
      tags: ['keys'],
      summary: 'Signing keys at the URL our discovery advertises as jwksUri',
      responses: { 200: reply('JwkSet', 'Public keys this server signs OCM requests with.') },
    },
  },
  '/shares': {
    'x-ocm-base': 'endPoint',
    post: {
      operationId: 'createShare',
      tags: ['shares'],
      summary: 'Share Creation Notification: a sending server tells us about a new share',
      requestBody: jsonBody('IncomingShare', 'A new share, in any protocol encoding from 1.0 to the newest draft.'),
      responses: {
        201: reply('CreateShareResponse', 'The share was recorded for the recipient.'),
        400: errors[400],
        401: errors[401],
        403: errors[403],
        413: errors[413],
        415: errors[415],
        501: reply('Error', 'Incoming shares, this share type, resource type or protocol are not supported.'),
        503: errors[503],
      },
    },
  },
  '/notifications': {
    'x-ocm-base': 'endPoint',
    post: {
      operationId: 'createNotification',
      tags: ['notifications'],
      summary: 'A peer reports a change to a share or trusted user it knows we hold',
      requestBody: jsonBody('NewNotification', 'The notification.'),
      responses: {
        201: reply('NotificationResponse', 'The notification was processed; the body depends on its type.'),
        400: errors[400],
        401: errors[401],
        403: errors[403],
        404: reply('Error', 'No share or user with this providerId is known for the caller.'),
        413: errors[413],
        415: errors[415],
        501: reply('Error', 'This notification type or resource type is not supported.'),
        503: errors[503],
      },
    },
  },
  '/invite-accepted': {
    'x-ocm-base': 'endPoint',
    post: {
      operationId: 'acceptInvite',
      tags: ['invites'],
      summary: "The invite receiver's server reports that one of our invites was accepted",
      requestBody: jsonBody('AcceptedInvite', 'Who accepted which invite, from which server.'),
      responses: {
        200: reply('AcceptedInviteResponse', 'Accepted; the body describes the user who sent the invite.'),
        400: reply('ValidationErrorResponse', 'The token is unknown or invalid, or the body is malformed.'),
        401: errors[401],
        403: reply('Error', 'The calling server is not trusted to accept this invite.'),
        409: reply('Error', 'The invite was already accepted.'),
        413: errors[413],
        415: errors[415],
        429: reply('Error', 'Too many failed redemptions from this provider (token guessing); Retry-After says when to try again.'),
      },
    },
  },
  '/token': {
    'x-ocm-base': 'endPoint',
    post: {
      operationId: 'exchangeToken',
      tags: ['token'],
      summary: 'Code flow: exchange a share secret for a short-lived bearer token',
      description: 'Served at the URL our discovery advertises as tokenEndPoint; errors are OAuth-style.',
      requestBody: jsonBody('TokenRequest', 'Form-encoded token request.', [FORM_TYPE]),
      responses: {
        200: reply('TokenResponse', 'A bearer token for the shared resource.'),
        400: reply('TokenError', 'The request was refused (OAuth error code).'),
        401: reply('TokenError', 'The caller could not be authenticated (OAuth error code).'),
        413: errors[413],
        415: errors[415],
      },
    },
  },
  '/request-share': {
    'x-ocm-base': 'endPoint',
    post: {
      operationId: 'requestShare',
      tags: ['request-share'],
      summary: 'A would-be recipient asks one of our users to share a resource',
      requestBody: jsonBody('RequestShare', 'Who asks whom for which resource.'),
      responses: {
        201: reply('RequestShareResponse', 'The request was received.'),
        400: errors[400],
        401: errors[401],
        403: errors[403],
        404: reply('Error', 'The resource does not exist or the requester may not see it.'),
        413: errors[413],
        415: errors[415],
        501: reply('Error', 'This server does not take share requests.'),
        503: errors[503],
      },
    },
  },
};

const schemas: Record<string, Schema> = {
  // ---- errors -------------------------------------------------------------
  Error: {
    type: 'object',
    description: 'Error body of the OCM JSON endpoints.',
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'Short, machine- and human-readable reason.', example: 'RESOURCE_NOT_FOUND' },
      code: { type: 'string', description: 'Stable error code of the answering implementation.' },
      validationErrors: { type: 'array', items: ref('ValidationError') },
    },
  },
  ValidationError: {
    type: 'object',
    description: 'One problem with one field of the request.',
    required: ['name', 'message'],
    properties: {
      name: { type: 'string', description: 'The offending field (a dotted path for nested fields).', example: 'shareWith' },
      message: { type: 'string', description: 'What is wrong with it.', example: 'NOT_FOUND' },
    },
  },
  ValidationErrorResponse: {
    description: 'Error body of a 400 answer; may list the fields at fault in validationErrors.',
    allOf: [ref('Error'), { type: 'object', properties: { validationErrors: { type: 'array', items: ref('ValidationError') } } }],
  },

  // ---- discovery ----------------------------------------------------------
  PeerDiscovery: {
    type: 'object',
    description:
      'The least a discovery document must hold for this server to talk to its author: an absolute endPoint. ' +
      "Used when reading other servers' documents, which carry values from older versions (1.0-1.3) that the strict Discovery schema rejects.",
    required: ['endPoint'],
    properties: {
      enabled: { type: 'boolean' },
      apiVersion: { type: 'string' },
      endPoint: { type: 'string', format: 'uri' },
      resourceTypes: { type: 'array', items: { type: 'object' } },
      capabilities: { type: 'array', items: { type: 'string' } },
      criteria: { type: 'array', items: { type: 'string' } },
      tokenEndPoint: { type: 'string', format: 'uri' },
      jwksUri: { type: 'string', format: 'uri' },
    },
  },
  Discovery: {
    type: 'object',
    description: 'What an OCM server offers, served at /.well-known/ocm.',
    required: ['enabled', 'apiVersion', 'endPoint', 'resourceTypes'],
    properties: {
      enabled: { type: 'boolean', description: 'Whether OCM is switched on at this server.' },
      apiVersion: { type: 'string', description: 'OCM version spoken (informational).', example: '1.4.0' },
      endPoint: {
        type: 'string',
        format: 'uri',
        description: 'Absolute base URL of the OCM API.',
        example: 'https://cloud.example.org/ocm',
      },
      provider: { type: 'string', description: 'Human-friendly name of the service.', example: 'ocm-conformance' },
      resourceTypes: { type: 'array', items: ref('ResourceType'), description: 'Resource types offered; at most one entry per name.' },
      capabilities: { type: 'array', items: ref('Capability'), description: 'Optional features; receiving /shares is implied.' },
      criteria: { type: 'array', items: ref('Criterion'), description: 'Conditions this server sets for accepting shares.' },
      tokenEndPoint: { type: 'string', format: 'uri', description: 'Absolute URL of the code-flow token endpoint.' },
      jwksUri: { type: 'string', format: 'uri', description: 'Absolute URL of the JWK Set with our signing keys.' },
      inviteAcceptDialog: {
        type: 'string',
        description: 'Page (path or URL) where a user accepts an invite given token and providerDomain.',
      },
      publicKey: ref('LegacyPublicKey'),
    },
  },
  ResourceType: {
    type: 'object',
    description: 'One kind of resource and how it can be shared and reached.',
    required: ['name', 'shareTypes', 'protocols'],
    properties: {
      name: { type: 'string', description: 'Resource type name, e.g. file or folder.', example: 'file' },
      shareTypes: { type: 'array', minItems: 1, items: ref('ShareType'), description: 'Recipient kinds supported; user at least.' },
      protocols: ref('DiscoveryProtocols'),
    },
  },
  DiscoveryProtocols: {
    type: 'object',
    description: 'Protocol name to value. A plain key advertises sending, a `-receive` key receiving.',
    minProperties: 1,
    properties: {
      webdav: { type: 'string', pattern: '^/', description: 'WebDAV path prefix for relative share URIs.', example: '/dav/ocm/' },
      'webdav-receive': ref('WebdavReceive'),
      webapp: { type: 'object', description: 'Present (as an empty object) when we send webapp shares.' },
      'webapp-receive': ref('WebappReceive'),
      ssh: { type: 'string', description: 'host:port of an ssh/scp endpoint with key-based login.' },
      'ssh-receive': { type: 'object', description: 'Present (as an empty object) when we receive ssh shares.' },
    },
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'object' }] },
  },
  WebdavReceive: {
    type: 'object',
    description: 'Receiving webdav shares, and which form of webdav.uri is understood.',
    required: ['uri'],
    properties: { uri: { type: 'string', enum: ['absolute', 'relative'] } },
  },
  WebappReceive: {
    type: 'object',
    description: 'Receiving webapp shares, and how they can be presented.',
    required: ['targets'],
    properties: { targets: { type: 'array', minItems: 1, uniqueItems: true, items: ref('WebappTarget') } },
  },
  Capability: { type: 'string', enum: enumOf(OCM_CAPABILITIES), description: 'Optional feature token.' },
  Criterion: { type: 'string', enum: enumOf(OCM_CRITERIA), description: 'Admission condition token.' },
  LegacyPublicKey: {
    type: 'object',
    deprecated: true,
    description: 'draft-cavage signing key of 1.2–1.3 (keyId; `id` in 1.2.0). Gone in 1.4; read only from old peers.',
    required: ['publicKeyPem'],
    properties: {
      keyId: { type: 'string' },
      id: { type: 'string' },
      publicKeyPem: { type: 'string' },
    },
  },

  // ---- keys ---------------------------------------------------------------
  Jwk: {
    type: 'object',
    description: 'One public signing key (RFC 7517); kid and alg are mandatory for OCM.',
    required: ['kty', 'kid', 'alg'],
    properties: {
      kty: { type: 'string', example: 'OKP' },
      kid: { type: 'string', minLength: 1 },
      alg: {
        type: 'string',
        description: 'Asymmetric JOSE algorithm; never none or an HMAC.',
        not: { type: 'string', pattern: '^(none|HS[0-9]+)$' },
        example: 'Ed25519',
      },
      use: { type: 'string', example: 'sig' },
      key_ops: { type: 'array', items: { type: 'string' } },
      crv: { type: 'string' },
      x: { type: 'string' },
      y: { type: 'string' },
      n: { type: 'string' },
      e: { type: 'string' },
    },
  },
  JwkSet: {
    type: 'object',
    required: ['keys'],
    properties: { keys: { type: 'array', items: ref('Jwk') } },
  },

  // ---- shares: shared pieces ----------------------------------------------
  OcmAddress: {
    type: 'string',
    description: 'identifier@host[:port]; the host is what follows the last @, and there is no path.',
    pattern: '^.+@[^@/?#\\s]+$',
    example: 'einstein@cloud.example.org',
  },
  ShareType: { type: 'string', enum: enumOf(OCM_SHARE_TYPES) },
  RegisteredResourceType: {
    type: 'string',
    enum: enumOf(OCM_RESOURCE_TYPES),
    description: 'Resource types in the OCM registry. Share payloads may carry other names.',
  },
  Requirement: { type: 'string', enum: enumOf(OCM_REQUIREMENTS) },
  WebdavPermission: { type: 'string', enum: enumOf(OCM_WEBDAV_PERMISSIONS) },
  WebappPermission: { type: 'string', enum: enumOf(OCM_WEBAPP_PERMISSIONS) },
  WebappTarget: { type: 'string', enum: enumOf(OCM_WEBAPP_TARGETS) },
  AccessType: { type: 'string', enum: enumOf(OCM_ACCESS_TYPES) },

  // ---- shares: strict newest-draft shape (what a sender must send) --------
  NewShare: {
    type: 'object',
    description: 'Share Creation Notification as a newest-draft sender must send it.',
    required: ['shareWith', 'name', 'providerId', 'owner', 'sender', 'shareType', 'resourceType', 'protocol'],
    properties: {
      shareWith: ref('OcmAddress'),
      name: { type: 'string', description: 'Name of the shared file or folder.', example: 'report.pdf' },
      description: { type: 'string' },
      providerId: {
        type: 'string',
        description: "Sender's opaque id, different for every share.",
        example: '7c084226-d9a1-11e6-bf26-cec0c932ce01',
      },
      owner: ref('OcmAddress'),
      sender: ref('OcmAddress'),
      ownerDisplayName: { type: 'string' },
      senderDisplayName: { type: 'string' },
      shareType: ref('ShareType'),
      resourceType: { type: 'string', description: 'Usually file or folder (see RegisteredResourceType).', example: 'file' },
      expiration: { type: 'integer', format: 'int64', description: 'Unix time (seconds) when the share ends; absent means never.' },
      protocol: ref('ShareProtocol'),
    },
  },
  ShareProtocol: {
    type: 'object',
    description: 'The multi encoding: one property per offered protocol; at least one registered protocol.',
    required: ['name'],
    properties: {
      name: { type: 'string', enum: ['multi'] },
      options: { type: 'object', deprecated: true, description: 'Legacy 1.0 container; ignored in the multi encoding.' },
      webdav: ref('WebdavProtocol'),
      webapp: ref('WebappProtocol'),
      ssh: ref('SshProtocol'),
    },
    additionalProperties: { type: 'object' },
    anyOf: [{ required: ['webdav'] }, { required: ['webapp'] }, { required: ['ssh'] }],
  },
  WebdavProtocol: {
    type: 'object',
    description: 'WebDAV access to the shared resource.',
    required: ['uri', 'sharedSecret', 'permissions'],
    properties: {
      accessTypes: { type: 'array', items: ref('AccessType'), description: 'Defaults to remote when absent.' },
      uri: { type: 'string', description: 'Absolute URL, or a key to append to the discovery webdav prefix.' },
      sharedSecret: { type: 'string', description: 'Bearer secret; never part of a URI.' },
      permissions: { type: 'array', items: ref('WebdavPermission') },
      requirements: { type: 'array', minItems: 1, uniqueItems: true, items: ref('Requirement') },
      size: { type: 'integer', format: 'int64', description: 'Size in bytes, useful with datatx.' },
    },
  },
  WebappProtocol: {
    type: 'object',
    description: 'Access through a web application at the sender (1.4 shape).',
    required: ['uri', 'sharedSecret', 'targets', 'permissions', 'requirements'],
    properties: {
      uri: { type: 'string', format: 'uri', description: 'Absolute URL of the app view; a root for folders.' },
      targets: { type: 'array', minItems: 1, items: ref('WebappTarget') },
      permissions: { type: 'array', minItems: 1, items: ref('WebappPermission') },
      requirements: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: ref('Requirement'),
        description: 'Must include must-exchange-token (checked in code: OpenAPI 3.0 has no contains).',
      },
      sharedSecret: { type: 'string', description: 'Exchanged at tokenEndPoint; never sent to a browser.' },
      appIconHint: { type: 'string', description: 'Media type hinting at an icon.', example: 'text/markdown' },
      appName: { type: 'string' },
      mediaTypes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' } },
    },
  },
  SshProtocol: {
    type: 'object',
    description: 'ssh/scp access with public-key login.',
    required: ['uri'],
    properties: {
      accessTypes: { type: 'array', items: ref('AccessType'), description: 'Defaults to remote when absent.' },
      uri: { type: 'string', description: 'user@host:port/path', example: 'extuser@cloud.example.org:/share-1' },
    },
  },

  // ---- shares: tolerant receiver shape ------------------------------------
  IncomingShare: {
    type: 'object',
    description:
      'Share Creation Notification as we accept it: the newest required fields, any of the three protocol encodings. ' +
      'shareType and resourceType are free strings so that unsupported values get a 501 from the handler, not a 400 here.',
    required: ['shareWith', 'name', 'providerId', 'owner', 'sender', 'shareType', 'resourceType', 'protocol'],
    properties: {
      shareWith: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      providerId: { type: 'string' },
      owner: { type: 'string' },
      sender: { type: 'string' },
      ownerDisplayName: { type: 'string' },
      senderDisplayName: { type: 'string' },
      shareType: { type: 'string' },
      resourceType: { type: 'string' },
      expiration: { type: 'integer', format: 'int64' },
      protocol: ref('IncomingProtocol'),
    },
  },
  IncomingProtocol: {
    description: 'Exactly one of: legacy name+options (1.0), single named protocol, multi.',
    oneOf: [ref('LegacyProtocol'), ref('SingleProtocol'), ref('MultiProtocol')],
  },
  LegacyProtocol: {
    type: 'object',
    deprecated: true,
    description: '1.0 encoding: {name: webdav, options: {sharedSecret, ...}} without a webdav object.',
    required: ['name', 'options'],
    properties: {
      name: { type: 'string', enum: ['webdav'] },
      options: ref('LegacyProtocolOptions'),
    },
    not: { required: ['webdav'] },
    additionalProperties: { type: 'object' },
  },
  LegacyProtocolOptions: {
    type: 'object',
    required: ['sharedSecret'],
    properties: {
      sharedSecret: { type: 'string' },
      permissions: { type: 'string', description: 'Opaque in 1.0, e.g. a WebDAV property name.' },
    },
  },
  SingleProtocol: {
    type: 'object',
    description: 'Encoding with name webdav and the details in a webdav object (options may ride along).',
    required: ['name', 'webdav'],
    properties: {
      name: { type: 'string', enum: ['webdav'] },
      options: { type: 'object' },
      webdav: ref('IncomingWebdavProtocol'),
    },
    additionalProperties: { type: 'object' },
  },
  MultiProtocol: {
    type: 'object',
    description: 'Encoding with name multi and one object per offered protocol (at least one registered protocol).',
    required: ['name'],
    properties: {
      name: { type: 'string', enum: ['multi'] },
      options: { type: 'object' },
      // The multi encoding is 1.2+: its webdav object must say where the resource is (1.4 makes uri REQUIRED).
      webdav: { allOf: [ref('IncomingWebdavProtocol'), { type: 'object', required: ['uri'] }] },
      webapp: ref('IncomingWebappProtocol'),
      ssh: ref('SshProtocol'),
    },
    additionalProperties: { type: 'object' },
    anyOf: [{ required: ['webdav'] }, { required: ['webapp'] }, { required: ['ssh'] }],
  },
  IncomingWebdavProtocol: {
    type: 'object',
    description:
      'webdav object as 1.1–1.4 senders fill it. The secret is required (a share without one cannot be accessed safely and 1.2+ forbids secrets in URIs); ' +
      'uri and permissions may be missing in shares from older senders.',
    required: ['sharedSecret'],
    properties: {
      accessTypes: { type: 'array', items: ref('AccessType') },
      uri: { type: 'string' },
      sharedSecret: { type: 'string', minLength: 1 },
      permissions: { type: 'array', items: ref('WebdavPermission') },
      requirements: { type: 'array', minItems: 1, items: ref('Requirement') },
      size: { type: 'integer', format: 'int64' },
    },
  },
  IncomingWebappProtocol: {
    description: 'webapp object: the 1.4 shape, or the 1.1–1.3 shape (uriTemplate / viewMode).',
    anyOf: [ref('WebappProtocol'), ref('LegacyWebappProtocol')],
  },
  LegacyWebappProtocol: {
    type: 'object',
    deprecated: true,
    description: 'Pre-1.4 webapp object, recognised by uriTemplate or viewMode.',
    properties: {
      uriTemplate: { type: 'string' },
      uri: { type: 'string' },
      viewMode: { type: 'string' },
      sharedSecret: { type: 'string' },
    },
    anyOf: [{ required: ['uriTemplate'] }, { required: ['viewMode'] }],
  },
  CreateShareResponse: {
    type: 'object',
    required: ['recipientDisplayName'],
    properties: {
      recipientDisplayName: { type: 'string', example: 'Marie Curie' },
      recipientPublicKeys: { type: 'array', items: { type: 'string' }, description: 'Present when the share offered ssh.' },
    },
  },

  // ---- notifications ------------------------------------------------------
  NewNotification: {
    type: 'object',
    description: 'A notification. notificationType is a free string here: the handler answers unknown types itself.',
    required: ['notificationType', 'resourceType', 'providerId'],
    properties: {
      notificationType: { type: 'string', description: 'See NotificationType for the known names.', example: 'SHARE_ACCEPTED' },
      resourceType: { type: 'string', description: 'Copied from the share; user for USER_REMOVED.', example: 'file' },
      providerId: { type: 'string', description: 'providerId of the share, or the user id for resourceType user.' },
      notification: { type: 'object', description: 'Type-specific details.' },
    },
  },
  NotificationType: { type: 'string', enum: enumOf(OCM_NOTIFICATION_TYPES) },
  NotificationResponse: { type: 'object', description: 'Type-specific answer; often empty.' },

  // ---- invites ------------------------------------------------------------
  AcceptedInvite: {
    type: 'object',
    required: ['recipientProvider', 'token', 'userID', 'email', 'name'],
    properties: {
      recipientProvider: {
        type: 'string',
        format: 'fqdn',
        description: "host[:port] of the invite receiver's server.",
        example: 'receiver.example.org',
      },
      token: { type: 'string', description: 'The invite token.' },
      userID: { type: 'string', description: 'Id of the invite receiver at their server.' },
      email: { type: 'string', description: 'E-mail of the invite receiver (informational).' },
      name: { type: 'string', description: 'Display name of the invite receiver.' },
    },
  },
  AcceptedInviteResponse: {
    type: 'object',
    description: 'Describes the user who sent the invite.',
    required: ['userID', 'email', 'name'],
    properties: {
      userID: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
    },
  },

  // ---- request-share ------------------------------------------------------
  RequestShare: {
    type: 'object',
    required: ['owner', 'shareWith', 'share'],
    properties: {
      owner: ref('OcmAddress'),
      shareWith: ref('OcmAddress'),
      share: { type: 'string', description: 'Identifier of the wanted resource (an id or a URL).' },
    },
  },
  RequestShareResponse: { type: 'object', description: 'Acknowledgement; may be empty.' },

  // ---- token exchange -----------------------------------------------------
  TokenRequest: {
    type: 'object',
    description: 'Form fields of a code-flow token request; other OAuth fields are ignored.',
    required: ['grant_type', 'client_id', 'code'],
    properties: {
      grant_type: { type: 'string', enum: ['authorization_code'] },
      client_id: { type: 'string', format: 'fqdn', description: 'host[:port] of the receiving server.' },
      code: { type: 'string', description: 'The sharedSecret of the share.' },
      redirect_uri: { type: 'string', description: 'Accepted and ignored.' },
    },
  },
  TokenResponse: {
    type: 'object',
    required: ['access_token', 'token_type'],
    properties: {
      access_token: { type: 'string' },
      token_type: { type: 'string', enum: ['Bearer'] },
      expires_in: { type: 'integer', format: 'int32', description: 'Lifetime in seconds.', example: 300 },
    },
  },
  TokenError: {
    type: 'object',
    description: 'OAuth 2.0 style error of the token endpoint.',
    required: ['error'],
    properties: {
      error: { type: 'string', enum: enumOf(OCM_TOKEN_ERROR_CODES) },
      error_description: { type: 'string' },
    },
  },
};

export const ocmDocument: OpenAPIV3.Document = {
  openapi: '3.0.3',
  info: {
    title: 'Open Cloud Mesh server-to-server API (ocm-conformance)',
    version: '1.4.0',
    description:
      'Our statement of the OCM API of the newest draft (OCM-API main @ 6a05861). ' +
      'Paths are relative to the discovered endPoint unless x-ocm-base is root. ' +
      'Differences from the official files are listed in decisions/0002-ocm-openapi-differences.md.',
    license: { name: 'Apache-2.0' },
  },
  servers: [
    {
      url: '{endPoint}',
      description: 'The endPoint value from discovery.',
      variables: { endPoint: { default: 'https://cloud.example.org/ocm' } },
    },
  ],
  tags: [
    { name: 'discovery' },
    { name: 'keys' },
    { name: 'shares' },
    { name: 'notifications' },
    { name: 'invites' },
    { name: 'token' },
    { name: 'request-share' },
  ],
  paths,
  components: { schemas },
};
