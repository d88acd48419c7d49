/**
 * The sciencemesh invitation API of reva-family targets (reva, oCIS, our
 * reference): local users create, list and accept invites and manage the
 * federated contacts that result. No OCM text covers it; the SM-*
 * requirements are conventions (SHOULD) taken from reva/oCIS behaviour, with
 * the tightenings the catalogue names.
 *
 * Every check needs `exposes.sciencemesh` in the target config and calls the
 * API as a local user with HTTP Basic; the simulated peers play the other
 * servers (inviters, acceptors, trusted providers).
 */
import { randomBytes } from 'node:crypto';
import { check, expect, notRun } from '../harness/fixtures.ts';
import type { TargetHandle } from '../harness/fixtures.ts';
import { becomeContact } from '../harness/ocm-actions.ts';
import type { PeerSimulator, PeerUser } from '../harness/peer-simulator.ts';
import type { TargetUser } from '../harness/target.ts';
import type { Answer, Transcript } from '../../results/transcript.ts';

type Method = 'GET' | 'POST' | 'DELETE';

interface MeshCall {
  method: Method;
  path: string;
  json?: unknown;
}

/** The sciencemesh base of the target (driver setting `sciencemeshBase`, default /sciencemesh). */
function meshBase(target: TargetHandle): string {
  const driver = target.context.target.driver as { sciencemeshBase?: string };
  return `${target.origin}${driver.sciencemeshBase ?? '/sciencemesh'}`;
}

function basicAuth(user: Pick<TargetUser, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/** Ends the check as not run unless the target exposes the API and names the users it needs. */
function needMesh(target: TargetHandle, users = 1): void {
  if (!target.context.target.exposes.sciencemesh)
    notRun('the target does not expose the sciencemesh API (exposes.sciencemesh is false in its config)');
  if (!target.user.username) notRun('the target config names no local user');
  if (users > 1 && !target.user2) notRun('the target config names only one local user; this check needs two');
}

/** One sciencemesh call as `user` (or without credentials when `user` is null). */
async function mesh(
  ocm: Transcript,
  target: TargetHandle,
  user: Pick<TargetUser, 'username' | 'password'> | null,
  call: MeshCall,
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (user) headers.authorization = basicAuth(user);
  return ocm.request(`${meshBase(target)}${call.path}`, {
    method: call.method,
    headers,
    ...(call.json !== undefined ? { json: call.json } : {}),
  });
}

function show(answer: Answer): string {
  return `${answer.status} ${answer.text.slice(0, 300)}`;
}

function expectJsonError(answer: Answer, what: string): void {
  expect(answer.json, `${what}: the ${answer.status} body is a JSON object: ${answer.text.slice(0, 300)}`).toEqual(expect.any(Object));
  expect(typeof answer.json.message, `${what}: the error has a string message: ${answer.text.slice(0, 300)}`).toBe('string');
}

async function generateInvite(ocm: Transcript, target: TargetHandle, user: TargetUser, body: unknown = {}): Promise<Answer> {
  return mesh(ocm, target, user, { method: 'POST', path: '/generate-invite', json: body });
}

async function listInvites(ocm: Transcript, target: TargetHandle, user: TargetUser): Promise<Array<Record<string, any>>> {
  const answer = await mesh(ocm, target, user, { method: 'GET', path: '/list-invite' });
  expect(answer.status, `list-invite: ${show(answer)}`).toBe(200);
  expect(Array.isArray(answer.json), `list-invite answers a JSON array: ${answer.text.slice(0, 300)}`).toBe(true);
  return answer.json;
}

async function findAcceptedUsers(
  ocm: Transcript,
  target: TargetHandle,
  user: TargetUser,
  search?: string,
): Promise<Array<Record<string, any>>> {
  const answer = await mesh(ocm, target, user, {
    method: 'GET',
    path: `/find-accepted-users${search === undefined ? '' : `?search=${encodeURIComponent(search)}`}`,
  });
  expect(answer.status, `find-accepted-users: ${show(answer)}`).toBe(200);
  expect(Array.isArray(answer.json), `find-accepted-users answers a JSON array: ${answer.text.slice(0, 300)}`).toBe(true);
  return answer.json;
}

async function acceptInvite(ocm: Transcript, target: TargetHandle, user: TargetUser, body: Record<string, unknown>): Promise<Answer> {
  return mesh(ocm, target, user, { method: 'POST', path: '/accept-invite', json: body });
}

/** The idp of a contact as host[:port] (reva-era targets may prefix a scheme). */
function idpHost(idp: unknown): string {
  return String(idp)
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

function contactOf(list: Array<Record<string, any>>, peer: PeerSimulator, user: PeerUser): Record<string, any> | undefined {
  return list.find((c) => c.user_id === user.id && idpHost(c.idp) === peer.domain.toLowerCase());
}

/** Makes `user` at `peer` a contact of the target's first user, through the sciencemesh invite flow (target as inviter). */
async function contactViaInvite(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, user: PeerUser): Promise<void> {
  const made = await becomeContact(ocm, target, peer, user);
  if (!made) notRun(`the ${target.driver.kind} driver cannot generateInvite`);
}

// ---------------------------------------------------------------- SM-1

check(['SM-1'], 'every sciencemesh call without a valid local login is answered 401 with a JSON error', async ({ target, ocm }) => {
  needMesh(target);
  const calls: MeshCall[] = [
    { method: 'POST', path: '/generate-invite', json: {} },
    { method: 'GET', path: '/list-invite' },
    { method: 'POST', path: '/accept-invite', json: { token: 'x', providerDomain: 'example.org' } },
    { method: 'GET', path: '/find-accepted-users' },
    { method: 'DELETE', path: '/delete-accepted-user', json: { idp: 'example.org', user_id: 'x' } },
    { method: 'GET', path: '/list-providers' },
  ];
  for (const call of calls) {
    const answer = await mesh(ocm, target, null, call);
    expect(answer.status, `${call.method} ${call.path} without credentials: ${show(answer)}`).toBe(401);
    expectJsonError(answer, `${call.method} ${call.path} without credentials`);
  }
  const wrong = await generateInvite(ocm, target, {
    ...target.user,
    password: `${target.user.password}-wrong-${randomBytes(3).toString('hex')}`,
  });
  expect(wrong.status, `generate-invite with a wrong password: ${show(wrong)}`).toBe(401);
  expectJsonError(wrong, 'generate-invite with a wrong password');
});

// ---------------------------------------------------------------- SM-2, SM-3, SM-4

check(['SM-2'], 'generate-invite answers 200 with a JSON token and a future expiration in Unix seconds', async ({ target, ocm }) => {
  needMesh(target);
  const before = Math.floor(Date.now() / 1000);
  const answer = await generateInvite(ocm, target, target.user);
  expect(answer.status, show(answer)).toBe(200);
  expect(typeof answer.json?.token, `token: ${answer.text.slice(0, 300)}`).toBe('string');
  expect(answer.json.token.length, 'the token is not empty').toBeGreaterThan(0);
  const expiration = answer.json.expiration;
  expect(Number.isInteger(expiration), `expiration ${JSON.stringify(expiration)} is an integer`).toBe(true);
  expect(expiration, 'expiration lies in the future').toBeGreaterThan(before);
  // Seconds, not milliseconds: anything past the year 5138 is a millisecond value.
  expect(expiration, 'expiration counts seconds, not milliseconds').toBeLessThan(1e11);
});

/** Bits of randomness a token can carry, judged from its length and the alphabet it uses. */
function tokenBits(tokens: string[]): { bits: number; alphabet: string } {
  const all = tokens.join('');
  const shortest = Math.min(...tokens.map((t) => t.length));
  if (tokens.every((t) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t)))
    return { bits: 122, alphabet: 'UUID' };
  if (/^[0-9a-f]+$/i.test(all)) return { bits: shortest * 4, alphabet: 'hex' };
  if (/^[0-9A-Za-z_-]+$/.test(all) || /^[0-9A-Za-z+/]+=*$/.test(all.replace(/=+/g, ''))) return { bits: shortest * 6, alphabet: 'base64' };
  if (/^[0-9A-Za-z]+$/.test(all)) return { bits: Math.floor(shortest * Math.log2(62)), alphabet: 'alphanumeric' };
  const symbols = new Set(all).size;
  return { bits: Math.floor(shortest * Math.log2(Math.max(symbols, 2))), alphabet: `${symbols} symbols` };
}

check(['SM-3'], 'invite tokens carry at least 128 bits of randomness (by length and alphabet)', async ({ target, ocm }) => {
  needMesh(target);
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const answer = await generateInvite(ocm, target, target.user);
    expect(answer.status, show(answer)).toBe(200);
    tokens.push(String(answer.json?.token));
  }
  expect(new Set(tokens).size, 'three invites have three different tokens').toBe(3);
  const { bits, alphabet } = tokenBits(tokens.map((t) => t.replace(/=+$/, '')));
  expect(bits, `tokens of ${Math.min(...tokens.map((t) => t.length))} characters from a ${alphabet} alphabet`).toBeGreaterThanOrEqual(128);
});

check(['SM-4'], 'generate-invite refuses a malformed recipient e-mail address with 400', async ({ target, ocm }) => {
  needMesh(target);
  for (const recipient of ['user@.com', '@domain.com', 'user@domain..com']) {
    const answer = await generateInvite(ocm, target, target.user, { recipient, description: 'conformance: bad recipient' });
    expect(answer.status, `recipient ${recipient}: ${show(answer)}`).toBe(400);
  }
});

// ---------------------------------------------------------------- SM-5, SM-6

check(['SM-5'], "list-invite shows the caller's own tokens and never another local user's", async ({ target, ocm }) => {
  needMesh(target, 2);
  const mine = await generateInvite(ocm, target, target.user);
  const theirs = await generateInvite(ocm, target, target.user2!);
  expect(mine.status, show(mine)).toBe(200);
  expect(theirs.status, show(theirs)).toBe(200);
  // One token for both users (INV-12's finding) leaves nothing to tell apart.
  if (mine.json.token === theirs.json.token)
    notRun(`setup failed: generate-invite: both users were handed token ${mine.json.token} (see INV-12)`);
  const myList = (await listInvites(ocm, target, target.user)).map((i) => i.token);
  const theirList = (await listInvites(ocm, target, target.user2!)).map((i) => i.token);
  expect(myList, `${target.user.username} sees their own token`).toContain(mine.json.token);
  expect(myList, `${target.user.username} does not see ${target.user2!.username}'s token`).not.toContain(theirs.json.token);
  expect(theirList, `${target.user2!.username} sees their own token`).toContain(theirs.json.token);
  expect(theirList, `${target.user2!.username} does not see ${target.user.username}'s token`).not.toContain(mine.json.token);
});

check(
  ['SM-6'],
  'list-invite lists only unexpired tokens: a new one is there and every listed expiration lies in the future',
  async ({ target, ocm }) => {
    // The driver cannot age a token; what can be checked is that nothing listed has expired.
    needMesh(target);
    const fresh = await generateInvite(ocm, target, target.user);
    expect(fresh.status, show(fresh)).toBe(200);
    // A token handed out before may be accepted already, and rightly unlisted: only a new one can be looked for.
    const another = await generateInvite(ocm, target, target.user);
    if (another.json?.token === fresh.json.token)
      notRun(`setup failed: generate-invite: the target handed out token ${fresh.json.token} twice (see INV-12)`);
    const list = await listInvites(ocm, target, target.user);
    expect(
      list.map((i) => i.token),
      'the new, unexpired token is listed',
    ).toContain(fresh.json.token);
    const now = Math.floor(Date.now() / 1000);
    for (const invite of list) {
      if (invite.expiration === undefined) continue;
      expect(Number(invite.expiration), `listed invite expiring at ${invite.expiration}`).toBeGreaterThan(now);
    }
  },
);

// ---------------------------------------------------------------- SM-7 … SM-10, SM-16

check(['SM-7'], 'accept-invite without token and providerDomain (or an invite string) is answered 400', async ({ target, peer, ocm }) => {
  needMesh(target);
  for (const [what, body] of [
    ['an empty body', {}],
    ['a token only', { token: randomBytes(18).toString('base64url') }],
    ['a providerDomain only', { providerDomain: peer.domain }],
  ] as const) {
    const answer = await acceptInvite(ocm, target, target.user, body);
    expect(answer.status, `${what}: ${show(answer)}`).toBe(400);
  }
  expect(peer.received('/invite-accepted'), 'nothing was forwarded to the peer').toHaveLength(0);
});

check(
  ['SM-8'],
  'accept-invite naming a provider outside the trust list gets a 4xx with a JSON error, never a 5xx',
  async ({ target, ocm }) => {
    needMesh(target);
    for (const providerDomain of ['untrusted.invalid', 'https://untrusted.invalid']) {
      const answer = await acceptInvite(ocm, target, target.user, { token: randomBytes(18).toString('base64url'), providerDomain });
      expect(answer.status, `providerDomain ${providerDomain}: ${show(answer)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `providerDomain ${providerDomain}: ${show(answer)}`).toBeLessThan(500);
      expectJsonError(answer, `providerDomain ${providerDomain}`);
    }
  },
);

check(
  ['SM-9'],
  'token problems reported by the inviting server come back as 400 or 404 with a JSON message',
  async ({ target, peer, ocm }) => {
    needMesh(target);
    // The peer knows no such token and answers 400 (the 1.2+ answer) …
    const unknown = await acceptInvite(ocm, target, target.user, {
      token: randomBytes(18).toString('base64url'),
      providerDomain: peer.domain,
    });
    expect(peer.received('/invite-accepted'), 'the target forwarded the acceptance to the peer').toHaveLength(1);
    expect([400, 404], `the peer answered 400 INVALID_TOKEN: ${show(unknown)}`).toContain(unknown.status);
    expectJsonError(unknown, 'unknown token');
    // … then, told to, 404 as a 1.1 inviter does for an unknown token.
    peer.behaviour.inviteAccepted = { status: 404, body: { message: 'TOKEN_NOT_FOUND' } };
    const legacy = await acceptInvite(ocm, target, target.user, {
      token: peer.createInvite(peer.newUser('sm9')).token,
      providerDomain: peer.domain,
    });
    expect([400, 404], `the peer answered 404 TOKEN_NOT_FOUND: ${show(legacy)}`).toContain(legacy.status);
    expectJsonError(legacy, 'token not found');
  },
);

check(
  ['SM-10'],
  'accepting an invite that would create a contact the caller already has is answered 409',
  async ({ target, peer, ocm }) => {
    needMesh(target);
    const user = peer.newUser('sm10');
    const first = await acceptInvite(ocm, target, target.user, { token: peer.createInvite(user).token, providerDomain: peer.domain });
    expect(first.status, `the first invite of ${user.id}: ${show(first)}`).toBe(200);
    const second = await acceptInvite(ocm, target, target.user, { token: peer.createInvite(user).token, providerDomain: peer.domain });
    expect(second.status, `a second invite of the same remote user: ${show(second)}`).toBe(409);
  },
);

check(['SM-16'], 'an invite issued by the target cannot be accepted on the target itself (400)', async ({ target, ocm }) => {
  needMesh(target);
  const acceptor = target.user2 ?? target.user;
  const invite = await generateInvite(ocm, target, target.user);
  expect(invite.status, show(invite)).toBe(200);
  const answer = await acceptInvite(ocm, target, acceptor, { token: invite.json.token, providerDomain: target.domain });
  expect(answer.status, `accepting ${target.user.username}'s invite on the same server as ${acceptor.username}: ${show(answer)}`).toBe(400);
});

// ---------------------------------------------------------------- SM-11 … SM-14

check(
  ['SM-11'],
  'after an acceptance, find-accepted-users lists the other user with display_name, idp, user_id and mail, in either role',
  async ({ target, peer, ocm }) => {
    needMesh(target);
    // The target as Invite Receiver: its user accepts the peer's invite.
    const inviter = peer.newUser('sm11inviter');
    const accepted = await acceptInvite(ocm, target, target.user, { token: peer.createInvite(inviter).token, providerDomain: peer.domain });
    expect(accepted.status, show(accepted)).toBe(200);
    // The target as Invite Sender: the peer's user redeems the target user's invite.
    const acceptor = peer.newUser('sm11acceptor');
    await contactViaInvite(ocm, target, peer, acceptor);
    const list = await findAcceptedUsers(ocm, target, target.user);
    for (const [role, user] of [
      ['inviter', inviter],
      ['acceptor', acceptor],
    ] as const) {
      const entry = contactOf(list, peer, user);
      expect(entry, `the ${role} ${peer.address(user.id)} is listed: ${JSON.stringify(list).slice(0, 500)}`).toBeTruthy();
      expect(entry).toMatchObject({ user_id: user.id, display_name: user.name, mail: user.email });
      expect(typeof entry!.idp).toBe('string');
    }
  },
);

check(['SM-12'], "find-accepted-users returns the caller's own contacts only", async ({ target, peer, ocm }) => {
  needMesh(target, 2);
  const user = peer.newUser('sm12');
  await contactViaInvite(ocm, target, peer, user);
  expect(
    contactOf(await findAcceptedUsers(ocm, target, target.user), peer, user),
    `${target.user.username} lists the new contact`,
  ).toBeTruthy();
  expect(
    contactOf(await findAcceptedUsers(ocm, target, target.user2!), peer, user),
    `${target.user2!.username} does not list ${target.user.username}'s contact`,
  ).toBeUndefined();
});

check(['SM-13'], 'delete-accepted-user removes the named contact from find-accepted-users', async ({ target, peer, ocm }) => {
  needMesh(target);
  const user = peer.newUser('sm13');
  await contactViaInvite(ocm, target, peer, user);
  const entry = contactOf(await findAcceptedUsers(ocm, target, target.user), peer, user);
  expect(entry, 'the contact is listed before the deletion').toBeTruthy();
  const answer = await mesh(ocm, target, target.user, {
    method: 'DELETE',
    path: '/delete-accepted-user',
    json: { idp: entry!.idp, user_id: entry!.user_id },
  });
  expect(answer.status, show(answer)).toBe(200);
  expect(contactOf(await findAcceptedUsers(ocm, target, target.user), peer, user), 'the contact is gone').toBeUndefined();
});

check(['SM-14'], 'delete-accepted-user matching no contact is answered 404', async ({ target, peer, ocm }) => {
  needMesh(target);
  const answer = await mesh(ocm, target, target.user, {
    method: 'DELETE',
    path: '/delete-accepted-user',
    json: { idp: peer.domain, user_id: `nobody-${randomBytes(6).toString('hex')}` },
  });
  expect(answer.status, show(answer)).toBe(404);
});

// ---------------------------------------------------------------- SM-15

check(
  ['SM-15'],
  'list-providers returns the trusted providers as {full_name, domain}; search filters by either, ignoring case',
  async ({ target, peer, peer2, ocm }) => {
    needMesh(target);
    const all = await mesh(ocm, target, target.user, { method: 'GET', path: '/list-providers' });
    expect(all.status, show(all)).toBe(200);
    expect(Array.isArray(all.json), `a JSON array: ${all.text.slice(0, 300)}`).toBe(true);
    const providers = all.json as Array<Record<string, unknown>>;
    for (const p of providers) {
      expect(typeof p.full_name, JSON.stringify(p)).toBe('string');
      expect(typeof p.domain, JSON.stringify(p)).toBe('string');
    }
    // The target trusts the simulated peers (a premise of the harness).
    const ours = [peer, peer2].map((pr) => providers.find((p) => idpHost(p.domain) === pr.domain.toLowerCase()));
    expect(ours[0], `${peer.domain} is listed`).toBeTruthy();
    expect(ours[1], `${peer2.domain} is listed`).toBeTruthy();

    const name = String(ours[0]!.full_name);
    const piece = name.slice(0, Math.min(12, name.length));
    const term = [...piece].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('');
    const found = await mesh(ocm, target, target.user, { method: 'GET', path: `/list-providers?search=${encodeURIComponent(term)}` });
    expect(found.status, show(found)).toBe(200);
    const matches = found.json as Array<Record<string, unknown>>;
    expect(matches, `search ${JSON.stringify(term)} finds ${peer.domain}`).toContainEqual(
      expect.objectContaining({ domain: ours[0]!.domain }),
    );
    for (const p of matches) {
      const hay = `${String(p.full_name)}\n${String(p.domain)}`.toLowerCase();
      expect(hay, `every result of search ${JSON.stringify(term)} contains it`).toContain(term.toLowerCase());
    }
    const none = await mesh(ocm, target, target.user, {
      method: 'GET',
      path: `/list-providers?search=no-such-provider-${randomBytes(4).toString('hex')}`,
    });
    expect(none.status, show(none)).toBe(200);
    expect(none.json, 'a term nothing contains finds nothing').toEqual([]);
  },
);
