/**
 * The invitation workflow (the `ocminvitemanager` role), both halves:
 *  - as Invite Sender: local users generate tokens; a remote server's
 *    `POST /invite-accepted` redeems one and both users become contacts;
 *  - as Invite Receiver: a local user accepts a remote token, we discover the
 *    inviter, POST `/invite-accepted` there, and store the inviter as contact.
 *
 * Tokens are single-use (decisions/0003): the second acceptance gets 409.
 * Check-and-set happens without an `await` in between, so two concurrent
 * acceptances of one token cannot both succeed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { OcmError } from '../base/errors.ts';
import { OutboundError, type OcmClient } from '../outbound/ocm-client.ts';
import type { TrustedProviders } from '../providers/trusted-providers.ts';
import { normaliseDomain } from '../providers/trusted-providers.ts';
import type { Stores } from '../stores/index.ts';
import { decodeInviteString, encodeInviteString } from './addresses.ts';
import { nowSeconds, type ContactRecord, type InviteRecord, type LocalUser } from '../stores/records.ts';
import type { UserDirectory } from './users.ts';
import { faults } from '../base/faults.ts';

export interface InviteServiceDeps {
  domain: string;
  inviteExpirySeconds: number;
  users: UserDirectory;
  providers: TrustedProviders;
  stores: Stores;
  client: OcmClient;
}

export interface AcceptedInviteRequest {
  recipientProvider: string;
  token: string;
  userID: string;
  email: string;
  name: string;
}

export interface AcceptedUserView {
  user_id: string;
  idp: string;
  display_name: string;
  mail: string;
}

/**
 * Bounds token guessing: each remote provider may fail to redeem a token at
 * most `limit` times per window; beyond that it gets 429 until the window ends.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  check(key: string): void {
    const entry = this.failures.get(key);
    const now = nowSeconds();
    if (!entry || now - entry.since >= this.windowSeconds) return;
    if (entry.count >= this.limit) {
      const retry = String(this.windowSeconds - (now - entry.since));
      throw new OcmError('TOO_MANY_ATTEMPTS', { headers: { 'retry-after': retry } });
    }
  }

  fail(key: string): void {
    const now = nowSeconds();
    const entry = this.failures.get(key);
    if (!entry || now - entry.since >= this.windowSeconds) this.failures.set(key, { count: 1, since: now });
    else entry.count++;
    // Bounded memory: forget the oldest provider when too many are tracked.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }
}

/** The one token of the `inv-same-token-every-invite` fault. */
const SAME_TOKEN_FAULT = 'the-same-invite-token-for-everyone';

export class InviteService {
  /** Failed redemptions per remote provider: 20 a minute (token guessing). */
  private readonly guessing = new FailureLimiter(20, 60);

  constructor(private readonly deps: InviteServiceDeps) {}

  async generate(user: LocalUser, options: { description?: string; recipient?: string; expiresIn?: number }): Promise<InviteRecord> {
    if (faults.has('inv-same-token-every-invite')) {
      const handedOut = this.deps.stores.invites.get(SAME_TOKEN_FAULT);
      if (handedOut) return handedOut;
    }
    const createdAt = nowSeconds();
    const lifetime = Math.min(options.expiresIn ?? this.deps.inviteExpirySeconds, this.deps.inviteExpirySeconds);
    const invite: InviteRecord = {
      // 144 random bits, URL-safe.
      token: faults.has('inv-same-token-every-invite')
        ? SAME_TOKEN_FAULT
        : randomBytes(faults.has('sm-short-invite-tokens') ? 8 : 18).toString('base64url'),
      userId: user.id,
      createdAt,
      expiresAt: createdAt + lifetime,
      ...(options.description !== undefined ? { description: options.description } : {}),
      ...(options.recipient !== undefined ? { recipient: options.recipient } : {}),
    };
    await this.deps.stores.invites.put(invite.token, invite);
    return invite;
  }

  inviteString(invite: InviteRecord): string {
    return encodeInviteString(invite.token, this.deps.domain);
  }

  /** The caller's invites that can still be accepted. */
  listOpen(user: LocalUser): InviteRecord[] {
    const now = nowSeconds();
    return this.deps.stores.invites.filter(
      (i) => (i.userId === user.id || faults.has('sm-list-invite-other-users')) && i.expiresAt > now && !i.acceptedBy,
    );
  }

  // ---- for the CS3 gRPC services (reference/grpc) --------------------------

  /** The stored invite with this token, accepted or expired or not (tells AcceptInvite's NOT_FOUND from INVALID_ARGUMENT). */
  findInvite(token: string): InviteRecord | undefined {
    return token === '' ? undefined : this.deps.stores.invites.get(token);
  }

  // ---- end of the gRPC additions ---------------------------------------------

  /** Inviter side of `POST /invite-accepted`. */
  async redeem(request: AcceptedInviteRequest): Promise<{ userID: string; email: string; name: string }> {
    const remoteDomain = normaliseDomain(request.recipientProvider);
    if (!this.deps.providers.isTrusted(remoteDomain) && !faults.has('inv-untrusted-provider-accepted')) {
      throw new OcmError('PROVIDER_NOT_TRUSTED', { message: `provider ${remoteDomain} is not trusted to accept invites here` });
    }
    this.guessing.check(remoteDomain);
    const invite = this.deps.stores.invites.get(request.token);
    const inviter = invite ? this.deps.users.get(invite.userId) : undefined;
    if (!invite || !inviter || (invite.expiresAt <= nowSeconds() && !faults.has('inv-expired-token-accepted'))) {
      this.guessing.fail(remoteDomain);
      throw new OcmError('INVITE_TOKEN_INVALID', faults.has('inv-unknown-token-404') && !invite ? { status: 404 } : {});
    }
    if (invite.acceptedBy && !faults.has('inv-token-reusable')) throw new OcmError('INVITE_ALREADY_ACCEPTED');
    if (this.findContact(inviter.id, request.userID, remoteDomain)) throw new OcmError('CONTACT_ALREADY_EXISTS');
    const at = nowSeconds();
    const accepted: InviteRecord = { ...invite, acceptedBy: { userId: request.userID, domain: remoteDomain, at } };
    const contact = this.newContact(inviter.id, request.userID, remoteDomain, request.name, request.email, 'invite-sent');
    await Promise.all([this.deps.stores.invites.put(invite.token, accepted), this.deps.stores.contacts.put(contact.id, contact)]);
    if (faults.has('inv-response-without-email')) return { userID: inviter.id, name: inviter.displayName } as never;
    return { userID: inviter.id, email: inviter.email, name: inviter.displayName };
  }

  /** Invite Receiver side: `accept-invite` of the sciencemesh API. */
  async acceptRemote(user: LocalUser, input: AcceptInviteInput): Promise<AcceptedUserView> {
    const { token, domain } = inviteToAccept(input);
    const inviterDomain = normaliseDomain(domain.replace(/^https?:\/\//i, '').replace(/\/+$/, ''));
    if (inviterDomain === normaliseDomain(this.deps.domain)) throw new OcmError('SELF_INVITE');
    if (!this.deps.providers.isTrusted(inviterDomain)) {
      if (faults.has('sm-untrusted-provider-500')) throw new Error(`no trust entry for ${inviterDomain}`);
      throw new OcmError('PROVIDER_NOT_TRUSTED', { message: `provider ${inviterDomain} is not trusted by this server` });
    }
    let answer;
    try {
      const peer = faults.has('inv-acceptance-without-discovery')
        ? this.deps.client.undiscovered(inviterDomain)
        : await this.deps.client.discover(inviterDomain);
      answer = await this.deps.client.postJson(peer, '/invite-accepted', 'acceptInvite', {
        recipientProvider: this.deps.domain,
        token,
        ...(faults.has('inv-acceptance-without-userid') ? { userId: user.id } : { userID: user.id }),
        email: user.email,
        name: user.displayName,
      });
    } catch (error) {
      throw outboundToOcmError(error);
    }
    switch (answer.status) {
      case 200:
        break;
      case 400:
      case 404: // 1.1 peers answer 404 for an unknown token
        throw new OcmError('INVITE_TOKEN_INVALID', { message: `${inviterDomain} refused the token as invalid` });
      case 409:
        throw new OcmError('INVITE_ALREADY_ACCEPTED', { message: `${inviterDomain} says the invite was already accepted` });
      case 429:
        throw new OcmError('TOO_MANY_ATTEMPTS', { message: `${inviterDomain} refuses further attempts for now` });
      case 401:
      case 403:
        throw new OcmError('REMOTE_REFUSED', { message: `${inviterDomain} does not trust this server to accept its invites` });
      default:
        throw new OcmError('REMOTE_BAD_RESPONSE', { message: `${inviterDomain} answered the invite acceptance with ${answer.status}` });
    }
    const inviter = answer.body as { userID: string; email: string; name: string };
    if (this.findContact(user.id, inviter.userID, inviterDomain) && !faults.has('sm-duplicate-contact-accepted'))
      throw new OcmError('CONTACT_ALREADY_EXISTS');
    const contact = this.newContact(user.id, inviter.userID, inviterDomain, inviter.name, inviter.email, 'invite-accepted');
    await this.deps.stores.contacts.put(contact.id, contact);
    return contactView(contact);
  }

  findContacts(user: LocalUser, search = ''): AcceptedUserView[] {
    const term = search.toLowerCase();
    return this.deps.stores.contacts
      .filter((c) => c.localUserId === user.id || faults.has('sm-contacts-of-all-users'))
      .filter((c) => term === '' || [c.remoteUserId, c.name, c.email, c.remoteDomain].some((v) => v.toLowerCase().includes(term)))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map(contactView);
  }

  findContact(localUserId: string, remoteUserId: string, remoteDomain: string): ContactRecord | undefined {
    const domain = normaliseDomain(remoteDomain);
    return this.deps.stores.indexes.contactsByUser
      .get(localUserId)
      .find((c) => c.remoteUserId === remoteUserId && c.remoteDomain === domain);
  }

  async deleteContact(user: LocalUser, idp: string, remoteUserId: string): Promise<AcceptedUserView> {
    const domain = normaliseDomain(idp.replace(/^https?:\/\//i, '').replace(/\/+$/, ''));
    const contact = this.findContact(user.id, remoteUserId, domain);
    if (!contact && faults.has('sm-delete-unmatched-200'))
      return { user_id: remoteUserId, idp: domain, display_name: remoteUserId, mail: '' };
    if (!contact) throw new OcmError('CONTACT_NOT_FOUND');
    await this.deps.stores.contacts.delete(contact.id);
    return contactView(contact);
  }

  private newContact(
    localUserId: string,
    remoteUserId: string,
    remoteDomain: string,
    name: string,
    email: string,
    origin: ContactRecord['origin'],
  ): ContactRecord {
    return { id: randomUUID(), localUserId, remoteUserId, remoteDomain, name, email, createdAt: nowSeconds(), origin };
  }
}

export function contactView(contact: ContactRecord): AcceptedUserView {
  return { user_id: contact.remoteUserId, idp: contact.remoteDomain, display_name: contact.name, mail: contact.email };
}

/** Maps a failed call to another server onto the local answer. */
export function outboundToOcmError(error: unknown): OcmError {
  if (!(error instanceof OutboundError)) return error instanceof OcmError ? error : new OcmError('INTERNAL', { cause: error });
  switch (error.kind) {
    case 'untrusted':
      return new OcmError('PROVIDER_NOT_TRUSTED', { message: error.message });
    case 'timeout':
    case 'unreachable':
      return new OcmError('REMOTE_UNREACHABLE', { message: error.message });
    default:
      return new OcmError('REMOTE_BAD_RESPONSE', { message: error.message });
  }
}

/** What `accept-invite` names: a token and the inviter's provider, or an invite string holding both. */
export interface AcceptInviteInput {
  token?: string;
  providerDomain?: string;
  invite?: string;
}

/** The token and inviter domain of an `accept-invite` request; 400 when either is missing or the invite string is bad. */
export function inviteToAccept(input: AcceptInviteInput): { token: string; domain: string } {
  let token = input.token;
  let domain = input.providerDomain;
  if (input.invite !== undefined) {
    const decoded = decodeInviteString(input.invite);
    if (!decoded) throw new OcmError('INVITE_TOKEN_INVALID', { message: 'the invite string is not base64url("token@provider")' });
    ({ token, domain } = decoded);
  }
  if (!token || !domain) throw new OcmError('VALIDATION_FAILED', { message: 'token and providerDomain are required' });
  return { token, domain };
}
