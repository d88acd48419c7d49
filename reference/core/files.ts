/**
 * Local users' home folders: `<dataDir>/files/<userId>/`, seeded from
 * `fixtures/files/` the first time a home is used. Every path a caller names
 * is resolved inside the home by the WebDAV engine's confinement rules.
 *
 * A home only ever appears whole: the seed is copied into a temporary sibling
 * (`.<name>.<pid>.<random>.tmp`) and renamed into place, so a crash mid-copy
 * leaves a temporary folder (removed on the next first use), never a
 * half-seeded home that later starts would take for complete.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../base/config.ts';
import { resolveInside } from '../webdav/safe-path.ts';
import type { LocalUser } from '../stores/records.ts';

export const SEED_DIR = join(PROJECT_ROOT, 'fixtures/files');

export interface ResolvedResource {
  absPath: string;
  resourceType: 'file' | 'folder';
  /** The path relative to the home, normalised: `a/b.txt`. */
  relativePath: string;
}

/** `.<name>.<pid>.<random>.tmp`: a seed copy in progress, or left by a crash. */
const SEED_COPY = /^\..+\.(\d+)\.[0-9a-f]{16}\.tmp$/;

/** Seed copies this process is making now (any HomeFolders instance): never leftovers. */
const copying = new Set<string>();

function processGone(pid: number): boolean {
  if (pid === process.pid) return true; // ours and not in `copying`: left by an earlier process that had our pid
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export class HomeFolders {
  private readonly ready = new Map<string, Promise<string>>();
  private cleaned: Promise<void> | undefined;

  constructor(
    private readonly root: string,
    private readonly seedDir: string = SEED_DIR,
  ) {}

  /** The user's home folder, created and seeded on first use. */
  home(user: LocalUser): Promise<string> {
    let home = this.ready.get(user.id);
    if (!home) {
      home = this.prepare(user.id);
      this.ready.set(user.id, home);
      home.catch(() => this.ready.delete(user.id));
    }
    return home;
  }

  private async prepare(userId: string): Promise<string> {
    await (this.cleaned ??= this.removeLeftovers());
    const name = encodeURIComponent(userId);
    const dir = join(this.root, name);
    if (await exists(dir)) return dir;
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const temp = join(this.root, `.${name}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
    copying.add(temp);
    try {
      await cp(this.seedDir, temp, { recursive: true, errorOnExist: true, force: false });
      await rename(temp, dir);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      // Another preparer renamed its copy in first: that home is complete, use it.
      if (!(await exists(dir))) throw error;
    } finally {
      copying.delete(temp);
    }
    return dir;
  }

  /** Removes seed copies a crashed process left under the root; best effort (a leftover only wastes space). */
  private async removeLeftovers(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return; // no root yet: nothing left over
    }
    await Promise.all(
      names.map(async (name) => {
        const match = SEED_COPY.exec(name);
        const path = join(this.root, name);
        if (!match || copying.has(path) || !processGone(Number(match[1]))) return;
        await rm(path, { recursive: true, force: true }).catch(() => undefined);
      }),
    );
  }

  /**
   * Resolves a user-supplied path (`/project/notes.md`) to an existing file
   * or folder inside the home. The home itself is refused: sharing a whole
   * home is not supported.
   */
  async resolve(user: LocalUser, path: string): Promise<ResolvedResource | undefined> {
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length === 0) return undefined;
    const home = await this.home(user);
    let resolved;
    try {
      resolved = await resolveInside(home, segments);
    } catch {
      // e.g. ENAMETOOLONG: a name the file system cannot hold names nothing here
      return undefined;
    }
    if (!resolved.ok) return undefined;
    try {
      const info = await stat(resolved.absPath);
      return { absPath: resolved.absPath, resourceType: info.isDirectory() ? 'folder' : 'file', relativePath: segments.join('/') };
    } catch {
      return undefined;
    }
  }
}
