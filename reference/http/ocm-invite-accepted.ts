/**
 * `POST /ocm/invite-accepted`: another server redeems one of our invite
 * tokens. When signed, the signature must be by `recipientProvider`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AcceptedInviteRequest } from '../core/invites.ts';
import type { InvitePort } from './ports.ts';

export interface InviteAcceptedPluginOptions {
  invites: Pick<InvitePort, 'redeem'>;
}

export const ocmInviteAcceptedPlugin: FastifyPluginAsync<InviteAcceptedPluginOptions> = async (app, { invites }) => {
  const ocmSigned = (body: unknown) => {
    const provider = (body as Partial<AcceptedInviteRequest>).recipientProvider;
    return { hosts: typeof provider === 'string' ? [provider] : [], bind: true };
  };
  app.post('/invite-accepted', { config: { operation: { doc: 'ocm', id: 'acceptInvite' }, ocmSigned } }, async (request) =>
    invites.redeem(request.body as AcceptedInviteRequest),
  );
};
