/**
 * resolveInside on a real temporary tree:
 *   <tmp>/root/{file.txt, dir/inner.txt, link-in -> dir, link-out -> ../outside,
 *               link-file-out -> ../outside/secret.txt, dangling -> nowhere, loop -> loop}
 *   <tmp>/outside/secret.txt
 *   <tmp>/single.txt (a file root), <tmp>/root-link -> root (a symlinked root)
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isSafeSegment, resolveInside } from './safe-path.ts';

let tmp: string;
let root: string;

test.beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'safe-path-'));
  root = path.join(tmp, 'root');
  await mkdir(path.join(root, 'dir'), { recursive: true });
  await mkdir(path.join(tmp, 'outside'));
  await writeFile(path.join(root, 'file.txt'), 'inside');
  await writeFile(path.join(root, 'dir', 'inner.txt'), 'inner');
  await writeFile(path.join(tmp, 'outside', 'secret.txt'), 'secret');
  await writeFile(path.join(tmp, 'single.txt'), 'single');
  await symlink('dir', path.join(root, 'link-in'));
  await symlink('../outside', path.join(root, 'link-out'));
  await symlink('../outside/secret.txt', path.join(root, 'link-file-out'));
  await symlink('nowhere', path.join(root, 'dangling'));
  await symlink('loop', path.join(root, 'loop'));
  await symlink('root', path.join(tmp, 'root-link'));
});

test.afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test.describe('isSafeSegment', () => {
  for (const bad of ['', '.', '..', 'a/b', '/', 'a\\b', '\\', 'a\0b', '\0']) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      expect(isSafeSegment(bad)).toBe(false);
    });
  }
  for (const good of ['a', '...', '.hidden', '%2e%2e', '%2F', 'ä b#?.txt', '..a', 'a..']) {
    test(`accepts ${JSON.stringify(good)}`, () => {
      expect(isSafeSegment(good)).toBe(true);
    });
  }
});

test.describe('resolveInside in a directory root', () => {
  test('the empty path is the root itself', async () => {
    expect(await resolveInside(root, [])).toEqual({ ok: true, absPath: root, rootIsFile: false });
  });

  test('existing and not-yet-existing paths inside the root resolve lexically', async () => {
    expect(await resolveInside(root, ['dir', 'inner.txt'])).toEqual({
      ok: true,
      absPath: path.join(root, 'dir', 'inner.txt'),
      rootIsFile: false,
    });
    expect(await resolveInside(root, ['new', 'deeper', 'x.txt'])).toEqual({
      ok: true,
      absPath: path.join(root, 'new', 'deeper', 'x.txt'),
      rootIsFile: false,
    });
  });

  for (const segments of [['..'], ['dir', '..', '..', 'outside'], ['.'], ['dir', ''], [''], ['a/b'], ['..\\outside'], ['x\0']]) {
    test(`refuses ${JSON.stringify(segments)} as INVALID_SEGMENT`, async () => {
      expect(await resolveInside(root, segments)).toEqual({ ok: false, reason: 'INVALID_SEGMENT' });
    });
  }

  test('refuses absolute paths smuggled as a segment', async () => {
    expect(await resolveInside(root, ['/etc/passwd'])).toEqual({ ok: false, reason: 'INVALID_SEGMENT' });
    expect(await resolveInside(root, [path.join(tmp, 'outside')])).toEqual({ ok: false, reason: 'INVALID_SEGMENT' });
  });

  test('a double-encoded traversal stays a literal, harmless name', async () => {
    const result = await resolveInside(root, ['%2e%2e', 'outside']);
    expect(result).toEqual({ ok: true, absPath: path.join(root, '%2e%2e', 'outside'), rootIsFile: false });
  });

  test('a symlink that stays inside the root is followed', async () => {
    expect(await resolveInside(root, ['link-in', 'inner.txt'])).toMatchObject({ ok: true });
    expect(await resolveInside(root, ['link-in', 'not-yet.txt'])).toMatchObject({ ok: true });
  });

  test('symlinks that leave the root are refused, also for paths below them', async () => {
    for (const segments of [['link-out'], ['link-out', 'secret.txt'], ['link-out', 'new.txt'], ['link-out', 'a', 'b'], ['link-file-out']]) {
      expect(await resolveInside(root, segments), JSON.stringify(segments)).toEqual({ ok: false, reason: 'OUTSIDE_ROOT' });
    }
  });

  test('dangling and looping symlinks cannot be checked and are refused', async () => {
    expect(await resolveInside(root, ['dangling'])).toEqual({ ok: false, reason: 'UNRESOLVABLE_SYMLINK' });
    expect(await resolveInside(root, ['dangling', 'x'])).toEqual({ ok: false, reason: 'UNRESOLVABLE_SYMLINK' });
    expect(await resolveInside(root, ['loop'])).toEqual({ ok: false, reason: 'UNRESOLVABLE_SYMLINK' });
  });

  test('a path below a regular file resolves (the caller gets ENOTDIR when using it)', async () => {
    expect(await resolveInside(root, ['file.txt', 'child'])).toMatchObject({ ok: true });
  });

  test('a root reached through a symlink works', async () => {
    expect(await resolveInside(path.join(tmp, 'root-link'), ['dir', 'inner.txt'])).toMatchObject({ ok: true });
    expect(await resolveInside(path.join(tmp, 'root-link'), ['link-out'])).toEqual({ ok: false, reason: 'OUTSIDE_ROOT' });
  });
});

test.describe('resolveInside in a file root', () => {
  test('only the empty relative path is valid', async () => {
    const single = path.join(tmp, 'single.txt');
    expect(await resolveInside(single, [])).toEqual({ ok: true, absPath: single, rootIsFile: true });
    expect(await resolveInside(single, ['x'])).toEqual({ ok: false, reason: 'BEYOND_FILE_ROOT' });
    expect(await resolveInside(single, ['..'])).toEqual({ ok: false, reason: 'INVALID_SEGMENT' });
  });
});

test.describe('resolveInside with a bad root', () => {
  test('a missing root is ROOT_MISSING', async () => {
    expect(await resolveInside(path.join(tmp, 'nope'), [])).toEqual({ ok: false, reason: 'ROOT_MISSING' });
  });

  test('a relative root is a programming error', async () => {
    await expect(resolveInside('relative/root', [])).rejects.toThrow(TypeError);
  });
});
