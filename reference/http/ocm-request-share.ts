/**
 * `POST /ocm/request-share` (OCM 1.4): a would-be recipient asks one of our
 * users to share a resource. It must be signed by the requester's server
 * (the draft: MUST be signed when signatures are available, which they are here).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ShareRequestService } from '../core/share-requests.ts';
import { parseOcmAddress } from '../core/addresses.ts';

export interface RequestSharePluginOptions {
  shareRequests: ShareRequestService;
  /** Refuse unsigned requests (on when this server verifies signatures). */
  requireSignature: boolean;
}

export const ocmRequestSharePlugin: FastifyPluginAsync<RequestSharePluginOptions> = async (app, { shareRequests, requireSignature }) => {
  const ocmSigned = (body: unknown) => {
    const requester = parseOcmAddress(String((body as { shareWith?: unknown }).shareWith ?? ''));
    return { hosts: requester ? [requester.domain] : [], bind: true, requireSignature };
  };
  app.post('/request-share', { config: { operation: { doc: 'ocm', id: 'requestShare' }, ocmSigned } }, async (request, reply) => {
    await shareRequests.receive(request.body as { owner: string; shareWith: string; share: string });
    return reply.code(201).send({});
  });
};
