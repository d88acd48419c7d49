/**
 * The reference server's data: one durable collection per kind of record,
 * all in the data dir (see json-collection.ts for the file format).
 */
import type { ContactRecord, InviteRecord, ReceivedShareRecord, SentShareRecord, ShareRequestRecord } from '../core/model.ts';
import { JsonCollection } from './json-collection.ts';

export interface Stores {
  invites: JsonCollection<InviteRecord>;
  contacts: JsonCollection<ContactRecord>;
  receivedShares: JsonCollection<ReceivedShareRecord>;
  sentShares: JsonCollection<SentShareRecord>;
  shareRequests: JsonCollection<ShareRequestRecord>;
  /** Resolves when every write issued so far is durable. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function openStores(dataDir: string): Promise<Stores> {
  const [invites, contacts, receivedShares, sentShares, shareRequests] = await Promise.all([
    JsonCollection.open<InviteRecord>(dataDir, 'invites'),
    JsonCollection.open<ContactRecord>(dataDir, 'contacts'),
    JsonCollection.open<ReceivedShareRecord>(dataDir, 'received-shares'),
    JsonCollection.open<SentShareRecord>(dataDir, 'sent-shares'),
    JsonCollection.open<ShareRequestRecord>(dataDir, 'share-requests'),
  ]);
  const all = [invites, contacts, receivedShares, sentShares, shareRequests];
  return {
    invites,
    contacts,
    receivedShares,
    sentShares,
    shareRequests,
    async settled() {
      await Promise.all(all.map((c) => c.settled()));
    },
    async close() {
      await Promise.all(all.map((c) => c.close()));
    },
  };
}
