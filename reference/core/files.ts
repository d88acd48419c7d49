/**
 * Local users' home folders: `<dataDir>/files/<userId>/`, seeded from
 * `fixtures/files/` the first time a home is used. Every path a caller names
 * is resolved inside the home by the WebDAV engine's confinement rules.
 */
import { cp, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config.ts';
import { resolveInside } from '../webdav/safe-path.ts';
import type { LocalUser } from './model.ts';

export const SEED_DIR = join(PROJECT_ROOT, 'fixtures/files');

export interface ResolvedResource {
  absPath: string;
  resourceType: 'file' | 'folder';
  /** The path relative to the home, normalised: `a/b.txt`. */
  relativePath: string;
}

export class HomeFolders {
  private readonly ready = new Map<string, Promise<string>>();

  constructor(private readonly root: string, private readonly seedDir: string = SEED_DIR) {}

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
    const dir = join(this.root, encodeURIComponent(userId));
    try {
      await stat(dir);
    } catch {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await cp(this.seedDir, dir, { recursive: true, errorOnExist: false, force: false });
    }
    return dir;
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
