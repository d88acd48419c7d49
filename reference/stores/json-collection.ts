/**
 * A durable keyed collection kept in memory and on disk as JSON.
 *
 * On disk a collection `NAME` is two files in the data dir:
 *   NAME.json           snapshot: {"format", "seq", "records": {id: value}}
 *   NAME.journal.jsonl  one JSON line per change since the snapshot:
 *                       {"seq", "op": "put"|"del", "id", "value"?}
 *
 * Invariants:
 *  - A write resolves only after its journal line is on disk (write + fdatasync).
 *    Writes that arrive together share one write and one sync (group commit),
 *    so the cost of a write does not grow with the size of the collection.
 *  - Appends to one collection are serialised: one writer loop per file.
 *  - Snapshots are written to a temp file, synced and renamed over the old one,
 *    then the journal is emptied. Journal lines with `seq <= snapshot.seq` are
 *    already in the snapshot and are skipped on replay, so a crash between the
 *    rename and the truncation loses nothing.
 *  - A crash can leave a torn last journal line (no newline): it was never
 *    acknowledged, so it is dropped. Anything else that does not parse stops
 *    start-up with an error naming the file: never an empty store.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const FORMAT = 'ocm-conformance/collection@1';

export class CorruptStoreError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`corrupt data file ${file}: ${detail}`);
    this.name = 'CorruptStoreError';
  }
}

interface JournalEntry<T> {
  seq: number;
  op: 'put' | 'del';
  id: string;
  value?: T;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface CollectionOptions {
  /** Journal lines after which the next idle moment writes a fresh snapshot. */
  compactAfter?: number;
}

export class JsonCollection<T> {
  private readonly records = new Map<string, T>();
  private seq = 0;
  private journalLines = 0;
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly snapshotFile: string,
    private readonly journalFile: string,
    private journal: FileHandle,
    private readonly compactAfter: number,
  ) {}

  static async open<T>(dataDir: string, name: string, options: CollectionOptions = {}): Promise<JsonCollection<T>> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const snapshotFile = join(dataDir, `${name}.json`);
    const journalFile = join(dataDir, `${name}.journal.jsonl`);
    const snapshot = await readSnapshot<T>(snapshotFile);
    const { entries, validBytes } = await readJournal<T>(journalFile);
    const journal = await open(journalFile, 'a+', 0o600);
    // Drop a torn tail so new lines start on a fresh line.
    const { size } = await journal.stat();
    if (size !== validBytes) {
      await journal.truncate(validBytes);
      await journal.datasync();
    }
    const collection = new JsonCollection<T>(name, snapshotFile, journalFile, journal, options.compactAfter ?? 20_000);
    collection.seq = snapshot.seq;
    for (const [id, value] of Object.entries(snapshot.records)) collection.records.set(id, value);
    for (const entry of entries) {
      if (entry.seq <= snapshot.seq) continue;
      if (entry.op === 'put') collection.records.set(entry.id, entry.value as T);
      else collection.records.delete(entry.id);
      collection.seq = entry.seq;
      collection.journalLines++;
    }
    return collection;
  }

  get size(): number {
    return this.records.size;
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  values(): IterableIterator<T> {
    return this.records.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.records.entries();
  }

  find(predicate: (value: T, id: string) => boolean): T | undefined {
    for (const [id, value] of this.records) if (predicate(value, id)) return value;
    return undefined;
  }

  filter(predicate: (value: T, id: string) => boolean): T[] {
    const out: T[] = [];
    for (const [id, value] of this.records) if (predicate(value, id)) out.push(value);
    return out;
  }

  /**
   * Stores `value` under `id`. The new value is visible to readers at once;
   * the promise resolves when it is durable.
   */
  put(id: string, value: T): Promise<void> {
    this.assertOpen();
    this.records.set(id, value);
    return this.append({ seq: ++this.seq, op: 'put', id, value });
  }

  /** Removes `id`; resolves `false` (writing nothing) when it was absent. */
  async delete(id: string): Promise<boolean> {
    this.assertOpen();
    if (!this.records.delete(id)) return false;
    await this.append({ seq: ++this.seq, op: 'del', id });
    return true;
  }

  /** Resolves when every write issued so far is durable. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  hasPendingWrites(): boolean {
    return this.writing !== undefined;
  }

  /** Writes a snapshot of the current state and empties the journal. */
  async compact(): Promise<void> {
    this.assertOpen();
    while (this.writing) await this.writing;
    // Hold the writer slot while the snapshot is written: a journal line
    // appended (and acknowledged) meanwhile would be lost to the truncation.
    const run = this.writeSnapshot().finally(() => {
      this.writing = this.pending.length > 0 ? this.writeLoop() : undefined;
    });
    this.writing = run.catch(() => undefined);
    await run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settled();
    this.closed = true;
    await this.journal.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`collection ${this.name} is closed`);
  }

  private append(entry: JournalEntry<T>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(entry)}\n`, resolve, reject });
      if (!this.writing) this.writing = this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    try {
      // Let the other writes of this tick join the batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.journal.write(batch.map((p) => p.line).join(''));
          await this.journal.datasync();
          this.journalLines += batch.length;
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
        if (this.pending.length === 0 && this.journalLines >= this.compactAfter) {
          await this.writeSnapshot().catch(() => undefined);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeSnapshot(): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, seq: this.seq, records: Object.fromEntries(this.records) });
    await writeFileAtomic(this.snapshotFile, `${body}\n`);
    await this.journal.truncate(0);
    await this.journal.datasync();
    this.journalLines = 0;
  }
}

async function readSnapshot<T>(file: string): Promise<{ seq: number; records: Record<string, T> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, records: {} };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CorruptStoreError(file, `not JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
  const doc = parsed as { format?: unknown; seq?: unknown; records?: unknown };
  if (doc?.format !== FORMAT || typeof doc.seq !== 'number' || typeof doc.records !== 'object' || doc.records === null) {
    throw new CorruptStoreError(file, `not a ${FORMAT} snapshot`);
  }
  return { seq: doc.seq, records: doc.records as Record<string, T> };
}

async function readJournal<T>(file: string): Promise<{ entries: JournalEntry<T>[]; validBytes: number }> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], validBytes: 0 };
    throw error;
  }
  const entries: JournalEntry<T>[] = [];
  let offset = 0;
  let lineNo = 0;
  while (offset < buffer.length) {
    const newline = buffer.indexOf(0x0a, offset);
    lineNo++;
    if (newline < 0) break; // torn tail: never acknowledged
    const line = buffer.subarray(offset, newline).toString('utf8');
    let entry: JournalEntry<T>;
    try {
      entry = JSON.parse(line) as JournalEntry<T>;
    } catch {
      throw new CorruptStoreError(file, `line ${lineNo} is not JSON`);
    }
    if (typeof entry?.seq !== 'number' || (entry.op !== 'put' && entry.op !== 'del') || typeof entry.id !== 'string') {
      throw new CorruptStoreError(file, `line ${lineNo} is not a journal entry`);
    }
    entries.push(entry);
    offset = newline + 1;
  }
  return { entries, validBytes: offset };
}

/** Writes `content` to `file` so that readers see the old or the new file, never a mix. */
export async function writeFileAtomic(file: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  const dir = await open(join(file, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
