/**
 * Home folders are seeded crash-safely: a home appears only whole (copied
 * into a temporary sibling, then renamed), leftovers of a crashed copy are
 * removed, and concurrent first uses agree on one complete home.
 */
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { HomeFolders, SEED_DIR } from './files.ts';
import type { LocalUser } from '../stores/records.ts';

const user = (id: string): LocalUser => ({ id, username: id, password: 'x', displayName: id, email: `${id}@example.org` });
const EINSTEIN = user('4c510ada-c86b-4815-8820-42cdf82c3d51');
const MARIE = user('f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c');

/** Every file and folder under dir, relative, with file contents. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = entry.isDirectory() ? '<dir>' : (await readFile(path)).toString('base64');
  }
  return out;
}

let work: string;
let root: string;

test.beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ocm-homes-'));
  root = join(work, 'files');
});

test.afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

test('a home is complete after prepare and no seed copy is left behind', async () => {
  const homes = new HomeFolders(root);
  const home = await homes.home(EINSTEIN);
  expect(home).toBe(join(root, encodeURIComponent(EINSTEIN.id)));
  expect(await tree(home)).toEqual(await tree(SEED_DIR));
  expect(await readdir(root)).toEqual([encodeURIComponent(EINSTEIN.id)]);
  // A later start uses the existing home as it is: user changes survive.
  await writeFile(join(home, 'mine.txt'), 'kept');
  const again = await new HomeFolders(root).home(EINSTEIN);
  expect(await readFile(join(again, 'mine.txt'), 'utf8')).toBe('kept');
});

test('seed copies left by a crashed process are removed on first use; other entries are kept', async () => {
  const name = encodeURIComponent(EINSTEIN.id);
  // A pid no process has (above any pid_max), and our own pid from an earlier process that had it.
  const deadPid = join(root, `.${name}.2147483646.0123456789abcdef.tmp`);
  const ownPid = join(root, `.${encodeURIComponent(MARIE.id)}.${process.pid}.fedcba9876543210.tmp`);
  const notACopy = join(root, '.keep');
  for (const dir of [deadPid, ownPid, notACopy]) {
    await mkdir(join(dir, 'project'), { recursive: true });
    await writeFile(join(dir, 'project', 'half.txt'), 'half');
  }
  const homes = new HomeFolders(root);
  const home = await homes.home(EINSTEIN);
  expect((await readdir(root)).sort()).toEqual(['.keep', name].sort());
  expect(await tree(home)).toEqual(await tree(SEED_DIR));
});

test('a copy that fails midway leaves no half-seeded home, and the next use seeds a complete one', async () => {
  const seed = join(work, 'seed');
  await mkdir(join(seed, 'a'), { recursive: true });
  await writeFile(join(seed, 'a', 'first.txt'), 'first');
  await mkdir(join(seed, 'z'));
  // fs.cp refuses FIFOs: the copy stops after creating part of the tree.
  execFileSync('mkfifo', [join(seed, 'z', 'pipe')]);
  const homes = new HomeFolders(root, seed);
  await expect(homes.home(EINSTEIN)).rejects.toThrow(/FIFO/);
  expect(await readdir(root)).toEqual([]);

  await rm(join(seed, 'z', 'pipe'));
  const home = await homes.home(EINSTEIN);
  expect(await tree(home)).toEqual(await tree(seed));
});

test('concurrent prepares for the same users from two instances on one root end with one complete home each', async () => {
  // A seed big enough that the two copies overlap.
  const seed = join(work, 'seed');
  for (let d = 0; d < 10; d++) {
    await mkdir(join(seed, `dir-${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) await writeFile(join(seed, `dir-${d}`, `file-${f}.txt`), `${d}/${f}\n`.repeat(100));
  }
  const expected = await tree(seed);
  for (let round = 0; round < 3; round++) {
    const roundRoot = join(root, String(round));
    const a = new HomeFolders(roundRoot, seed);
    const b = new HomeFolders(roundRoot, seed);
    const [a1, b1, a2, b2] = await Promise.all([a.home(EINSTEIN), b.home(EINSTEIN), b.home(MARIE), a.home(MARIE)]);
    expect(a1).toBe(b1);
    expect(a2).toBe(b2);
    expect((await readdir(roundRoot)).sort()).toEqual([encodeURIComponent(EINSTEIN.id), encodeURIComponent(MARIE.id)].sort());
    for (const home of [a1, a2]) {
      expect((await stat(home)).isDirectory()).toBe(true);
      expect(await tree(home)).toEqual(expected);
    }
  }
});
