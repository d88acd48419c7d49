/**
 * `POST /ocm/notifications`: share state changes from the other party.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { IncomingNotification, NotificationService } from '../core/notifications.ts';

export interface NotificationsPluginOptions {
  notifications: NotificationService;
}

export const ocmNotificationsPlugin: FastifyPluginAsync<NotificationsPluginOptions> = async (app, { notifications }) => {
  app.post('/notifications', { config: { operation: { doc: 'ocm', id: 'createNotification' } } }, async (request, reply) => {
    await notifications.receive(request.body as IncomingNotification);
    return reply.code(201).send({});
  });
};
