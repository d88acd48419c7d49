/**
 * The sciencemesh API: the invitation workflow for local users, under
 * `/sciencemesh`. Every route needs a local user (HTTP Basic).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { InviteRecord } from '../stores/records.ts';
import type { UserDirectory } from '../core/users.ts';
import type { InvitePort, ProviderListPort } from './ports.ts';
import { authenticateLocalUser } from './local-auth.ts';
import { faults } from '../base/faults.ts';

export interface SciencemeshPluginOptions {
  users: UserDirectory;
  invites: Omit<InvitePort, 'redeem'>;
  providers: ProviderListPort;
}

export const sciencemeshPlugin: FastifyPluginAsync<SciencemeshPluginOptions> = async (app, { users, invites, providers }) => {
  // Authenticate before the body is even parsed: strangers learn nothing about its shape.
  app.addHook('onRequest', async (request) => {
    request.localUser = authenticateLocalUser(users, request);
  });

  const view = (invite: InviteRecord) => ({
    token: invite.token,
    expiration: faults.has('sm-expiration-in-milliseconds') ? invite.expiresAt * 1000 : invite.expiresAt,
    invite_string: invites.inviteString(invite),
    ...(invite.description !== undefined ? { description: invite.description } : {}),
    ...(invite.recipient !== undefined ? { recipient: invite.recipient } : {}),
  });

  app.post('/generate-invite', { config: { operation: { doc: 'sciencemesh', id: 'generateInvite' } } }, async (request) => {
    const body = (request.body ?? {}) as { description?: string; recipient?: string; expiresIn?: number };
    return view(await invites.generate(request.localUser!, body));
  });

  app.get('/list-invite', { config: { operation: { doc: 'sciencemesh', id: 'listInvites' } } }, async (request) =>
    (await invites.listOpen(request.localUser!)).map(view),
  );

  app.post('/accept-invite', { config: { operation: { doc: 'sciencemesh', id: 'acceptInvite' } } }, async (request) =>
    invites.acceptRemote(request.localUser!, request.body as { token?: string; providerDomain?: string; invite?: string }),
  );

  app.get('/find-accepted-users', { config: { operation: { doc: 'sciencemesh', id: 'findAcceptedUsers' } } }, async (request) => {
    const { search } = request.query as { search?: string };
    return invites.findContacts(request.localUser!, typeof search === 'string' ? search : '');
  });

  app.delete('/delete-accepted-user', { config: { operation: { doc: 'sciencemesh', id: 'deleteAcceptedUser' } } }, async (request) => {
    const { idp, user_id: userId } = request.body as { idp: string; user_id: string };
    return { deleted: await invites.deleteContact(request.localUser!, idp, userId) };
  });

  app.get('/list-providers', { config: { operation: { doc: 'sciencemesh', id: 'listProviders' } } }, async (request) => {
    const { search } = request.query as { search?: string };
    const term = typeof search === 'string' ? search.toLowerCase() : '';
    return (await providers.list())
      .map((p) => ({ full_name: p.full_name ?? p.name, domain: p.domain }))
      .filter((p) => term === '' || p.full_name.toLowerCase().includes(term) || p.domain.toLowerCase().includes(term));
  });
};
