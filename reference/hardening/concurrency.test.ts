/**
 * Concurrency safety of the reference server over real sockets: two peer
 * servers (plain peers: discovery without http-sig, so unsigned requests
 * from them are accepted) fire at once
 *
 *  - 200 invite acceptances (POST /ocm/invite-accepted, inviter side), plus
 *    100 duplicates of them (the same token again, from the same or the
 *    other peer), and
 *  - 200 share creations (POST /ocm/shares), plus 50 duplicates (the same
 *    providerId from the same sender) and 25 shares reusing a providerId of
 *    the OTHER peer (a different sender: not a duplicate).
 *
 * Nothing is lost, nothing is duplicated, every duplicate is refused with
 * the same answer (exactly one success per token / per sender+providerId),
 * and the stores read back from disk hold exactly the acknowledged writes.
 */
import { test, expect } from '@playwright/test';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildConfig } from '../base/config.ts';
import type { ContactRecord, InviteRecord, ReceivedShareRecord } from '../stores/records.ts';
import { startInstance, type RunningInstance } from '../main.ts';
import { freePort, providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { JsonCollection } from '../stores/json-collection.ts';
import { basicAuth, EINSTEIN, MARIE } from '../testing/harness.ts';
import { startPlainPeer } from './world.ts';

const HOST = '127.0.0.2';
const PEER_HOSTS = ['127.0.0.3', '127.0.0.4'] as const;

let server: RunningInstance;
let peers: FastifyInstance[] = [];
let peerDomains: string[] = [];
let dataDir: string;
let base: string;
let domain: string;

test.beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ocm-concurrency-'));
  const ports = [await freePort(PEER_HOSTS[0]), await freePort(PEER_HOSTS[1])];
  peers = await Promise.all(PEER_HOSTS.map((host, i) => startPlainPeer(host, ports[i]!)));
  peerDomains = PEER_HOSTS.map((host, i) => `${host}:${ports[i]}`);
  const port = await freePort(HOST);
  base = `http://${HOST}:${port}`;
  domain = `${HOST}:${port}`;
  server = await startInstance(buildConfig({ host: HOST, port, dataDir }), {
    logger: pino({ level: 'silent' }),
    providers: new TrustedProviders(peerDomains.map((d, i) => providerEntry(`peer-${i}`, `http://${d}`))),
  });
});

test.afterEach(async () => {
  await server?.close();
  await Promise.all(peers.map((p) => p.close()));
  await rm(dataDir, { recursive: true, force: true });
});

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function readBack<T>(name: string): Promise<T[]> {
  const collection = await JsonCollection.open<T>(dataDir, name);
  const values = [...collection.values()];
  await collection.close();
  return values;
}

test('200 concurrent invite acceptances from two peers (+100 duplicates): nothing lost, nothing doubled, one success per token', async () => {
  test.setTimeout(60_000);
  const t0 = Date.now();
  const tokens: Array<{ token: string; inviter: string }> = [];
  // Set-up: 200 invites, generated concurrently (each waits for its journal line; concurrent ones share an fsync).
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const user = i % 2 === 0 ? EINSTEIN : MARIE;
      const invite = await server.app.inject({
        method: 'POST',
        url: '/sciencemesh/generate-invite',
        headers: { authorization: basicAuth(user) },
      });
      expect(invite.statusCode).toBe(200);
      tokens.push({ token: invite.json().token, inviter: user.id });
    }),
  );
  const t1 = Date.now();
  type Attempt = { token: string; peer: number; userID: string; duplicate: boolean };
  const attempts: Attempt[] = tokens.map(({ token }, i) => ({ token, peer: i % 2, userID: `remote-${i}`, duplicate: false }));
  // Duplicates: the same token again from the same peer (same user), and from the other peer (another user).
  for (let i = 0; i < 50; i++) {
    attempts.push({ token: tokens[i]!.token, peer: i % 2, userID: `remote-${i}`, duplicate: true });
    attempts.push({ token: tokens[i]!.token, peer: (i + 1) % 2, userID: `intruder-${i}`, duplicate: true });
  }
  // Shuffle so that originals and duplicates race in no fixed order.
  attempts.sort(() => Math.random() - 0.5);
  const results = await Promise.all(
    attempts.map(async (a) => ({
      ...a,
      ...(await postJson(`${base}/ocm/invite-accepted`, {
        recipientProvider: peerDomains[a.peer],
        token: a.token,
        userID: a.userID,
        email: `${a.userID}@example.org`,
        name: a.userID,
      })),
    })),
  );

  const t2 = Date.now();
  test.info().annotations.push({
    type: 'timing',
    description: `200 invites generated in ${t1 - t0} ms; ${attempts.length} acceptances answered in ${t2 - t1} ms`,
  });
  const byToken = new Map<string, typeof results>();
  for (const r of results) byToken.set(r.token, [...(byToken.get(r.token) ?? []), r]);
  expect(byToken.size).toBe(200);
  const refusals = new Map<string, number>();
  for (const [token, answers] of byToken) {
    const wins = answers.filter((a) => a.status === 200);
    expect(wins.length, `token ${token}: ${JSON.stringify(answers.map((a) => a.status))}`).toBe(1);
    for (const lost of answers.filter((a) => a.status !== 200))
      refusals.set(`${lost.status} ${lost.body?.code}`, (refusals.get(`${lost.status} ${lost.body?.code}`) ?? 0) + 1);
  }
  // Every refusal is the same answer: the invite was already accepted.
  expect(Object.fromEntries(refusals)).toEqual({ '409 INVITE_ALREADY_ACCEPTED': 100 });

  // What the winners were told is what the store holds, in memory and on disk after a clean stop.
  const winners = new Map(results.filter((r) => r.status === 200).map((r) => [r.token, r]));
  await server.close();
  const invites = await readBack<InviteRecord>('invites');
  const contacts = await readBack<ContactRecord>('contacts');
  expect(invites.filter((i) => i.acceptedBy).length).toBe(200);
  for (const invite of invites) {
    const winner = winners.get(invite.token)!;
    expect(invite.acceptedBy, invite.token).toEqual(expect.objectContaining({ userId: winner.userID, domain: peerDomains[winner.peer] }));
  }
  expect(contacts.length, 'one contact per accepted invite').toBe(200);
  const contactKeys = new Set(contacts.map((c) => `${c.localUserId}|${c.remoteUserId}|${c.remoteDomain}`));
  expect(contactKeys.size, 'no contact twice').toBe(200);
  for (const { token, inviter } of tokens) {
    const winner = winners.get(token)!;
    expect(contactKeys.has(`${inviter}|${winner.userID}|${peerDomains[winner.peer]}`), `contact for ${token}`).toBe(true);
  }
});

test('200 concurrent share creations from two peers (+50 duplicates, +25 same providerId from the other peer): exactly the unique shares stored', async () => {
  test.setTimeout(60_000);
  type Attempt = { providerId: string; peer: number; user: typeof EINSTEIN; duplicate: boolean };
  const attempts: Attempt[] = [];
  for (let i = 0; i < 200; i++)
    attempts.push({ providerId: `share-${i}`, peer: i % 2, user: i % 3 === 0 ? MARIE : EINSTEIN, duplicate: false });
  for (let i = 0; i < 50; i++) attempts.push({ ...attempts[i]!, duplicate: true });
  // Same providerId, other sender: a different share, not a duplicate (providerIds are unique per sender only).
  for (let i = 50; i < 75; i++) attempts.push({ ...attempts[i]!, peer: (attempts[i]!.peer + 1) % 2, duplicate: false });
  attempts.sort(() => Math.random() - 0.5);
  const shareFor = (a: Attempt) => ({
    shareWith: `${a.user.id}@${domain}`,
    name: `${a.providerId}.txt`,
    providerId: a.providerId,
    owner: `owner@${peerDomains[a.peer]}`,
    sender: `sender@${peerDomains[a.peer]}`,
    shareType: 'user',
    resourceType: 'file',
    protocol: {
      name: 'multi',
      webdav: {
        uri: `http://${peerDomains[a.peer]}/dav/ocm/${a.providerId}`,
        sharedSecret: `secret-${a.providerId}-${a.peer}`,
        permissions: ['read'],
      },
    },
  });
  const t0 = Date.now();
  const results = await Promise.all(attempts.map(async (a) => ({ ...a, ...(await postJson(`${base}/ocm/shares`, shareFor(a))) })));
  test.info().annotations.push({ type: 'timing', description: `${attempts.length} share creations answered in ${Date.now() - t0} ms` });

  const byKey = new Map<string, typeof results>();
  for (const r of results) byKey.set(`${r.peer}|${r.providerId}`, [...(byKey.get(`${r.peer}|${r.providerId}`) ?? []), r]);
  expect(byKey.size).toBe(225);
  const refusals = new Map<string, number>();
  for (const [key, answers] of byKey) {
    expect(answers.filter((a) => a.status === 201).length, `${key}: ${JSON.stringify(answers.map((a) => a.status))}`).toBe(1);
    for (const lost of answers.filter((a) => a.status !== 201))
      refusals.set(`${lost.status} ${lost.body?.code}`, (refusals.get(`${lost.status} ${lost.body?.code}`) ?? 0) + 1);
  }
  expect(Object.fromEntries(refusals)).toEqual({ '400 DUPLICATE_SHARE': 50 });

  // Listed over OCS while running: exactly the acknowledged shares per user.
  for (const user of [EINSTEIN, MARIE]) {
    const list = await server.app.inject({
      method: 'GET',
      url: '/ocs/v2.php/apps/files_sharing/api/v1/shares?shared_with_me=true&state=all',
      headers: { authorization: basicAuth(user) },
    });
    expect(list.statusCode).toBe(200);
    const expected = [...byKey.values()].filter((answers) => answers[0]!.user.id === user.id).length;
    expect(list.json().ocs.data.length, `${user.username} lists each share once`).toBe(expected);
  }
  await server.close();
  const stored = await readBack<ReceivedShareRecord>('received-shares');
  expect(stored.length).toBe(225);
  const keys = new Set(stored.map((s) => `${s.senderDomain}|${s.providerId}|${s.localUserId}`));
  expect(keys.size, 'no share stored twice').toBe(225);
  for (const answers of byKey.values()) {
    const a = answers[0]!;
    expect(keys.has(`${peerDomains[a.peer]}|${a.providerId}|${a.user.id}`), `${a.peer} ${a.providerId}`).toBe(true);
  }
});
