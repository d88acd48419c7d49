import { test, expect } from '@playwright/test';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptStoreError, JsonCollection, writeFileAtomic } from './json-collection.ts';
import { copyFile } from 'node:fs/promises';

interface Item {
  n: number;
  label?: string;
}

let dir: string;
test.beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-store-'));
});
test.afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const snapshotOf = (name = 'items') => join(dir, `${name}.json`);
const journalOf = (name = 'items') => join(dir, `${name}.journal.jsonl`);
const open = (options = {}) => JsonCollection.open<Item>(dir, 'items', options);
const contents = (c: JsonCollection<Item>) => Object.fromEntries([...c.entries()].sort(([a], [b]) => a.localeCompare(b)));

async function journalLines(name = 'items'): Promise<string[]> {
  const text = await readFile(journalOf(name), 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

async function openFailure(): Promise<CorruptStoreError> {
  try {
    const c = await open();
    await c.close();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptStoreError);
    return error as CorruptStoreError;
  }
  throw new Error('expected open() to refuse the data dir');
}

test('put, get, delete and reopen round trip', async () => {
  const c = await open();
  expect(c.size).toBe(0);
  await c.put('a', { n: 1 });
  await c.put('b', { n: 2, label: 'two' });
  await c.put('a', { n: 11 });
  expect(c.get('a')).toEqual({ n: 11 });
  expect(await c.delete('b')).toBe(true);
  expect(await c.delete('missing')).toBe(false);
  await c.put('c', { n: 3, label: 'ünïcode ✓ "quoted"\nnewline' });
  expect(c.has('b')).toBe(false);
  await c.close();
  expect(() => c.put('x', { n: 0 })).toThrow(/closed/);

  // Every change is one journal line; `delete` of a missing id writes nothing.
  const lines = (await journalLines()).map((l) => JSON.parse(l) as { seq: number; op: string; id: string });
  expect(lines.map((l) => [l.seq, l.op, l.id])).toEqual([
    [1, 'put', 'a'],
    [2, 'put', 'b'],
    [3, 'put', 'a'],
    [4, 'del', 'b'],
    [5, 'put', 'c'],
  ]);

  const again = await open();
  expect(contents(again)).toEqual({ a: { n: 11 }, c: { n: 3, label: 'ünïcode ✓ "quoted"\nnewline' } });
  await again.put('d', { n: 4 });
  await again.close();
  const lastSeq = (JSON.parse((await journalLines()).at(-1)!) as { seq: number }).seq;
  expect(lastSeq).toBe(6);
});

test('a write is on disk when its promise resolves', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  // Read the file while the collection is still open: the line is there.
  expect(await journalLines()).toHaveLength(1);
  expect(JSON.parse((await journalLines())[0]!)).toMatchObject({ op: 'put', id: 'a', value: { n: 1 } });
  await c.close();
});

test('many concurrent puts all resolve and all survive reopen', async () => {
  const c = await open();
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 500; i++) writes.push(c.put(`k${i}`, { n: i }));
  writes.push(c.put('k0', { n: -1 }));
  await Promise.all(writes);
  expect(c.hasPendingWrites()).toBe(false);
  await c.close();
  const lines = await journalLines();
  expect(lines).toHaveLength(501);
  expect(new Set(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).size).toBe(501);

  const again = await open();
  expect(again.size).toBe(500);
  expect(again.get('k0')).toEqual({ n: -1 });
  for (let i = 1; i < 500; i++) expect(again.get(`k${i}`)).toEqual({ n: i });
  await again.close();
});

test('a torn last journal line is dropped on reopen and later appends work', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  await c.put('b', { n: 2 });
  await c.close();
  await appendFile(journalOf(), '{"seq":3,"op":"put","id":"torn","value":{"n":');

  const again = await open();
  expect(contents(again)).toEqual({ a: { n: 1 }, b: { n: 2 } });
  await again.put('c', { n: 3 });
  await again.close();
  // The torn bytes are gone: every line parses and the new one follows on its own line.
  const lines = await journalLines();
  expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a', 'b', 'c']);

  const third = await open();
  expect(contents(third)).toEqual({ a: { n: 1 }, b: { n: 2 }, c: { n: 3 } });
  await third.close();
});

test('a corrupt middle journal line stops start-up naming the file', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  await c.close();
  await appendFile(journalOf(), 'this is not json\n{"seq":3,"op":"put","id":"b","value":{"n":2}}\n');
  const error = await openFailure();
  expect(error.file).toBe(journalOf());
  expect(error.message).toContain(journalOf());
  expect(error.message).toContain('line 2');
  expect(error.message).not.toContain('\n');
  // Nothing was repaired behind our back.
  expect(await readFile(journalOf(), 'utf8')).toContain('this is not json');
});

test('a complete last line that is not JSON is damage, not a torn write', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  await c.close();
  await appendFile(journalOf(), '{"seq":2,"op":"put"\n');
  const error = await openFailure();
  expect(error.file).toBe(journalOf());
});

test('a JSON journal line that is not an entry stops start-up', async () => {
  await writeFile(journalOf(), '{"seq":1,"op":"put","id":"a","value":{"n":1}}\n{"seq":2,"op":"upsert","id":"b"}\n');
  const error = await openFailure();
  expect(error.file).toBe(journalOf());
  expect(error.message).toContain('line 2');
});

test('a corrupt snapshot stops start-up naming the file', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  await c.compact();
  await c.close();
  const snapshot = await readFile(snapshotOf(), 'utf8');
  await writeFile(snapshotOf(), snapshot.slice(0, snapshot.length / 2));
  const error = await openFailure();
  expect(error.file).toBe(snapshotOf());
  expect(error.message).toContain(snapshotOf());
  expect(error.message).not.toContain('\n');
});

test('a corrupt multi-line snapshot is still a one-line error', async () => {
  await writeFile(snapshotOf(), '{\n  "format": "ocm-conformance/collection@1",\n  "seq": 1,\n  "records": \n]\n');
  const error = await openFailure();
  expect(error.file).toBe(snapshotOf());
  expect(error.message).not.toContain('\n');
});

test('a snapshot in another format stops start-up naming the file', async () => {
  await writeFile(snapshotOf(), JSON.stringify({ a: { n: 1 } }));
  const error = await openFailure();
  expect(error.file).toBe(snapshotOf());
  await writeFile(snapshotOf(), '');
  expect((await openFailure()).file).toBe(snapshotOf());
});

test('compact() keeps all data, empties the journal, and reopen is equal', async () => {
  const c = await open();
  for (let i = 0; i < 20; i++) await c.put(`k${i}`, { n: i });
  await c.delete('k3');
  await c.put('k4', { n: 44 });
  const before = contents(c);
  await c.compact();
  expect((await stat(journalOf())).size).toBe(0);
  const snapshot = JSON.parse(await readFile(snapshotOf(), 'utf8')) as { seq: number; records: Record<string, Item> };
  expect(snapshot.seq).toBe(22);
  expect(snapshot.records).toEqual(before);
  // Writes after a compaction continue the sequence in the journal.
  await c.put('after', { n: 100 });
  await c.close();
  expect((JSON.parse((await journalLines())[0]!) as { seq: number }).seq).toBe(23);

  const again = await open();
  expect(contents(again)).toEqual({ ...before, after: { n: 100 } });
  await again.close();
});

test('the automatic compaction after compactAfter lines keeps all data', async () => {
  const c = await open({ compactAfter: 10 });
  const expected: Record<string, Item> = {};
  for (let round = 0; round < 5; round++) {
    // Bursts (group commit) and single writes both count.
    await Promise.all(Array.from({ length: 7 }, (_, i) => c.put(`r${round}-${i}`, { n: round * 10 + i })));
    for (let i = 0; i < 7; i++) expected[`r${round}-${i}`] = { n: round * 10 + i };
    await c.put(`single${round}`, { n: round });
    expected[`single${round}`] = { n: round };
  }
  await c.delete('r0-0');
  delete expected['r0-0'];
  await c.whenIdle();
  // A snapshot was written and the journal holds fewer lines than the threshold (max(compactAfter, records)).
  const snapshot = JSON.parse(await readFile(snapshotOf(), 'utf8')) as { seq: number };
  expect(snapshot.seq).toBeGreaterThanOrEqual(10);
  expect((await journalLines()).length).toBeLessThan(Math.max(10, c.size));
  expect(contents(c)).toEqual(expected);
  await c.close();

  const again = await open({ compactAfter: 10 });
  expect(contents(again)).toEqual(expected);
  await again.close();
  expect((await readdir(dir)).sort()).toEqual(['items.journal.jsonl', 'items.json']);
});

test('writes acknowledged while compact() runs are not lost', async () => {
  const c = await open();
  for (let i = 0; i < 50; i++) await c.put(`before${i}`, { n: i });
  let compacted = false;
  const compacting = c.compact().then(() => {
    compacted = true;
  });
  const acknowledged: string[] = [];
  const writes: Promise<void>[] = [];
  // Bounded: a write per event-loop turn until the compaction is done.
  for (let i = 0; i < 2_000 && !compacted; i++) {
    const id = `during${i}`;
    writes.push(c.put(id, { n: i }).then(() => void acknowledged.push(id)));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await compacting;
  await Promise.all(writes);
  await c.close();
  expect(acknowledged.length).toBeGreaterThan(0);

  const again = await open();
  const missing = acknowledged.filter((id) => !again.has(id));
  expect(missing, 'acknowledged writes missing after reopen').toEqual([]);
  expect(again.size).toBe(50 + acknowledged.length);
  await again.close();
});

test('journal lines already in the snapshot are skipped (crash between rename and truncate)', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  await c.put('b', { n: 2 });
  await c.delete('a');
  await c.put('b', { n: 3 });
  await c.close();
  const oldJournal = await readFile(journalOf(), 'utf8');

  // Compact, then put the old journal back, as if the process died after the
  // snapshot's rename and before the journal was emptied.
  const d = await open();
  await d.compact();
  await d.close();
  expect((await stat(journalOf())).size).toBe(0);
  await writeFile(journalOf(), oldJournal);

  // Replaying the old lines would bring back `a` and (briefly) b = 2.
  const e = await open();
  expect(contents(e)).toEqual({ b: { n: 3 } });
  await e.put('c', { n: 4 });
  await e.close();
  // The new line continues after the snapshot's seq, after the stale lines.
  const lines = (await journalLines()).map((l) => JSON.parse(l) as { seq: number; id: string });
  expect(lines.at(-1)).toMatchObject({ seq: 5, id: 'c' });

  const f = await open();
  expect(contents(f)).toEqual({ b: { n: 3 }, c: { n: 4 } });
  await f.close();
});

test('writeFileAtomic replaces the file and leaves no temp files', async () => {
  const file = join(dir, 'doc.json');
  await writeFileAtomic(file, '{"v":1}\n');
  await writeFileAtomic(file, Buffer.from('{"v":2}\n'));
  await Promise.all(Array.from({ length: 10 }, (_, i) => writeFileAtomic(file, `{"v":${i + 10}}\n`)));
  expect(await readdir(dir)).toEqual(['doc.json']);
  expect(JSON.parse(await readFile(file, 'utf8')).v).toBeGreaterThanOrEqual(10);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
});

test('compaction leaves no temp files in the data dir', async () => {
  const c = await open({ compactAfter: 3 });
  for (let i = 0; i < 12; i++) await c.put(`k${i}`, { n: i });
  await c.compact();
  await c.close();
  expect((await readdir(dir)).sort()).toEqual(['items.journal.jsonl', 'items.json']);
});

test('a snapshot is one record per line and still one JSON document', async () => {
  const c = await open();
  for (let i = 0; i < 5; i++) await c.put(`k${i}`, { n: i, label: i === 2 ? 'line\nbreak, "quoted" }},' : undefined });
  await c.compact();
  await c.close();
  const text = await readFile(snapshotOf(), 'utf8');
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('{"format":"ocm-conformance/collection@1","seq":5,"records":{');
  expect(lines.length).toBe(1 + 5 + 1);
  expect(lines.at(-1)).toBe('}}');
  expect(Object.keys((JSON.parse(text) as { records: object }).records)).toHaveLength(5);
  const again = await open();
  expect(again.get('k2')).toEqual({ n: 2, label: 'line\nbreak, "quoted" }},' });
  await again.close();
});

test('a one-line snapshot (the earlier layout) is still read', async () => {
  await writeFile(
    snapshotOf(),
    `${JSON.stringify({ format: 'ocm-conformance/collection@1', seq: 2, records: { a: { n: 1 }, b: { n: 2 } } })}\n`,
  );
  await writeFile(journalOf(), '{"seq":2,"op":"put","id":"a","value":{"n":9}}\n{"seq":3,"op":"put","id":"c","value":{"n":3}}\n');
  const c = await open();
  expect(contents(c)).toEqual({ a: { n: 1 }, b: { n: 2 }, c: { n: 3 } });
  await c.close();
});

test('a snapshot cut short at a line boundary stops start-up', async () => {
  const c = await open();
  for (let i = 0; i < 4; i++) await c.put(`k${i}`, { n: i });
  await c.compact();
  await c.close();
  const lines = (await readFile(snapshotOf(), 'utf8')).split('\n');
  await writeFile(snapshotOf(), `${lines.slice(0, 3).join('\n')}\n`);
  const error = await openFailure();
  expect(error.file).toBe(snapshotOf());
  expect(error.message).toContain('cut short');
});

test('a crash after the journal was sealed, before its snapshot, loses nothing', async () => {
  const c = await open();
  for (let i = 0; i < 6; i++) await c.put(`k${i}`, { n: i });
  await c.compact(); // snapshot at seq 6
  for (let i = 6; i < 10; i++) await c.put(`k${i}`, { n: i });
  await c.delete('k0');
  await c.close();
  // As if compaction had sealed the journal (seq 11) and died before the snapshot.
  await copyFile(journalOf(), join(dir, 'items.11.journal.jsonl'));
  await writeFile(journalOf(), '{"seq":12,"op":"put","id":"k1","value":{"n":111}}\n');
  await writeFile(join(dir, 'items.json.1234.0f0e.tmp'), '{"format":"ocm-conformance/collection@1","seq":11,"rec');

  const d = await open();
  expect(d.has('k0')).toBe(false);
  expect(d.get('k1')).toEqual({ n: 111 });
  expect(d.get('k9')).toEqual({ n: 9 });
  expect(d.size).toBe(9);
  // The interrupted snapshot's temp file is gone; the sealed journal stays until a snapshot covers it.
  expect((await readdir(dir)).sort()).toEqual(['items.11.journal.jsonl', 'items.journal.jsonl', 'items.json']);
  await d.put('k10', { n: 10 });
  await d.compact();
  expect((await readdir(dir)).sort()).toEqual(['items.journal.jsonl', 'items.json']);
  const before = contents(d);
  await d.close();
  const e = await open();
  expect(contents(e)).toEqual(before);
  await e.close();
});

test('writes go on while a background snapshot is written, and all survive', async () => {
  const c = await open({ compactAfter: 50 });
  const acknowledged: string[] = [];
  // 400 writes in bursts: several compactions start while writes keep coming.
  for (let burst = 0; burst < 40; burst++) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.put(`b${burst}-${i}`, { n: burst * 10 + i }).then(() => void acknowledged.push(`b${burst}-${i}`)),
      ),
    );
  }
  await c.close();
  const again = await open();
  expect(acknowledged.filter((id) => !again.has(id))).toEqual([]);
  expect(again.size).toBe(400);
  await again.close();
  expect((await readdir(dir)).sort()).toEqual(['items.journal.jsonl', 'items.json']);
});

test('compaction waits for as many journal lines as there are records', async () => {
  const c = await open({ compactAfter: 10 });
  for (let i = 0; i < 40; i++) await c.put(`k${i}`, { n: i }); // compactions along the way while records < lines
  await c.whenIdle();
  await c.compact();
  // 40 records: the next compaction needs 40 journal lines, not 10.
  for (let i = 0; i < 39; i++) await c.put(`k${i}`, { n: i + 100 });
  await c.whenIdle();
  expect((await journalLines()).length).toBe(39);
  await c.put('k39', { n: 139 });
  await c.whenIdle();
  expect((await stat(journalOf())).size).toBe(0);
  await c.close();
});

test('an index follows puts, replacements and deletes', async () => {
  const c = await open();
  await c.put('a', { n: 1, label: 'x' });
  const byLabel = c.index((item) => item.label);
  expect(byLabel.get('x')).toEqual([{ n: 1, label: 'x' }]);
  await c.put('b', { n: 2, label: 'x' });
  await c.put('c', { n: 3 });
  expect(
    byLabel
      .get('x')
      .map((i) => i.n)
      .sort(),
  ).toEqual([1, 2]);
  await c.put('a', { n: 11, label: 'y' });
  expect(byLabel.get('x')).toEqual([{ n: 2, label: 'x' }]);
  expect(byLabel.get('y')).toEqual([{ n: 11, label: 'y' }]);
  await c.delete('b');
  expect(byLabel.get('x')).toEqual([]);
  expect(byLabel.get('missing')).toEqual([]);
  await c.close();
});

test('sharing repeated strings changes no value', async () => {
  const c = await JsonCollection.open<{ id: string; owner: string; n: number }>(dir, 'shared', { sharedStrings: ['owner'] });
  const owner = (i: number) => ['alice', 'example.org'].join(i % 2 ? '@' : '@');
  await c.put('a', { id: 'a', owner: owner(1), n: 1 });
  await c.put('b', { id: 'b', owner: owner(2), n: 2 });
  await c.close();
  const again = await JsonCollection.open<{ id: string; owner: string; n: number }>(dir, 'shared', { sharedStrings: ['owner'] });
  expect(again.get('a')).toEqual({ id: 'a', owner: 'alice@example.org', n: 1 });
  expect(again.get('b')).toEqual({ id: 'b', owner: 'alice@example.org', n: 2 });
  await again.close();
});

test('a value JSON cannot hold is refused whole: nothing changes in memory or on disk', async () => {
  const c = await open();
  await c.put('a', { n: 1 });
  const cyclic = { n: 2 } as Item & { self?: unknown };
  cyclic.self = cyclic;
  await expect(c.put('a', cyclic)).rejects.toThrow(TypeError);
  await expect(c.put('b', cyclic)).rejects.toThrow(TypeError);
  expect(contents(c)).toEqual({ a: { n: 1 } });
  await c.put('c', { n: 3 });
  await c.close();
  expect((await journalLines()).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2]);
  const again = await open();
  expect(contents(again)).toEqual({ a: { n: 1 }, c: { n: 3 } });
  await again.close();
});
