/**
 * Our OpenAPI 3.0.3 document for operational endpoints of the reference
 * server (not part of OCM). Unauthenticated, rooted at the server origin.
 */
import type { OpenAPIV3 } from 'openapi-types';

export const opsDocument: OpenAPIV3.Document = {
  openapi: '3.0.3',
  info: {
    title: 'ocm-conformance operations API',
    version: '1.0.0',
    license: { name: 'Apache-2.0' },
  },
  servers: [{ url: '{origin}', variables: { origin: { default: 'http://127.0.0.1:8080' } } }],
  paths: {
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Liveness: the server is up and answering',
        responses: {
          200: {
            description: 'Up.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
        },
      },
    },
    '/accept-invite': {
      get: {
        operationId: 'getInviteAcceptDialog',
        summary: 'The invite acceptance page advertised as inviteAcceptDialog',
        description: 'An HTML page where a local user accepts an invite; `token` and `providerDomain` in the query prefill it.',
        parameters: [
          { name: 'token', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'providerDomain', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: {
          200: { description: 'The page.', content: { 'text/html': { schema: { $ref: '#/components/schemas/HtmlPage' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      HtmlPage: { type: 'string', description: 'An HTML document.' },
      Health: {
        type: 'object',
        required: ['status'],
        properties: { status: { type: 'string', enum: ['ok'] } },
      },
    },
  },
};
