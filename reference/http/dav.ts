/**
 * WebDAV surfaces, all on the one engine (reference/webdav):
 *  - the owner's files: `/dav/files/{username}/…` (and `/remote.php/dav/files/…`), HTTP Basic;
 *  - OCM share access for remote servers: `<webdavPath>/{shareId}/…` (and the
 *    `/remote.php/dav/ocm/…` alias), Bearer secret or legacy Basic.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import type { HomeFolders } from '../core/files.ts';
import type { ShareAccessService } from '../core/share-access.ts';
import { parseBasicAuth, type UserDirectory } from '../core/users.ts';
import { davPlugin, type DavResolveResult } from '../webdav/dav-plugin.ts';
import { BASIC_CHALLENGE } from './local-auth.ts';
import { faults } from '../base/faults.ts';

export interface DavSurfacesOptions {
  users: UserDirectory;
  homes: HomeFolders;
  shareAccess: ShareAccessService;
  webdavPath: string;
}

export const davSurfacesPlugin: FastifyPluginAsync<DavSurfacesOptions> = async (app, options) => {
  const ownerFiles = async (request: FastifyRequest, segments: string[]): Promise<DavResolveResult> => {
    const credentials = parseBasicAuth(request.headers.authorization);
    const user = credentials ? options.users.authenticate(credentials.username, credentials.password) : undefined;
    if (!user)
      return { ok: false, status: 401, code: 'UNAUTHENTICATED', message: 'A valid local user login is required', headers: BASIC_CHALLENGE };
    if (segments[0] !== user.username) return { ok: false, status: 403, code: 'FORBIDDEN', message: 'You can only reach your own files' };
    return { ok: true, target: { root: await options.homes.home(user), readOnly: false }, consumed: 1 };
  };

  const sharedResource = async (request: FastifyRequest, segments: string[]): Promise<DavResolveResult> => {
    const access = options.shareAccess.authenticate(request.headers.authorization, segments);
    if (!access.ok) {
      if (faults.has('dav-wrong-secret-500') && access.status === 401) throw new Error('share credential lookup failed');
      const headers = access.status === 401 ? { 'www-authenticate': 'Bearer realm="ocm-share"' } : undefined;
      return { ok: false, status: access.status, code: access.code, message: access.message, ...(headers ? { headers } : {}) };
    }
    const home = await options.homes.home(access.owner);
    return {
      ok: true,
      target: {
        root: join(home, ...access.share.path.split('/')),
        readOnly: access.role !== 'editor' && !faults.has('dav-read-only-writable'),
      },
      consumed: access.consumed,
    };
  };

  for (const prefix of ['/dav/files', '/remote.php/dav/files']) await app.register(davPlugin, { prefix, resolve: ownerFiles });
  const sharePrefixes = [...new Set([options.webdavPath.replace(/\/+$/, ''), '/dav/ocm', '/remote.php/dav/ocm'])];
  for (const prefix of sharePrefixes) await app.register(davPlugin, { prefix, resolve: sharedResource });
};
