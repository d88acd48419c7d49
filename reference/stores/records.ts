/**
 * What the reference server keeps. Records are plain JSON values stored in the
 * collections of `stores/`; times are Unix seconds.
 */

export interface LocalUser {
  /** Opaque id: the identifier part of this user's OCM Address. */
  id: string;
  username: string;
  password: string;
  displayName: string;
  email: string;
}

/** An invite token issued by a local user (the Invite Sender). */
export interface InviteRecord {
  token: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  description?: string;
  recipient?: string;
  /** Set once the invite is accepted: tokens are single-use (decisions/0003). */
  acceptedBy?: { userId: string; domain: string; at: number };
}

/** A remote user a local user trusts after an invite exchange. */
export interface ContactRecord {
  id: string;
  localUserId: string;
  remoteUserId: string;
  /** host[:port] of the remote OCM server. */
  remoteDomain: string;
  name: string;
  email: string;
  createdAt: number;
  /** `invite-sent`: they accepted our invite; `invite-accepted`: we accepted theirs. */
  origin: 'invite-sent' | 'invite-accepted';
}

export type ShareState = 'pending' | 'accepted' | 'declined';

/** Access details of one protocol, normalised from any of the accepted encodings. */
export interface WebdavAccess {
  uri?: string;
  sharedSecret: string;
  permissions: string[];
  requirements?: string[];
}

export interface ReceivedProtocols {
  /** The encoding the sender used: `legacy` (name+options), `single` (name=webdav) or `multi`. */
  encoding: 'legacy' | 'single' | 'multi';
  webdav?: WebdavAccess;
  webapp?: Record<string, unknown>;
  ssh?: Record<string, unknown>;
}

/** A share another server offered to one of our users (the `ocmcore` role). */
export interface ReceivedShareRecord {
  id: string;
  providerId: string;
  /** host[:port] taken from `sender`, split on the last `@`. */
  senderDomain: string;
  localUserId: string;
  shareWith: string;
  name: string;
  description?: string;
  owner: string;
  sender: string;
  ownerDisplayName?: string;
  senderDisplayName?: string;
  shareType: string;
  resourceType: string;
  expiration?: number;
  protocols: ReceivedProtocols;
  state: ShareState;
  createdAt: number;
  updatedAt: number;
}

/** A share one of our users made to a remote user (the `ocmshareprovider` role). */
export interface SentShareRecord {
  id: string;
  /** The `providerId` sent to the receiver: unique per share. */
  providerId: string;
  ownerId: string;
  /** Path of the shared resource relative to the owner's home. */
  path: string;
  name: string;
  resourceType: 'file' | 'folder';
  shareWith: string;
  recipientUserId: string;
  recipientDomain: string;
  recipientDisplayName?: string;
  sharedSecret: string;
  permissions: string[];
  requirements?: string[];
  expiration?: number;
  state: ShareState;
  createdAt: number;
  updatedAt: number;
}

/** A remote user asked one of our users to share a resource (`POST /ocm/request-share`, OCM 1.4). */
export interface ShareRequestRecord {
  id: string;
  ownerId: string;
  /** The requester's OCM Address. */
  requester: string;
  requesterDomain: string;
  /** The resource path in the owner's home, as asked for. */
  path: string;
  createdAt: number;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
