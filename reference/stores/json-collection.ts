/**
 * A durable keyed collection kept in memory and on disk as JSON.
 *
 * On disk a collection `NAME` is, in the data dir:
 *   NAME.json               snapshot, one JSON document laid out one record
 *                           per line so that it is written and read as a
 *                           stream:  {"format","seq","records":{
 *                                    "id":value,
 *                                    …
 *                                    }}
 *   NAME.journal.jsonl      one JSON line per change since the snapshot:
 *                           {"seq", "op": "put"|"del", "id", "value"?}
 *   NAME.S.journal.jsonl    a sealed journal (lines up to seq S) while a
 *                           snapshot covering it is being written.
 *
 * Invariants:
 *  - A write resolves only after its journal line is on disk (write + fdatasync).
 *    Writes that arrive together share one write and one sync (group commit),
 *    so the cost of a write does not grow with the size of the collection.
 *  - Appends are serialised: one writer loop per collection.
 *  - Compaction seals the journal (rename, between two batches), then writes
 *    the snapshot of that moment in the background, in chunks, while new
 *    writes go on to a fresh journal; the sealed files are deleted only after
 *    the snapshot is renamed into place. Start-up replays sealed journals and
 *    the live one in seq order and skips lines with `seq <= snapshot.seq`,
 *    so a crash at any step loses nothing.
 *  - Compaction starts once the journal holds as many lines as the collection
 *    holds records (at least `compactAfter`): its cost, linear in the size,
 *    is spread over as many writes, so a write costs the same at any size.
 *  - A crash can leave a torn last journal line (no newline): it was never
 *    acknowledged, so it is dropped. Anything else that does not parse stops
 *    start-up with an error naming the file: never an empty store.
 *  - Records are replaced, never changed in place: a snapshot in progress
 *    holds the values of its moment.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const FORMAT = 'ocm-conformance/collection@1';
/** Records per snapshot chunk: one write, one turn of the event loop. */
const SNAPSHOT_CHUNK = 2_000;
const READ_CHUNK_BYTES = 1 << 20;
/** Distinct shared strings kept per collection. */
const SHARED_STRINGS_LIMIT = 50_000;

export class CorruptStoreError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
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

interface SnapshotSource<T> {
  seq: number;
  entries: Array<[string, T]>;
}

export interface CollectionOptions<T = unknown> {
  /** The least number of journal lines that triggers a compaction. */
  compactAfter?: number;
  /**
   * Top-level fields whose string values repeat across records (a user id, a
   * peer's domain): each distinct value is kept once in memory, not once per
   * record. At 100,000 received shares this saves about a fifth of the heap.
   */
  sharedStrings?: ReadonlyArray<keyof T & string>;
}

/**
 * Records grouped by a derived key (e.g. a share's providerId), kept current
 * on every put and delete: lookups that would scan the collection.
 */
export class CollectionIndex<T> {
  /** key → the one id with that key, or the set of them: most keys are unique, and a Set each would cost memory. */
  private readonly buckets = new Map<string, string | Set<string>>();

  constructor(
    private readonly records: ReadonlyMap<string, T>,
    private readonly keyOf: (value: T) => string | undefined,
  ) {
    for (const [id, value] of records) this.add(id, value);
  }

  /** The records whose key is `key`, in no particular order. */
  get(key: string): T[] {
    const ids = this.buckets.get(key);
    if (ids === undefined) return [];
    if (typeof ids === 'string') return [this.records.get(ids)!];
    const out: T[] = [];
    for (const id of ids) out.push(this.records.get(id)!);
    return out;
  }

  /** @internal kept current by JsonCollection */
  add(id: string, value: T): void {
    const key = this.keyOf(value);
    if (key === undefined) return;
    const ids = this.buckets.get(key);
    if (ids === undefined || ids === id) this.buckets.set(key, id);
    else if (typeof ids === 'string') this.buckets.set(key, new Set([ids, id]));
    else ids.add(id);
  }

  /** @internal kept current by JsonCollection */
  remove(id: string, value: T): void {
    const key = this.keyOf(value);
    if (key === undefined) return;
    const ids = this.buckets.get(key);
    if (ids === id) this.buckets.delete(key);
    else if (ids instanceof Set) {
      ids.delete(id);
      if (ids.size === 1) this.buckets.set(key, ids.values().next().value!);
    }
  }
}

export class JsonCollection<T> {
  private readonly records = new Map<string, T>();
  private readonly indexes: CollectionIndex<T>[] = [];
  private seq = 0;
  private journalLines = 0;
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  /** The background snapshot in progress, if any: at most one at a time. */
  private snapshotting: Promise<void> | undefined;
  private closed = false;
  private readonly pool = new Map<string, string>();
  private readonly snapshotFile: string;
  private readonly journalFile: string;

  private constructor(
    readonly name: string,
    private readonly dataDir: string,
    private journal: FileHandle,
    private readonly compactAfter: number,
    private readonly sharedStrings: ReadonlyArray<string>,
  ) {
    this.snapshotFile = join(dataDir, `${name}.json`);
    this.journalFile = join(dataDir, `${name}.journal.jsonl`);
  }

  static async open<T>(dataDir: string, name: string, options: CollectionOptions<T> = {}): Promise<JsonCollection<T>> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const files = await readdir(dataDir);
    // Temp files of snapshots a crash interrupted: never renamed, never needed.
    for (const file of files)
      if (file.startsWith(`${name}.json.`) && file.endsWith('.tmp')) await unlink(join(dataDir, file)).catch(() => undefined);
    const collection = new JsonCollection<T>(
      name,
      dataDir,
      undefined as never,
      options.compactAfter ?? 20_000,
      options.sharedStrings ?? [],
    );
    const { snapshotFile, journalFile } = collection;
    const snapshotSeq = await readSnapshot<T>(snapshotFile, (id, value) => collection.load(id, value));
    collection.seq = snapshotSeq;
    const replay = (entry: JournalEntry<T>) => {
      if (entry.seq <= snapshotSeq) return;
      if (entry.op === 'put') collection.load(entry.id, entry.value as T);
      else collection.records.delete(entry.id);
      collection.seq = entry.seq;
      collection.journalLines++;
    };
    for (const sealed of sealedJournals(files, name)) await readJournal<T>(join(dataDir, sealed.file), replay);
    const validBytes = await readJournal<T>(journalFile, replay);
    const journal = await open(journalFile, 'a+', 0o600);
    // Drop a torn tail so new lines start on a fresh line.
    const { size } = await journal.stat();
    if (size !== validBytes) {
      await journal.truncate(validBytes);
      await journal.datasync();
    }
    collection.journal = journal;
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

  /** Keeps a record read from disk, sharing its repeated strings; the key is the record's own `id` string when equal. */
  private load(id: string, value: T): void {
    this.share(value);
    const ownId = (value as { id?: unknown } | null)?.id;
    this.records.set(ownId === id ? (ownId as string) : id, value);
  }

  private share(value: T): void {
    if (this.sharedStrings.length === 0 || typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    for (const field of this.sharedStrings) {
      const text = record[field];
      if (typeof text !== 'string') continue;
      const kept = this.pool.get(text);
      if (kept !== undefined) record[field] = kept;
      else {
        // Bounded: values of deleted records must not pile up; a cleared pool only costs sharing.
        if (this.pool.size >= SHARED_STRINGS_LIMIT) this.pool.clear();
        this.pool.set(text, text);
      }
    }
  }

  /** An index of the records by `keyOf` (undefined: not indexed), kept current from now on. */
  index(keyOf: (value: T) => string | undefined): CollectionIndex<T> {
    const index = new CollectionIndex<T>(this.records, keyOf);
    this.indexes.push(index);
    return index;
  }

  /**
   * Stores `value` under `id`. The new value is visible to readers at once;
   * the promise resolves when it is durable.
   */
  put(id: string, value: T): Promise<void> {
    this.assertOpen();
    // Serialised before anything changes: a value JSON cannot hold (a cycle, a BigInt, nesting
    // deeper than the stack) is refused whole, never kept in memory without its journal line.
    let line: string;
    try {
      line = `${JSON.stringify({ seq: this.seq + 1, op: 'put', id, value } satisfies JournalEntry<T>)}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    this.share(value);
    if (this.indexes.length > 0) {
      const old = this.records.get(id);
      for (const index of this.indexes) {
        if (old !== undefined) index.remove(id, old);
        index.add(id, value);
      }
    }
    this.records.set(id, value);
    this.seq++;
    return this.append(line);
  }

  /** Removes `id`; resolves `false` (writing nothing) when it was absent. */
  async delete(id: string): Promise<boolean> {
    this.assertOpen();
    const old = this.records.get(id);
    if (!this.records.delete(id)) return false;
    for (const index of this.indexes) index.remove(id, old as T);
    await this.append(`${JSON.stringify({ seq: ++this.seq, op: 'del', id } satisfies JournalEntry<T>)}\n`);
    return true;
  }

  /** Resolves when every write issued so far is durable. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  hasPendingWrites(): boolean {
    return this.writing !== undefined;
  }

  /** Resolves when every write is durable and no snapshot is being written. */
  async whenIdle(): Promise<void> {
    while (this.writing || this.snapshotting) {
      await this.writing;
      await this.snapshotting;
    }
  }

  /** Writes a snapshot of the current state; the journal is empty afterwards. */
  async compact(): Promise<void> {
    this.assertOpen();
    while (this.writing) await this.writing;
    // Hold the writer slot while the journal is sealed: no line may land in
    // the file being renamed.
    const held = (async () => {
      while (this.snapshotting) await this.snapshotting;
      return this.startSnapshot(await this.seal());
    })().finally(() => {
      this.writing = this.pending.length > 0 ? this.writeLoop() : undefined;
    });
    this.writing = held.then(
      () => undefined,
      () => undefined,
    );
    const { done } = await held;
    await done;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.whenIdle();
    this.closed = true;
    await this.journal.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`collection ${this.name} is closed`);
  }

  private append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
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
        if (!this.snapshotting && this.journalLines >= Math.max(this.compactAfter, this.records.size)) {
          try {
            // A failed snapshot leaves the sealed journal in place: the next one covers it.
            this.startSnapshot(await this.seal()).done.catch(() => undefined);
          } catch {
            // Not sealed: the journal stays the live one and grows until the next try.
          }
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Renames the live journal to `NAME.<seq>.journal.jsonl` and opens a fresh
   * one; returns the records of this moment. Called holding the writer slot.
   */
  private async seal(): Promise<SnapshotSource<T>> {
    const source: SnapshotSource<T> = { seq: this.seq, entries: Array.from(this.records) };
    await this.journal.close();
    try {
      await rename(this.journalFile, join(this.dataDir, `${this.name}.${source.seq}.journal.jsonl`));
    } finally {
      this.journal = await open(this.journalFile, 'a+', 0o600);
    }
    await syncDir(this.dataDir);
    this.journalLines = 0;
    return source;
  }

  /** Starts writing the snapshot in the background (tracked by `snapshotting`); `done` is its outcome. */
  private startSnapshot(source: SnapshotSource<T>): { done: Promise<void> } {
    const done = this.writeSnapshot(source);
    this.snapshotting = done
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.snapshotting = undefined;
      });
    return { done };
  }

  private async writeSnapshot(source: SnapshotSource<T>): Promise<void> {
    await writeFileAtomic(this.snapshotFile, async (handle) => {
      await handle.write(`{"format":${JSON.stringify(FORMAT)},"seq":${source.seq},"records":{\n`);
      const { entries } = source;
      for (let i = 0; i < entries.length; i += SNAPSHOT_CHUNK) {
        const lines: string[] = [];
        for (const [id, value] of entries.slice(i, i + SNAPSHOT_CHUNK)) lines.push(`${JSON.stringify(id)}:${JSON.stringify(value)}`);
        await handle.write(`${lines.join(',\n')}${i + SNAPSHOT_CHUNK < entries.length ? ',' : ''}\n`);
      }
      await handle.write('}}\n');
    });
    for (const sealed of sealedJournals(await readdir(this.dataDir), this.name)) {
      if (sealed.seq <= source.seq) await unlink(join(this.dataDir, sealed.file));
    }
    await syncDir(this.dataDir);
  }
}

/** The sealed journals of collection `name` among `files`, oldest first. */
function sealedJournals(files: string[], name: string): Array<{ file: string; seq: number }> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.journal\\.jsonl$`);
  return files
    .map((file) => ({ file, match: pattern.exec(file) }))
    .filter((f) => f.match)
    .map((f) => ({ file: f.file, seq: Number(f.match![1]) }))
    .sort((a, b) => a.seq - b.seq);
}

/**
 * Calls `onLine` for every complete line of `file` (read in chunks, never
 * whole); returns the bytes up to the end of the last complete line, or
 * undefined when the file does not exist.
 */
async function forEachLine(file: string, onLine: (line: string, lineNo: number) => void): Promise<number | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    // The start of an unfinished line, in pieces: joined once its newline comes.
    let carry: Buffer[] = [];
    let consumed = 0;
    let lineNo = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      let offset = 0;
      for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, offset)) {
        const piece = data.subarray(offset, newline);
        const line = carry.length > 0 ? Buffer.concat([...carry, piece]) : piece;
        consumed += line.length + 1;
        carry = [];
        onLine(line.toString('utf8'), ++lineNo);
        offset = newline + 1;
      }
      // Copied: `chunk` is reused by the next read.
      if (offset < data.length) carry.push(Buffer.from(data.subarray(offset)));
    }
    return consumed;
  } finally {
    await handle.close();
  }
}

async function readSnapshot<T>(file: string, onRecord: (id: string, value: T) => void): Promise<number> {
  let seq: number | undefined;
  let ended = false;
  let legacy: string | undefined;
  const notJson = (error: unknown) => `not JSON (${(error as Error).message.replace(/\s+/g, ' ')})`;
  const bytes = await forEachLine(file, (line, lineNo) => {
    if (legacy !== undefined) {
      legacy += `\n${line}`;
      return;
    }
    if (lineNo === 1) {
      const header = tryParse(`${line}}}`) as { format?: unknown; seq?: unknown; records?: unknown } | undefined;
      if (
        header &&
        typeof header.records === 'object' &&
        header.records !== null &&
        Object.keys(header.records).length === 0 &&
        line.endsWith('{')
      ) {
        if (header.format !== FORMAT || typeof header.seq !== 'number') throw new CorruptStoreError(file, `not a ${FORMAT} snapshot`);
        seq = header.seq;
      } else {
        legacy = line; // a snapshot of another layout: parsed whole below
      }
      return;
    }
    if (ended) throw new CorruptStoreError(file, `line ${lineNo}: data after the end of the snapshot`);
    if (line === '}}') {
      ended = true;
      return;
    }
    let record: Record<string, T>;
    try {
      record = JSON.parse(`{${line.endsWith(',') ? line.slice(0, -1) : line}}`) as Record<string, T>;
    } catch (error) {
      throw new CorruptStoreError(file, `line ${lineNo} is ${notJson(error)}`);
    }
    for (const [id, value] of Object.entries(record)) onRecord(id, value);
  });
  if (bytes === undefined) return 0;
  if (legacy !== undefined) {
    let doc: { format?: unknown; seq?: unknown; records?: unknown };
    try {
      doc = JSON.parse(legacy) as typeof doc;
    } catch (error) {
      throw new CorruptStoreError(file, notJson(error));
    }
    if (doc?.format !== FORMAT || typeof doc.seq !== 'number' || typeof doc.records !== 'object' || doc.records === null) {
      throw new CorruptStoreError(file, `not a ${FORMAT} snapshot`);
    }
    for (const [id, value] of Object.entries(doc.records as Record<string, T>)) onRecord(id, value);
    return doc.seq;
  }
  if (seq === undefined) throw new CorruptStoreError(file, `not a ${FORMAT} snapshot (empty)`);
  if (!ended) throw new CorruptStoreError(file, 'the snapshot is cut short (no closing line)');
  return seq;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Replays the complete lines of a journal; returns their byte length (0 when there is no file). */
async function readJournal<T>(file: string, onEntry: (entry: JournalEntry<T>) => void): Promise<number> {
  const bytes = await forEachLine(file, (line, lineNo) => {
    let entry: JournalEntry<T>;
    try {
      entry = JSON.parse(line) as JournalEntry<T>;
    } catch {
      throw new CorruptStoreError(file, `line ${lineNo} is not JSON`);
    }
    if (typeof entry?.seq !== 'number' || (entry.op !== 'put' && entry.op !== 'del') || typeof entry.id !== 'string') {
      throw new CorruptStoreError(file, `line ${lineNo} is not a journal entry`);
    }
    onEntry(entry);
  });
  return bytes ?? 0;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` (or whatever `content(handle)` writes) to `file` so that
 * readers see the old or the new file, never a mix: temp file, sync, rename,
 * directory sync.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Buffer | ((handle: FileHandle) => Promise<void>),
  mode = 0o600,
): Promise<void> {
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      if (typeof content === 'function') await content(handle);
      else await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDir(join(file, '..'));
}
