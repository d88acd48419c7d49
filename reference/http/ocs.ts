/**
 * The OCS share API for OCM shares (share type 6), registered twice: under
 * the v1 and the v2 base (see openapi/ocs.ts for the status mapping). Local
 * users create, list, update and remove outgoing shares and accept or
 * decline received ones. Every answer is the OCS envelope; errors too, with
 * this plugin's own error handler.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { OCS_PERMISSIONS, OCS_SHARE_TYPE_FEDERATED, OCS_STATE, OCS_SUCCESS_STATUSCODE } from '../../openapi/ocs.ts';
import type { LocalUser, ReceivedShareRecord, SentShareRecord, ShareState } from '../stores/records.ts';
import type { ShareStateFilter } from '../core/received-shares.ts';
import type { ReceivedSharePort, SentSharePort } from './ports.ts';
import type { UserDirectory } from '../core/users.ts';
import { OcmError, fieldError, logFailure } from '../base/errors.ts';
import { authenticateLocalUser } from './local-auth.ts';
import { toOcmError } from './openapi-validation.ts';
import { faults } from '../base/faults.ts';

export interface OcsPluginOptions {
  version: 1 | 2;
  users: UserDirectory;
  sentShares: SentSharePort;
  receivedShares: Omit<ReceivedSharePort, 'receive'>;
}

const STATE_CODES: Record<ShareState, number> = OCS_STATE;

/** webdav permissions → OCS bitmask. `write` means update for files and update+create+delete for folders. */
export function ocsBitmask(permissions: string[], resourceType: string): number {
  let mask = 0;
  if (permissions.includes('read')) mask |= OCS_PERMISSIONS.read;
  if (permissions.includes('write')) {
    mask |= OCS_PERMISSIONS.update;
    if (resourceType === 'folder') mask |= OCS_PERMISSIONS.create | OCS_PERMISSIONS.delete;
  }
  if (permissions.includes('share')) mask |= OCS_PERMISSIONS.share;
  return mask;
}

/** OCS bitmask or role → webdav permissions. */
export function webdavPermissions(input: { permissions?: string | number; role?: string }): string[] {
  if (input.permissions !== undefined) {
    const mask = Number(input.permissions);
    const out: string[] = [];
    if (mask & OCS_PERMISSIONS.read) out.push('read');
    if (mask & (OCS_PERMISSIONS.update | OCS_PERMISSIONS.create | OCS_PERMISSIONS.delete)) out.push('write');
    if (mask & OCS_PERMISSIONS.share) out.push('share');
    if (!out.includes('read') && out.length > 0) out.unshift('read');
    return out;
  }
  return input.role === 'editor' ? ['read', 'write'] : ['read'];
}

function ocsDate(seconds: number | undefined): string | null {
  if (seconds === undefined) return null;
  // A peer may send any integer; one beyond what a date can hold shows as "no expiry" rather than breaking the listing.
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) return null;
  return `${date.toISOString().slice(0, 10)} 00:00:00`;
}

/** `YYYY-MM-DD` → end of that day, UTC, in Unix seconds. */
function parseExpireDate(value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const time = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59) : NaN;
  if (!Number.isFinite(time)) throw fieldError('VALIDATION_FAILED', 'expireDate', 'INVALID_DATE', 'expireDate must be YYYY-MM-DD');
  return Math.floor(time / 1000);
}

export function outgoingShareData(share: SentShareRecord, owner: LocalUser): Record<string, unknown> {
  return {
    id: share.id,
    share_type: OCS_SHARE_TYPE_FEDERATED,
    uid_owner: owner.username,
    displayname_owner: owner.displayName,
    uid_file_owner: owner.username,
    displayname_file_owner: owner.displayName,
    share_with: share.recipientUserId,
    share_with_displayname: share.recipientDisplayName ?? share.shareWith,
    share_with_provider: share.recipientDomain,
    permissions: ocsBitmask(share.permissions, share.resourceType),
    stime: share.createdAt,
    expiration: ocsDate(share.expiration),
    path: `/${share.path}`,
    item_type: share.resourceType,
    name: share.name,
    file_target: `/${share.name}`,
    state: STATE_CODES[share.state],
  };
}

export function receivedShareData(share: ReceivedShareRecord, user: LocalUser): Record<string, unknown> {
  return {
    id: share.id,
    share_type: OCS_SHARE_TYPE_FEDERATED,
    uid_owner: share.sender,
    displayname_owner: share.senderDisplayName ?? share.sender,
    uid_file_owner: share.owner,
    displayname_file_owner: share.ownerDisplayName ?? share.owner,
    share_with: user.username,
    share_with_displayname: user.displayName,
    permissions: ocsBitmask(
      [...(share.protocols.webdav?.permissions ?? []), ...(faults.has('ntf-reshare-without-permission') ? ['share'] : [])],
      share.resourceType,
    ),
    stime: share.createdAt,
    expiration: ocsDate(share.expiration),
    path: `/Shares/${share.name}`,
    item_type: share.resourceType === 'folder' ? 'folder' : 'file',
    name: share.name,
    file_target: `/Shares/${share.name}`,
    state: STATE_CODES[share.state],
    remote_id: share.providerId,
  };
}

export const ocsPlugin: FastifyPluginAsync<OcsPluginOptions> = async (app, options) => {
  const { version, users, sentShares, receivedShares } = options;
  const op = (id: string) => ({ operation: { doc: 'ocs' as const, id: version === 1 ? `${id}V1` : id } });
  const okCode = version === 1 ? OCS_SUCCESS_STATUSCODE.v1 : OCS_SUCCESS_STATUSCODE.v2;
  const ok = (reply: FastifyReply, data: unknown) =>
    reply
      .code(200)
      .type('application/json')
      .send({ ocs: { meta: { status: 'ok', statuscode: okCode, message: 'OK' }, data } });

  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const failure = toOcmError(error);
    logFailure(request.log, error, failure, 'OCS request failed');
    if (failure.headers) reply.headers(failure.headers);
    const http = version === 2 || failure.status === 401 ? failure.status : 200;
    const message = failure.validationErrors?.length
      ? `${failure.message}: ${failure.validationErrors.map((v) => `${v.name} ${v.message}`).join(', ')}`
      : failure.message;
    return reply
      .code(http)
      .type('application/json')
      .send({ ocs: { meta: { status: 'failure', statuscode: failure.status, message }, data: [] } });
  });

  app.addHook('onRequest', async (request) => {
    request.localUser = authenticateLocalUser(users, request);
  });

  app.post('/shares', { config: op('createShare') }, async (request, reply) => {
    const body = request.body as {
      shareType: string | number;
      path: string;
      shareWith: string;
      shareWithProvider: string;
      permissions?: string | number;
      role?: string;
      expireDate?: string;
    };
    if (Number(body.shareType) !== OCS_SHARE_TYPE_FEDERATED) {
      throw fieldError('VALIDATION_FAILED', 'shareType', 'NOT_SUPPORTED', 'only federated shares (shareType 6) are handled here');
    }
    const user = request.localUser!;
    const share = await sentShares.create(user, {
      path: body.path,
      shareWith: body.shareWith,
      shareWithProvider: body.shareWithProvider,
      permissions: webdavPermissions(body),
      ...(body.expireDate ? { expiration: parseExpireDate(body.expireDate) } : {}),
    });
    return ok(reply, outgoingShareData(share, user));
  });

  app.get('/shares', { config: op('listShares') }, async (request, reply) => {
    const user = request.localUser!;
    const query = request.query as { shared_with_me?: string; state?: string };
    if (query.shared_with_me === 'true') {
      // As reva: no or an unknown state means accepted shares only.
      const state: ShareStateFilter =
        query.state === 'all' ? 'all' : query.state === '1' ? 'pending' : query.state === '2' ? 'declined' : 'accepted';
      return ok(
        reply,
        (await receivedShares.listFor(user, state)).map((s) => receivedShareData(s, user)),
      );
    }
    return ok(
      reply,
      (await sentShares.listFor(user)).map((s) => outgoingShareData(s, user)),
    );
  });

  app.get('/shares/:id', { config: op('getShare') }, async (request, reply) => {
    const user = request.localUser!;
    const { id } = request.params as { id: string };
    const sent = await sentShares.getFor(user, id);
    if (sent) return ok(reply, [outgoingShareData(sent, user)]);
    const received = await receivedShares.getFor(user, id);
    if (received) return ok(reply, [receivedShareData(received, user)]);
    throw new OcmError('SHARE_NOT_FOUND');
  });

  app.put('/shares/:id', { config: op('updateShare') }, async (request, reply) => {
    const user = request.localUser!;
    const { id } = request.params as { id: string };
    const body = (request.body ?? {}) as { permissions?: string | number; role?: string; expireDate?: string };
    const current = await sentShares.getFor(user, id);
    if (!current) throw new OcmError('SHARE_NOT_FOUND');
    const permissions = body.permissions !== undefined || body.role !== undefined ? webdavPermissions(body) : current.permissions;
    const expiration = body.expireDate ? parseExpireDate(body.expireDate) : undefined;
    const updated = await sentShares.updatePermissions(user, id, permissions, expiration);
    return ok(reply, outgoingShareData(updated, user));
  });

  app.delete('/shares/:id', { config: op('deleteShare') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await sentShares.remove(request.localUser!, id);
    return ok(reply, []);
  });

  for (const [method, decision] of [
    ['POST', 'accepted'],
    ['DELETE', 'declined'],
  ] as const) {
    app.route({
      method,
      url: '/shares/pending/:id',
      config: op(decision === 'accepted' ? 'acceptPendingShare' : 'declinePendingShare'),
      handler: async (request, reply) => {
        const user = request.localUser!;
        const { id } = request.params as { id: string };
        const share = await receivedShares.respond(user, id, decision);
        return ok(reply, [receivedShareData(share, user)]);
      },
    });
  }
};
