/**
 * Incoming notifications (`POST /ocm/notifications`).
 *
 *  - SHARE_ACCEPTED / SHARE_DECLINED name a share WE sent (`providerId` is
 *    our id): its state follows.
 *  - SHARE_UNSHARED names a share we RECEIVED (`providerId` is the sender's
 *    id): it is removed.
 *
 * A notification must be attributable to the other party of that share:
 *  - signed: the verified signer must be that party (401 SIGNER_MISMATCH
 *    otherwise, whatever secret it carries);
 *  - unsigned: it must prove knowledge of the share's secret
 *    (`notification.sharedSecret`, as Nextcloud and ownCloud send), and that
 *    party must not be one that advertises `http-sig` (it would have signed:
 *    401 SIGNATURE_REQUIRED; decisions/0008).
 * reva never checks and lets anyone who guesses a providerId delete shares
 * (decisions/0003).
 *
 * Unknown types are a 400; registered types we do not act on are a 501.
 */
import { OcmError, fieldError } from '../base/errors.ts';
import { OCM_NOTIFICATION_TYPES } from '../../openapi/ocm.ts';
import type { Stores } from '../stores/index.ts';
import { secretsEqual } from '../base/secrets.ts';
import { faults } from '../base/faults.ts';
import { nowSeconds, type ReceivedShareRecord, type SentShareRecord } from '../stores/records.ts';

export interface IncomingNotification {
  notificationType: string;
  resourceType?: string;
  providerId: string;
  notification?: Record<string, unknown>;
}

export interface NotificationOrigin {
  /** host[:port] of a verified signer, when the request was signed. */
  signerDomain?: string;
  /** Unsigned: parties that advertise `http-sig`, to which an unsigned notification cannot be attributed. */
  unsignedRefusedFrom?: string[];
}

export type NotificationOutcome =
  | { kind: 'sent-share-state'; share: SentShareRecord }
  | { kind: 'received-share-removed'; share: ReceivedShareRecord }
  | { kind: 'received-share-permissions'; share: ReceivedShareRecord };

const HANDLED = ['SHARE_ACCEPTED', 'SHARE_DECLINED', 'SHARE_UNSHARED', 'RESHARE_CHANGE_PERMISSION', 'SHARE_CHANGE_PERMISSION'];
/** Sent by the sharer about a share we received; the rest are about shares we sent. */
const ABOUT_RECEIVED = ['SHARE_UNSHARED', 'RESHARE_CHANGE_PERMISSION', 'SHARE_CHANGE_PERMISSION'];
const WEBDAV_PERMISSIONS = ['read', 'write', 'share'];
const RESOURCE_TYPES = ['file', 'folder'];

export class NotificationService {
  constructor(private readonly stores: Stores) {}

  /** The other parties of the shares a `providerId` may name: whose signature a notification about it may carry. */
  partiesOf(providerId: string): string[] {
    const senders = this.stores.indexes.receivedByProviderId.get(providerId).map((r) => r.senderDomain);
    const recipients = this.stores.indexes.sentByProviderId.get(providerId).map((s) => s.recipientDomain);
    return [...new Set([...senders, ...recipients])];
  }

  async receive(notification: IncomingNotification, origin: NotificationOrigin = {}): Promise<NotificationOutcome> {
    const type = notification.notificationType;
    if (!(OCM_NOTIFICATION_TYPES as readonly string[]).includes(type) && type !== 'SHARE_CHANGE_PERMISSION') {
      if (faults.has('ntf-unknown-type-accepted')) return { kind: 'ignored' } as unknown as NotificationOutcome;
      throw fieldError(
        'VALIDATION_FAILED',
        'notificationType',
        'NOT_ALLOWED_VALUE',
        `notification type "${type}" is not an OCM notification type`,
      );
    }
    if (!HANDLED.includes(type))
      throw new OcmError('UNSUPPORTED_NOTIFICATION', { message: `notification type "${type}" is not supported by this server` });
    if (notification.resourceType !== undefined && !RESOURCE_TYPES.includes(notification.resourceType)) {
      if (faults.has('ntf-unsupported-resource-type-400'))
        throw fieldError(
          'VALIDATION_FAILED',
          'resourceType',
          'NOT_SUPPORTED',
          `resource type "${notification.resourceType}" is not supported`,
        );
      throw new OcmError('UNSUPPORTED_RESOURCE_TYPE', { message: `resource type "${notification.resourceType}" is not supported` });
    }
    const secret = typeof notification.notification?.sharedSecret === 'string' ? notification.notification.sharedSecret : undefined;
    const attributable = (counterpartDomain: string, shareSecret: string) => {
      if (origin.signerDomain !== undefined) return origin.signerDomain === counterpartDomain;
      if (origin.unsignedRefusedFrom?.includes(counterpartDomain)) return false;
      return secret !== undefined && secretsEqual(secret, shareSecret);
    };
    const refusal = (counterpartDomains: string[]) => {
      if (origin.signerDomain !== undefined) return new OcmError('SIGNER_MISMATCH');
      if (counterpartDomains.some((d) => origin.unsignedRefusedFrom?.includes(d))) return new OcmError('SIGNATURE_REQUIRED');
      return new OcmError('NOTIFICATION_NOT_ALLOWED');
    };

    if (ABOUT_RECEIVED.includes(type)) {
      const candidates = this.stores.indexes.receivedByProviderId.get(notification.providerId);
      if (candidates.length === 0) throw new OcmError('SHARE_NOT_FOUND');
      const share = candidates.find((r) => attributable(r.senderDomain, r.protocols.webdav?.sharedSecret ?? ''));
      if (!share) throw refusal(candidates.map((r) => r.senderDomain));
      if (type === 'SHARE_UNSHARED') {
        await this.stores.receivedShares.delete(share.id);
        return { kind: 'received-share-removed', share };
      }
      const permissions = newPermissions(notification.notification);
      if (!permissions) {
        throw fieldError(
          'VALIDATION_FAILED',
          'notification.permissions',
          'REQUIRED',
          'a permission change must carry the new webdav permissions',
        );
      }
      const updated: ReceivedShareRecord = share.protocols.webdav
        ? { ...share, protocols: { ...share.protocols, webdav: { ...share.protocols.webdav, permissions } }, updatedAt: nowSeconds() }
        : share;
      await this.stores.receivedShares.put(share.id, updated);
      return { kind: 'received-share-permissions', share: updated };
    }
    const sent = this.stores.indexes.sentByProviderId.get(notification.providerId)[0];
    if (!sent) throw new OcmError('SHARE_NOT_FOUND');
    if (!attributable(sent.recipientDomain, sent.sharedSecret)) throw refusal([sent.recipientDomain]);
    const updated: SentShareRecord = { ...sent, state: type === 'SHARE_ACCEPTED' ? 'accepted' : 'declined', updatedAt: nowSeconds() };
    await this.stores.sentShares.put(updated.id, updated);
    return { kind: 'sent-share-state', share: updated };
  }
}

/** The new permissions, from `notification.permissions` or reva's `notification.protocol.webdav.permissions`. */
function newPermissions(notification: Record<string, unknown> | undefined): string[] | undefined {
  const protocol = notification?.protocol as { webdav?: { permissions?: unknown } } | undefined;
  const value = notification?.permissions ?? protocol?.webdav?.permissions;
  if (!Array.isArray(value) || value.length === 0 || !value.every((p) => typeof p === 'string' && WEBDAV_PERMISSIONS.includes(p)))
    return undefined;
  return [...new Set(value as string[])];
}
