/**
 * Our OpenAPI 3.0.3 document for the sciencemesh invitation API: the calls a
 * signed-in local user makes to create, list and accept invites and to manage
 * the federated contacts that result. Paths are rooted at the server origin.
 *
 * Shapes follow reva/oCIS (reva-ocis-reference §1) with these tightenings:
 * every answer is JSON (reva answers some with empty bodies), errors use the
 * OCM error body, unknown providers give 404/502 instead of 500, and an invite
 * carries its canonical invite string. Every request/response body is a
 * `$ref` to a named schema; request schemas allow unknown properties.
 */
import type { OpenAPIV3 } from 'openapi-types';

type Schema = OpenAPIV3.SchemaObject;

const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

function body(schema: string, description: string, required: boolean, mediaTypes: readonly string[]): OpenAPIV3.RequestBodyObject {
  return {
    description,
    required,
    content: Object.fromEntries(mediaTypes.map((m) => [m, { schema: ref(schema) }])),
  };
}

function reply(schema: string, description: string): OpenAPIV3.ResponseObject {
  return { description, content: { [JSON_TYPE]: { schema: ref(schema) } } };
}

const error = {
  400: reply('Error', 'Missing or malformed parameters.'),
  401: reply('Error', 'No valid credentials for a local user.'),
  403: reply('Error', 'The other server does not trust us, or refuses the invite.'),
  404: reply('Error', 'Unknown token, provider or contact.'),
  409: reply('Error', 'The invite was already accepted or the contact already exists.'),
  413: reply('Error', 'The request body is too large.'),
  415: reply('Error', 'The request body has an unsupported media type.'),
  429: reply('Error', 'The other server refuses further attempts for now.'),
  502: reply('Error', 'The other server gave an unusable answer or could not be reached.'),
  504: reply('Error', 'The other server did not answer in time.'),
} satisfies Record<number, OpenAPIV3.ResponseObject>;

const search: OpenAPIV3.ParameterObject = {
  name: 'search',
  in: 'query',
  required: false,
  description: 'Case-insensitive substring filter.',
  schema: { type: 'string' },
};

const paths: OpenAPIV3.PathsObject = {
  '/sciencemesh/generate-invite': {
    post: {
      operationId: 'generateInvite',
      tags: ['invites'],
      summary: 'Create an invite token for the calling user',
      requestBody: body('GenerateInviteRequest', 'Optional details; an empty body is fine.', false, [JSON_TYPE]),
      responses: {
        200: reply('InviteToken', 'The new invite.'),
        400: error[400],
        401: error[401],
        413: error[413],
        415: error[415],
      },
    },
  },
  '/sciencemesh/list-invite': {
    get: {
      operationId: 'listInvites',
      tags: ['invites'],
      summary: "The calling user's invites that have not expired",
      responses: {
        200: reply('InviteTokenList', 'Unexpired invites of the caller.'),
        401: error[401],
      },
    },
  },
  '/sciencemesh/accept-invite': {
    post: {
      operationId: 'acceptInvite',
      tags: ['invites'],
      summary: "Accept someone else's invite on behalf of the calling user",
      description: 'Contacts the inviting server (POST <endPoint>/invite-accepted) and records the new contact.',
      requestBody: body('AcceptInviteRequest', 'Either token and providerDomain, or the invite string.', true, [JSON_TYPE, FORM_TYPE]),
      responses: {
        200: reply('AcceptedUser', 'The inviting user, now a contact of the caller.'),
        400: error[400],
        401: error[401],
        403: error[403],
        404: error[404],
        409: error[409],
        413: error[413],
        415: error[415],
        429: error[429],
        502: error[502],
        504: error[504],
      },
    },
  },
  '/sciencemesh/find-accepted-users': {
    get: {
      operationId: 'findAcceptedUsers',
      tags: ['contacts'],
      summary: "The calling user's federated contacts",
      parameters: [search],
      responses: {
        200: reply('AcceptedUserList', 'Matching contacts.'),
        401: error[401],
      },
    },
  },
  '/sciencemesh/delete-accepted-user': {
    delete: {
      operationId: 'deleteAcceptedUser',
      tags: ['contacts'],
      summary: 'Remove one federated contact of the calling user',
      requestBody: body('DeleteAcceptedUserRequest', 'Which contact to remove.', true, [JSON_TYPE, FORM_TYPE]),
      responses: {
        200: reply('DeletedAcceptedUser', 'The contact that was removed.'),
        400: error[400],
        401: error[401],
        404: reply('Error', 'The caller has no such contact.'),
        413: error[413],
        415: error[415],
      },
    },
  },
  '/sciencemesh/list-providers': {
    get: {
      operationId: 'listProviders',
      tags: ['providers'],
      summary: 'Trusted OCM providers known to this server',
      parameters: [search],
      responses: {
        200: reply('ProviderList', 'Matching providers.'),
        401: error[401],
      },
    },
  },
};

const schemas: Record<string, Schema> = {
  Error: {
    type: 'object',
    description: 'Error body (same shape as the OCM API error).',
    required: ['message'],
    properties: {
      message: { type: 'string', example: 'token not found' },
      code: { type: 'string', example: 'RESOURCE_NOT_FOUND' },
      validationErrors: { type: 'array', items: ref('ValidationError') },
    },
  },
  ValidationError: {
    type: 'object',
    required: ['name', 'message'],
    properties: {
      name: { type: 'string', example: 'recipient' },
      message: { type: 'string', example: 'INVALID_EMAIL' },
    },
  },
  GenerateInviteRequest: {
    type: 'object',
    properties: {
      description: { type: 'string', description: 'Free text shown with the invite.' },
      recipient: { type: 'string', format: 'email', description: 'Whom the invite is meant for.' },
      expiresIn: {
        type: 'integer',
        minimum: 1,
        description: 'Lifetime in seconds, shorter than the server default (an extension of ours; the server never extends the default).',
      },
    },
  },
  InviteToken: {
    type: 'object',
    required: ['token', 'expiration', 'invite_string'],
    properties: {
      token: { type: 'string', description: 'Hard-to-guess invite token.' },
      expiration: { type: 'integer', format: 'int64', description: 'Unix time (seconds) after which the token is void.' },
      description: { type: 'string' },
      recipient: { type: 'string', format: 'email' },
      invite_link: { type: 'string', description: 'WAYF link carrying the token, when a directory is configured.' },
      invite_string: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'Canonical invite: unpadded base64url of token@providerDomain.',
        example: 'YTU1YTk2NmUtMTVjMS00Y2I5LWEzOWQtNGU0YzU0Mzk5YmFmQGNsb3VkLmV4YW1wbGUub3Jn',
      },
    },
  },
  InviteTokenList: { type: 'array', items: ref('InviteToken') },
  AcceptInviteRequest: {
    type: 'object',
    description: 'Names the invite either by token and providerDomain, or by the canonical invite string.',
    properties: {
      token: { type: 'string', minLength: 1 },
      providerDomain: { type: 'string', minLength: 1, description: 'Server of the inviting user (host[:port], a URL is tolerated).' },
      invite: { type: 'string', minLength: 1, description: 'base64url(token@providerDomain), padded or not.' },
    },
    anyOf: [{ required: ['token', 'providerDomain'] }, { required: ['invite'] }],
  },
  AcceptedUser: {
    type: 'object',
    description: 'A federated contact.',
    required: ['user_id', 'idp', 'display_name', 'mail'],
    properties: {
      user_id: { type: 'string', description: 'Id of the user at their own server.' },
      idp: { type: 'string', description: 'Their server (host[:port]).' },
      display_name: { type: 'string' },
      mail: { type: 'string', description: 'May be empty when the other server gave none.' },
    },
  },
  AcceptedUserList: { type: 'array', items: ref('AcceptedUser') },
  DeleteAcceptedUserRequest: {
    type: 'object',
    required: ['idp', 'user_id'],
    properties: {
      idp: { type: 'string', minLength: 1 },
      user_id: { type: 'string', minLength: 1 },
    },
  },
  DeletedAcceptedUser: {
    type: 'object',
    required: ['deleted'],
    properties: { deleted: ref('AcceptedUser') },
  },
  ProviderInfo: {
    type: 'object',
    required: ['full_name', 'domain'],
    properties: {
      full_name: { type: 'string' },
      domain: { type: 'string' },
    },
  },
  ProviderList: { type: 'array', items: ref('ProviderInfo') },
};

export const sciencemeshDocument: OpenAPIV3.Document = {
  openapi: '3.0.3',
  info: {
    title: 'ScienceMesh invitation API (ocm-conformance)',
    version: '1.0.0',
    description: 'Local-user API for OCM invites and federated contacts, compatible with reva/oCIS clients.',
    license: { name: 'Apache-2.0' },
  },
  servers: [{ url: '{origin}', variables: { origin: { default: 'https://cloud.example.org' } } }],
  security: [{ basic: [] }],
  tags: [{ name: 'invites' }, { name: 'contacts' }, { name: 'providers' }],
  paths,
  components: {
    securitySchemes: {
      basic: { type: 'http', scheme: 'basic', description: 'A local user from the users file.' },
    },
    schemas,
  },
};
