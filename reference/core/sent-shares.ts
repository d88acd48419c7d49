/**
 * Outgoing shares (the `ocmshareprovider` role): a local user shares a file or
 * folder of their home with a remote contact.
 *
 * Creating a share: resolve the resource → check the recipient is an accepted
 * contact (unless configured otherwise) → discover the receiver (always
 * fresh: the spec wants discovery before every share) → check the receiver
 * can take this resource type and our terms (criteria) → store the share →
 * POST `/shares` → on any failure delete the stored share again, so a retry
 * starts clean (oCIS leaves a half-created share behind; decisions/0003).
 *
 * The share is stored before the POST because a receiver may read it or
 * notify us about it before its `201` reaches us.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { OcmError } from '../base/errors.ts';
import type { DiscoveredPeer, OcmClient } from '../outbound/ocm-client.ts';
import { normaliseDomain, type TrustedProviders } from '../providers/trusted-providers.ts';
import { sentShareBySecret, type Stores } from '../stores/index.ts';
import { formatOcmAddress } from './addresses.ts';
import type { HomeFolders } from './files.ts';
import { outboundToOcmError } from './invites.ts';
import type { Notifier } from './notifier.ts';
import { nowSeconds, type LocalUser, type SentShareRecord } from '../stores/records.ts';
import { faults } from '../base/faults.ts';

export interface SentShareDeps {
  domain: string;
  publicUrl: string;
  webdavPath: string;
  /** Let users share with remote users they have no invite relation with. */
  allowSharesWithoutInvite: boolean;
  /** Capabilities this server has as a sender (e.g. `exchange-token`, `http-sig`). */
  capabilities: string[];
  /** Put `must-exchange-token` in every share, not only to receivers whose criteria demand it. */
  alwaysRequireExchange?: boolean;
  providers: TrustedProviders;
  stores: Stores;
  client: OcmClient;
  homes: HomeFolders;
  notifier: Notifier;
  isContact(localUserId: string, remoteUserId: string, remoteDomain: string): boolean;
  contactName(localUserId: string, remoteUserId: string, remoteDomain: string): string | undefined;
}

export interface CreateShareInput {
  path: string;
  shareWith: string;
  shareWithProvider: string;
  permissions: string[];
  expiration?: number;
}

export class SentShareService {
  constructor(private readonly deps: SentShareDeps) {}

  async create(owner: LocalUser, input: CreateShareInput): Promise<SentShareRecord> {
    const resource = await this.deps.homes.resolve(owner, input.path);
    if (!resource) throw new OcmError('RESOURCE_NOT_FOUND', { message: `no file or folder at ${input.path}` });
    const domain = normaliseDomain(input.shareWithProvider.replace(/^https?:\/\//i, '').replace(/\/+$/, ''));
    if (domain === normaliseDomain(this.deps.domain))
      throw new OcmError('VALIDATION_FAILED', { message: 'shareWithProvider is this server; use a local share' });
    if (!this.deps.providers.isTrusted(domain))
      throw new OcmError('PROVIDER_NOT_TRUSTED', { message: `provider ${domain} is not trusted by this server` });
    if (!this.deps.allowSharesWithoutInvite && !this.deps.isContact(owner.id, input.shareWith, domain)) {
      throw new OcmError('CONTACT_NOT_FOUND', {
        message: `${formatOcmAddress(input.shareWith, domain)} is not an accepted contact; invite them first`,
      });
    }
    let peer: DiscoveredPeer;
    try {
      peer = faults.has('send-without-discovery') ? this.deps.client.undiscovered(domain) : await this.deps.client.discover(domain);
    } catch (error) {
      throw outboundToOcmError(error);
    }
    this.checkReceiver(peer, resource.resourceType);
    const requirements = this.requirementsFor(peer);

    const id = randomUUID();
    const now = nowSeconds();
    const record: SentShareRecord = {
      id,
      providerId: faults.has('send-reused-provider-id')
        ? createHash('sha256').update(`${owner.id}/${resource.relativePath}`).digest('hex').slice(0, 32)
        : id,
      ownerId: owner.id,
      path: resource.relativePath,
      name: resource.relativePath.split('/').pop()!,
      resourceType: resource.resourceType,
      shareWith: formatOcmAddress(input.shareWith, domain),
      recipientUserId: input.shareWith,
      recipientDomain: domain,
      // 256 random bits; never logged, never in a URI.
      sharedSecret: randomBytes(32).toString('base64url'),
      permissions: [...new Set(input.permissions)],
      state: 'pending',
      createdAt: now,
      updatedAt: now,
      ...(input.expiration !== undefined ? { expiration: input.expiration } : {}),
      ...(requirements.length > 0 ? { requirements } : {}),
    };
    const name = this.deps.contactName(owner.id, input.shareWith, domain);
    if (name) record.recipientDisplayName = name;
    await this.deps.stores.sentShares.put(id, record);
    try {
      const answer = await this.deps.client.postJson(peer, '/shares', 'createShare', this.payload(owner, record, peer), {
        lenientSuccess: true,
      });
      if (answer.status < 200 || answer.status >= 300) throw refusal(domain, answer.status, answer.body);
      const displayName = (answer.body as { recipientDisplayName?: unknown } | undefined)?.recipientDisplayName;
      if (typeof displayName === 'string' && displayName !== '') record.recipientDisplayName = displayName;
      await this.deps.stores.sentShares.put(id, { ...record });
      return record;
    } catch (error) {
      await this.deps.stores.sentShares.delete(id);
      throw error instanceof OcmError ? error : outboundToOcmError(error);
    }
  }

  /** The newest-draft Share Creation Notification for `record`. */
  payload(owner: LocalUser, record: SentShareRecord, peer: DiscoveredPeer): Record<string, unknown> {
    const ownerAddress = faults.has('send-address-with-scheme')
      ? `${owner.id}@${this.deps.publicUrl}`
      : formatOcmAddress(owner.id, this.deps.domain);
    let uri =
      receiverWants(peer, record.resourceType) === 'relative' ? record.id : `${this.deps.publicUrl}${this.deps.webdavPath}/${record.id}`;
    if (faults.has('send-secret-in-uri') && uri.includes('://')) uri = `${uri}?access_token=${record.sharedSecret}`;
    if (faults.has('send-relative-uri-outside-prefix') && !uri.includes('://')) uri = `shares/${uri}`;
    const webdav: Record<string, unknown> = { uri, sharedSecret: record.sharedSecret, permissions: record.permissions };
    if (record.requirements?.length) webdav.requirements = record.requirements;
    return {
      shareWith: record.shareWith,
      name: record.name,
      description: '',
      providerId: record.providerId,
      owner: ownerAddress,
      sender: ownerAddress,
      ownerDisplayName: owner.displayName,
      senderDisplayName: owner.displayName,
      shareType: 'user',
      resourceType: faults.has('send-folder-as-file') ? 'file' : record.resourceType,
      ...(record.expiration !== undefined ? { expiration: record.expiration } : {}),
      protocol: { name: 'multi', webdav },
    };
  }

  /** Refuses to send what the receiver says it cannot take, or on terms we cannot meet. */
  private checkReceiver(peer: DiscoveredPeer, resourceType: 'file' | 'folder'): void {
    const types = peer.document.resourceTypes;
    if (Array.isArray(types) && types.length > 0) {
      const entry = types.find((t) => t?.name === resourceType);
      // `file`/`user`/`webdav` may always be sent (receivers that advertise little).
      const fileFallback = resourceType === 'file';
      if (!entry && !fileFallback && !faults.has('send-unadvertised-resource-type')) {
        throw new OcmError('RECEIVER_CANNOT_TAKE', { message: `${peer.domain} does not take ${resourceType} shares` });
      }
      if (entry && Array.isArray(entry.shareTypes) && !entry.shareTypes.includes('user')) {
        throw new OcmError('RECEIVER_CANNOT_TAKE', { message: `${peer.domain} does not take user shares of ${resourceType}s` });
      }
    }
    const criteria = Array.isArray(peer.document.criteria) ? peer.document.criteria : [];
    if (criteria.includes('must-exchange-token') && !this.deps.capabilities.includes('exchange-token')) {
      throw new OcmError('RECEIVER_CANNOT_TAKE', { message: `${peer.domain} demands token exchange, which this server does not offer` });
    }
    if (criteria.includes('must-use-http-sig') && !this.deps.capabilities.includes('http-sig')) {
      throw new OcmError('RECEIVER_CANNOT_TAKE', { message: `${peer.domain} demands signed requests, and signing is switched off here` });
    }
  }

  /**
   * The webdav `requirements` of a new share: `must-exchange-token` when the
   * receiver's criteria demand it or we are configured to always require it
   * (only when we serve the token endpoint, or the share could never be opened).
   */
  private requirementsFor(peer: DiscoveredPeer): string[] {
    if (!this.deps.capabilities.includes('exchange-token') || faults.has('send-ignores-must-exchange-token')) return [];
    const criteria = Array.isArray(peer.document.criteria) ? peer.document.criteria : [];
    return criteria.includes('must-exchange-token') || this.deps.alwaysRequireExchange ? ['must-exchange-token'] : [];
  }

  listFor(owner: LocalUser): SentShareRecord[] {
    return this.deps.stores.sentShares
      .filter((s) => s.ownerId === owner.id)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  getFor(owner: LocalUser, id: string): SentShareRecord | undefined {
    const share = this.deps.stores.sentShares.get(id);
    return share && share.ownerId === owner.id ? share : undefined;
  }

  // ---- for the CS3 gRPC services (reference/grpc) --------------------------

  /** The share whose shared secret is `token` (each comparison constant-time): CS3 GetOCMShareByToken. */
  getByToken(token: string): SentShareRecord | undefined {
    if (token === '') return undefined;
    return sentShareBySecret(this.deps.stores, token);
  }

  // ---- end of the gRPC additions ---------------------------------------------

  /** Removes the share (access stops at once), then tells the receiver. */
  async remove(owner: LocalUser, id: string): Promise<SentShareRecord> {
    const share = this.getFor(owner, id);
    if (!share) throw new OcmError('SHARE_NOT_FOUND');
    if (!faults.has('dav-unshare-keeps-access')) await this.deps.stores.sentShares.delete(id);
    await this.notify(share, 'SHARE_UNSHARED', {});
    return share;
  }

  /** Changes the permissions; the sender enforces them, the receiver is told. */
  async updatePermissions(owner: LocalUser, id: string, permissions: string[], expiration?: number): Promise<SentShareRecord> {
    const share = this.getFor(owner, id);
    if (!share) throw new OcmError('SHARE_NOT_FOUND');
    const updated: SentShareRecord = {
      ...share,
      permissions: [...new Set(permissions)],
      updatedAt: nowSeconds(),
      ...(expiration !== undefined ? { expiration } : {}),
    };
    await this.deps.stores.sentShares.put(id, updated);
    await this.notify(updated, 'RESHARE_CHANGE_PERMISSION', {
      permissions: updated.permissions,
      protocol: { name: 'multi', webdav: { permissions: updated.permissions } },
    });
    return updated;
  }

  private notify(share: SentShareRecord, notificationType: string, extra: Record<string, unknown>): Promise<boolean> {
    return this.deps.notifier.send(share.recipientDomain, {
      notificationType,
      resourceType: share.resourceType,
      providerId: share.providerId,
      // The secret proves to the receiver that the notification comes from the sharer.
      notification: { sharedSecret: share.sharedSecret, grantee: share.shareWith, ...extra },
    });
  }
}

function receiverWants(peer: DiscoveredPeer, resourceType: string): 'absolute' | 'relative' {
  const entry = peer.document.resourceTypes?.find((t) => t?.name === resourceType) ?? peer.document.resourceTypes?.[0];
  const receive = entry?.protocols?.['webdav-receive'] as { uri?: unknown } | undefined;
  return receive?.uri === 'relative' ? 'relative' : 'absolute';
}

function refusal(domain: string, status: number, body: unknown): OcmError {
  const reason = typeof (body as { message?: unknown })?.message === 'string' ? `: ${(body as { message: string }).message}` : '';
  if (status === 400) return new OcmError('REMOTE_REJECTED_SHARE', { message: `${domain} rejected the share${reason}` });
  if (status === 401 || status === 403)
    return new OcmError('REMOTE_REFUSED', { message: `${domain} refused the share (${status})${reason}` });
  if (status === 501) return new OcmError('RECEIVER_CANNOT_TAKE', { message: `${domain} does not support this share${reason}` });
  return new OcmError('REMOTE_BAD_RESPONSE', { message: `${domain} answered the share with ${status}` });
}
