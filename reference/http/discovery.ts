/**
 * Discovery: `GET /.well-known/ocm` and the legacy `GET /ocm-provider`,
 * the same document at both paths (peers older than 1.4 probe the latter).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DiscoveryDocument } from '../core/discovery.ts';

export interface DiscoveryPluginOptions {
  document: DiscoveryDocument;
}

export const discoveryPlugin: FastifyPluginAsync<DiscoveryPluginOptions> = async (app, { document }) => {
  const body = JSON.stringify(document);
  app.get('/.well-known/ocm', { config: { operation: { doc: 'ocm', id: 'getDiscovery' } } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(body),
  );
  app.get('/ocm-provider', { config: { operation: { doc: 'ocm', id: 'getLegacyDiscovery' } } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(body),
  );
};
