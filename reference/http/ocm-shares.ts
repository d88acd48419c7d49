/**
 * `POST /ocm/shares`: a Share Creation Notification from another server
 * (the `ocmcore` role). The body was schema-checked by openapi-validation;
 * when signed, the signature must be by the host of `sender` and `owner`
 * (http/ocm-signatures.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { parseOcmAddress } from '../core/addresses.ts';
import type { IncomingShare, ReceivedShareService } from '../core/received-shares.ts';

export interface SharesPluginOptions {
  receivedShares: ReceivedShareService;
}

/** The servers a share speaks for: the hosts of its sender and owner. */
export function shareClaim(body: unknown): { hosts: string[]; bind: true } {
  const share = body as Partial<IncomingShare>;
  const hosts = [share.sender, share.owner].map((a) => (typeof a === 'string' ? parseOcmAddress(a)?.domain : undefined)).filter((h): h is string => h !== undefined);
  return { hosts, bind: true };
}

export const ocmSharesPlugin: FastifyPluginAsync<SharesPluginOptions> = async (app, { receivedShares }) => {
  app.post('/shares', { config: { operation: { doc: 'ocm', id: 'createShare' }, ocmSigned: shareClaim } }, async (request, reply) => {
    const { recipientDisplayName } = await receivedShares.receive(request.body as IncomingShare);
    return reply.code(201).send({ recipientDisplayName });
  });
};
