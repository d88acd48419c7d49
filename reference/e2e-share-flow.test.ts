/**
 * The whole user-level flow between two `serve` processes on two loopback
 * addresses, in both directions: invite; share a file and a folder over OCS;
 * pending; accept (the sender sees it); read identical bytes (text and
 * binary) through the receiver's own WebDAV path; a folder child; viewer
 * write refused, editor write lands at the owner; permissions lowered →
 * write refused; unshare → gone and refused. Decline too.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './config.ts';
import { freePort } from './pair.ts';
import { spawnServe, writeProvidersFile, type ServeProcess } from './testing/processes.ts';
import { call, type Credentials } from './testing/client.ts';

const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';
const EINSTEIN = { username: 'einstein', password: 'relativity', id: '4c510ada-c86b-4815-8820-42cdf82c3d51' };
const MARIE = { username: 'marie', password: 'radioactivity', id: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c' };

interface Side {
  proc: ServeProcess;
  url: string;
  domain: string;
  dataDir: string;
}

let dir: string;
let a: Side;
let b: Side;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  dir = await mkdtemp(join(tmpdir(), 'ocm-e2e-'));
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const origins = [`http://127.0.0.2:${portA}`, `http://127.0.0.3:${portB}`];
  const providers = await writeProvidersFile(dir, origins);
  const start = async (host: string, port: number, name: string): Promise<Side> => {
    const dataDir = join(dir, name);
    const proc = await spawnServe(['--host', host, '--port', String(port), '--data-dir', dataDir, '--providers', providers]);
    return { proc, url: proc.url, domain: `${host}:${port}`, dataDir };
  };
  a = await start('127.0.0.2', portA, 'a');
  b = await start('127.0.0.3', portB, 'b');
});

test.afterAll(async () => {
  await a?.proc.stop();
  await b?.proc.stop();
  await rm(dir, { recursive: true, force: true });
});

async function befriend(inviter: Side, inviterUser: Credentials, invitee: Side, inviteeUser: Credentials) {
  // Invites are symmetric: users who are contacts already (the other direction ran first) need none.
  const contacts = await call(`${inviter.url}/sciencemesh/find-accepted-users`, { user: inviterUser });
  if ((contacts.body as Array<{ idp: string }>).some((c) => c.idp === invitee.domain)) return;
  const invite = await call(`${inviter.url}/sciencemesh/generate-invite`, { method: 'POST', user: inviterUser });
  expect(invite.status).toBe(200);
  const accepted = await call(`${invitee.url}/sciencemesh/accept-invite`, { method: 'POST', user: inviteeUser, json: { invite: invite.body.invite_string } });
  expect(accepted.status, accepted.text).toBe(200);
}

async function shareAndAccept(sender: Side, owner: Credentials, receiver: Side, recipient: typeof MARIE, path: string, role: 'viewer' | 'editor') {
  const created = await call(`${sender.url}${OCS}/shares?format=json`, {
    method: 'POST',
    user: owner,
    form: { shareType: '6', path, shareWith: recipient.id, shareWithProvider: receiver.domain, role },
  });
  expect(created.status, created.text).toBe(200);
  const shareId = created.body.ocs.data.id as string;
  const pending = await call(`${receiver.url}${OCS}/shares?shared_with_me=true&state=1`, { user: recipient });
  const received = (pending.body.ocs.data as Array<{ id: string; remote_id: string; state: number }>).find((s) => s.remote_id === shareId);
  expect(received, 'the receiver lists the share as pending').toBeTruthy();
  expect(received!.state).toBe(1);
  const accepted = await call(`${receiver.url}${OCS}/shares/pending/${received!.id}`, { method: 'POST', user: recipient });
  expect(accepted.status).toBe(200);
  const outgoing = await call(`${sender.url}${OCS}/shares/${shareId}`, { user: owner });
  expect(outgoing.body.ocs.data[0].state, 'the sender sees the share accepted').toBe(0);
  return { shareId, receivedId: received!.id };
}

for (const direction of ['A→B', 'B→A'] as const) {
  test(`share lifecycle ${direction} between two processes`, async () => {
    const [sender, receiver] = direction === 'A→B' ? [a, b] : [b, a];
    const [owner, recipient] = direction === 'A→B' ? [EINSTEIN, MARIE] : [MARIE, EINSTEIN];
    await befriend(sender, owner, receiver, recipient);

    // a binary file, viewer: identical bytes, write refused
    const bin = await shareAndAccept(sender, owner, receiver, recipient, '/sample.bin', 'viewer');
    const read = await call(`${receiver.url}/dav/ocm-received/${bin.receivedId}`, { user: recipient });
    expect(read.status).toBe(200);
    expect(read.bytes.equals(await readFile(join(PROJECT_ROOT, 'fixtures/files/sample.bin')))).toBe(true);
    const refused = await call(`${receiver.url}/dav/ocm-received/${bin.receivedId}`, { method: 'PUT', user: recipient, body: 'overwrite' });
    expect(refused.status).toBe(403);

    // a folder, editor: list, read a child, write lands at the owner
    const folder = await shareAndAccept(sender, owner, receiver, recipient, '/project', 'editor');
    const listing = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}`, { method: 'PROPFIND', user: recipient, headers: { depth: '1' } });
    expect(listing.status).toBe(207);
    expect(listing.text).toContain(`/dav/ocm-received/${folder.receivedId}/notes.md`);
    const child = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/notes.md`, { user: recipient });
    expect(child.text).toBe(await readFile(join(PROJECT_ROOT, 'fixtures/files/project/notes.md'), 'utf8'));
    const written = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/from-${direction}.txt`, { method: 'PUT', user: recipient, body: `written ${direction}` });
    expect([201, 204]).toContain(written.status);
    const atOwner = await call(`${sender.url}/dav/files/${owner.username}/project/from-${direction}.txt`, { user: owner });
    expect(atOwner.text).toBe(`written ${direction}`);

    // the sender lowers permissions: the next write is refused
    const lowered = await call(`${sender.url}${OCS}/shares/${folder.shareId}`, { method: 'PUT', user: owner, form: { permissions: '1' } });
    expect(lowered.status).toBe(200);
    const afterLower = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/again.txt`, { method: 'PUT', user: recipient, body: 'no' });
    expect(afterLower.status).toBe(403);

    // unshare: the received share is gone and access refused
    const removed = await call(`${sender.url}${OCS}/shares/${folder.shareId}`, { method: 'DELETE', user: owner });
    expect(removed.status).toBe(200);
    const list = await call(`${receiver.url}${OCS}/shares?shared_with_me=true&state=all`, { user: recipient });
    expect((list.body.ocs.data as Array<{ id: string }>).some((s) => s.id === folder.receivedId)).toBe(false);
    const gone = await call(`${receiver.url}/dav/ocm-received/${folder.receivedId}/notes.md`, { user: recipient });
    expect(gone.status).toBe(404);

    // decline: the sender sees it
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
  });
}
