/**
 * The five CS3 services reva's OCM deployment uses, served from the same core
 * services and stores as the HTTP APIs (see the table in
 * decisions/0007-grpc-statuses.md). Handlers only translate: CS3 request →
 * core call → CS3 response. They throw `GrpcFault`/`OcmError`; the server
 * turns that into the response `status`.
 *
 * `protected: false` marks the rpcs reva leaves unprotected; all others need
 * a local user from the call metadata (server.ts).
 */
import type { Core } from '../app.ts';
import { checkBody } from '../core/request-bodies.ts';
import { OcmError } from '../base/errors.ts';
import type { LocalUser, ReceivedShareRecord, SentShareRecord } from '../stores/records.ts';
import { secretsEqual } from '../base/secrets.ts';
import type { IncomingShare } from '../core/received-shares.ts';
import type { AcceptedUserView } from '../core/invites.ts';
import { GrpcFault, invalid, notFound } from './status.ts';
import {
  addressFromUserId,
  domainOf,
  enumValue,
  localUserId,
  msg,
  ocmProtocolFrom,
  opaque,
  opaqueText,
  pathFromResourceId,
  providerInfoMessage,
  receivedShareMessage,
  remoteUserId,
  requireString,
  shareMessage,
  str,
  timestamp,
  timestampSeconds,
  webdavPermissionsFrom,
  webdavPermissionsFromProtocol,
  type Msg,
} from './convert.ts';

export interface CallContext {
  /** The local user named by the call metadata, when one was given. */
  user: LocalUser | undefined;
}

export interface RpcSpec {
  protected: boolean;
  handle(core: Core, request: Msg, context: CallContext): Promise<Msg> | Msg;
}

export type ServiceSpec = Record<string, RpcSpec>;

/** The caller, for protected rpcs (the server has already refused calls without one). */
function caller(context: CallContext): LocalUser {
  if (!context.user) throw new GrpcFault('CODE_UNAUTHENTICATED', 'a local user is required');
  return context.user;
}

// ---------------------------------------------------------------------------
// cs3.ocm.provider.v1beta1.ProviderAPI

export const providerService: ServiceSpec = {
  IsProviderAllowed: {
    protected: false,
    handle(core, request) {
      const provider = msg(request.provider);
      if (!provider) throw invalid('provider is required');
      const domain = domainOf(requireString(provider.domain, 'provider.domain'));
      // The CS3 contract answers an unknown provider with UNAUTHENTICATED (decisions/0007).
      if (!core.providers.isTrusted(domain))
        throw new GrpcFault('CODE_UNAUTHENTICATED', `provider ${domain} is not trusted by this server`);
      return {};
    },
  },
  GetInfoByDomain: {
    protected: false,
    handle(core, request) {
      const domain = domainOf(requireString(request.domain, 'domain'));
      const info = core.providers.find(domain);
      if (!info) throw notFound(`no trusted provider has the domain ${domain}`);
      return { provider_info: providerInfoMessage(info, domain) };
    },
  },
  ListAllProviders: {
    protected: false,
    handle(core) {
      return { providers: core.providers.list().map((info) => providerInfoMessage(info)) };
    },
  },
};

// ---------------------------------------------------------------------------
// cs3.ocm.invite.v1beta1.InviteAPI

function inviteTokenMessage(core: Core, invite: { token: string; userId: string; expiresAt: number; description?: string }): Msg {
  return {
    token: invite.token,
    user_id: localUserId({ id: invite.userId }, core.domain),
    expiration: timestamp(invite.expiresAt),
    description: invite.description ?? '',
  };
}

function acceptedUserMessage(view: AcceptedUserView): Msg {
  return { id: remoteUserId(view.user_id, view.idp), mail: view.mail, display_name: view.display_name };
}

/** The local user of GetAcceptedUser: the caller, else opaque `user-filter` (JSON UserId). */
function userFromFilter(core: Core, request: Msg, context: CallContext): LocalUser {
  if (context.user) return context.user;
  const text = opaqueText(request.opaque, 'user-filter');
  if (text === undefined) throw invalid('no user: send authorization metadata or an opaque "user-filter" (JSON UserId)');
  let filter: unknown;
  try {
    filter = JSON.parse(text);
  } catch {
    throw invalid('opaque "user-filter" is not JSON');
  }
  const id = msg(filter);
  const opaqueId = str(id?.opaque_id) || str(id?.opaqueId);
  if (opaqueId === '') throw invalid('opaque "user-filter" must be a UserId with opaque_id');
  const idp = str(id?.idp);
  const user = idp === '' || domainOf(idp) === domainOf(core.domain) ? core.users.byIdentifier(opaqueId) : undefined;
  if (!user) throw notFound(`user-filter names no user of this server`);
  return user;
}

export const inviteService: ServiceSpec = {
  GenerateInviteToken: {
    protected: true,
    async handle(core, request, context) {
      const description = str(request.description);
      // opaque `recipient` (plain): the sciencemesh field an HTTP front passes on (decisions/0009 §5).
      const recipient = opaqueText(request.opaque, 'recipient');
      // opaque `expiresIn` (plain, seconds): a shorter lifetime than the configured one, as sciencemesh allows.
      const expiresIn = opaqueText(request.opaque, 'expiresIn');
      if (expiresIn !== undefined && !/^[1-9]\d{0,9}$/.test(expiresIn))
        throw invalid('opaque "expiresIn" must be a positive number of seconds');
      const invite = await core.invites.generate(caller(context), {
        ...(description === '' ? {} : { description }),
        ...(recipient ? { recipient } : {}),
        ...(expiresIn !== undefined ? { expiresIn: Number(expiresIn) } : {}),
      });
      return { invite_token: inviteTokenMessage(core, invite) };
    },
  },
  ListInviteTokens: {
    protected: true,
    handle(core, _request, context) {
      return { invite_tokens: core.invites.listOpen(caller(context)).map((i) => inviteTokenMessage(core, i)) };
    },
  },
  ForwardInvite: {
    protected: true,
    async handle(core, request, context) {
      const user = caller(context);
      const token = requireString(msg(request.invite_token)?.token, 'invite_token.token');
      const origin = msg(request.origin_system_provider);
      const providerDomain = domainOf(requireString(origin?.domain, 'origin_system_provider.domain'));
      const inviter = await core.invites.acceptRemote(user, { token, providerDomain });
      return { user_id: remoteUserId(inviter.user_id, inviter.idp), email: inviter.mail, display_name: inviter.display_name };
    },
  },
  AcceptInvite: {
    protected: false,
    async handle(core, request) {
      const token = requireString(msg(request.invite_token)?.token, 'invite_token.token');
      const remote = msg(request.remote_user);
      if (!remote) throw invalid('remote_user is required');
      const id = msg(remote.id);
      const userID = requireString(id?.opaque_id, 'remote_user.id.opaque_id');
      const recipientProvider = domainOf(requireString(id?.idp, 'remote_user.id.idp'));
      try {
        const inviter = await core.invites.redeem({
          recipientProvider,
          token,
          userID,
          email: str(remote.mail),
          name: str(remote.display_name),
        });
        return { user_id: localUserId({ id: inviter.userID }, core.domain), email: inviter.email, display_name: inviter.name };
      } catch (error) {
        if (error instanceof OcmError && error.code === 'INVITE_TOKEN_INVALID') {
          const invite = core.invites.findInvite(token);
          if (!invite || !core.users.get(invite.userId)) throw notFound('invite token not found');
          throw invalid('invite token has expired');
        }
        throw error;
      }
    },
  },
  GetAcceptedUser: {
    protected: false,
    handle(core, request, context) {
      const user = userFromFilter(core, request, context);
      const remote = msg(request.remote_user_id);
      if (!remote) throw invalid('remote_user_id is required');
      const remoteId = requireString(remote.opaque_id, 'remote_user_id.opaque_id');
      const idp = domainOf(requireString(remote.idp, 'remote_user_id.idp'));
      const contact = core.invites.findContact(user.id, remoteId, idp);
      if (!contact) throw notFound(`${remoteId}@${idp} is not an accepted user of this user`);
      return {
        remote_user: acceptedUserMessage({
          user_id: contact.remoteUserId,
          idp: contact.remoteDomain,
          mail: contact.email,
          display_name: contact.name,
        }),
      };
    },
  },
  FindAcceptedUsers: {
    protected: true,
    handle(core, request, context) {
      return { accepted_users: core.invites.findContacts(caller(context), str(request.filter)).map(acceptedUserMessage) };
    },
  },
  DeleteAcceptedUser: {
    protected: true,
    async handle(core, request, context) {
      const remote = msg(request.remote_user_id);
      if (!remote) throw invalid('remote_user_id is required');
      const remoteId = requireString(remote.opaque_id, 'remote_user_id.opaque_id');
      const idp = requireString(remote.idp, 'remote_user_id.idp');
      await core.invites.deleteContact(caller(context), idp, remoteId);
      return {};
    },
  },
};

// ---------------------------------------------------------------------------
// cs3.sharing.ocm.v1beta1.OcmAPI

/**
 * Keyset paging over a list sorted by (createdAt, id): `page_token` is
 * base64url("<createdAt>:<id>") of the last item of the previous page.
 */
function page<T extends { createdAt: number; id: string }>(
  items: T[],
  pageSize: unknown,
  pageToken: unknown,
): { items: T[]; next: string } {
  const size = typeof pageSize === 'number' ? pageSize : Number.NaN;
  if (!Number.isInteger(size) || size < 0) throw invalid('page_size must be zero (everything) or positive');
  let rest = items;
  const token = str(pageToken);
  if (token !== '') {
    const decoded = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
    const match = /^(\d+):(.+)$/s.exec(decoded);
    if (!match) throw invalid('page_token is not a token this server issued');
    const createdAt = Number(match[1]);
    const id = match[2]!;
    rest = items.filter((i) => i.createdAt > createdAt || (i.createdAt === createdAt && i.id > id));
  }
  if (size === 0 || rest.length <= size) return { items: rest, next: '' };
  const slice = rest.slice(0, size);
  const last = slice[slice.length - 1]!;
  return { items: slice, next: Buffer.from(`${last.createdAt}:${last.id}`, 'utf8').toString('base64url') };
}

/** Resolves a ShareReference to one of the caller's sent shares. */
function sentShareByRef(core: Core, user: LocalUser, value: unknown): SentShareRecord {
  const ref = msg(value);
  if (!ref) throw invalid('ref is required');
  let share: SentShareRecord | undefined;
  if (ref.spec === 'id') {
    share = core.sentShares.getFor(user, requireString(msg(ref.id)?.opaque_id, 'ref.id.opaque_id'));
  } else if (ref.spec === 'key') {
    const key = msg(ref.key)!;
    const owner = msg(key.owner);
    if (!owner) throw invalid('ref.key.owner is required');
    const ownerMatches = str(owner.opaque_id) === user.id && (str(owner.idp) === '' || domainOf(str(owner.idp)) === domainOf(core.domain));
    const path = pathFromResourceId(key.resource_id, user, 'ref.key.resource_id');
    const grantee = granteeAddress(key.grantee, 'ref.key.grantee');
    share = ownerMatches
      ? core.sentShares
          .listFor(user)
          .find((s) => s.path === path && s.recipientUserId === grantee.identifier && s.recipientDomain === grantee.domain)
      : undefined;
  } else if (ref.spec === 'token') {
    const token = requireString(ref.token, 'ref.token');
    share = core.sentShares.listFor(user).find((s) => secretsEqual(token, s.sharedSecret));
  } else {
    throw invalid('ref must hold an id, a key or a token');
  }
  if (!share) throw notFound('share not found');
  return share;
}

/** The remote user of a Grantee (user grantees only). */
function granteeAddress(value: unknown, name: string, fallbackDomain = ''): { identifier: string; domain: string } {
  const grantee = msg(value);
  if (!grantee) throw invalid(`${name} is required`);
  if (grantee.type === 'GRANTEE_TYPE_GROUP' || grantee.id === 'group_id')
    throw new GrpcFault('CODE_UNIMPLEMENTED', 'only user grantees are supported');
  enumValue(grantee.type, ['GRANTEE_TYPE_USER', 'GRANTEE_TYPE_INVALID'] as const, `${name}.type`);
  const user = msg(grantee.user_id);
  if (!user) throw invalid(`${name}.user_id is required`);
  const identifier = requireString(user.opaque_id, `${name}.user_id.opaque_id`);
  const idp = str(user.idp) !== '' ? str(user.idp) : fallbackDomain;
  if (idp === '') throw invalid(`${name}.user_id.idp (or recipient_mesh_provider.domain) is required`);
  return { identifier, domain: domainOf(idp) };
}

/** webdav permissions from `repeated AccessMethod`; undefined when there is no webdav method. */
function accessMethodPermissions(methods: unknown[], name: string): string[] | undefined {
  let permissions: string[] | undefined;
  for (const entry of methods) {
    const method = msg(entry);
    if (method?.transfer_options) throw new GrpcFault('CODE_UNIMPLEMENTED', 'transfer (datatx) access methods are not supported');
    const webdav = msg(method?.webdav_options);
    if (webdav && permissions === undefined) {
      permissions = webdavPermissionsFrom(webdav.permissions);
      if (permissions.filter((p) => p !== 'share').length === 0) {
        throw invalid(`${name}: webdav_options.permissions grant neither read (initiate_file_download) nor write (initiate_file_upload)`);
      }
    }
  }
  return permissions;
}

type SentFilterType = 'TYPE_NO' | 'TYPE_RESOURCE_ID' | 'TYPE_OWNER' | 'TYPE_CREATOR' | 'TYPE_OWNER_PROVIDER' | 'TYPE_CREATOR_PROVIDER';
const SENT_FILTER_TYPES: readonly SentFilterType[] = [
  'TYPE_NO',
  'TYPE_RESOURCE_ID',
  'TYPE_OWNER',
  'TYPE_CREATOR',
  'TYPE_OWNER_PROVIDER',
  'TYPE_CREATOR_PROVIDER',
];

/** One ListOCMShares filter as a predicate. Owner and creator are the same local user for every share we send. */
function sentFilter(
  core: Core,
  user: LocalUser,
  value: unknown,
  index: number,
): { type: SentFilterType; test(s: SentShareRecord): boolean } {
  const name = `filters[${index}]`;
  const filter = msg(value) ?? {};
  const type = enumValue(filter.type, SENT_FILTER_TYPES, `${name}.type`);
  const ours = domainOf(core.domain);
  switch (type) {
    case 'TYPE_NO':
      return { type, test: () => true };
    case 'TYPE_RESOURCE_ID': {
      if (filter.term !== 'resource_id') throw invalid(`${name}: TYPE_RESOURCE_ID needs the resource_id term`);
      const id = msg(filter.resource_id)!;
      const storage = str(id.storage_id);
      const space = str(id.space_id);
      const path = str(id.opaque_id)
        .split('/')
        .filter((s) => s !== '')
        .join('/');
      return {
        type,
        test: (s) => (storage === '' || storage === 'home') && (space === '' || space === s.ownerId) && path === s.path,
      };
    }
    case 'TYPE_OWNER':
    case 'TYPE_CREATOR': {
      const term = type === 'TYPE_OWNER' ? 'owner' : 'creator';
      if (filter.term !== term) throw invalid(`${name}: ${type} needs the ${term} term`);
      const id = msg(filter[term])!;
      const idp = str(id.idp);
      return { type, test: (s) => str(id.opaque_id) === s.ownerId && (idp === '' || domainOf(idp) === ours) };
    }
    default: {
      // *_PROVIDER: the idp of the owner or creator term names the provider.
      const term = filter.term === 'owner' || filter.term === 'creator' ? (filter.term as string) : undefined;
      if (!term) throw invalid(`${name}: ${type} needs an owner or creator term whose idp names the provider`);
      const idp = domainOf(requireString(msg(filter[term])?.idp, `${name}.${term}.idp`));
      return { type, test: () => idp === ours };
    }
  }
}

const RECEIVED_STATES = ['SHARE_STATE_PENDING', 'SHARE_STATE_ACCEPTED', 'SHARE_STATE_REJECTED'] as const;

function receivedShareByRef(core: Core, user: LocalUser, value: unknown): ReceivedShareRecord {
  const ref = msg(value);
  if (!ref) throw invalid('ref is required');
  if (ref.spec !== 'id') throw invalid('received shares are found by id (their id or their remote_share_id)');
  const share = core.receivedShares.findFor(user, requireString(msg(ref.id)?.opaque_id, 'ref.id.opaque_id'));
  if (!share) throw notFound('received share not found');
  return share;
}

export const ocmService: ServiceSpec = {
  CreateOCMShare: {
    protected: true,
    async handle(core, request, context) {
      const user = caller(context);
      const path = pathFromResourceId(request.resource_id, user);
      const meshDomain = str(msg(request.recipient_mesh_provider)?.domain);
      const grantee = granteeAddress(request.grantee, 'grantee', meshDomain);
      if (meshDomain !== '' && domainOf(meshDomain) !== grantee.domain) {
        throw invalid(`grantee.user_id.idp (${grantee.domain}) and recipient_mesh_provider.domain (${domainOf(meshDomain)}) differ`);
      }
      const methods = Array.isArray(request.access_methods) ? request.access_methods : [];
      if (methods.length === 0) throw invalid('access_methods must not be empty');
      const permissions = accessMethodPermissions(methods, 'access_methods');
      if (!permissions) throw invalid('access_methods must include webdav_options: webdav is the only protocol this server offers');
      const expiration = timestampSeconds(request.expiration, 'expiration');
      // The CS3 contract (the same resource shared again with the same grantee is CODE_ALREADY_EXISTS) is a core rule.
      const share = await core.sentShares.create(user, {
        path,
        shareWith: grantee.identifier,
        shareWithProvider: grantee.domain,
        permissions,
        ...(expiration !== undefined ? { expiration } : {}),
      });
      return { share: shareMessage(share, core.domain), recipient_display_name: share.recipientDisplayName ?? '' };
    },
  },
  RemoveOCMShare: {
    protected: true,
    async handle(core, request, context) {
      const user = caller(context);
      const share = sentShareByRef(core, user, request.ref);
      await core.sentShares.remove(user, share.id);
      return {};
    },
  },
  GetOCMShare: {
    protected: true,
    handle(core, request, context) {
      return { share: shareMessage(sentShareByRef(core, caller(context), request.ref), core.domain) };
    },
  },
  GetOCMShareByToken: {
    // Unprotected, as in reva: the token (the share's secret) is the credential.
    protected: false,
    handle(core, request) {
      const share = core.sentShares.getByToken(requireString(request.token, 'token'));
      if (!share) throw notFound('no share has this token');
      if ((share.requirements ?? []).includes('must-exchange-token')) {
        throw new GrpcFault('CODE_PERMISSION_DENIED', 'this share requires token exchange: its secret alone is no credential');
      }
      return { share: shareMessage(share, core.domain) };
    },
  },
  ListOCMShares: {
    protected: true,
    handle(core, request, context) {
      const user = caller(context);
      const filters = (Array.isArray(request.filters) ? request.filters : []).map((f, i) => sentFilter(core, user, f, i));
      // Filters of one type are ORed, different types ANDed (the CS3 convention).
      const byType = new Map<SentFilterType, Array<(s: SentShareRecord) => boolean>>();
      for (const f of filters) byType.set(f.type, [...(byType.get(f.type) ?? []), f.test]);
      const matches = core.sentShares.listFor(user).filter((s) => [...byType.values()].every((tests) => tests.some((t) => t(s))));
      const { items, next } = page(matches, request.page_size, request.page_token);
      return { shares: items.map((s) => shareMessage(s, core.domain)), next_page_token: next };
    },
  },
  UpdateOCMShare: {
    protected: true,
    async handle(core, request, context) {
      const user = caller(context);
      const share = sentShareByRef(core, user, request.ref);
      const fields = Array.isArray(request.field) ? request.field : [];
      let expiration: number | undefined;
      let permissions: string[] | undefined;
      for (const [i, entry] of fields.entries()) {
        const field = msg(entry);
        if (field?.field === 'expiration') {
          expiration = timestampSeconds(field.expiration, `field[${i}].expiration`);
        } else if (field?.field === 'access_methods') {
          permissions = accessMethodPermissions([field.access_methods], `field[${i}].access_methods`) ?? permissions;
        } else {
          throw invalid(`field[${i}] must set expiration or access_methods`);
        }
      }
      if (expiration === undefined && permissions === undefined) return {};
      await core.sentShares.updatePermissions(user, share.id, permissions ?? share.permissions, expiration);
      return {};
    },
  },
  ListReceivedOCMShares: {
    protected: true,
    handle(core, request, context) {
      const { items, next } = page(core.receivedShares.listFor(caller(context)), request.page_size, request.page_token);
      return { shares: items.map((s) => receivedShareMessage(s, core.domain)), next_page_token: next };
    },
  },
  UpdateReceivedOCMShare: {
    protected: true,
    async handle(core, request, context) {
      const user = caller(context);
      const share = msg(request.share);
      if (!share) throw invalid('share is required');
      const paths = msg(request.update_mask)?.paths;
      if (!Array.isArray(paths) || paths.length === 0) throw invalid('update_mask.paths must name what to update ("state")');
      for (const path of paths) {
        if (path === 'protocols') throw new GrpcFault('CODE_UNIMPLEMENTED', 'the receiver cannot change protocols; the sharer does');
        if (path !== 'state') throw invalid(`update_mask path ${JSON.stringify(path)} is not supported; use "state"`);
      }
      const ref = str(msg(share.id)?.opaque_id) || str(share.remote_share_id);
      if (ref === '') throw invalid('share.id.opaque_id is required');
      const current = core.receivedShares.findFor(user, ref);
      if (!current) throw notFound('received share not found');
      const target = enumValue(share.state, RECEIVED_STATES, 'share.state');
      const wanted = target === 'SHARE_STATE_ACCEPTED' ? 'accepted' : target === 'SHARE_STATE_REJECTED' ? 'declined' : 'pending';
      if (wanted === current.state) return {};
      if (wanted === 'pending')
        throw new GrpcFault('CODE_FAILED_PRECONDITION', `the share is already ${current.state}; it cannot become pending again`);
      await core.receivedShares.respond(user, current.id, wanted);
      return {};
    },
  },
  GetReceivedOCMShare: {
    protected: true,
    handle(core, request, context) {
      return { share: receivedShareMessage(receivedShareByRef(core, caller(context), request.ref), core.domain) };
    },
  },
};

// ---------------------------------------------------------------------------
// cs3.ocm.core.v1beta1.OcmCoreAPI (unprotected, as in reva)

const SHARE_TYPES: Record<string, string> = { SHARE_TYPE_USER: 'user', SHARE_TYPE_GROUP: 'group' };
const RESOURCE_TYPES: Record<string, string> = {
  RESOURCE_TYPE_FILE: 'file',
  RESOURCE_TYPE_CONTAINER: 'folder',
  RESOURCE_TYPE_REFERENCE: 'reference',
  RESOURCE_TYPE_SYMLINK: 'symlink',
  RESOURCE_TYPE_INTERNAL: 'internal',
};

/**
 * The local grantee named by opaque `grantee` (plain `id@host`, or a JSON
 * UserId): must be a user of this server.
 */
function granteeUser(core: Core, request: Msg): LocalUser {
  const text = opaqueText(request.opaque, 'grantee');
  if (text === undefined || text === '') throw invalid('opaque "grantee" (the local recipient, id@host) is required');
  let identifier: string;
  let domain: string;
  const json = (() => {
    try {
      return msg(JSON.parse(text));
    } catch {
      return undefined;
    }
  })();
  if (json) {
    identifier = str(json.opaque_id) || str(json.opaqueId);
    domain = str(json.idp) === '' ? core.domain : domainOf(str(json.idp));
  } else {
    const at = text.lastIndexOf('@');
    if (at <= 0) throw invalid('opaque "grantee" must be id@host');
    identifier = text.slice(0, at);
    domain = domainOf(text.slice(at + 1));
  }
  if (domain !== domainOf(core.domain)) throw notFound(`grantee ${text} is not a user of this server`);
  // reva HEAD sends "<id>@<idp host>@<provider>": drop an inner @idp too.
  const user =
    core.users.byIdentifier(identifier) ??
    (identifier.includes('@') ? core.users.byIdentifier(identifier.slice(0, identifier.lastIndexOf('@'))) : undefined);
  if (!user) throw notFound(`grantee ${text} is not a user of this server`);
  return user;
}

/** opaque `ocm-protocol` (json), `ownerDisplayName` and `senderDisplayName` (plain) of a CreateOCMCoreShareRequest. */
function ocmExtras(value: unknown): Partial<Pick<IncomingShare, 'protocol' | 'ownerDisplayName' | 'senderDisplayName'>> {
  const out: Partial<Pick<IncomingShare, 'protocol' | 'ownerDisplayName' | 'senderDisplayName'>> = {};
  const protocol = opaqueText(value, 'ocm-protocol');
  if (protocol !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(protocol);
    } catch {
      throw invalid('opaque "ocm-protocol" is not JSON');
    }
    if (!msg(parsed) || Array.isArray(parsed)) throw invalid('opaque "ocm-protocol" must be an OCM protocol object');
    out.protocol = parsed as IncomingShare['protocol'];
  }
  for (const key of ['ownerDisplayName', 'senderDisplayName'] as const) {
    const text = opaqueText(value, key);
    if (text !== undefined && text !== '') out[key] = text;
  }
  return out;
}

export const ocmCoreService: ServiceSpec = {
  CreateOCMCoreShare: {
    protected: false,
    async handle(core, request) {
      const shareType = typeof request.share_type === 'string' ? SHARE_TYPES[request.share_type] : undefined;
      if (!shareType) throw invalid(`share_type ${JSON.stringify(request.share_type)} is not USER or GROUP`);
      let resourceType = typeof request.resource_type === 'string' ? RESOURCE_TYPES[request.resource_type] : undefined;
      // reva's ocmd also passes opaque resourceType ("file"|"folder").
      resourceType ??= request.resource_type === 'RESOURCE_TYPE_INVALID' ? opaqueText(request.opaque, 'resourceType') : undefined;
      if (!resourceType) throw invalid(`resource_type ${JSON.stringify(request.resource_type)} is not a resource type`);
      const shareWith = msg(request.share_with);
      if (!shareWith) throw invalid('share_with is required');
      const recipient = requireString(shareWith.opaque_id, 'share_with.opaque_id');
      const recipientDomain = str(shareWith.idp) === '' ? core.domain : domainOf(str(shareWith.idp));
      const expiration = timestampSeconds(request.expiration, 'expiration');
      const incoming: IncomingShare = {
        shareWith: `${recipient}@${recipientDomain}`,
        name: requireString(request.name, 'name'),
        providerId: requireString(request.resource_id, 'resource_id'),
        owner: addressFromUserId(request.owner, 'owner'),
        sender: addressFromUserId(request.sender, 'sender'),
        shareType,
        resourceType,
        protocol: ocmProtocolFrom(request.protocols),
        ...(str(request.description) !== '' ? { description: str(request.description) } : {}),
        ...(expiration !== undefined ? { expiration } : {}),
        // What an HTTP front received and the CS3 message cannot say (decisions/0009): the OCM `protocol`
        // object as sent (requirements, encodings, webapp uri), and display names. Schema-checked below like the rest.
        ...ocmExtras(request.opaque),
      };
      // The same depth and schema check the HTTP POST /shares gets (core/request-bodies.ts).
      const schemaKey = core.registry.operation('ocm', 'createShare').requestBody.get('application/json');
      if (schemaKey) checkBody(core.registry, schemaKey, incoming);
      const { record } = await core.receivedShares.receive(incoming);
      return { id: record.id, created: timestamp(record.createdAt) };
    },
  },
  UpdateOCMCoreShare: {
    protected: false,
    async handle(core, request) {
      const id = requireString(request.ocm_share_id, 'ocm_share_id');
      const user = granteeUser(core, request);
      const protocols = Array.isArray(request.protocols) ? request.protocols : [];
      if (protocols.length === 0) throw invalid('protocols must not be empty');
      const webdav = protocols.map((p) => msg(msg(p)?.webdav_options)).find((w) => w !== undefined);
      if (!webdav) throw invalid('protocols must include webdav_options: only webdav permissions can change');
      const share = core.receivedShares.findFor(user, id);
      if (!share) throw notFound('remote ocm share not found');
      await core.receivedShares.setWebdavPermissions(share.id, webdavPermissionsFromProtocol(webdav));
      return {};
    },
  },
  DeleteOCMCoreShare: {
    protected: false,
    async handle(core, request) {
      const id = requireString(request.id, 'id');
      const user = granteeUser(core, request);
      const share = core.receivedShares.findFor(user, id);
      if (!share) throw notFound('remote ocm share not found');
      await core.receivedShares.removeReceived(share.id);
      return {};
    },
  },
};

// ---------------------------------------------------------------------------
// cs3.auth.provider.v1beta1.ProviderAPI (unprotected)

export const authProviderService: ServiceSpec = {
  Authenticate: {
    protected: false,
    handle(core, request) {
      const shareId = requireString(request.client_id, 'client_id');
      const secret = requireString(request.client_secret, 'client_secret');
      const result = core.shareAccess.authenticateSecret(shareId, secret);
      // The refusal as the catalogue names it (SHARE_NOT_FOUND, INVALID_SHARE_CREDENTIALS), so the status carries
      // the code in its details like every other rpc's; status.ts picks the CS3 code reva answers with.
      if (!result.ok) throw new OcmError(result.code);
      const { share, role } = result;
      const contact = core.invites.findContact(share.ownerId, share.recipientUserId, share.recipientDomain);
      const user = {
        id: remoteUserId(share.recipientUserId, share.recipientDomain),
        username: '',
        mail: contact?.email ?? '',
        display_name: contact?.name ?? share.recipientDisplayName ?? '',
        opaque: opaque({ 'ocm-share-role': { decoder: 'plain', value: role } }),
      };
      // The scope resource: protojson of the share's id, resource id and token, as reva writes it.
      const resource = JSON.stringify({
        id: { opaqueId: share.id },
        resourceId: { storageId: 'home', spaceId: share.ownerId, opaqueId: share.path },
        token: share.sharedSecret,
      });
      const scope = {
        resource: { decoder: 'json', value: Buffer.from(resource, 'utf8') },
        role: role === 'editor' ? 'ROLE_EDITOR' : 'ROLE_VIEWER',
      };
      return { user, token_scope: { [`ocmshare:${share.id}`]: scope } };
    },
  },
};

export const ALL_SERVICES = {
  providerApi: providerService,
  inviteApi: inviteService,
  ocmApi: ocmService,
  ocmCoreApi: ocmCoreService,
  authProviderApi: authProviderService,
} as const;
