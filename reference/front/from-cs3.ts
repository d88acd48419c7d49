/**
 * CS3 messages back to the core's records, and HTTP inputs to CS3 requests:
 * the other direction of ../grpc/convert.ts, for the HTTP front
 * (decisions/0009-http-over-grpc.md). The records are rebuilt only as far as
 * the HTTP plugins read them; what the CS3 messages cannot say travels in
 * their `opaque` (resourceType, display names, requirements; see
 * ../grpc/convert.ts and decisions/0009).
 */
import { formatOcmAddress, parseOcmAddress } from '../core/addresses.ts';
import type { AcceptedUserView } from '../core/invites.ts';
import type { InviteRecord, ReceivedShareRecord, SentShareRecord, ShareState } from '../stores/records.ts';
import { normaliseProtocol, type IncomingShare } from '../core/received-shares.ts';
import { nowSeconds } from '../stores/records.ts';
import type { ProviderInfo, ProviderService } from '../providers/trusted-providers.ts';
import {
  HOME_STORAGE_ID,
  msg,
  opaque,
  opaqueText,
  resourcePermissions,
  str,
  timestamp,
  webdavPermissionsFrom,
  webdavPermissionsFromProtocol,
  type Msg,
} from '../grpc/convert.ts';

/** Seconds of a Timestamp message; undefined when unset or zero. */
export function seconds(value: unknown): number | undefined {
  const ts = msg(value);
  const n = ts ? Number(ts.seconds ?? 0) : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function opaqueJson<T>(value: unknown, key: string): T | undefined {
  const text = opaqueText(value, key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

const STATES: readonly ShareState[] = ['pending', 'accepted', 'declined'];

// ---------------------------------------------------------------------------
// invitations

export function inviteFromMessage(token: Msg, recipient?: string): InviteRecord {
  const expiresAt = seconds(token.expiration) ?? 0;
  const description = str(token.description);
  return {
    token: str(token.token),
    userId: str(msg(token.user_id)?.opaque_id),
    // The CS3 InviteToken has no creation time; nothing the HTTP layer shows needs it.
    createdAt: nowSeconds(),
    expiresAt,
    ...(description !== '' ? { description } : {}),
    ...(recipient !== undefined ? { recipient } : {}),
  };
}

/** A `cs3.identity.user.v1beta1.User` (an accepted user) as the sciencemesh view. */
export function acceptedUserFromMessage(user: Msg): AcceptedUserView {
  const id = msg(user.id);
  return { user_id: str(id?.opaque_id), idp: str(id?.idp), display_name: str(user.display_name), mail: str(user.mail) };
}

// ---------------------------------------------------------------------------
// shares we sent

/** A `cs3.sharing.ocm.v1beta1.Share` as a SentShareRecord (the fields the OCS plugin reads). */
export function sentShareFromMessage(share: Msg, recipientDisplayName?: string): SentShareRecord {
  const id = str(msg(share.id)?.opaque_id);
  const grantee = msg(msg(share.grantee)?.user_id);
  const recipientUserId = str(grantee?.opaque_id);
  const recipientDomain = str(grantee?.idp);
  const webdav = (Array.isArray(share.access_methods) ? share.access_methods : [])
    .map((m: unknown) => msg(msg(m)?.webdav_options))
    .find((w: Msg | undefined) => w !== undefined);
  const permissionsMsg = msg(webdav?.permissions);
  const resourceType =
    opaqueText(share.opaque, 'resourceType') === 'folder' || permissionsMsg?.create_container === true ? 'folder' : 'file';
  const state = opaqueText(share.opaque, 'state') as ShareState | undefined;
  const requirements = stringList(opaqueJson(share.opaque, 'requirements'));
  const displayName = recipientDisplayName || opaqueText(share.opaque, 'recipientDisplayName');
  const expiration = seconds(share.expiration);
  const createdAt = seconds(share.ctime) ?? 0;
  return {
    id,
    providerId: id,
    ownerId: str(msg(share.owner)?.opaque_id),
    path: str(msg(share.resource_id)?.opaque_id),
    name: str(share.name),
    resourceType,
    shareWith: formatOcmAddress(recipientUserId, recipientDomain),
    recipientUserId,
    recipientDomain,
    ...(displayName ? { recipientDisplayName: displayName } : {}),
    sharedSecret: str(share.token),
    permissions: webdavPermissionsFrom(permissionsMsg),
    ...(requirements?.length ? { requirements } : {}),
    ...(expiration !== undefined ? { expiration } : {}),
    state: state && STATES.includes(state) ? state : 'pending',
    createdAt,
    updatedAt: seconds(share.mtime) ?? createdAt,
  };
}

/** CreateOCMShareRequest for an OCS share of `path` in the owner's home. */
export function createShareRequest(
  ownerId: string,
  input: { path: string; shareWith: string; shareWithProvider: string; permissions: string[]; expiration?: number },
): Msg {
  return {
    resource_id: { storage_id: HOME_STORAGE_ID, space_id: ownerId, opaque_id: input.path },
    grantee: {
      type: 'GRANTEE_TYPE_USER',
      user_id: { idp: input.shareWithProvider, opaque_id: input.shareWith, type: 'USER_TYPE_FEDERATED' },
    },
    recipient_mesh_provider: { domain: input.shareWithProvider },
    // `read`/`write`/`share` ride on initiate_file_download/_upload and add_grant, whatever the resource type.
    access_methods: [{ webdav_options: { permissions: resourcePermissions(input.permissions, 'file') } }],
    ...(input.expiration !== undefined ? { expiration: timestamp(input.expiration) } : {}),
  };
}

// ---------------------------------------------------------------------------
// shares we received

const CS3_STATES: Record<string, ShareState> = {
  SHARE_STATE_PENDING: 'pending',
  SHARE_STATE_ACCEPTED: 'accepted',
  SHARE_STATE_REJECTED: 'declined',
};

function address(value: unknown): string {
  const id = msg(value);
  return formatOcmAddress(str(id?.opaque_id), str(id?.idp));
}

/** A `cs3.sharing.ocm.v1beta1.ReceivedShare` as a ReceivedShareRecord (the fields the OCS plugin reads). */
export function receivedShareFromMessage(share: Msg): ReceivedShareRecord {
  const grantee = msg(msg(share.grantee)?.user_id);
  const protocols = Array.isArray(share.protocols) ? share.protocols.map((p: unknown) => msg(p) ?? {}) : [];
  const webdavMsg = protocols.map((p: Msg) => msg(p.webdav_options)).find((w: Msg | undefined) => w !== undefined);
  const webappMsg = protocols.map((p: Msg) => msg(p.webapp_options)).find((w: Msg | undefined) => w !== undefined);
  const requirements = stringList(opaqueJson(share.opaque, 'requirements'));
  const expiration = seconds(share.expiration);
  const createdAt = seconds(share.ctime) ?? 0;
  const localUserId = str(grantee?.opaque_id);
  const record: ReceivedShareRecord = {
    id: str(msg(share.id)?.opaque_id),
    providerId: str(share.remote_share_id),
    senderDomain: str(msg(share.creator)?.idp),
    localUserId,
    shareWith: formatOcmAddress(localUserId, str(grantee?.idp)),
    name: str(share.name),
    owner: address(share.owner),
    sender: address(share.creator),
    shareType: share.share_type === 'SHARE_TYPE_GROUP' ? 'group' : 'user',
    resourceType: share.resource_type === 'RESOURCE_TYPE_CONTAINER' ? 'folder' : 'file',
    protocols: { encoding: 'multi' },
    state: CS3_STATES[str(share.state)] ?? 'pending',
    createdAt,
    updatedAt: seconds(share.mtime) ?? createdAt,
    ...(expiration !== undefined ? { expiration } : {}),
  };
  for (const key of ['ownerDisplayName', 'senderDisplayName'] as const) {
    const text = opaqueText(share.opaque, key);
    if (text) record[key] = text;
  }
  if (webdavMsg) {
    record.protocols.webdav = {
      sharedSecret: str(webdavMsg.shared_secret),
      permissions: webdavPermissionsFromProtocol(webdavMsg),
      ...(str(webdavMsg.uri) !== '' ? { uri: str(webdavMsg.uri) } : {}),
      ...(requirements?.length ? { requirements } : {}),
    };
  }
  if (webappMsg) record.protocols.webapp = { uriTemplate: str(webappMsg.uri_template) };
  return record;
}

const SHARE_TYPES: Record<string, string> = { user: 'SHARE_TYPE_USER', group: 'SHARE_TYPE_GROUP' };
const RESOURCE_TYPES: Record<string, string> = { file: 'RESOURCE_TYPE_FILE', folder: 'RESOURCE_TYPE_CONTAINER' };

function userIdOf(ocmAddress: string): Msg {
  const parsed = parseOcmAddress(ocmAddress);
  // An address that does not parse goes as it is: the back answers INVALID_ARGUMENT (no idp), as the HTTP path answers 400.
  return parsed
    ? { idp: parsed.domain, opaque_id: parsed.identifier, type: 'USER_TYPE_FEDERATED' }
    : { idp: '', opaque_id: ocmAddress, type: 'USER_TYPE_FEDERATED' };
}

/**
 * CreateOCMCoreShareRequest for a schema-checked `POST /ocm/shares` body.
 * The CS3 fields say what they can (reva's ocmcore reads them); opaque
 * carries the rest, which our back prefers: `ocm-protocol` (json, the
 * `protocol` object as received, with requirements, its encoding and webapp
 * details) and the display names (plain). Throws the core's
 * UNSUPPORTED_PROTOCOL (501) when no webdav access is offered, as the HTTP
 * path does.
 */
export function createCoreShareRequest(share: IncomingShare): Msg {
  const protocols = normaliseProtocol(share.protocol);
  const cs3Protocols: Msg[] = [];
  if (protocols.webdav) {
    const permissions = protocols.webdav.permissions;
    cs3Protocols.push({
      webdav_options: {
        shared_secret: protocols.webdav.sharedSecret,
        permissions: { permissions: resourcePermissions(permissions, share.resourceType), reshare: permissions.includes('share') },
        uri: protocols.webdav.uri ?? '',
      },
    });
  }
  const recipient = parseOcmAddress(share.shareWith);
  const resourceType = RESOURCE_TYPES[share.resourceType];
  const entries: Record<string, { decoder: 'plain' | 'json'; value: string }> = {
    'ocm-protocol': { decoder: 'json', value: JSON.stringify(share.protocol) },
  };
  // Resource types CS3 has no name for go as opaque text (as reva's ocmd sends them); the back decides.
  if (!resourceType) entries.resourceType = { decoder: 'plain', value: share.resourceType };
  if (share.ownerDisplayName) entries.ownerDisplayName = { decoder: 'plain', value: share.ownerDisplayName };
  if (share.senderDisplayName) entries.senderDisplayName = { decoder: 'plain', value: share.senderDisplayName };
  return {
    opaque: opaque(entries),
    description: share.description ?? '',
    name: share.name,
    resource_id: share.providerId,
    owner: userIdOf(share.owner),
    sender: userIdOf(share.sender),
    share_with: recipient
      ? { idp: recipient.domain, opaque_id: recipient.identifier, type: 'USER_TYPE_PRIMARY' }
      : { idp: '', opaque_id: share.shareWith, type: 'USER_TYPE_PRIMARY' },
    resource_type: resourceType ?? 'RESOURCE_TYPE_INVALID',
    share_type: SHARE_TYPES[share.shareType] ?? 'SHARE_TYPE_INVALID',
    ...(share.expiration !== undefined ? { expiration: timestamp(share.expiration) } : {}),
    protocols: cs3Protocols,
  };
}

// ---------------------------------------------------------------------------
// providers

function stringMap(value: unknown): Record<string, string> | undefined {
  const entries = Object.entries(msg(value) ?? {}).filter(([, v]) => typeof v === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function endpointFromMessage(value: unknown): ProviderService['endpoint'] {
  const endpoint = msg(value) ?? {};
  const type = msg(endpoint.type);
  const properties = stringMap(endpoint.properties);
  return {
    type: { name: str(type?.name), ...(str(type?.description) !== '' ? { description: str(type?.description) } : {}) },
    ...(str(endpoint.name) !== '' ? { name: str(endpoint.name) } : {}),
    path: str(endpoint.path),
    is_monitored: endpoint.is_monitored === true,
    ...(properties ? { properties } : {}),
  };
}

/** A `cs3.ocm.provider.v1beta1.ProviderInfo` as an entry of the trust list (ocmproviders.json shape). */
export function providerFromMessage(info: Msg): ProviderInfo {
  const optional = (key: 'full_name' | 'description' | 'organization' | 'homepage' | 'email') =>
    str(info[key]) !== '' ? { [key]: str(info[key]) } : {};
  const properties = stringMap(info.properties);
  return {
    name: str(info.name),
    domain: str(info.domain),
    ...optional('full_name'),
    ...optional('description'),
    ...optional('organization'),
    ...optional('homepage'),
    ...optional('email'),
    services: (Array.isArray(info.services) ? info.services : []).map((s: unknown) => {
      const service = msg(s) ?? {};
      return {
        ...(str(service.host) !== '' ? { host: str(service.host) } : {}),
        ...(str(service.api_version) !== '' ? { api_version: str(service.api_version) } : {}),
        endpoint: endpointFromMessage(service.endpoint),
        ...(Array.isArray(service.additional_endpoints) && service.additional_endpoints.length > 0
          ? { additional_endpoints: service.additional_endpoints.map(endpointFromMessage) }
          : {}),
      };
    }),
    ...(properties ? { properties } : {}),
  };
}
