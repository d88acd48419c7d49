/**
 * `POST <endPoint>/token`: the code flow's token endpoint (operation
 * exchangeToken; decisions/0008). Errors are OAuth-shaped
 * (`{error, error_description}`, TokenError), so this route has its own
 * error handler; only 413 and 415 keep the OCM error shape, as declared.
 *
 * Order of checks, each with its answer (all 400, as the OCM text says):
 *   media type (415) → grant_type (unsupported_grant_type) → other required
 *   fields, duplicates, bad client_id (invalid_request) → signature: missing
 *   or invalid (invalid_client) → signed with a legacy cavage signature
 *   (unauthorized_client: authenticated, but the code flow needs RFC 9421)
 *   → signer is not client_id (invalid_client) → code (invalid_grant) →
 *   200 {access_token, token_type: "Bearer", expires_in}.
 * Unknown extra parameters (e.g. redirect_uri) are ignored.
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { InboundAuthenticator } from '../core/inbound-auth.ts';
import { TokenFailure, type TokenErrorCode, type TokenService } from '../core/tokens.ts';
import { errorBody, logFailure } from '../base/errors.ts';
import { normaliseDomain } from '../providers/trusted-providers.ts';
import { authenticateRequest } from './ocm-signatures.ts';
import { toOcmError } from './openapi-validation.ts';
import { faults } from '../base/faults.ts';

export interface TokenPluginOptions {
  tokens: TokenService;
  authenticator: InboundAuthenticator;
  publicUrl: string;
}

interface TokenRequestBody {
  grant_type: string;
  client_id: string;
  code: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export const ocmTokenPlugin: FastifyPluginAsync<TokenPluginOptions> = async (app, { tokens, authenticator, publicUrl }) => {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof TokenFailure) {
      request.log.info({ error: error.error, detail: error.logDetail ?? error.description }, 'token request refused');
      if (faults.has('tok-errors-as-message'))
        return reply.code(400).headers(NO_STORE).type('application/json').send({ message: error.description });
      return reply.code(400).headers(NO_STORE).type('application/json').send({ error: error.error, error_description: error.description });
    }
    const ocmError = toOcmError(error);
    if (ocmError.status === 413 || ocmError.status === 415 || ocmError.status >= 500) {
      logFailure(request.log, error, ocmError, 'token request failed');
      return reply.code(ocmError.status).type('application/json').send(errorBody(ocmError));
    }
    // Everything else is a malformed request; a wrong grant type is named as such even when other fields are missing too.
    const grantType = (request.body as Record<string, unknown> | undefined)?.grant_type;
    const code: TokenErrorCode =
      typeof grantType === 'string' && grantType !== 'authorization_code' ? 'unsupported_grant_type' : 'invalid_request';
    const description =
      code === 'unsupported_grant_type'
        ? 'grant_type must be authorization_code'
        : ocmError.validationErrors?.length
          ? `bad or missing parameters: ${ocmError.validationErrors.map((i) => i.name || 'body').join(', ')}`
          : 'the request is malformed';
    return reply.code(400).headers(NO_STORE).type('application/json').send({ error: code, error_description: description });
  });

  app.post('/token', { config: { operation: { doc: 'ocm', id: 'exchangeToken' } } }, async (request, reply) => {
    const body = request.body as TokenRequestBody;
    const clientId = normaliseDomain(body.client_id);
    if (faults.has('tok-extra-params-refused') && Object.keys(body).some((name) => !['grant_type', 'client_id', 'code'].includes(name))) {
      throw new TokenFailure('invalid_request', 'unexpected parameters');
    }
    if (faults.has('tok-unsigned-issued') && request.headers['signature-input'] === undefined) {
      const issued = tokens.exchange(clientId, body.code);
      return reply
        .code(200)
        .headers(NO_STORE)
        .send({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn });
    }
    const auth = await authenticateRequest(authenticator, publicUrl, request, { hosts: [clientId], bind: true, requireSignature: true });
    request.ocmAuth = auth;
    if (auth.status === 'refused') {
      const description =
        auth.code === 'SIGNATURE_REQUIRED'
          ? 'the token request must be signed'
          : auth.code === 'SIGNER_MISMATCH'
            ? 'client_id is not the signing server'
            : 'the signature could not be verified';
      throw new TokenFailure('invalid_client', description, `${auth.reason}: ${auth.detail}`);
    }
    if (auth.status !== 'signed') throw new TokenFailure('invalid_client', 'the token request must be signed');
    if (auth.scheme !== 'rfc9421')
      throw new TokenFailure(
        'unauthorized_client',
        'the code flow needs an RFC 9421 signature',
        `signed with ${auth.scheme} by ${auth.signerDomain}`,
      );
    const issued = tokens.exchange(auth.signerDomain, body.code);
    request.log.info({ client: auth.signerDomain, share: issued.share.id, expiresIn: issued.expiresIn }, 'access token issued');
    if (faults.has('tok-refresh-token'))
      return reply
        .code(200)
        .headers(NO_STORE)
        .send({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, refresh_token: issued.accessToken });
    return reply.code(200).headers(NO_STORE).send({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn });
  });
};
