/**
 * Interop between two servers with drivers: the target and its partner
 * (`interopWith` in the target config; in `npm test`, reference A and
 * reference B). Real users on both sides go through the flows a person
 * would, both ways (target → partner and partner → target):
 *
 *  - invite: one side's user generates an invite, the other's accepts it,
 *    and each side lists the other user as a contact;
 *  - a file and a folder: shared, listed pending by the receiving user,
 *    accepted, and read through the receiving server with the sender's
 *    bytes (the folder through one of its children);
 *  - the answer reaches the sender: after an accept and a decline, the
 *    sender's share API shows each sent share accepted or declined;
 *  - unshare: the receiver stops listing the share and can no longer read it.
 *
 * Requirement IDs name what the TARGET does in each direction: as sender
 * and inviter (target → partner) or as receiver and invite receiver
 * (partner → target). The OCS-* IDs are claimed only when the target's
 * driver is the OCS share API (ocs+sciencemesh), which the check then
 * exercises. Every check is not run when no partner is configured.
 *
 * The expected bytes come from the sender's own WebDAV
 * (`/remote.php/dav/files/<user>/<path>`, Nextcloud, oCIS and the reference
 * serve it); when that is not served, from the shipped fixture only if the
 * configured resource is the shipped one.
 *
 * Checks of this file run in order in one worker: they share the two
 * servers' users, and a received share is told apart from earlier ones by
 * appearing between two listings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, expect, notRun, test, type TargetHandle } from '../harness/fixtures.ts';
import { suiteContext } from '../harness/context.ts';
import { createDriver, DriverStepFailed, type Driver, type ReceivedShareView } from '../harness/drivers.ts';
import { eventually } from '../harness/ocm-actions.ts';
import { PROJECT_ROOT } from '../harness/requirements.ts';
import { targetDomain, type DriverAction, type TargetConfig, type TargetUser } from '../harness/target.ts';
import { interopAnnotation } from '../../results/model.ts';
import type { Transcript } from '../../results/transcript.ts';

test.describe.configure({ mode: 'default' });

const context = suiteContext();
const partnerConfig: TargetConfig | undefined = context.target.interopWith;
/** The target's driver is the OCS share API: the OCS-* requirements are exercised. */
const OCS_DRIVER = context.target.driver.kind === 'ocs+sciencemesh';
const ocs = (...ids: string[]): string[] => (OCS_DRIVER ? ids : []);
/** The fixture files shipped with the project, by the resource paths of the default config. */
const SHIPPED = join(PROJECT_ROOT, 'fixtures/files');
const DEFAULT_RESOURCES = { file: '/welcome.txt', binaryFile: '/sample.bin', folder: '/project', folderChild: 'notes.md' };

/** One of the two servers, as the checks use it. */
interface Side {
  label: 'target' | 'partner';
  config: TargetConfig;
  domain: string;
  driver: Driver;
  users: TargetUser[];
}

function usersOf(config: TargetConfig): TargetUser[] {
  return 'users' in config.driver ? config.driver.users : [];
}

let partnerSide: Side | undefined;
function partner(): Side | undefined {
  if (!partnerConfig) return undefined;
  partnerSide ??= {
    label: 'partner',
    config: partnerConfig,
    domain: targetDomain(partnerConfig),
    // The manual driver waits for effects at a peer; the partner's effects show at the target instead, so it gets no such wait.
    driver: createDriver(partnerConfig, async () => undefined),
    users: usersOf(partnerConfig),
  };
  return partnerSide;
}

function targetSide(target: TargetHandle): Side {
  return { label: 'target', config: target.context.target, domain: target.domain, driver: target.driver, users: target.users };
}

type Direction = 'target->partner' | 'partner->target';

interface Flow {
  from: Side;
  to: Side;
  /** The sending (inviting) user and the receiving (accepting) user. */
  sender: TargetUser;
  receiver: TargetUser;
  ocm: Transcript;
  testInfo: import('@playwright/test').TestInfo;
}

/** Who shares with whom in each direction: the first user of the sender (who owns the resources) and the second of the receiver. */
function sharePair(direction: Direction, a: Side, b: Side): { sender: TargetUser; receiver: TargetUser } {
  const [from, to] = direction === 'target->partner' ? [a, b] : [b, a];
  return { sender: from.users[0]!, receiver: to.users[1] ?? to.users[0]! };
}

/**
 * A pair of users (one per side) that no other check of this file makes
 * contacts, for the invite checks: the share pairs are left out, later users
 * come first; target → partner takes the first such pair, partner → target the second.
 */
function invitePair(direction: Direction, a: Side, b: Side): { inviter: TargetUser; accepter: TargetUser } | undefined {
  const taken = new Set(
    (['target->partner', 'partner->target'] as const).map((d) => {
      const pair = sharePair(d, a, b);
      return d === 'target->partner' ? `${pair.sender.id}|${pair.receiver.id}` : `${pair.receiver.id}|${pair.sender.id}`;
    }),
  );
  const free: Array<[TargetUser, TargetUser]> = [];
  for (const ua of [...a.users].reverse())
    for (const ub of [...b.users].reverse()) if (!taken.has(`${ua.id}|${ub.id}`)) free.push([ua, ub]);
  const pair = free[direction === 'target->partner' ? 0 : 1];
  if (!pair) return undefined;
  return direction === 'target->partner' ? { inviter: pair[0], accepter: pair[1] } : { inviter: pair[1], accepter: pair[0] };
}

function arrow(direction: Direction): string {
  return direction === 'target->partner' ? 'target → partner' : 'partner → target';
}

function need(side: Side, ...actions: DriverAction[]): void {
  for (const action of actions)
    if (!side.driver.supports(action)) notRun(`the ${side.label}'s ${side.driver.kind} driver cannot ${action}`);
}

/** Defines one interop check in one direction; the body gets the sending and the receiving side. */
function interop(ids: string[], direction: Direction, title: string, body: (flow: Flow) => Promise<void>): void {
  check(ids, `${arrow(direction)}: ${title}`, async ({ target, ocm }, testInfo) => {
    const [s, r] = direction === 'target->partner' ? (['target', 'partner'] as const) : (['partner', 'target'] as const);
    testInfo.annotations.push(interopAnnotation(s, r));
    const b = partner();
    if (!b) notRun('no interop partner configured');
    if (b.driver.kind === 'none' || b.users.length === 0) notRun('the interop partner has no driver');
    const a = targetSide(target);
    if (a.users.length === 0) notRun('the target has no driver users');
    const [from, to] = direction === 'target->partner' ? [a, b] : [b, a];
    const { sender, receiver } = sharePair(direction, a, b);
    await body({ from, to, sender, receiver, ocm, testInfo });
  });
}

// ------------------------------------------------------------------ helpers

function sameDomain(x: string, y: string): boolean {
  return x.toLowerCase() === y.toLowerCase();
}

async function isContact(side: Side, user: TargetUser, other: Side, otherUser: TargetUser): Promise<boolean> {
  return (await side.driver.listContacts(user)).some((c) => c.userId === otherUser.id && sameDomain(c.domain, other.domain));
}

/** Makes the sender's user and the receiver's user contacts (an invite from the sender's side), unless they are already. */
async function ensureContacts({ from, to, sender, receiver }: Flow): Promise<void> {
  need(from, 'generateInvite');
  need(to, 'acceptInvite');
  if (from.driver.supports('listContacts') && (await isContact(from, sender, to, receiver))) return;
  const { token } = await from.driver.generateInvite(sender);
  try {
    await to.driver.acceptInvite(receiver, { token, providerDomain: from.domain });
  } catch (error) {
    // An earlier run (or check) may have made them contacts already: the receiver then answers 409.
    if (!(error instanceof DriverStepFailed) || !from.driver.supports('listContacts') || !(await isContact(from, sender, to, receiver)))
      throw error;
  }
}

/** The receiver's received shares, by id (to tell a new one from earlier ones). */
async function receivedIds(side: Side, user: TargetUser): Promise<Set<string>> {
  return new Set((await side.driver.listReceived(user)).map((s) => s.id));
}

function baseName(path: string): string {
  return path.split('/').filter(Boolean).pop() ?? path;
}

/**
 * Shares a check made, removed after it (best effort) so the next check can
 * share the same resource with the same user again: servers refuse a second
 * share of one resource with one recipient (reva, Nextcloud, the reference).
 */
const madeShares: Array<() => Promise<void>> = [];

test.afterEach(async () => {
  for (const unshare of madeShares.splice(0)) await unshare().catch(() => undefined);
});

/**
 * The sender's user shares `path` with the receiver's user; answers the
 * sender's share id and the share as the receiver lists it (new since before the share).
 */
async function shareAndFind(flow: Flow, path: string): Promise<{ id: string; view: ReceivedShareView }> {
  const { from, to, sender, receiver } = flow;
  need(from, 'shareWith');
  need(to, 'listReceived');
  await ensureContacts(flow);
  const before = await receivedIds(to, receiver);
  const { id } = await from.driver.shareWith(sender, { path, recipient: { userId: receiver.id, domain: to.domain }, role: 'viewer' });
  if (from.driver.supports('unshare')) madeShares.push(() => from.driver.unshare(sender, id));
  const name = baseName(path);
  const view = await eventually(
    async () => {
      const fresh = (await to.driver.listReceived(receiver)).filter((s) => !before.has(s.id));
      return fresh.find((s) => s.name === name) ?? (fresh.length === 1 ? fresh[0] : undefined);
    },
    5000,
    100,
  );
  expect(
    view,
    `${receiver.username} at the ${to.label} (${to.domain}) lists the ${name} that ${sender.username} at the ${from.label} shared`,
  ).toBeTruthy();
  return { id, view: view! };
}

function basic(user: TargetUser): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/**
 * The bytes of the sender's resource: from its owner WebDAV when served,
 * else from the shipped fixture when the configured resource is the shipped
 * one; otherwise the check cannot compare and is not run.
 */
async function originalBytes(flow: Flow, path: string, defaultPath: string | undefined): Promise<Buffer> {
  const { from, sender, ocm, testInfo } = flow;
  const segments = path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  const url = `${from.config.baseUrl}/remote.php/dav/files/${encodeURIComponent(sender.username)}/${segments}`;
  const answer = await ocm.request(url, { headers: { authorization: basic(sender) } });
  if (answer.status === 200) return answer.bytes;
  const shipped = join(SHIPPED, ...path.split('/').filter(Boolean));
  if (defaultPath !== undefined && path === defaultPath && existsSync(shipped)) {
    testInfo.annotations.push({ type: 'note', description: `${url} answered ${answer.status}; compared with the shipped fixture ${path}` });
    return readFileSync(shipped);
  }
  return notRun(
    `the ${from.label} serves no owner WebDAV at ${url} (${answer.status}) and ${path} is not the shipped fixture: the original bytes are unknown`,
  );
}

/** The receiver reads the accepted share through its own server: 200 and the sender's bytes. */
async function expectSameBytes(flow: Flow, id: string, expected: Buffer, relativePath?: string): Promise<void> {
  const { to, receiver } = flow;
  const read = await to.driver.readReceived(receiver, id, relativePath);
  expect(
    read.status,
    `${receiver.username} at the ${to.label} reads the received ${relativePath ? `folder's ${relativePath}` : 'share'}`,
  ).toBe(200);
  expect(expected.length, 'the original is not empty').toBeGreaterThan(0);
  expect(
    read.bytes.equals(expected),
    `the bytes read through the ${to.label} (${read.bytes.length}) are the sender's (${expected.length}), byte for byte`,
  ).toBe(true);
}

const OCS_STATES: Record<number, 'accepted' | 'pending' | 'declined'> = { 0: 'accepted', 1: 'pending', 2: 'declined' };

/** The state of a share the sender sent, from its OCS share API (GET /shares/{id}); undefined when that shows none. */
async function sentShareState(flow: Flow, id: string): Promise<'accepted' | 'pending' | 'declined' | undefined> {
  const { from, sender, ocm } = flow;
  const base = (from.config.driver as { ocsBase?: string }).ocsBase ?? '/ocs/v2.php/apps/files_sharing/api/v1';
  const answer = await ocm.request(`${from.config.baseUrl}${base}/shares/${encodeURIComponent(id)}?format=json`, {
    headers: { authorization: basic(sender), 'ocs-apirequest': 'true' },
  });
  const data = answer.json?.ocs?.data;
  const share = Array.isArray(data) ? data[0] : data;
  const state = Number(share?.state);
  return answer.status === 200 && Number.isInteger(state) ? OCS_STATES[state] : undefined;
}

// ------------------------------------------------------------------ checks

for (const direction of ['target->partner', 'partner->target'] as const) {
  const targetSends = direction === 'target->partner';

  // Invite: target → partner judges the target as inviter (INV-4: its answer named its user, whom the partner now lists);
  // partner → target judges it as invite receiver (INV-1: it delivered the acceptance, so the partner lists its user).
  interop(
    [targetSends ? 'INV-4' : 'INV-1'],
    direction,
    'a user invites, the other accepts, and each side lists the other as a contact',
    async (flow) => {
      const { from, to } = flow;
      need(from, 'generateInvite', 'listContacts');
      need(to, 'acceptInvite', 'listContacts');
      const a = from.label === 'target' ? from : to;
      const b = from.label === 'target' ? to : from;
      const pair = invitePair(direction, a, b);
      if (!pair) notRun('the two configs name too few users for a pair that is not already used by the share checks');
      const { inviter, accepter } = pair;
      if ((await isContact(from, inviter, to, accepter)) || (await isContact(to, accepter, from, inviter))) {
        notRun(
          `${inviter.username} at the ${from.label} and ${accepter.username} at the ${to.label} are contacts already (an earlier run against the same servers?)`,
        );
      }
      const { token } = await from.driver.generateInvite(inviter);
      expect(token, 'the invite token').toBeTruthy();
      await to.driver.acceptInvite(accepter, { token, providerDomain: from.domain });
      const acceptersView = await eventually(async () => ((await isContact(to, accepter, from, inviter)) ? true : undefined), 3000, 100);
      expect(
        acceptersView,
        `${accepter.username} at the ${to.label} lists ${inviter.id}@${from.domain} (the user the inviter's answer named)`,
      ).toBe(true);
      const invitersView = await eventually(async () => ((await isContact(from, inviter, to, accepter)) ? true : undefined), 3000, 100);
      expect(invitersView, `${inviter.username} at the ${from.label} lists ${accepter.id}@${to.domain} (the acceptance reached it)`).toBe(
        true,
      );
    },
  );

  // A file: listed pending, accepted, read with the sender's bytes.
  // target → partner: the target's share reached the partner with a uri and secret that serve the file (SHR-26; OCS-1 through OCS).
  // partner → target: the target took the share and lists it (SHR-1, OCS-6), accepts it (OCS-3) and serves its bytes (SHR-1).
  interop(
    targetSends ? ['SHR-26', ...ocs('OCS-1')] : ['SHR-1', ...ocs('OCS-6', 'OCS-3')],
    direction,
    'a shared file is listed pending, accepted and read with the sender bytes',
    async (flow) => {
      const { from, to, receiver } = flow;
      need(to, 'acceptShare', 'readReceived');
      const path = from.config.resources.file;
      const { view } = await shareAndFind(flow, path);
      expect(view.state, `the new share as ${receiver.username} at the ${to.label} lists it`).toBe('pending');
      await to.driver.acceptShare(receiver, view.id);
      const accepted = await eventually(
        async () => (await to.driver.listReceived(receiver)).find((s) => s.id === view.id && s.state === 'accepted'),
        3000,
        100,
      );
      expect(accepted, `after accepting, ${receiver.username} at the ${to.label} lists the share as accepted`).toBeTruthy();
      await expectSameBytes(flow, view.id, await originalBytes(flow, path, DEFAULT_RESOURCES.file));
    },
  );

  // A folder, read through one of its children.
  // target → partner: the child path below the folder share's uri reaches the child (ACC-2); partner → target: the target takes and serves it (SHR-1).
  interop(
    targetSends ? ['ACC-2'] : ['SHR-1'],
    direction,
    'a shared folder is accepted and a child is read with the sender bytes',
    async (flow) => {
      const { from, to, receiver } = flow;
      need(to, 'acceptShare', 'readReceived');
      const { folder, folderChild } = from.config.resources;
      const { view } = await shareAndFind(flow, folder);
      await to.driver.acceptShare(receiver, view.id);
      const defaultChild =
        folder === DEFAULT_RESOURCES.folder && folderChild === DEFAULT_RESOURCES.folderChild
          ? `${DEFAULT_RESOURCES.folder}/${DEFAULT_RESOURCES.folderChild}`
          : undefined;
      const expected = await originalBytes(flow, `${folder.replace(/\/+$/, '')}/${folderChild}`, defaultChild);
      await expectSameBytes(flow, view.id, expected, folderChild);
    },
  );

  // The receiver's answers reach the sender: the sender's share API shows one sent share accepted and another declined.
  // target → partner: the target took the partner's SHARE_ACCEPTED and SHARE_DECLINED (NTF-2); partner → target: the target sent them, naming the share (NTF-5).
  interop(
    [targetSends ? 'NTF-2' : 'NTF-5'],
    direction,
    'accepting one share and declining another shows at the sender as accepted and declined',
    async (flow) => {
      const { from, to, receiver } = flow;
      need(to, 'acceptShare', 'declineShare');
      if (from.config.driver.kind !== 'ocs+sciencemesh')
        notRun(`the ${from.label}'s ${from.config.driver.kind} driver cannot show the state of a share it sent`);
      const first = await shareAndFind(flow, from.config.resources.file);
      const second = await shareAndFind(flow, from.config.resources.folder);
      const shown = await sentShareState(flow, first.id);
      if (shown === undefined) notRun(`the ${from.label}'s OCS share API shows no state for a sent share`);
      expect(shown, `the ${from.label} shows its new share as pending before any answer`).toBe('pending');
      await to.driver.acceptShare(receiver, first.view.id);
      await to.driver.declineShare(receiver, second.view.id);
      const accepted = await eventually(async () => ((await sentShareState(flow, first.id)) === 'accepted' ? true : undefined), 5000, 100);
      expect(accepted, `the ${from.label} shows the accepted share as accepted (state now ${await sentShareState(flow, first.id)})`).toBe(
        true,
      );
      const declined = await eventually(async () => ((await sentShareState(flow, second.id)) === 'declined' ? true : undefined), 5000, 100);
      expect(declined, `the ${from.label} shows the declined share as declined (state now ${await sentShareState(flow, second.id)})`).toBe(
        true,
      );
    },
  );

  // Unshare: the receiver stops listing it and reading fails.
  // target → partner: the target's removal reaches the partner and stops access (OCS-5); partner → target: the target's listing drops the share (OCS-6).
  interop(
    targetSends ? ocs('OCS-5') : ocs('OCS-6'),
    direction,
    'after the sender unshares, the receiver no longer lists the share and cannot read it',
    async (flow) => {
      const { from, to, sender, receiver } = flow;
      need(from, 'unshare');
      need(to, 'acceptShare', 'readReceived');
      const path = from.config.resources.binaryFile ?? from.config.resources.file;
      const { id, view } = await shareAndFind(flow, path);
      await to.driver.acceptShare(receiver, view.id);
      const before = await to.driver.readReceived(receiver, view.id);
      expect(before.status, `before the unshare, ${receiver.username} at the ${to.label} reads the share`).toBe(200);
      await from.driver.unshare(sender, id);
      const gone = await eventually(
        async () => ((await to.driver.listReceived(receiver)).some((s) => s.id === view.id) ? undefined : true),
        5000,
        100,
      );
      expect(gone, `${receiver.username} at the ${to.label} no longer lists the share ${sender.username} removed`).toBe(true);
      const after = await to.driver.readReceived(receiver, view.id);
      expect(
        after.status,
        `after the unshare, reading the share through the ${to.label} fails (got ${after.status}, ${after.bytes.length} bytes)`,
      ).not.toBe(200);
      expect(after.status, 'reading a removed share answers an error status').toBeGreaterThanOrEqual(400);
    },
  );
}
