/**
 * Invite acceptance with the target as Invite Receiver (spec: Invite;
 * Invite › Invite Format; Invite › Invite Acceptance Request Details; HTTP
 * Message Signatures › Applicability).
 *
 * The simulated peer plays the Invite Sender's server: it creates an invite
 * token for one of its users; the driver makes a target user accept it; the
 * peer records what the target sends (discovery first, then
 * POST <peer endPoint>/invite-accepted) and answers like an inviter would.
 */
import { randomBytes } from 'node:crypto';
import { check, expect, needDriver, notRun } from '../harness/fixtures.ts';
import type { TargetHandle } from '../harness/fixtures.ts';
import type { PeerInvite, PeerSimulator, PeerUser, RecordedRequest } from '../harness/peer-simulator.ts';
import { registerSecret, type Answer, type Transcript } from '../../results/transcript.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';
import { sentDespiteFailedStep, stepEvenIfSent } from '../harness/ocm-actions.ts';
import { isFqdnWithPort } from '../../openapi/formats.ts';

const registry = getLazyRegistry();

interface Acceptance {
  invite: PeerInvite;
  /** Every request the peer received during the driver step, oldest first. */
  requests: RecordedRequest[];
  /** The POST …/invite-accepted among them. */
  post: RecordedRequest;
}

/** The target's first user accepts an invite of `user` at `peer` (driver step); returns what reached the peer. */
async function targetAcceptsInvite(target: TargetHandle, peer: PeerSimulator, user: PeerUser): Promise<Acceptance> {
  needDriver(target, 'acceptInvite');
  const invite = peer.createInvite(user);
  const from = peer.requests.length;
  // The peer may refuse a faulty acceptance, and the target's accept then fails: what it sent is still judged.
  const { failed } = await stepEvenIfSent('the target user accepts the invite', async () => {
    await target.driver.acceptInvite(target.user, { token: invite.token, providerDomain: peer.domain });
    return {};
  });
  const requests = peer.requests.slice(from);
  const post =
    requests.find((r) => r.method === 'POST' && r.path.endsWith('/invite-accepted')) ??
    (await peer.waitFor('/invite-accepted', 'POST', failed ? 1000 : 5000));
  if (failed && !post) throw failed;
  if (failed) sentDespiteFailedStep(failed);
  if (!post)
    throw new Error(
      `the driver accepted the invite but no POST …/invite-accepted reached ${peer.name}; it received: ${requests.map((r) => `${r.method} ${r.path}`).join(', ') || 'nothing'}`,
    );
  return { invite, requests: peer.requests.slice(from), post };
}

function contentType(request: RecordedRequest): string {
  const value = request.headers['content-type'];
  return (Array.isArray(value) ? value.join(', ') : value) ?? '';
}

// ------------------------------------------------------ INV-1, INV-2, INV-11

check(['INV-1'], 'the acceptance is POSTed to <inviter endPoint>/invite-accepted with a JSON body', async ({ target, peer }) => {
  const { post } = await targetAcceptsInvite(target, peer, peer.newUser('inv1'));
  expect(post.method).toBe('POST');
  expect(post.path, `the path below the peer's endPoint ${peer.endPoint}`).toBe(`${new URL(peer.endPoint).pathname}/invite-accepted`);
  expect(contentType(post), 'Content-Type').toMatch(/^application\/json\s*(;|$)/i);
  expect(post.body, `the body parses as a JSON object: ${post.rawBody.toString('utf8').slice(0, 300)}`).toEqual(expect.any(Object));
});

check(
  ['INV-2'],
  'the acceptance body has recipientProvider (host[:port], no scheme), token, userID, email and name as strings',
  async ({ target, peer }) => {
    const { post, invite } = await targetAcceptsInvite(target, peer, peer.newUser('inv2'));
    const body = post.body as Record<string, unknown>;
    expect(registry.validate('ocm', 'AcceptedInvite', body), JSON.stringify(body)).toEqual({ ok: true });
    expect(Object.keys(body), 'userID is spelt with a capital ID').toContain('userID');
    const provider = String(body.recipientProvider);
    // A scheme is `name:` not followed by a bare port: `a.ocm.test:8443` is a DNS name with its port, `https://…` is not host[:port].
    expect(provider, 'recipientProvider carries no scheme').not.toMatch(/^[a-z][a-z0-9+.-]*:(?!\d+$)/i);
    expect(isFqdnWithPort(provider), `recipientProvider ${provider} is host[:port]`).toBe(true);
    expect(provider.toLowerCase(), "recipientProvider is the target's own server").toBe(target.domain.toLowerCase());
    expect(body.token, 'token is the invite token').toBe(invite.token);
    expect(body.userID, 'userID is the accepting user (target.user.id)').toBe(target.user.id);
  },
);

check(['INV-11'], 'the target runs discovery on the inviter before posting the acceptance', async ({ target, peer }) => {
  const { requests, post } = await targetAcceptsInvite(target, peer, peer.newUser('inv11'));
  // 1.2 and 1.3 also knew the legacy /ocm-provider path; 1.4 and main only /.well-known/ocm.
  const paths = ['1.2', '1.3'].includes(target.context.profile) ? ['/.well-known/ocm', '/ocm-provider'] : ['/.well-known/ocm'];
  const before = requests.slice(0, requests.indexOf(post));
  const discovery = before.find((r) => r.method === 'GET' && paths.includes(r.path));
  expect(
    discovery,
    `a GET ${paths.join(' or ')} before the POST; the peer saw: ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`,
  ).toBeTruthy();
});

// ---------------------------------------------------------------- INV-8

check(['INV-8'], 'the invite receiver signs its acceptance when the inviter advertises http-sig', async ({ target, peer }) => {
  expect(peer.discovery.capabilities, 'the peer advertises http-sig').toContain('http-sig');
  const { post } = await targetAcceptsInvite(target, peer, peer.newUser('inv8'));
  const verdict = post.signature;
  expect(verdict.status, `the signature verified against the target's JWK Set: ${JSON.stringify(verdict)}`).toBe('valid');
});

// ---------------------------------------------------------------- INV-9

/** The sciencemesh base of the target (driver setting, default /sciencemesh). */
function sciencemeshBase(target: TargetHandle): string {
  const driver = target.context.target.driver as { sciencemeshBase?: string };
  return `${target.origin}${driver.sciencemeshBase ?? '/sciencemesh'}`;
}

function basicAuth(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/**
 * Accepts an invite given as the canonical invite string, through the
 * sciencemesh accept-invite call (`{"invite": "<string>"}`); the driver
 * interface only takes a token and a provider domain.
 */
async function acceptInviteString(ocm: Transcript, target: TargetHandle, inviteString: string): Promise<Answer> {
  return ocm.request(`${sciencemeshBase(target)}/accept-invite`, {
    method: 'POST',
    headers: { authorization: basicAuth(target.user), accept: 'application/json' },
    json: { invite: inviteString },
  });
}

/** An invite at `peer` whose token contains `@`, sized so that its invite string needs base64 padding. */
function inviteWithAt(peer: PeerSimulator, user: PeerUser): PeerInvite {
  let token = `inv@${randomBytes(12).toString('base64url')}`;
  while (Buffer.byteLength(`${token}@${peer.domain}`) % 3 === 0) token += 'x';
  const invite: PeerInvite = { token, user };
  peer.invites.set(token, invite);
  registerSecret(token);
  return invite;
}

for (const padded of [false, true]) {
  check(
    ['INV-9'],
    `the target takes ${padded ? 'a padded' : 'an unpadded'} invite string base64url(token@fqdn) whose token contains @`,
    async ({ target, peer, ocm }) => {
      if (!target.context.target.exposes.sciencemesh)
        notRun('invite strings are accepted through the sciencemesh API, which this target does not expose');
      if (!target.user.username) notRun('the target config names no local user');
      const user = peer.newUser('inv9');
      const invite = inviteWithAt(peer, user);
      const unpadded = Buffer.from(`${invite.token}@${peer.domain}`, 'utf8').toString('base64url');
      const inviteString = padded ? unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=') : unpadded;
      expect(inviteString.endsWith('='), 'the string carries padding exactly when asked').toBe(padded);
      const from = peer.requests.length;
      const answer = await acceptInviteString(ocm, target, inviteString);
      const post = peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/invite-accepted'));
      expect(
        post,
        `the target contacted ${peer.domain} (split at the last @); answer ${answer.status} ${answer.text.slice(0, 300)}`,
      ).toBeTruthy();
      expect(post!.body?.token, 'the whole token, @ included, was sent').toBe(invite.token);
      expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    },
  );
}

// ------------------------------------------------------- contact stored (SM-11)

check(['SM-11'], 'after accepting an invite the target lists the inviter as a contact of the accepting user', async ({ target, peer }) => {
  needDriver(target, 'acceptInvite', 'listContacts');
  const user = peer.newUser('contact');
  await targetAcceptsInvite(target, peer, user);
  const contacts = await target.driver.listContacts(target.user);
  expect(contacts, `contacts of ${target.user.username}`).toContainEqual({ userId: user.id, domain: peer.domain });
});
