/**
 * HTTP Basic authentication of local users, for the local APIs
 * (sciencemesh, OCS, the owner's WebDAV).
 */
import type { FastifyRequest } from 'fastify';
import { OcmError } from '../base/errors.ts';
import type { LocalUser } from '../stores/records.ts';
import { parseBasicAuth, type UserDirectory } from '../core/users.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated local user, on routes of the local APIs. */
    localUser?: LocalUser;
  }
}

export const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="ocm-conformance", charset="UTF-8"' };

export function authenticateLocalUser(users: UserDirectory, request: FastifyRequest): LocalUser {
  const credentials = parseBasicAuth(request.headers.authorization);
  const user = credentials ? users.authenticate(credentials.username, credentials.password) : undefined;
  if (!user) throw new OcmError('UNAUTHENTICATED', { headers: BASIC_CHALLENGE });
  return user;
}
