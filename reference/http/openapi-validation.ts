/**
 * Request and response validation against our OpenAPI documents, for every
 * route that names its operation in `config.operation`.
 *
 *  - Requests: the media type must be one the operation declares (415), and
 *    the parsed body must match its schema (400 with `validationErrors`).
 *  - Responses: the status must be declared for the operation and a JSON body
 *    must match the schema declared for that status. A response that does
 *    not is never sent: it is logged and replaced by a 500 RESPONSE_INVALID.
 *
 * Also sets the one error handler and the not-found handler, so that every
 * error leaves as a JSON body from the error catalogue.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { DocumentName, SchemaRegistry } from '../../openapi/registry.ts';
import { OcmError, errorBody, logFailure, type ErrorCode } from '../base/errors.ts';
import { faults } from '../base/faults.ts';
import { OCM_REQUIREMENTS } from '../../openapi/ocm.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The OpenAPI operation this route implements. */
    operation?: { doc: DocumentName; id: string };
  }
}

export interface ValidationPluginOptions {
  registry: SchemaRegistry;
}

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  if (!header) return undefined;
  return header.split(';')[0]!.trim().toLowerCase();
}

function hasBody(request: FastifyRequest): boolean {
  return request.body !== undefined && request.body !== null && !(typeof request.body === 'string' && request.body === '');
}

async function validationPlugin(app: FastifyInstance, options: ValidationPluginOptions): Promise<void> {
  const { registry } = options;

  // Synchronous (callback) hook, as the onSend one below: it runs on every request.
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      checkRequest(registry, request);
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  // Synchronous (callback) hook: it runs on every answer, and needs no await.
  app.addHook('onSend', (request, reply, payload, done) => {
    // A deliberately broken instance (reference/base/faults.ts) sends its faulty answers as they are.
    if (request.method === 'HEAD' || faults.any()) return done(null, payload);
    const ref = request.routeOptions.config?.operation;
    const problem = ref ? checkResponse(registry, ref, reply, payload) : checkErrorBody(registry, reply, payload);
    if (!problem) return done(null, payload);
    request.log.error({ operation: ref, status: reply.statusCode, problem }, 'response violates the API description; replaced by a 500');
    reply.code(500).header('content-type', 'application/json; charset=utf-8');
    reply.removeHeader('content-length');
    done(null, JSON.stringify(errorBody(new OcmError('RESPONSE_INVALID'))));
  });

  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const ocmError = toOcmError(error);
    logFailure(request.log, error, ocmError, 'request failed');
    if (ocmError.headers) reply.headers(ocmError.headers);
    return reply.code(ocmError.status).type('application/json').send(errorBody(ocmError));
  });

  app.setNotFoundHandler(async (request, reply) => {
    const error = new OcmError('ROUTE_NOT_FOUND', { message: `nothing at ${request.method} ${request.url.split('?')[0]}` });
    return reply.code(404).type('application/json').send(errorBody(error));
  });
}

/** Throws the 400/415 a request body earns against its operation's schema; nothing for a valid one. */
function checkRequest(registry: SchemaRegistry, request: FastifyRequest): void {
  const ref = request.routeOptions.config.operation;
  if (!ref) return;
  const operation = registry.operation(ref.doc, ref.id);
  if (operation.requestBody.size === 0) return;
  if (!hasBody(request)) {
    if (operation.requestBodyRequired) throw new OcmError('EMPTY_BODY');
    return;
  }
  // Stored values are serialised recursively later on (JSON.stringify): a body nested
  // thousands deep would overflow the stack there, as a 500, instead of being refused here.
  if (nestedDeeperThan(request.body, MAX_BODY_DEPTH))
    throw new OcmError('BODY_TOO_DEEP', { message: `the request body is nested deeper than ${MAX_BODY_DEPTH} levels` });
  const body = request.body as Record<string, unknown>;
  if (faults.has('shares-missing-owner-accepted') && ref.id === 'createShare' && typeof body === 'object' && body.owner === undefined)
    body.owner = body.sender;
  if (faults.has('inv-missing-email-accepted') && ref.id === 'acceptInvite' && typeof body === 'object' && body.email === undefined)
    body.email = `${body.userID}@${body.recipientProvider}`;
  if (ref.id === 'createShare' && typeof body === 'object') lenientShare(body);
  const mediaType = mediaTypeOf(request);
  const schemaKey = mediaType ? operation.requestBody.get(mediaType) : undefined;
  if (!schemaKey) {
    throw new OcmError('UNSUPPORTED_MEDIA_TYPE', { message: `send ${[...operation.requestBody.keys()].join(' or ')}` });
  }
  const outcome = registry.validateKey(schemaKey, request.body);
  if (!outcome.ok) throw new OcmError('VALIDATION_FAILED', { validationErrors: outcome.issues });
}

/** No OCM payload comes near this; every schema of ours is less than ten levels deep. */
export const MAX_BODY_DEPTH = 64;

/** Whether `value` has arrays or objects nested more than `max` deep; iterative, so any depth is safe to measure. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: next, depth } = stack.pop()!;
    if (next === null || typeof next !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(next) ? next : Object.values(next)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/** What a deliberately broken receiver (reference/base/faults.ts) lets through unchecked; nothing in a normal run. */
function lenientShare(body: Record<string, unknown>): void {
  const protocol = body.protocol as Record<string, Record<string, unknown> | undefined> | undefined;
  if (!protocol || typeof protocol !== 'object') return;
  if (faults.has('shares-webapp-ignored')) delete protocol.webapp;
  if (faults.has('shares-unknown-requirement-accepted')) {
    for (const offered of Object.values(protocol)) {
      if (!Array.isArray(offered?.requirements)) continue;
      offered.requirements = offered.requirements.filter((r) => (OCM_REQUIREMENTS as readonly unknown[]).includes(r));
      if ((offered.requirements as unknown[]).length === 0) delete offered.requirements;
    }
  }
}

export function toOcmError(error: unknown): OcmError {
  if (error instanceof OcmError) return error;
  const fastifyError = error as FastifyError;
  const mapped = fastifyError?.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (mapped) return new OcmError(mapped);
  if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const code: ErrorCode = fastifyError.name === 'SyntaxError' ? 'INVALID_JSON' : 'BAD_REQUEST';
    return new OcmError(code, { status: fastifyError.statusCode, message: code === 'BAD_REQUEST' ? fastifyError.message : undefined });
  }
  return new OcmError('INTERNAL', { cause: error });
}

function isJson(reply: FastifyReply): boolean {
  const type = String(reply.getHeader('content-type') ?? '');
  return /^application\/([a-z.+-]*\+)?json/i.test(type);
}

function parsePayload(payload: unknown): { ok: true; value: unknown } | { ok: false } {
  if (payload === null || payload === undefined) return { ok: true, value: undefined };
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return { ok: false };
  const text = payload.toString();
  if (text === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function checkResponse(
  registry: SchemaRegistry,
  ref: { doc: DocumentName; id: string },
  reply: FastifyReply,
  payload: unknown,
): string | undefined {
  const operation = registry.operation(ref.doc, ref.id);
  const declared = operation.responses.get(String(reply.statusCode)) ?? operation.responses.get('default');
  if (!declared) return `status ${reply.statusCode} is not declared for ${ref.doc}.${ref.id}`;
  if (declared.size === 0) return undefined;
  if (!isJson(reply)) {
    const types = [...declared.keys()];
    const type = String(reply.getHeader('content-type') ?? '')
      .split(';')[0]!
      .trim();
    return types.includes(type) ? undefined : `content type ${type || '(none)'} is not declared (${types.join(', ')})`;
  }
  const schemaKey = declared.get('application/json');
  if (!schemaKey) return `JSON is not declared for status ${reply.statusCode}`;
  // A fixed body (discovery, JWKS) is checked once, not on every request.
  if (typeof payload === 'string' && lastValidBody.get(schemaKey) === payload) return undefined;
  const parsed = parsePayload(payload);
  if (!parsed.ok) return 'the body is not JSON';
  const outcome = registry.validateKey(schemaKey, parsed.value);
  if (outcome.ok && typeof payload === 'string') lastValidBody.set(schemaKey, payload);
  return outcome.ok ? undefined : outcome.issues.map((i) => `${i.name || '(body)'}: ${i.message}`).join('; ');
}

/**
 * The last body that passed each response schema. Validation is a pure
 * function of schema and text, so the same text passes again; one entry per
 * schema keeps this bounded.
 */
const lastValidBody = new Map<string, string>();

/** Routes without an operation (404s, other surfaces' errors) still send well-formed error bodies. */
function checkErrorBody(registry: SchemaRegistry, reply: FastifyReply, payload: unknown): string | undefined {
  if (reply.statusCode < 400 || !isJson(reply)) return undefined;
  const parsed = parsePayload(payload);
  if (!parsed.ok) return 'the error body is not JSON';
  const outcome = registry.validate('ocm', 'Error', parsed.value);
  return outcome.ok ? undefined : outcome.issues.map((i) => `${i.name || '(body)'}: ${i.message}`).join('; ');
}

export const openapiValidation = fp(validationPlugin, { name: 'openapi-validation' });
