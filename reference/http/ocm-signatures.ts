/**
 * Inbound HTTP message signatures on the OCM routes (decisions/0008).
 *
 *  - `keepRawBody(scope)`: JSON, form and text parsers for the OCM scope that keep
 *    the body bytes as received (`request.rawBody`), which Content-Digest and
 *    Content-Length are checked against. Parsing is fastify's own (same
 *    400/413/415 answers and error bodies as elsewhere).
 *  - `verifySignatures(scope, …)`: a preHandler hook (so after the schema
 *    check) for every route whose config names `ocmSigned`: the hosts its
 *    payload speaks for. It runs the InboundAuthenticator on the absolute
 *    target URI (our public URL + the raw request-target), refuses with 401
 *    and an error-catalogue body (details only in the log), or records the
 *    outcome in `request.ocmAuth` for the handler.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthClaim, InboundAuth, InboundAuthenticator } from '../core/inbound-auth.ts';
import { OcmError } from '../base/errors.ts';
import { faults } from '../base/faults.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who the (schema-checked) payload speaks for: the signature must be theirs. */
    ocmSigned?: (body: unknown) => AuthClaim;
  }
  interface FastifyRequest {
    /** The body bytes as received (OCM routes only). */
    rawBody?: Buffer;
    /** The signature verdict (OCM routes with `ocmSigned`, and the token endpoint). */
    ocmAuth?: InboundAuth;
  }
}

/** Replaces the scope's body parsers by ones that also keep the raw bytes. */
export function keepRawBody(scope: FastifyInstance, bodyLimit: number): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    if (faults.has('robust-malformed-json-500'))
      return parseJson(request, bytes.toString('utf8'), (error, value) =>
        done(error ? new Error(`JSON.parse: ${error.message}`) : null, value),
      );
    parseJson(request, bytes.toString('utf8'), done);
  });
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    done(null, parseForm(bytes.toString('utf8')));
  });
  // As fastify's default: text is parsed (and then refused by the schema check with its own 415 message).
  scope.addContentTypeParser('text/plain', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    done(null, bytes.toString('utf8'));
  });
}

/**
 * `application/x-www-form-urlencoded` into a null-prototype object; a name
 * given twice becomes an array (which then fails a schema that wants a string).
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else out[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

/** The absolute target URI of a request as received: our public URL + the raw request-target. */
export function targetUri(publicUrl: string, request: FastifyRequest): string {
  return `${publicUrl}${request.raw.url ?? request.url}`;
}

export function authenticateRequest(
  authenticator: InboundAuthenticator,
  publicUrl: string,
  request: FastifyRequest,
  claim: AuthClaim,
): Promise<InboundAuth> {
  return authenticator.authenticate(
    { method: request.method, url: targetUri(publicUrl, request), headers: request.headers, body: request.rawBody ?? Buffer.alloc(0) },
    claim,
  );
}

export function verifySignatures(scope: FastifyInstance, options: { authenticator: InboundAuthenticator; publicUrl: string }): void {
  scope.decorateRequest('rawBody', undefined);
  scope.decorateRequest('ocmAuth', undefined);
  scope.addHook('preHandler', async (request) => {
    const claimOf = request.routeOptions.config.ocmSigned;
    if (!claimOf) return;
    const outcome = await authenticateRequest(options.authenticator, options.publicUrl, request, claimOf(request.body));
    // Kept on refusals too: the inspector shows the verdict of a refused request (the handler never runs).
    request.ocmAuth = outcome;
    if (outcome.status === 'refused') {
      request.log.warn(
        { code: outcome.code, reason: outcome.reason, detail: outcome.detail, keyid: outcome.keyid },
        'inbound OCM request refused: signature',
      );
      throw new OcmError(outcome.code);
    }
    if (outcome.status === 'signed')
      request.log.debug({ signer: outcome.signerDomain, keyid: outcome.keyid, scheme: outcome.scheme }, 'signature verified');
  });
}
