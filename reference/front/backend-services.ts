/**
 * The core services as the HTTP plugins see them (reference/http/ports.ts),
 * implemented by calls to the CS3 services of the back
 * (decisions/0009-http-over-grpc.md). Each method is the translation of one
 * plugin call into one or a few rpcs; the behaviour stays at the back.
 *
 * Protected rpcs carry the local user's Basic credentials (the front
 * authenticated the request with the same users file). Statuses come back
 * as OcmErrors: by their default message when the back used one, else by the
 * hints given here per rpc (./cs3-status-to-error.ts).
 */
import { encodeInviteString } from '../core/addresses.ts';
import { inviteToAccept, type AcceptedInviteRequest, type AcceptedUserView, type AcceptInviteInput } from '../core/invites.ts';
import type { InviteRecord, LocalUser, ReceivedShareRecord, SentShareRecord } from '../stores/records.ts';
import { SUPPORTED_SHARE_TYPES, type IncomingShare, type ShareStateFilter } from '../core/received-shares.ts';
import type { CreateShareInput } from '../core/sent-shares.ts';
import type { UserDirectory } from '../core/users.ts';
import { ERRORS, OcmError, type ErrorCode } from '../base/errors.ts';
import type { InvitePort, ReceivedSharePort, SentSharePort } from '../http/ports.ts';
import { TrustedProviders, type ProviderInfo } from '../providers/trusted-providers.ts';
import { opaque, opaqueText, resourcePermissions, timestamp, type Msg } from '../grpc/convert.ts';
import type { BackendClient } from './backend-client.ts';
import {
  acceptedUserFromMessage,
  createCoreShareRequest,
  createShareRequest,
  inviteFromMessage,
  providerFromMessage,
  receivedShareFromMessage,
  sentShareFromMessage,
} from './from-cs3.ts';
import type { StatusHints } from './cs3-status-to-error.ts';

// ---------------------------------------------------------------------------
// cs3.ocm.invite.v1beta1.InviteAPI

export class RemoteInviteService implements InvitePort {
  constructor(
    private readonly backend: BackendClient,
    /** Our host[:port] (the back's too: both advertise the same public URL). */
    private readonly domain: string,
  ) {}

  async generate(user: LocalUser, options: { description?: string; recipient?: string; expiresIn?: number }): Promise<InviteRecord> {
    // CS3 has no field for the sciencemesh `recipient` or a shorter lifetime: opaque entries (decisions/0009 §5).
    const entries: Parameters<typeof opaque>[0] = {};
    if (options.recipient !== undefined) entries.recipient = { decoder: 'plain', value: options.recipient };
    if (options.expiresIn !== undefined) entries.expiresIn = { decoder: 'plain', value: String(options.expiresIn) };
    const response = await this.backend.call(
      'inviteApi',
      'GenerateInviteToken',
      { description: options.description ?? '', ...(Object.keys(entries).length > 0 ? { opaque: opaque(entries) } : {}) },
      { user },
    );
    return inviteFromMessage(response.invite_token ?? {}, options.recipient);
  }

  inviteString(invite: InviteRecord): string {
    return encodeInviteString(invite.token, this.domain);
  }

  async listOpen(user: LocalUser): Promise<InviteRecord[]> {
    const response = await this.backend.call('inviteApi', 'ListInviteTokens', {}, { user });
    return (response.invite_tokens ?? []).map((token: Msg) => inviteFromMessage(token));
  }

  async acceptRemote(user: LocalUser, input: AcceptInviteInput): Promise<AcceptedUserView> {
    const { token, domain } = inviteToAccept(input);
    const response = await this.backend.call(
      'inviteApi',
      'ForwardInvite',
      { invite_token: { token }, origin_system_provider: { domain: domain.replace(/\/+$/, '') } },
      {
        user,
        hints: {
          CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID',
          CODE_PERMISSION_DENIED: 'PROVIDER_NOT_TRUSTED',
          CODE_ALREADY_EXISTS: 'INVITE_ALREADY_ACCEPTED',
        },
      },
    );
    const id = response.user_id ?? {};
    return {
      user_id: String(id.opaque_id ?? ''),
      idp: String(id.idp ?? ''),
      display_name: String(response.display_name ?? ''),
      mail: String(response.email ?? ''),
    };
  }

  async findContacts(user: LocalUser, search = ''): Promise<AcceptedUserView[]> {
    const response = await this.backend.call('inviteApi', 'FindAcceptedUsers', { filter: search }, { user });
    return (response.accepted_users ?? []).map((u: Msg) => acceptedUserFromMessage(u));
  }

  async deleteContact(user: LocalUser, idp: string, remoteUserId: string): Promise<AcceptedUserView> {
    const remote_user_id = { idp: idp.replace(/\/+$/, ''), opaque_id: remoteUserId };
    const hints: StatusHints = { CODE_NOT_FOUND: 'CONTACT_NOT_FOUND', CODE_INVALID_ARGUMENT: 'VALIDATION_FAILED' };
    // DeleteAcceptedUser answers nothing about the contact; the HTTP answer shows it, so read it first.
    const found = await this.backend.call('inviteApi', 'GetAcceptedUser', { remote_user_id }, { user, hints });
    await this.backend.call('inviteApi', 'DeleteAcceptedUser', { remote_user_id }, { user, hints });
    return acceptedUserFromMessage(found.remote_user ?? {});
  }

  async redeem(request: AcceptedInviteRequest): Promise<{ userID: string; email: string; name: string }> {
    const response = await this.backend.call(
      'inviteApi',
      'AcceptInvite',
      {
        invite_token: { token: request.token },
        remote_user: {
          id: { idp: request.recipientProvider, opaque_id: request.userID, type: 'USER_TYPE_FEDERATED' },
          mail: request.email,
          display_name: request.name,
        },
      },
      {
        // AcceptInvite tells an unknown token (NOT_FOUND) from an expired one (INVALID_ARGUMENT); the HTTP API does not.
        hints: {
          CODE_NOT_FOUND: 'INVITE_TOKEN_INVALID',
          CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID',
          CODE_PERMISSION_DENIED: 'PROVIDER_NOT_TRUSTED',
          CODE_ALREADY_EXISTS: 'INVITE_ALREADY_ACCEPTED',
        },
      },
    );
    return {
      userID: String(response.user_id?.opaque_id ?? ''),
      email: String(response.email ?? ''),
      name: String(response.display_name ?? ''),
    };
  }
}

// ---------------------------------------------------------------------------
// cs3.sharing.ocm.v1beta1.OcmAPI, sharer side

const SHARE_HINTS: StatusHints = { CODE_NOT_FOUND: 'SHARE_NOT_FOUND', CODE_INVALID_ARGUMENT: 'VALIDATION_FAILED' };

export class RemoteSentShareService implements SentSharePort {
  constructor(private readonly backend: BackendClient) {}

  async create(owner: LocalUser, input: CreateShareInput): Promise<SentShareRecord> {
    // The HTTP path answers 404 for a path naming no file (the home itself included); CS3 calls that bad input.
    const path = input.path
      .split('/')
      .filter((s) => s !== '')
      .join('/');
    if (path === '') throw new OcmError('RESOURCE_NOT_FOUND', { message: `no file or folder at ${input.path}` });
    const response = await this.backend.call('ocmApi', 'CreateOCMShare', createShareRequest(owner.id, { ...input, path }), {
      user: owner,
      hints: {
        CODE_NOT_FOUND: 'RESOURCE_NOT_FOUND',
        CODE_INVALID_ARGUMENT: 'VALIDATION_FAILED',
        CODE_PERMISSION_DENIED: 'PROVIDER_NOT_TRUSTED',
        CODE_FAILED_PRECONDITION: 'RECEIVER_CANNOT_TAKE',
        CODE_ALREADY_EXISTS: 'SHARE_ALREADY_EXISTS',
      },
    });
    return sentShareFromMessage(response.share ?? {}, String(response.recipient_display_name ?? ''));
  }

  async listFor(owner: LocalUser): Promise<SentShareRecord[]> {
    const response = await this.backend.call('ocmApi', 'ListOCMShares', { page_size: 0 }, { user: owner, hints: SHARE_HINTS });
    return (response.shares ?? []).map((s: Msg) => sentShareFromMessage(s));
  }

  async getFor(owner: LocalUser, id: string): Promise<SentShareRecord | undefined> {
    if (id === '') return undefined;
    try {
      const response = await this.backend.call(
        'ocmApi',
        'GetOCMShare',
        { ref: { id: { opaque_id: id } } },
        { user: owner, hints: SHARE_HINTS },
      );
      return sentShareFromMessage(response.share ?? {});
    } catch (error) {
      if (error instanceof OcmError && error.code === 'SHARE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async updatePermissions(owner: LocalUser, id: string, permissions: string[], expiration?: number): Promise<SentShareRecord> {
    const field: Msg[] = [{ access_methods: { webdav_options: { permissions: resourcePermissions(permissions, 'file') } } }];
    if (expiration !== undefined) field.push({ expiration: timestamp(expiration) });
    await this.backend.call('ocmApi', 'UpdateOCMShare', { ref: { id: { opaque_id: id } }, field }, { user: owner, hints: SHARE_HINTS });
    const updated = await this.getFor(owner, id);
    if (!updated) throw new OcmError('SHARE_NOT_FOUND');
    return updated;
  }

  async remove(owner: LocalUser, id: string): Promise<void> {
    await this.backend.call('ocmApi', 'RemoveOCMShare', { ref: { id: { opaque_id: id } } }, { user: owner, hints: SHARE_HINTS });
  }
}

// ---------------------------------------------------------------------------
// cs3.sharing.ocm.v1beta1.OcmAPI, receiver side, and cs3.ocm.core.v1beta1.OcmCoreAPI

export class RemoteReceivedShareService implements ReceivedSharePort {
  constructor(
    private readonly backend: BackendClient,
    /** For `recipientDisplayName`: CreateOCMCoreShare answers only the new id. */
    private readonly users: UserDirectory,
  ) {}

  /** `POST /ocm/shares` (schema-checked and signature-checked by the front) → CreateOCMCoreShare. */
  async receive(share: IncomingShare): Promise<{ recipientDisplayName: string }> {
    if (!SUPPORTED_SHARE_TYPES.includes(share.shareType) && share.shareType !== 'group') {
      // CS3 has no name for it; the back would answer as it does for every share type but `user`.
      throw new OcmError('UNSUPPORTED_SHARE_TYPE', {
        message: `share type "${share.shareType}" is not supported; this server takes ${SUPPORTED_SHARE_TYPES.join(', ')}`,
      });
    }
    const request = createCoreShareRequest(share);
    await this.backend.call('ocmCoreApi', 'CreateOCMCoreShare', request, {
      hints: {
        CODE_INVALID_ARGUMENT: 'VALIDATION_FAILED',
        CODE_NOT_FOUND: 'UNKNOWN_RECIPIENT',
        CODE_PERMISSION_DENIED: 'SENDER_NOT_A_CONTACT',
        CODE_UNIMPLEMENTED: 'UNSUPPORTED_PROTOCOL',
        CODE_ALREADY_EXISTS: 'DUPLICATE_SHARE',
      },
    });
    const recipient = this.users.byIdentifier(String(request.share_with.opaque_id));
    return { recipientDisplayName: recipient?.displayName ?? String(request.share_with.opaque_id) };
  }

  async listFor(user: LocalUser, state: ShareStateFilter = 'all'): Promise<ReceivedShareRecord[]> {
    const response = await this.backend.call('ocmApi', 'ListReceivedOCMShares', { page_size: 0 }, { user, hints: SHARE_HINTS });
    return (response.shares ?? [])
      .map((s: Msg) => receivedShareFromMessage(s))
      .filter((s: ReceivedShareRecord) => state === 'all' || s.state === state);
  }

  async getFor(user: LocalUser, id: string): Promise<ReceivedShareRecord | undefined> {
    if (id === '') return undefined;
    try {
      const response = await this.backend.call(
        'ocmApi',
        'GetReceivedOCMShare',
        { ref: { id: { opaque_id: id } } },
        { user, hints: SHARE_HINTS },
      );
      const share = receivedShareFromMessage(response.share ?? {});
      // GetReceivedOCMShare also finds a share by the sender's id (remote_share_id); the HTTP API names ours only.
      return share.id === id ? share : undefined;
    } catch (error) {
      if (error instanceof OcmError && error.code === 'SHARE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async respond(user: LocalUser, id: string, decision: 'accepted' | 'declined'): Promise<ReceivedShareRecord> {
    const current = await this.getFor(user, id);
    if (!current) throw new OcmError('SHARE_NOT_FOUND');
    // UpdateReceivedOCMShare answers OK for the state a share already has; the HTTP API answers 409 for anything but pending.
    if (current.state !== 'pending') throw new OcmError('SHARE_NOT_PENDING', { message: `the share is already ${current.state}` });
    await this.backend.call(
      'ocmApi',
      'UpdateReceivedOCMShare',
      {
        share: { id: { opaque_id: id }, state: decision === 'accepted' ? 'SHARE_STATE_ACCEPTED' : 'SHARE_STATE_REJECTED' },
        update_mask: { paths: ['state'] },
      },
      { user, hints: { ...SHARE_HINTS, CODE_FAILED_PRECONDITION: 'SHARE_NOT_PENDING' } },
    );
    const updated = await this.getFor(user, id);
    if (!updated) throw new OcmError('SHARE_NOT_FOUND');
    return updated;
  }
}

// ---------------------------------------------------------------------------
// cs3.auth.provider.v1beta1.ProviderAPI

/** The refusals of share access, as the catalogue names them. */
type AccessRefusal = 'SHARE_NOT_FOUND' | 'INVALID_SHARE_CREDENTIALS';

export type RemoteAccess =
  | { ok: true; role: 'viewer' | 'editor' }
  | { ok: false; status: (typeof ERRORS)[AccessRefusal]['status']; code: AccessRefusal; message: string };

/**
 * Our back names the refusal in the status's catalogue detail; these hints are for a CS3 back that sends none:
 * reva answers a miss with NOT_FOUND and credentials that do not open the share with PERMISSION_DENIED.
 */
const ACCESS_HINTS: StatusHints = {
  CODE_NOT_FOUND: 'SHARE_NOT_FOUND',
  CODE_PERMISSION_DENIED: 'INVALID_SHARE_CREDENTIALS',
  CODE_UNAUTHENTICATED: 'INVALID_SHARE_CREDENTIALS',
  CODE_INVALID_ARGUMENT: 'INVALID_SHARE_CREDENTIALS',
};

const isAccessRefusal = (code: ErrorCode): code is AccessRefusal => code === 'SHARE_NOT_FOUND' || code === 'INVALID_SHARE_CREDENTIALS';

/** OCM share access (the `authprovider` role): may this share id and secret (or exchanged token) open the share? */
export class RemoteShareAccess {
  constructor(private readonly backend: Pick<BackendClient, 'call'>) {}

  async authenticate(shareId: string, secret: string): Promise<RemoteAccess> {
    try {
      const response = await this.backend.call(
        'authProviderApi',
        'Authenticate',
        { client_id: shareId, client_secret: secret },
        { hints: ACCESS_HINTS },
      );
      return { ok: true, role: opaqueText(response.user?.opaque, 'ocm-share-role') === 'editor' ? 'editor' : 'viewer' };
    } catch (error) {
      // By catalogue code only (carried by the status, else the hint of its CS3 code); any other failure is the front's.
      if (error instanceof OcmError && isAccessRefusal(error.code))
        return { ok: false, status: ERRORS[error.code].status, code: error.code, message: error.message };
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------
// cs3.ocm.provider.v1beta1.ProviderAPI

/**
 * The trust list of the back (ListAllProviders), as the synchronous
 * TrustedProviders the front's OCM client and signature verifier use. It is
 * read at start-up and again every `refreshSeconds` (the back reads its
 * providers file once, at its own start); a failed refresh keeps the list.
 */
export class RemoteProviders extends TrustedProviders {
  private current = new TrustedProviders([]);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly backend: BackendClient) {
    super([]);
  }

  /** Reads the list now; throws when the back cannot be asked. */
  async refresh(): Promise<ProviderInfo[]> {
    const response = await this.backend.call('providerApi', 'ListAllProviders', {});
    const list = (response.providers ?? []).map((p: Msg) => providerFromMessage(p));
    this.current = new TrustedProviders(list, `ListAllProviders at ${this.backend.address}`);
    return list;
  }

  startRefreshing(refreshSeconds: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => void this.refresh().catch(onError), refreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  override find(domain: string): ProviderInfo | undefined {
    return this.current.find(domain);
  }

  override isTrusted(domain: string): boolean {
    return this.current.isTrusted(domain);
  }

  override originFor(domain: string): URL | undefined {
    return this.current.originFor(domain);
  }

  /** The list as last read (see liveProviderList for one read now). */
  override list(): ProviderInfo[] {
    return this.current.list();
  }
}

/** The sciencemesh `list-providers` source: ListAllProviders on every call. */
export function liveProviderList(providers: RemoteProviders): { list(): Promise<ProviderInfo[]> } {
  return { list: () => providers.refresh() };
}
