/**
 * Requests for a share (`POST /ocm/request-share`, OCM 1.4): a remote user
 * asks one of our users to share a resource they know of. The request is
 * recorded for the owner; sharing stays the owner's decision (a normal share
 * may follow). A resource that does not exist and a requester who is not
 * the owner's contact get the same 404, so neither leaks.
 */
import { randomUUID } from 'node:crypto';
import { OcmError, fieldError } from '../base/errors.ts';
import { normaliseDomain, type TrustedProviders } from '../providers/trusted-providers.ts';
import type { Stores } from '../stores/index.ts';
import { parseOcmAddress } from './addresses.ts';
import type { HomeFolders } from './files.ts';
import { nowSeconds, type ShareRequestRecord } from '../stores/records.ts';
import type { UserDirectory } from './users.ts';

export interface ShareRequestDeps {
  domain: string;
  users: UserDirectory;
  providers: TrustedProviders;
  stores: Stores;
  homes: HomeFolders;
  isContact(localUserId: string, remoteUserId: string, remoteDomain: string): boolean;
}

export class ShareRequestService {
  constructor(private readonly deps: ShareRequestDeps) {}

  async receive(request: { owner: string; shareWith: string; share: string }): Promise<ShareRequestRecord> {
    const requester = parseOcmAddress(request.shareWith);
    if (!requester) throw fieldError('VALIDATION_FAILED', 'shareWith', 'INVALID_OCM_ADDRESS');
    if (!this.deps.providers.isTrusted(requester.domain)) {
      throw new OcmError('PROVIDER_NOT_TRUSTED', { message: `the requesting provider ${requester.domain} is not trusted by this server` });
    }
    const owner = parseOcmAddress(request.owner);
    const user = owner && owner.domain === normaliseDomain(this.deps.domain) ? this.deps.users.byIdentifier(owner.identifier) : undefined;
    if (!user) throw new OcmError('RESOURCE_NOT_FOUND', { message: 'no such resource, or no right to ask for it' });
    const path = request.share.replace(/^https?:\/\/[^/]+/i, '');
    const resource = await this.deps.homes.resolve(user, path);
    if (!resource || !this.deps.isContact(user.id, requester.identifier, requester.domain)) {
      throw new OcmError('RESOURCE_NOT_FOUND', { message: 'no such resource, or no right to ask for it' });
    }
    const record: ShareRequestRecord = {
      id: randomUUID(),
      ownerId: user.id,
      requester: request.shareWith,
      requesterDomain: requester.domain,
      path: resource.relativePath,
      createdAt: nowSeconds(),
    };
    await this.deps.stores.shareRequests.put(record.id, record);
    return record;
  }

  listFor(ownerId: string): ShareRequestRecord[] {
    return this.deps.stores.shareRequests.filter((r) => r.ownerId === ownerId);
  }
}
