/**
 * The user-level share lifecycle between two running instances, as steps, for
 * the end-to-end tests that run it against different deployments (plain
 * `serve` processes; HTTP fronts over gRPC backs). Every step goes through
 * the instances' public HTTP surfaces, as a user would, and checks what it sees.
 */
import { expect } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../base/config.ts';
import { call, type CallResult, type Credentials } from './client.ts';

export const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';

export interface FlowUser extends Credentials {
  id: string;
}

// The fixture users (harness.ts has them too, but importing it loads the whole app).
export const EINSTEIN: FlowUser = { username: 'einstein', password: 'relativity', id: '4c510ada-c86b-4815-8820-42cdf82c3d51' };
export const MARIE: FlowUser = { username: 'marie', password: 'radioactivity', id: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c' };

/** An instance as its users and the other instance reach it. */
export interface Instance {
  url: string;
  /** host:port, the provider part of its users' addresses. */
  domain: string;
}

export type Direction = 'A→B' | 'B→A';

export interface AcceptedShare {
  /** The id at the sender. */
  shareId: string;
  /** The id at the receiver. */
  receivedId: string;
}

/** One direction of the flow: A→B has einstein on A share with marie on B; B→A the reverse. */
export class ShareFlow<S extends Instance> {
  readonly sender: S;
  readonly receiver: S;
  readonly owner: FlowUser;
  readonly recipient: FlowUser;

  constructor(
    readonly direction: Direction,
    a: S,
    b: S,
  ) {
    [this.sender, this.receiver] = direction === 'A→B' ? [a, b] : [b, a];
    [this.owner, this.recipient] = direction === 'A→B' ? [EINSTEIN, MARIE] : [MARIE, EINSTEIN];
  }

  /** The owner invites the recipient, who accepts. `checkContactsStatus` also asserts the contact list answered 200. */
  async befriend(options: { checkContactsStatus?: boolean } = {}): Promise<void> {
    const { sender: inviter, owner: inviterUser, receiver: invitee, recipient: inviteeUser } = this;
    // Invites are symmetric: users who are contacts already (the other direction ran first) need none.
    const contacts = await call(`${inviter.url}/sciencemesh/find-accepted-users`, { user: inviterUser });
    if (options.checkContactsStatus) expect(contacts.status).toBe(200);
    if ((contacts.body as Array<{ idp: string }>).some((c) => c.idp === invitee.domain)) return;
    const invite = await call(`${inviter.url}/sciencemesh/generate-invite`, { method: 'POST', user: inviterUser });
    expect(invite.status).toBe(200);
    const accepted = await call(`${invitee.url}/sciencemesh/accept-invite`, {
      method: 'POST',
      user: inviteeUser,
      json: { invite: invite.body.invite_string },
    });
    expect(accepted.status, accepted.text).toBe(200);
  }

  /** Shares `path` over OCS; the receiver lists it pending and accepts; the sender sees it accepted. */
  async shareAndAccept(path: string, role: 'viewer' | 'editor'): Promise<AcceptedShare> {
    const { sender, owner, receiver, recipient } = this;
    const created = await call(`${sender.url}${OCS}/shares?format=json`, {
      method: 'POST',
      user: owner,
      form: { shareType: '6', path, shareWith: recipient.id, shareWithProvider: receiver.domain, role },
    });
    expect(created.status, created.text).toBe(200);
    const shareId = created.body.ocs.data.id as string;
    const pending = await call(`${receiver.url}${OCS}/shares?shared_with_me=true&state=1`, { user: recipient });
    const received = (pending.body.ocs.data as Array<{ id: string; remote_id: string; state: number }>).find(
      (s) => s.remote_id === shareId,
    );
    expect(received, 'the receiver lists the share as pending').toBeTruthy();
    expect(received!.state).toBe(1);
    const accepted = await call(`${receiver.url}${OCS}/shares/pending/${received!.id}`, { method: 'POST', user: recipient });
    expect(accepted.status).toBe(200);
    const outgoing = await call(`${sender.url}${OCS}/shares/${shareId}`, { user: owner });
    expect(outgoing.body.ocs.data[0].state, 'the sender sees the share accepted').toBe(0);
    return { shareId, receivedId: received!.id };
  }

  /** The viewer share of /sample.bin reads identical bytes at the receiver; a write is refused. */
  async readViewerBinary(bin: AcceptedShare): Promise<void> {
    const { receiver, recipient } = this;
    const read = await call(`${receiver.url}/dav/ocm-received/${bin.receivedId}`, { user: recipient });
    expect(read.status, read.text).toBe(200);
    expect(read.bytes.equals(await readFile(join(PROJECT_ROOT, 'fixtures/files/sample.bin')))).toBe(true);
    const refused = await call(`${receiver.url}/dav/ocm-received/${bin.receivedId}`, { method: 'PUT', user: recipient, body: 'overwrite' });
    expect(refused.status).toBe(403);
  }

  /** Shares /project as editor: the receiver lists it, reads a child, and a write lands at the owner. */
  async shareEditorFolder(): Promise<AcceptedShare> {
    const { sender, owner, receiver, recipient, direction } = this;
    const folder = await this.shareAndAccept('/project', 'editor');
    const listing = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}`, {
      method: 'PROPFIND',
      user: recipient,
      headers: { depth: '1' },
    });
    expect(listing.status).toBe(207);
    expect(listing.text).toContain(`/dav/ocm-received/${folder.receivedId}/notes.md`);
    const child = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/notes.md`, { user: recipient });
    expect(child.text).toBe(await readFile(join(PROJECT_ROOT, 'fixtures/files/project/notes.md'), 'utf8'));
    const written = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/from-${direction}.txt`, {
      method: 'PUT',
      user: recipient,
      body: `written ${direction}`,
    });
    expect([201, 204]).toContain(written.status);
    const atOwner = await call(`${sender.url}/dav/files/${owner.username}/project/from-${direction}.txt`, { user: owner });
    expect(atOwner.text).toBe(`written ${direction}`);
    return folder;
  }

  /** The sender lowers the share to read (permissions 1); the response, for callers that check more of it. */
  async lowerToRead(folder: AcceptedShare): Promise<CallResult> {
    const lowered = await call(`${this.sender.url}${OCS}/shares/${folder.shareId}`, {
      method: 'PUT',
      user: this.owner,
      form: { permissions: '1' },
    });
    expect(lowered.status).toBe(200);
    return lowered;
  }

  /** After lowering, the receiver's next write is refused. */
  async writeRefused(folder: AcceptedShare): Promise<void> {
    const afterLower = await call(`${this.receiver.url}/dav/ocm-received/${folder.receivedId}/again.txt`, {
      method: 'PUT',
      user: this.recipient,
      body: 'no',
    });
    expect(afterLower.status).toBe(403);
  }

  /** The sender unshares: the received share is gone from the list and access is refused. */
  async unshare(folder: AcceptedShare): Promise<void> {
    const { sender, owner, receiver, recipient } = this;
    const removed = await call(`${sender.url}${OCS}/shares/${folder.shareId}`, { method: 'DELETE', user: owner });
    expect(removed.status).toBe(200);
    const list = await call(`${receiver.url}${OCS}/shares?shared_with_me=true&state=all`, { user: recipient });
    expect((list.body.ocs.data as Array<{ id: string }>).some((s) => s.id === folder.receivedId)).toBe(false);
    const gone = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/notes.md`, { user: recipient });
    expect(gone.status).toBe(404);
  }

  /** A new share of /welcome.txt that the recipient declines: the sender sees it declined, reading is refused. */
  async decline(): Promise<void> {
    const { sender, owner, receiver, recipient } = this;
    const declinedShare = await call(`${sender.url}${OCS}/shares?format=json`, {
      method: 'POST',
      user: owner,
      form: { shareType: '6', path: '/welcome.txt', shareWith: recipient.id, shareWithProvider: receiver.domain },
    });
    const declinedId = declinedShare.body.ocs.data.id as string;
    const pending = await call(`${receiver.url}${OCS}/shares?shared_with_me=true&state=1`, { user: recipient });
    const incoming = (pending.body.ocs.data as Array<{ id: string; remote_id: string }>).find((s) => s.remote_id === declinedId)!;
    expect((await call(`${receiver.url}${OCS}/shares/pending/${incoming.id}`, { method: 'DELETE', user: recipient })).status).toBe(200);
    const outgoing = await call(`${sender.url}${OCS}/shares/${declinedId}`, { user: owner });
    expect(outgoing.body.ocs.data[0].state).toBe(2);
    const declinedRead = await call(`${receiver.url}/dav/ocm-received/${incoming.id}`, { user: recipient });
    expect(declinedRead.status).toBe(403);
  }
}
