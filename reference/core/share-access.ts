/**
 * Who may read a shared resource over WebDAV (the `authprovider` role with
 * reva's `ocmshares` logic, spec-correct):
 *   secret → share; the share id in the path (if any) must be that share;
 *   the share must not be expired or declined; the grantee must still be an
 *   accepted contact of the owner (unless shares without invites are allowed);
 *   the role follows the webdav permissions. reva never checks expiry
 *   (oCIS issue 11033); we do (decisions/0003).
 *
 * Credentials: `Authorization: Bearer <sharedSecret>` with the share id as the
 * first path segment, or the legacy form older peers use, HTTP Basic with the
 * secret as user name and an empty password (share id in the path optional).
 */
import { secretsEqual } from '../base/secrets.ts';
import { parseBasicAuth } from './users.ts';
import { nowSeconds, type LocalUser, type SentShareRecord } from '../stores/records.ts';
import { sentShareBySecret, type Stores } from '../stores/index.ts';
import type { UserDirectory } from './users.ts';
import { faults } from '../base/faults.ts';

export type AccessRole = 'viewer' | 'editor';

export type ShareAccessResult =
  | { ok: true; share: SentShareRecord; owner: LocalUser; role: AccessRole; consumed: number }
  | { ok: false; status: 401 | 404; code: 'INVALID_SHARE_CREDENTIALS' | 'SHARE_NOT_FOUND'; message: string };

export interface ShareAccessDeps {
  stores: Stores;
  users: UserDirectory;
  allowSharesWithoutInvite: boolean;
  isContact(localUserId: string, remoteUserId: string, remoteDomain: string): boolean;
  /** Resolves an exchanged access token to a share id (token exchange, when enabled). */
  shareIdForToken?(token: string): string | undefined;
}

const UNAUTHORISED = {
  ok: false,
  status: 401,
  code: 'INVALID_SHARE_CREDENTIALS',
  message: 'The credentials do not open this share',
} as const;
const GONE = { ok: false, status: 404, code: 'SHARE_NOT_FOUND', message: 'No such share' } as const;

export class ShareAccessService {
  constructor(private readonly deps: ShareAccessDeps) {}

  /** Checks credentials for a request whose path segments follow the share-access prefix. */
  authenticate(authorization: string | undefined, segments: string[]): ShareAccessResult {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (bearer !== undefined) {
      const shareId = segments[0];
      if (!shareId) return GONE;
      const share = this.deps.stores.sentShares.get(shareId);
      if (!share) return GONE;
      const viaToken = this.deps.shareIdForToken?.(bearer) === share.id;
      const strict = (share.requirements ?? []).includes('must-exchange-token') && !faults.has('tok-strict-share-opens-with-secret');
      const viaSecret =
        !strict &&
        (secretsEqual(bearer, share.sharedSecret) ||
          (faults.has('dav-secret-opens-other-shares') && sentShareBySecret(this.deps.stores, bearer) !== undefined));
      if (!viaToken && !viaSecret) return UNAUTHORISED;
      return this.admit(share, 1);
    }
    const basic = parseBasicAuth(authorization);
    if (basic && basic.username !== '' && !faults.has('dav-legacy-basic-refused')) {
      const share = sentShareBySecret(this.deps.stores, basic.username);
      if (!share || (share.requirements ?? []).includes('must-exchange-token')) return UNAUTHORISED;
      return this.admit(share, segments[0] === share.id ? 1 : 0);
    }
    return UNAUTHORISED;
  }

  /** Checks a share id and secret directly (the gRPC Authenticate rpc). */
  authenticateSecret(shareId: string, secret: string): ShareAccessResult {
    return this.authenticate(`Bearer ${secret}`, [shareId]);
  }

  private admit(share: SentShareRecord, consumed: number): ShareAccessResult {
    if (share.state === 'declined') return GONE;
    if (share.expiration !== undefined && share.expiration <= nowSeconds() && !faults.has('dav-expired-share-readable'))
      return UNAUTHORISED;
    const owner = this.deps.users.get(share.ownerId);
    if (!owner) return GONE;
    if (!this.deps.allowSharesWithoutInvite && !this.deps.isContact(owner.id, share.recipientUserId, share.recipientDomain))
      return UNAUTHORISED;
    return { ok: true, share, owner, role: share.permissions.includes('write') ? 'editor' : 'viewer', consumed };
  }
}
