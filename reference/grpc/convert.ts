/**
 * Between the core's records and CS3 messages (snake_case objects as
 * `protos.ts` loads them), plus strict readers for request fields.
 *
 * Conventions (decisions/0007-grpc-statuses.md):
 *  - A local user is `UserId{idp: <our domain>, opaque_id: <user id>, type: PRIMARY}`;
 *    a remote user `UserId{idp: <their host[:port]>, opaque_id, type: FEDERATED}`.
 *    We write idps without a scheme; on input `https://` (any scheme) and a
 *    path are stripped.
 *  - A file or folder in a local user's home is
 *    `ResourceId{storage_id: "home", space_id: <owner id>, opaque_id: <path relative to the home>}`.
 *    On input `storage_id` may be empty and `space_id` empty or the caller's id;
 *    the path may start with `/`.
 *  - webdav permission strings ↔ `ResourcePermissions`: `read` ↔ the read
 *    set (initiate_file_download marks it), `write` ↔ the write set
 *    (initiate_file_upload marks it), `share` ↔ add_grant (SharePermissions.reshare
 *    in a Protocol).
 */
import type { LocalUser, ReceivedShareRecord, SentShareRecord, ShareState } from '../stores/records.ts';
import { parseOcmAddress } from '../core/addresses.ts';
import { normaliseDomain, type ProviderInfo, type ProviderService } from '../providers/trusted-providers.ts';
import { invalid } from './status.ts';

// ---------------------------------------------------------------------------
// request readers

/** What the server hands a handler when the request bytes do not decode. */
export const MALFORMED = Symbol('malformed request');

export type Msg = Record<string, any>;

/** A message field: an object, or undefined when unset (null) or not an object. */
export function msg(value: unknown): Msg | undefined {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) ? (value as Msg) : undefined;
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function requireString(value: unknown, name: string): string {
  const text = str(value);
  if (text === '') throw invalid(`${name} is required`);
  return text;
}

/** An enum field read as its name; a number means a value the protos do not know. */
export function enumValue<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(`${name} has an unknown or unsupported value ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`);
}

/** host[:port] from a domain or URL-ish value: any scheme and any path are dropped. */
export function domainOf(value: string): string {
  const withoutScheme = value.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  return normaliseDomain(slash >= 0 ? withoutScheme.slice(0, slash) : withoutScheme);
}

/** Seconds from a `cs3.types.v1beta1.Timestamp`; undefined when unset or zero. */
export function timestampSeconds(value: unknown, name: string): number | undefined {
  const ts = msg(value);
  if (!ts) return undefined;
  const seconds = Number(ts.seconds ?? 0);
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw invalid(`${name}.seconds is not a valid time`);
  return seconds === 0 ? undefined : seconds;
}

export function timestamp(seconds: number | undefined): Msg | null {
  return seconds === undefined ? null : { seconds: String(seconds), nanos: 0 };
}

/** The text of an opaque entry, or undefined. */
export function opaqueText(opaque: unknown, key: string): string | undefined {
  const entry = msg(msg(msg(opaque)?.map)?.[key]);
  if (!entry) return undefined;
  const value = entry.value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return typeof value === 'string' ? value : undefined;
}

export function opaque(entries: Record<string, { decoder: 'plain' | 'json'; value: string }>): Msg {
  const map: Msg = {};
  for (const [key, { decoder, value }] of Object.entries(entries)) map[key] = { decoder, value: Buffer.from(value, 'utf8') };
  return { map };
}

// ---------------------------------------------------------------------------
// users

export function localUserId(user: LocalUser | { id: string }, domain: string): Msg {
  return { idp: domain, opaque_id: user.id, type: 'USER_TYPE_PRIMARY' };
}

export function remoteUserId(opaqueId: string, domain: string): Msg {
  return { idp: domain, opaque_id: opaqueId, type: 'USER_TYPE_FEDERATED' };
}

/** A UserId from an OCM Address (`id@host`); federated. */
export function userIdFromAddress(address: string): Msg {
  const parsed = parseOcmAddress(address);
  return parsed ? remoteUserId(parsed.identifier, parsed.domain) : remoteUserId(address, '');
}

/** `id@host` from a UserId, with its idp reduced to host[:port]. */
export function addressFromUserId(value: unknown, name: string): string {
  const id = msg(value);
  if (!id) throw invalid(`${name} is required`);
  const opaqueId = requireString(id.opaque_id, `${name}.opaque_id`);
  const idp = domainOf(requireString(id.idp, `${name}.idp`));
  return `${opaqueId}@${idp}`;
}

// ---------------------------------------------------------------------------
// resources and permissions

export const HOME_STORAGE_ID = 'home';

export function resourceId(ownerId: string, path: string): Msg {
  return { storage_id: HOME_STORAGE_ID, space_id: ownerId, opaque_id: path };
}

/** The path (relative to the caller's home) a ResourceId names. */
export function pathFromResourceId(value: unknown, caller: LocalUser, name = 'resource_id'): string {
  const id = msg(value);
  if (!id) throw invalid(`${name} is required`);
  const storage = str(id.storage_id);
  if (storage !== '' && storage !== HOME_STORAGE_ID)
    throw invalid(`${name}.storage_id must be "${HOME_STORAGE_ID}" (a path in the caller's home)`);
  const space = str(id.space_id);
  if (space !== '' && space !== caller.id) throw invalid(`${name}.space_id must be empty or the caller's user id`);
  const path = requireString(id.opaque_id, `${name}.opaque_id`);
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw invalid(`${name}.opaque_id must name a file or folder inside the home`);
  return segments.join('/');
}

const READ_PERMISSIONS = ['get_path', 'get_quota', 'initiate_file_download', 'list_container', 'list_recycle', 'stat'];
const WRITE_PERMISSIONS = ['initiate_file_upload', 'restore_recycle_item'];
const FOLDER_WRITE_PERMISSIONS = ['move', 'create_container', 'delete'];

/** webdav permissions → `cs3.storage.provider.v1beta1.ResourcePermissions` (reva's receiver mapping, plus share → add_grant). */
export function resourcePermissions(permissions: readonly string[], resourceType: string): Msg {
  const out: Msg = {};
  if (permissions.includes('read')) for (const p of READ_PERMISSIONS) out[p] = true;
  if (permissions.includes('write')) {
    for (const p of WRITE_PERMISSIONS) out[p] = true;
    if (resourceType === 'folder') for (const p of FOLDER_WRITE_PERMISSIONS) out[p] = true;
  }
  if (permissions.includes('share')) out.add_grant = true;
  return out;
}

/** `ResourcePermissions` → webdav permissions (reva's sender rule: download → read, upload → write). */
export function webdavPermissionsFrom(value: unknown, reshare = false): string[] {
  const p = msg(value) ?? {};
  const out: string[] = [];
  if (p.initiate_file_download === true) out.push('read');
  if (p.initiate_file_upload === true) out.push('write');
  if (p.add_grant === true || reshare) out.push('share');
  return out;
}

// ---------------------------------------------------------------------------
// shares

const STATE_TO_CS3: Record<ShareState, string> = {
  pending: 'SHARE_STATE_PENDING',
  accepted: 'SHARE_STATE_ACCEPTED',
  declined: 'SHARE_STATE_REJECTED',
};

export function cs3ResourceType(resourceType: string): string {
  if (resourceType === 'file') return 'RESOURCE_TYPE_FILE';
  if (resourceType === 'folder') return 'RESOURCE_TYPE_CONTAINER';
  return 'RESOURCE_TYPE_INVALID';
}

/**
 * A share we sent, as `cs3.sharing.ocm.v1beta1.Share`. The CS3 Share (at
 * a5f193a2) has no state and no requirements; ours ride in `opaque`: plain
 * `state` (pending, accepted, declined) and, when there are any, json
 * `requirements` (e.g. ["must-exchange-token"]).
 */
export function shareMessage(share: SentShareRecord, domain: string): Msg {
  const owner = { idp: domain, opaque_id: share.ownerId, type: 'USER_TYPE_PRIMARY' };
  return {
    id: { opaque_id: share.id },
    resource_id: resourceId(share.ownerId, share.path),
    name: share.name,
    token: share.sharedSecret,
    grantee: { type: 'GRANTEE_TYPE_USER', user_id: remoteUserId(share.recipientUserId, share.recipientDomain) },
    owner,
    creator: owner,
    ctime: timestamp(share.createdAt),
    mtime: timestamp(share.updatedAt),
    expiration: timestamp(share.expiration),
    share_type: 'SHARE_TYPE_USER',
    access_methods: [{ webdav_options: { permissions: resourcePermissions(share.permissions, share.resourceType) } }],
    opaque: opaque({
      state: { decoder: 'plain', value: share.state },
      ...(share.requirements?.length ? { requirements: { decoder: 'json', value: JSON.stringify(share.requirements) } } : {}),
      // For an HTTP front over these services (decisions/0009): what the CS3 Share cannot say.
      resourceType: { decoder: 'plain', value: share.resourceType },
      ...(share.recipientDisplayName !== undefined
        ? { recipientDisplayName: { decoder: 'plain', value: share.recipientDisplayName } }
        : {}),
    }),
  };
}

const VIEW_MODES: Record<string, string> = {
  view: 'VIEW_MODE_VIEW_ONLY',
  read: 'VIEW_MODE_READ_ONLY',
  write: 'VIEW_MODE_READ_WRITE',
  preview: 'VIEW_MODE_PREVIEW',
};

/** A share we received, as `cs3.sharing.ocm.v1beta1.ReceivedShare`. */
export function receivedShareMessage(share: ReceivedShareRecord, domain: string): Msg {
  const protocols: Msg[] = [];
  const webdav = share.protocols.webdav;
  if (webdav) {
    protocols.push({
      webdav_options: {
        shared_secret: webdav.sharedSecret,
        permissions: {
          permissions: resourcePermissions(webdav.permissions, share.resourceType),
          reshare: webdav.permissions.includes('share'),
        },
        uri: webdav.uri ?? '',
      },
    });
  }
  const webapp = share.protocols.webapp;
  if (webapp) {
    const template = typeof webapp.uriTemplate === 'string' ? webapp.uriTemplate : typeof webapp.uri === 'string' ? webapp.uri : '';
    const mode = typeof webapp.viewMode === 'string' ? (VIEW_MODES[webapp.viewMode] ?? 'VIEW_MODE_INVALID') : 'VIEW_MODE_INVALID';
    protocols.push({ webapp_options: { uri_template: template, view_mode: mode } });
  }
  return {
    id: { opaque_id: share.id },
    name: share.name,
    remote_share_id: share.providerId,
    grantee: { type: 'GRANTEE_TYPE_USER', user_id: { idp: domain, opaque_id: share.localUserId, type: 'USER_TYPE_PRIMARY' } },
    owner: userIdFromAddress(share.owner),
    creator: userIdFromAddress(share.sender),
    ctime: timestamp(share.createdAt),
    mtime: timestamp(share.updatedAt),
    expiration: timestamp(share.expiration),
    share_type: share.shareType === 'group' ? 'SHARE_TYPE_GROUP' : 'SHARE_TYPE_USER',
    protocols,
    state: STATE_TO_CS3[share.state],
    resource_type: cs3ResourceType(share.resourceType),
    // For an HTTP front over these services (decisions/0009): what the CS3 ReceivedShare cannot say.
    opaque: opaque({
      ...(share.ownerDisplayName !== undefined ? { ownerDisplayName: { decoder: 'plain', value: share.ownerDisplayName } } : {}),
      ...(share.senderDisplayName !== undefined ? { senderDisplayName: { decoder: 'plain', value: share.senderDisplayName } } : {}),
      ...(webdav?.requirements?.length ? { requirements: { decoder: 'json', value: JSON.stringify(webdav.requirements) } } : {}),
    }),
  };
}

/** webdav permissions from a `Protocol.webdav_options` (WebDAVProtocol). */
export function webdavPermissionsFromProtocol(webdav: Msg): string[] {
  const sharePermissions = msg(webdav.permissions);
  return webdavPermissionsFrom(sharePermissions?.permissions, sharePermissions?.reshare === true);
}

const VIEW_MODE_NAMES: Record<string, string> = {
  VIEW_MODE_VIEW_ONLY: 'view',
  VIEW_MODE_READ_ONLY: 'read',
  VIEW_MODE_READ_WRITE: 'write',
  VIEW_MODE_PREVIEW: 'preview',
};

/**
 * `repeated Protocol` → the `protocol` object of an OCM share (multi
 * encoding). webdav and webapp are carried over; transfer and generic
 * options have no OCM counterpart here and are left out.
 */
export function ocmProtocolFrom(protocols: unknown): Record<string, unknown> & { name: string } {
  const out: Record<string, unknown> & { name: string } = { name: 'multi' };
  for (const entry of Array.isArray(protocols) ? protocols : []) {
    const protocol = msg(entry);
    const webdav = msg(protocol?.webdav_options);
    if (webdav && out.webdav === undefined) {
      const body: Record<string, unknown> = { sharedSecret: str(webdav.shared_secret), permissions: webdavPermissionsFromProtocol(webdav) };
      if (str(webdav.uri) !== '') body.uri = str(webdav.uri);
      out.webdav = body;
    }
    const webapp = msg(protocol?.webapp_options);
    if (webapp && out.webapp === undefined) {
      const body: Record<string, unknown> = { uriTemplate: str(webapp.uri_template) };
      const mode = typeof webapp.view_mode === 'string' ? VIEW_MODE_NAMES[webapp.view_mode] : undefined;
      if (mode) body.viewMode = mode;
      out.webapp = body;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// providers

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function endpointMessage(value: unknown): Msg | null {
  const endpoint = msg(value);
  if (!endpoint) return null;
  const type = msg(endpoint.type);
  return {
    type: type ? { name: str(type.name), description: str(type.description) } : null,
    name: str(endpoint.name),
    path: str(endpoint.path),
    is_monitored: endpoint.is_monitored === true,
    properties: stringMap(endpoint.properties),
  };
}

function serviceMessage(service: ProviderService, rewrite?: { domain: string }): Msg {
  const endpoint = endpointMessage(service.endpoint);
  if (rewrite && endpoint && /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint.path)) {
    try {
      const url = new URL(endpoint.path);
      endpoint.path = `${url.protocol}//${rewrite.domain}${url.pathname}${url.search}`;
    } catch {
      // not a URL after all: leave it
    }
  }
  return {
    host: rewrite && str(service.host) !== '' ? rewrite.domain : str(service.host),
    endpoint,
    api_version: str(service.api_version),
    additional_endpoints: (Array.isArray(service.additional_endpoints) ? service.additional_endpoints : [])
      .map(endpointMessage)
      .filter((e) => e !== null),
  };
}

/**
 * A trusted provider entry as `cs3.ocm.provider.v1beta1.ProviderInfo`. When
 * `queried` matched a wildcard entry, the answer names the queried domain
 * (in `domain`, each service `host` and the origin of absolute endpoint
 * paths), as reva does for its regex entries.
 */
export function providerInfoMessage(info: ProviderInfo, queried?: string): Msg {
  const rewrite = queried !== undefined && info.domain.trim().startsWith('*.') ? { domain: queried } : undefined;
  return {
    name: str(info.name),
    full_name: str(info.full_name),
    description: str(info.description),
    organization: str(info.organization),
    domain: rewrite ? rewrite.domain : str(info.domain),
    homepage: str(info.homepage),
    email: str(info.email),
    services: (Array.isArray(info.services) ? info.services : []).filter((s) => msg(s)).map((s) => serviceMessage(s, rewrite)),
    properties: stringMap(info.properties),
  };
}
