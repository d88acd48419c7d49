/**
 * `POST /ocm/invite-accepted`: another server redeems one of our invite tokens.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AcceptedInviteRequest, InviteService } from '../core/invites.ts';

export interface InviteAcceptedPluginOptions {
  invites: InviteService;
}

export const ocmInviteAcceptedPlugin: FastifyPluginAsync<InviteAcceptedPluginOptions> = async (app, { invites }) => {
  app.post('/invite-accepted', { config: { operation: { doc: 'ocm', id: 'acceptInvite' } } }, async (request) =>
    invites.redeem(request.body as AcceptedInviteRequest),
  );
};
