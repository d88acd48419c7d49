/**
 * `POST /ocm/shares`: a Share Creation Notification from another server
 * (the `ocmcore` role). The body was schema-checked by openapi-validation.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { IncomingShare, ReceivedShareService } from '../core/received-shares.ts';

export interface SharesPluginOptions {
  receivedShares: ReceivedShareService;
}

export const ocmSharesPlugin: FastifyPluginAsync<SharesPluginOptions> = async (app, { receivedShares }) => {
  app.post('/shares', { config: { operation: { doc: 'ocm', id: 'createShare' } } }, async (request, reply) => {
    const { recipientDisplayName } = await receivedShares.receive(request.body as IncomingShare);
    return reply.code(201).send({ recipientDisplayName });
  });
};
