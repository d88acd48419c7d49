/**
 * What the HTTP plugins need from the core, as interfaces: the in-process
 * core services satisfy them, and so do the gRPC adapters of
 * reference/front/ (an HTTP front over the CS3 services of another
 * process; decisions/0009-http-over-grpc.md). Reads may answer at once or
 * later (`Awaitable`): in process they are synchronous, over gRPC they are
 * not, so the plugins always `await` them.
 */
import type { AcceptedInviteRequest, AcceptedUserView, AcceptInviteInput } from '../core/invites.ts';
import type { CreateShareInput } from '../core/sent-shares.ts';
import type { IncomingShare, ShareStateFilter } from '../core/received-shares.ts';
import type { InviteRecord, LocalUser, ReceivedShareRecord, SentShareRecord } from '../stores/records.ts';
import type { ProviderInfo } from '../providers/trusted-providers.ts';

export type Awaitable<T> = T | Promise<T>;

/** The invitation workflow (sciencemesh and `POST /ocm/invite-accepted`). */
export interface InvitePort {
  generate(user: LocalUser, options: { description?: string; recipient?: string }): Promise<InviteRecord>;
  inviteString(invite: InviteRecord): string;
  listOpen(user: LocalUser): Awaitable<InviteRecord[]>;
  acceptRemote(user: LocalUser, input: AcceptInviteInput): Promise<AcceptedUserView>;
  findContacts(user: LocalUser, search?: string): Awaitable<AcceptedUserView[]>;
  deleteContact(user: LocalUser, idp: string, remoteUserId: string): Promise<AcceptedUserView>;
  redeem(request: AcceptedInviteRequest): Promise<{ userID: string; email: string; name: string }>;
}

/** Outgoing shares (OCS). */
export interface SentSharePort {
  create(owner: LocalUser, input: CreateShareInput): Promise<SentShareRecord>;
  listFor(owner: LocalUser): Awaitable<SentShareRecord[]>;
  getFor(owner: LocalUser, id: string): Awaitable<SentShareRecord | undefined>;
  updatePermissions(owner: LocalUser, id: string, permissions: string[], expiration?: number): Promise<SentShareRecord>;
  remove(owner: LocalUser, id: string): Promise<unknown>;
}

/** Incoming shares (`POST /ocm/shares`, OCS). */
export interface ReceivedSharePort {
  receive(share: IncomingShare): Promise<{ recipientDisplayName: string }>;
  listFor(user: LocalUser, state?: ShareStateFilter): Awaitable<ReceivedShareRecord[]>;
  getFor(user: LocalUser, id: string): Awaitable<ReceivedShareRecord | undefined>;
  respond(user: LocalUser, id: string, decision: 'accepted' | 'declined'): Promise<ReceivedShareRecord>;
}

/** The trust list, as the sciencemesh `list-providers` shows it. */
export interface ProviderListPort {
  list(): Awaitable<ProviderInfo[]>;
}
