/**
 * Discovery: `GET /.well-known/ocm` and the legacy `GET /ocm-provider`,
 * the same document at both paths (peers older than 1.4 probe the latter).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DiscoveryDocument } from '../core/discovery.ts';
import { faults } from '../base/faults.ts';

export interface DiscoveryPluginOptions {
  document: DiscoveryDocument;
}

export const discoveryPlugin: FastifyPluginAsync<DiscoveryPluginOptions> = async (app, { document }) => {
  const body = JSON.stringify(document);
  // Synchronous handlers: the most requested document of all does no awaiting.
  app.get('/.well-known/ocm', { config: { operation: { doc: 'ocm', id: 'getDiscovery' } } }, (request, reply) => {
    if (faults.has('discovery-html-for-browsers') && /text\/html/i.test(String(request.headers.accept ?? ''))) {
      reply.type('text/html; charset=utf-8').send('<!doctype html><title>OCM</title><p>This server speaks Open Cloud Mesh.</p>');
      return;
    }
    reply.type(faults.has('discovery-served-as-text') ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8').send(body);
  });
  app.get('/ocm-provider', { config: { operation: { doc: 'ocm', id: 'getLegacyDiscovery' } } }, (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(body);
  });
};
