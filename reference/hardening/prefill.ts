/**
 * Fills a data dir with received shares before a server starts on it,
 * through `JsonCollection.put` (so the files are exactly what the store
 * writes: journal lines, then a snapshot when asked). Used by the
 * benchmarks (1,000 … 100,000 stored shares) and by crash-run.ts (to bring
 * the journal near its compaction threshold, so kills land in snapshots too).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReceivedShareRecord } from '../stores/records.ts';
import { JsonCollection } from '../stores/json-collection.ts';

export const RICHARD_ID = '932b4540-8d16-481e-8ef4-588e4b6b151c';

/** A received share as ReceivedShareService.receive stores it (pending, webdav). */
export function receivedShareRecord(
  i: number,
  options: { domain: string; senderDomain: string; userId?: string; prefix?: string },
): ReceivedShareRecord {
  const providerId = `${options.prefix ?? 'prefill'}-${i}`;
  const now = Math.floor(Date.now() / 1000);
  return {
    id: randomUUID(),
    providerId,
    senderDomain: options.senderDomain,
    localUserId: options.userId ?? RICHARD_ID,
    shareWith: `${options.userId ?? RICHARD_ID}@${options.domain}`,
    name: `prefill-${i}.txt`,
    description: 'pre-filled for a benchmark',
    owner: `owner-${i % 97}@${options.senderDomain}`,
    sender: `sender-${i % 89}@${options.senderDomain}`,
    ownerDisplayName: `Owner ${i % 97}`,
    senderDisplayName: `Sender ${i % 89}`,
    shareType: 'user',
    resourceType: i % 5 === 0 ? 'folder' : 'file',
    protocols: {
      encoding: 'multi',
      webdav: {
        sharedSecret: `prefill-secret-${i}-${randomUUID()}`,
        permissions: ['read'],
        uri: `http://${options.senderDomain}/dav/ocm/${providerId}`,
      },
    },
    state: 'pending',
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Adds `count` received shares to the `received-shares` collection in
 * `dataDir`. With `snapshot`, the collection is compacted afterwards (the
 * shares end up in `received-shares.json`, the journal empty), as a server
 * that ran for a while would leave it.
 */
export async function prefillReceivedShares(
  dataDir: string,
  count: number,
  options: { domain: string; senderDomain: string; userId?: string; prefix?: string; snapshot?: boolean },
): Promise<void> {
  const collection = await JsonCollection.open<ReceivedShareRecord>(dataDir, 'received-shares', { compactAfter: Number.POSITIVE_INFINITY });
  try {
    const start = collection.size;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const record = receivedShareRecord(start + i, options);
      writes.push(collection.put(record.id, record));
      if (writes.length >= 5_000) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    if (options.snapshot) await collection.compact();
  } finally {
    await collection.close();
  }
}

/**
 * Appends `lines` journal lines to a collection without changing its
 * contents: put-then-delete pairs of throw-away records. Brings the journal
 * near the compaction threshold while the snapshot stays small.
 */
export async function churnJournal(
  dataDir: string,
  lines: number,
  options: { domain: string; senderDomain: string; prefix: string },
): Promise<void> {
  const collection = await JsonCollection.open<ReceivedShareRecord>(dataDir, 'received-shares', { compactAfter: Number.POSITIVE_INFINITY });
  try {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < Math.floor(lines / 2); i++) {
      const record = receivedShareRecord(i, { ...options, prefix: options.prefix });
      writes.push(collection.put(record.id, record));
      writes.push(collection.delete(record.id));
      if (writes.length >= 5_000) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
  } finally {
    await collection.close();
  }
}

/** Complete lines in a collection's journal (what the store counts towards compaction). */
export async function journalLineCount(dataDir: string, name: string): Promise<number> {
  try {
    const buffer = await readFile(join(dataDir, `${name}.journal.jsonl`));
    let lines = 0;
    for (let i = buffer.indexOf(0x0a); i >= 0; i = buffer.indexOf(0x0a, i + 1)) lines++;
    return lines;
  } catch {
    return 0;
  }
}

/**
 * Journal lines the store will count towards compaction when it opens the
 * collection: those with a `seq` above the snapshot's (lines at or below it
 * are left over from a crash between the snapshot rename and the journal
 * truncation, and are skipped on replay).
 */
export async function effectiveJournalLines(dataDir: string, name: string): Promise<{ counted: number; stale: number }> {
  let snapshotSeq = 0;
  try {
    snapshotSeq = (JSON.parse(await readFile(join(dataDir, `${name}.json`), 'utf8')) as { seq: number }).seq;
  } catch {
    snapshotSeq = 0;
  }
  let text = '';
  try {
    text = await readFile(join(dataDir, `${name}.journal.jsonl`), 'utf8');
  } catch {
    return { counted: 0, stale: 0 };
  }
  let counted = 0;
  let stale = 0;
  const lines = text.split('\n');
  lines.pop();
  for (const line of lines) {
    const seq = (JSON.parse(line) as { seq: number }).seq;
    if (seq > snapshotSeq) counted++;
    else stale++;
  }
  return { counted, stale };
}
