/**
 * The reference server's data: one durable collection per kind of record,
 * all in the data dir (see json-collection.ts for the file format).
 */
import type { ContactRecord, InviteRecord, ReceivedShareRecord, SentShareRecord, ShareRequestRecord } from './records.ts';
import { createHash } from 'node:crypto';
import { JsonCollection, type CollectionIndex } from './json-collection.ts';
import { secretsEqual } from '../base/secrets.ts';

export interface Stores {
  invites: JsonCollection<InviteRecord>;
  contacts: JsonCollection<ContactRecord>;
  receivedShares: JsonCollection<ReceivedShareRecord>;
  sentShares: JsonCollection<SentShareRecord>;
  shareRequests: JsonCollection<ShareRequestRecord>;
  /** Lookups that would otherwise scan a collection on every request. */
  indexes: {
    receivedByProviderId: CollectionIndex<ReceivedShareRecord>;
    receivedByUser: CollectionIndex<ReceivedShareRecord>;
    sentByProviderId: CollectionIndex<SentShareRecord>;
    /** Keyed by `secretKey(sharedSecret)`: use `sentShareBySecret`. */
    sentBySecret: CollectionIndex<SentShareRecord>;
    contactsByUser: CollectionIndex<ContactRecord>;
  };
  /** Resolves when every write issued so far is durable. */
  settled(): Promise<void>;
  /** True while some write issued so far is not yet durable. */
  hasPendingWrites(): boolean;
  close(): Promise<void>;
}

export async function openStores(dataDir: string): Promise<Stores> {
  const [invites, contacts, receivedShares, sentShares, shareRequests] = await Promise.all([
    JsonCollection.open<InviteRecord>(dataDir, 'invites', { sharedStrings: ['userId'] }),
    JsonCollection.open<ContactRecord>(dataDir, 'contacts', { sharedStrings: ['localUserId', 'remoteDomain'] }),
    JsonCollection.open<ReceivedShareRecord>(dataDir, 'received-shares', {
      sharedStrings: [
        'senderDomain',
        'localUserId',
        'shareWith',
        'owner',
        'sender',
        'ownerDisplayName',
        'senderDisplayName',
        'shareType',
        'resourceType',
        'state',
      ],
    }),
    JsonCollection.open<SentShareRecord>(dataDir, 'sent-shares', {
      sharedStrings: ['ownerId', 'recipientUserId', 'recipientDomain', 'shareWith', 'recipientDisplayName', 'resourceType', 'state'],
    }),
    JsonCollection.open<ShareRequestRecord>(dataDir, 'share-requests'),
  ]);
  const all = [invites, contacts, receivedShares, sentShares, shareRequests];
  return {
    invites,
    contacts,
    receivedShares,
    sentShares,
    shareRequests,
    indexes: {
      receivedByProviderId: receivedShares.index((r) => r.providerId),
      receivedByUser: receivedShares.index((r) => r.localUserId),
      sentByProviderId: sentShares.index((s) => s.providerId),
      sentBySecret: sentShares.index((s) => secretKey(s.sharedSecret)),
      contactsByUser: contacts.index((c) => c.localUserId),
    },
    async settled() {
      await Promise.all(all.map((c) => c.settled()));
    },
    hasPendingWrites() {
      return all.some((c) => c.hasPendingWrites());
    },
    async close() {
      await Promise.all(all.map((c) => c.close()));
    },
  };
}

/**
 * The index key of a shared secret: its SHA-256, so that the lookup's timing
 * depends on the hash, not on how much of a guessed secret is right.
 */
function secretKey(secret: string): string {
  return createHash('sha256').update(secret).digest('base64');
}

/** The sent share whose shared secret is `secret` (compared in constant time), if any. */
export function sentShareBySecret(stores: Stores, secret: string): SentShareRecord | undefined {
  if (secret === '') return undefined;
  return stores.indexes.sentBySecret.get(secretKey(secret)).find((s) => secretsEqual(secret, s.sharedSecret));
}
