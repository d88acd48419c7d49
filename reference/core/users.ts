/**
 * Local users, from a JSON users file: `[{id, username, password, displayName, email}]`.
 * Local APIs (sciencemesh, OCS, owner WebDAV) authenticate them with HTTP Basic.
 */
import { readFile } from 'node:fs/promises';
import { secretsEqual } from '../base/secrets.ts';
import type { LocalUser } from '../stores/records.ts';

export class UsersFileError extends Error {
  constructor(source: string, detail: string) {
    super(`invalid users file ${source}: ${detail}`);
    this.name = 'UsersFileError';
  }
}

export class UserDirectory {
  private readonly byId = new Map<string, LocalUser>();
  private readonly byUsername = new Map<string, LocalUser>();

  constructor(users: LocalUser[], source = 'users') {
    for (const [index, user] of users.entries()) {
      const where = `${source}[${index}]`;
      for (const key of ['id', 'username', 'password', 'displayName', 'email'] as const) {
        if (typeof user?.[key] !== 'string') throw new UsersFileError(where, `\`${key}\` must be a string`);
      }
      if (user.id === '' || user.username === '') throw new UsersFileError(where, '`id` and `username` must not be empty');
      if (this.byId.has(user.id)) throw new UsersFileError(where, `duplicate id "${user.id}"`);
      if (this.byUsername.has(user.username)) throw new UsersFileError(where, `duplicate username "${user.username}"`);
      this.byId.set(user.id, user);
      this.byUsername.set(user.username, user);
    }
  }

  static async fromFile(file: string): Promise<UserDirectory> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new UsersFileError(file, (error as Error).message);
    }
    if (!Array.isArray(parsed)) throw new UsersFileError(file, 'the top level must be an array of users');
    return new UserDirectory(parsed as LocalUser[], file);
  }

  byIdentifier(identifier: string): LocalUser | undefined {
    return this.byId.get(identifier) ?? this.byUsername.get(identifier);
  }

  get(id: string): LocalUser | undefined {
    return this.byId.get(id);
  }

  all(): LocalUser[] {
    return [...this.byId.values()];
  }

  /** Checks a username and password in constant time (per comparison). */
  authenticate(username: string, password: string): LocalUser | undefined {
    const user = this.byUsername.get(username);
    const expected = user?.password ?? '\u0000no-such-user';
    const ok = secretsEqual(expected, password);
    return ok && user ? user : undefined;
  }
}

/** Parses an `Authorization: Basic` header; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
