/**
 * `POST /ocm/shares`: a Share Creation Notification from another server
 * (the `ocmcore` role). The body was schema-checked by openapi-validation;
 * when signed, the signature must be by the host of `sender` and `owner`
 * (http/ocm-signatures.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { parseOcmAddress } from '../core/addresses.ts';
import type { IncomingShare } from '../core/received-shares.ts';
import type { ReceivedSharePort } from './ports.ts';
import { faults } from '../base/faults.ts';

export interface SharesPluginOptions {
  receivedShares: Pick<ReceivedSharePort, 'receive'>;
}

/** The servers a share speaks for: the hosts of its sender and owner. */
export function shareClaim(body: unknown): { hosts: string[]; bind: true } {
  const share = body as Partial<IncomingShare>;
  const hosts = [share.sender, share.owner]
    .map((a) => (typeof a === 'string' ? parseOcmAddress(a)?.domain : undefined))
    .filter((h): h is string => h !== undefined);
  return { hosts, bind: true };
}

export const ocmSharesPlugin: FastifyPluginAsync<SharesPluginOptions> = async (app, { receivedShares }) => {
  if (faults.has('shares-errors-not-json')) {
    app.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode < 400) return payload;
      reply.type('text/plain; charset=utf-8');
      return `error ${reply.statusCode}`;
    });
  }
  app.post('/shares', { config: { operation: { doc: 'ocm', id: 'createShare' }, ocmSigned: shareClaim } }, async (request, reply) => {
    const { recipientDisplayName } = await receivedShares.receive(request.body as IncomingShare);
    if (faults.has('shares-no-recipient-display-name')) return reply.code(201).send({});
    return reply.code(faults.has('shares-answer-200') ? 200 : 201).send({ recipientDisplayName });
  });
};
