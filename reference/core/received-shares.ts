/**
 * Incoming shares (the `ocmcore` role): `POST /ocm/shares` after the schema
 * check. Decides who may share with whom and stores the share as pending.
 *
 * Order of checks, each with its own answer:
 *   shareType (501) → resourceType (501) → sender address (400) →
 *   sender trusted (403) → recipient is a local user here (400) →
 *   protocols usable (501) and requirements known and met (400) →
 *   criteria such as must-invite (403) → not a duplicate (400) → store (201).
 */
import { randomUUID } from 'node:crypto';
import { OcmError, fieldError } from '../base/errors.ts';
import type { TrustedProviders } from '../providers/trusted-providers.ts';
import { normaliseDomain } from '../providers/trusted-providers.ts';
import type { Stores } from '../stores/index.ts';
import { parseOcmAddress } from './addresses.ts';
import {
  nowSeconds,
  type LocalUser,
  type ReceivedProtocols,
  type ReceivedShareRecord,
  type ShareState,
  type WebdavAccess,
} from '../stores/records.ts';
import type { Notifier } from './notifier.ts';
import type { UserDirectory } from './users.ts';
import { faults } from '../base/faults.ts';

/**
 * Requirements this server can honour when it receives a share:
 * `must-exchange-token` through the code flow (outbound/token-client.ts);
 * with tokenExchange switched off the service is built without it.
 */
export const SUPPORTED_REQUIREMENTS: readonly string[] = ['must-exchange-token'];
export const SUPPORTED_SHARE_TYPES: readonly string[] = ['user'];
export const SUPPORTED_RESOURCE_TYPES: readonly string[] = ['file', 'folder'];

export interface IncomingShare {
  shareWith: string;
  name: string;
  description?: string;
  providerId: string;
  owner: string;
  sender: string;
  ownerDisplayName?: string;
  senderDisplayName?: string;
  shareType: string;
  resourceType: string;
  expiration?: number;
  protocol: Record<string, unknown> & { name?: string };
}

export interface ReceivedShareDeps {
  domain: string;
  criteria: string[];
  users: UserDirectory;
  providers: TrustedProviders;
  stores: Stores;
  isContact(localUserId: string, remoteUserId: string, remoteDomain: string): boolean;
  notifier: Notifier;
  /** Requirements honoured here; default SUPPORTED_REQUIREMENTS. */
  supportedRequirements?: readonly string[];
}

export type ShareStateFilter = ShareState | 'all';

export class ReceivedShareService {
  constructor(private readonly deps: ReceivedShareDeps) {}

  async receive(share: IncomingShare): Promise<{ record: ReceivedShareRecord; recipientDisplayName: string }> {
    if (!SUPPORTED_SHARE_TYPES.includes(share.shareType)) {
      throw new OcmError('UNSUPPORTED_SHARE_TYPE', {
        message: `share type "${share.shareType}" is not supported; this server takes ${SUPPORTED_SHARE_TYPES.join(', ')}`,
      });
    }
    if (!SUPPORTED_RESOURCE_TYPES.includes(share.resourceType)) {
      if (faults.has('shares-unsupported-type-400'))
        throw fieldError('VALIDATION_FAILED', 'resourceType', 'NOT_SUPPORTED', `resource type "${share.resourceType}" is not supported`);
      throw new OcmError('UNSUPPORTED_RESOURCE_TYPE', {
        message: `resource type "${share.resourceType}" is not supported; this server takes ${SUPPORTED_RESOURCE_TYPES.join(', ')}`,
      });
    }
    const sender = parseOcmAddress(share.sender);
    if (!sender)
      throw fieldError('VALIDATION_FAILED', 'sender', 'INVALID_OCM_ADDRESS', 'sender must be an OCM Address (identifier@host[:port])');
    const owner = parseOcmAddress(share.owner);
    if (!owner)
      throw fieldError('VALIDATION_FAILED', 'owner', 'INVALID_OCM_ADDRESS', 'owner must be an OCM Address (identifier@host[:port])');
    if (!this.deps.providers.isTrusted(sender.domain)) {
      throw new OcmError('PROVIDER_NOT_TRUSTED', { message: `the sending provider ${sender.domain} is not trusted by this server` });
    }
    const recipient = parseOcmAddress(share.shareWith);
    const user =
      recipient && recipient.domain === normaliseDomain(this.deps.domain) ? this.deps.users.byIdentifier(recipient.identifier) : undefined;
    if (!user && faults.has('shares-unknown-recipient-accepted'))
      return { record: undefined as never, recipientDisplayName: recipient?.identifier ?? share.shareWith };
    if (!user) throw fieldError('UNKNOWN_RECIPIENT', 'shareWith', 'NOT_FOUND');
    const protocols = normaliseProtocol(share.protocol);
    this.checkRequirements(protocols);
    if (this.deps.criteria.includes('must-invite') && !this.deps.isContact(user.id, sender.identifier, sender.domain)) {
      throw new OcmError('SENDER_NOT_A_CONTACT');
    }
    const duplicate = this.deps.stores.indexes.receivedByProviderId
      .get(share.providerId)
      .find((r) => r.senderDomain === sender.domain && r.localUserId === user.id);
    if (duplicate) throw fieldError('DUPLICATE_SHARE', 'providerId', 'ALREADY_EXISTS');
    const now = nowSeconds();
    const record: ReceivedShareRecord = {
      id: randomUUID(),
      providerId: share.providerId,
      senderDomain: sender.domain,
      localUserId: user.id,
      shareWith: share.shareWith,
      name: share.name,
      owner: share.owner,
      sender: share.sender,
      shareType: share.shareType,
      resourceType: share.resourceType,
      protocols,
      state: 'pending',
      createdAt: now,
      updatedAt: now,
      ...optional(share, ['description', 'ownerDisplayName', 'senderDisplayName', 'expiration']),
    };
    await this.deps.stores.receivedShares.put(record.id, record);
    return { record, recipientDisplayName: user.displayName };
  }

  listFor(user: LocalUser, state: ShareStateFilter = 'all'): ReceivedShareRecord[] {
    return this.deps.stores.indexes.receivedByUser
      .get(user.id)
      .filter((r) => state === 'all' || r.state === state)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  getFor(user: LocalUser, id: string): ReceivedShareRecord | undefined {
    const share = this.deps.stores.receivedShares.get(id);
    return share && share.localUserId === user.id ? share : undefined;
  }

  /**
   * Accepts or declines a pending share and tells the sender with a Share
   * Acceptance Notification carrying the secret (which proves who we are).
   */
  async respond(user: LocalUser, id: string, decision: 'accepted' | 'declined'): Promise<ReceivedShareRecord> {
    const share = this.getFor(user, id);
    if (!share) throw new OcmError('SHARE_NOT_FOUND');
    if (share.state !== 'pending') throw new OcmError('SHARE_NOT_PENDING', { message: `the share is already ${share.state}` });
    const updated: ReceivedShareRecord = { ...share, state: decision, updatedAt: nowSeconds() };
    await this.deps.stores.receivedShares.put(id, updated);
    await this.deps.notifier.send(share.senderDomain, {
      notificationType: decision === 'accepted' ? 'SHARE_ACCEPTED' : 'SHARE_DECLINED',
      resourceType: share.resourceType,
      providerId: faults.has('ntf-acceptance-wrong-provider-id') ? share.id : share.providerId,
      notification: { sharedSecret: share.protocols.webdav?.sharedSecret ?? '', shareWith: share.shareWith },
    });
    return updated;
  }

  // ---- for the CS3 gRPC services (reference/grpc) --------------------------

  /** The user's received share with this id or, failing that, with this sender's `providerId` (as reva's GetReceivedOCMShare matches). */
  findFor(user: LocalUser, idOrProviderId: string): ReceivedShareRecord | undefined {
    return this.getFor(user, idOrProviderId) ?? this.listFor(user).find((r) => r.providerId === idOrProviderId);
  }

  /** Replaces the webdav permissions of a received share (the sharer changed them: OcmCoreAPI UpdateOCMCoreShare). */
  async setWebdavPermissions(id: string, permissions: string[]): Promise<ReceivedShareRecord> {
    const share = this.deps.stores.receivedShares.get(id);
    if (!share) throw new OcmError('SHARE_NOT_FOUND');
    if (!share.protocols.webdav) throw new OcmError('UNSUPPORTED_PROTOCOL', { message: 'the share has no webdav access to change' });
    const webdav = { ...share.protocols.webdav, permissions: [...new Set(permissions)] };
    const updated: ReceivedShareRecord = { ...share, protocols: { ...share.protocols, webdav }, updatedAt: nowSeconds() };
    await this.deps.stores.receivedShares.put(id, updated);
    return updated;
  }

  /** Removes a received share (the sharer unshared it: OcmCoreAPI DeleteOCMCoreShare). */
  async removeReceived(id: string): Promise<ReceivedShareRecord> {
    const share = this.deps.stores.receivedShares.get(id);
    if (!share) throw new OcmError('SHARE_NOT_FOUND');
    await this.deps.stores.receivedShares.delete(id);
    return share;
  }

  // ---- end of the gRPC additions ---------------------------------------------

  private checkRequirements(protocols: ReceivedProtocols): void {
    const lists: Array<[string, string[] | undefined]> = [
      ['protocol.webdav.requirements', protocols.webdav?.requirements],
      ['protocol.webapp.requirements', protocols.webapp?.requirements as string[] | undefined],
    ];
    for (const [name, requirements] of lists) {
      const supported = this.deps.supportedRequirements ?? SUPPORTED_REQUIREMENTS;
      const unknown = requirements?.filter((r) => !supported.includes(r)) ?? [];
      if (unknown.length > 0 && !faults.has('shares-unknown-requirement-accepted')) {
        throw fieldError(
          'UNSUPPORTED_REQUIREMENT',
          name,
          'NOT_SUPPORTED',
          `requirement ${unknown.map((u) => `"${u}"`).join(', ')} cannot be honoured by this server`,
        );
      }
    }
    if (this.deps.criteria.includes('must-exchange-token') && !protocols.webdav?.requirements?.includes('must-exchange-token')) {
      throw fieldError('REQUIREMENT_MISSING', 'protocol.webdav.requirements', 'MUST_INCLUDE_MUST_EXCHANGE_TOKEN');
    }
    // A 1.4 webapp share (it has `uri`) is only usable after a token exchange.
    const webapp = protocols.webapp as { uri?: unknown; requirements?: string[] } | undefined;
    if (webapp && typeof webapp.uri === 'string' && !webapp.requirements?.includes('must-exchange-token')) {
      throw fieldError('REQUIREMENT_MISSING', 'protocol.webapp.requirements', 'MUST_INCLUDE_MUST_EXCHANGE_TOKEN');
    }
    // In a multi-protocol share every protocol must state the same requirements.
    const offered = [protocols.webdav, protocols.webapp, protocols.ssh].filter((p): p is Record<string, unknown> => p !== undefined);
    if (offered.length > 1) {
      const key = (p: Record<string, unknown>) => JSON.stringify([...((p.requirements as string[] | undefined) ?? [])].sort());
      if (new Set(offered.map(key)).size > 1 && !faults.has('shares-differing-requirements-accepted')) {
        throw fieldError('VALIDATION_FAILED', 'protocol', 'REQUIREMENTS_DIFFER', 'every offered protocol must carry the same requirements');
      }
    }
  }
}

/**
 * Reads the three encodings of `protocol` (all already schema-checked) into
 * one shape: legacy `{name: webdav, options}`, `{name: webdav, webdav}` and
 * `{name: multi, webdav?, webapp?, ssh?}`. A share offering nothing this
 * server can use as a client is refused with 501.
 */
export function normaliseProtocol(protocol: IncomingShare['protocol']): ReceivedProtocols {
  const webdav = protocol.webdav as Record<string, unknown> | undefined;
  const options = protocol.options as Record<string, unknown> | undefined;
  let result: ReceivedProtocols;
  if (protocol.name === 'multi') {
    result = { encoding: 'multi' };
  } else if (webdav) {
    result = { encoding: 'single' };
  } else {
    result = { encoding: 'legacy' };
  }
  if (webdav) {
    result.webdav = toWebdavAccess(webdav);
  } else if (options && typeof options.sharedSecret === 'string') {
    // 1.0 `options.permissions` is opaque (Nextcloud sends a property name, not a value): read only.
    result.webdav = { sharedSecret: options.sharedSecret, permissions: ['read'] };
  }
  if (protocol.webapp && typeof protocol.webapp === 'object') result.webapp = protocol.webapp as Record<string, unknown>;
  if (protocol.ssh && typeof protocol.ssh === 'object') result.ssh = protocol.ssh as Record<string, unknown>;
  if (!result.webdav)
    throw new OcmError('UNSUPPORTED_PROTOCOL', { message: 'the share offers no webdav access, the only protocol this server can use' });
  return result;
}

function toWebdavAccess(webdav: Record<string, unknown>): WebdavAccess {
  const access: WebdavAccess = {
    sharedSecret: String(webdav.sharedSecret),
    permissions: Array.isArray(webdav.permissions) ? (webdav.permissions as string[]) : ['read'],
  };
  if (typeof webdav.uri === 'string') access.uri = webdav.uri;
  if (Array.isArray(webdav.requirements)) access.requirements = webdav.requirements as string[];
  return access;
}

function optional<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
