/**
 * `POST /ocm/notifications`: share state changes from the other party.
 * A signature is checked against the keys of its signer (the keyid's host or
 * the other party of the named share); NotificationService then decides
 * whether the signer, or the secret, ties the notification to that party.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { IncomingNotification, NotificationOrigin, NotificationService } from '../core/notifications.ts';

export interface NotificationsPluginOptions {
  notifications: NotificationService;
}

export const ocmNotificationsPlugin: FastifyPluginAsync<NotificationsPluginOptions> = async (app, { notifications }) => {
  const ocmSigned = (body: unknown) => {
    const providerId = (body as Partial<IncomingNotification>).providerId;
    return { hosts: typeof providerId === 'string' ? notifications.partiesOf(providerId) : [], bind: false };
  };
  app.post('/notifications', { config: { operation: { doc: 'ocm', id: 'createNotification' }, ocmSigned } }, async (request, reply) => {
    const auth = request.ocmAuth;
    const origin: NotificationOrigin =
      auth?.status === 'signed'
        ? { signerDomain: auth.signerDomain }
        : auth?.status === 'unsigned'
          ? { unsignedRefusedFrom: auth.unsignedRefusedFrom }
          : {};
    await notifications.receive(request.body as IncomingNotification, origin);
    return reply.code(201).send({});
  });
};
