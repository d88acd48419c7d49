/**
 * Invite acceptance with the target as Invite Sender (spec: Invite › Invite
 * Acceptance Request Details, Invite Acceptance Response Details; HTTP
 * Message Signatures › Applicability).
 *
 * The driver makes a target user generate an invite token; the simulated
 * peer plays the Invite Receiver's server and POSTs
 * `<target endPoint>/invite-accepted` (signed with the peer's key whenever
 * the target advertises http-sig, as a real Invite Receiver must).
 */
import { randomBytes } from 'node:crypto';
import { check, expect, needDriver, notRun } from '../harness/fixtures.ts';
import type { TargetHandle } from '../harness/fixtures.ts';
import { peerPost } from '../harness/ocm-actions.ts';
import type { PeerSimulator, PeerUser } from '../harness/peer-simulator.ts';
import type { Answer, Transcript } from '../../results/transcript.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';

const registry = getLazyRegistry();
const FIELDS = ['recipientProvider', 'token', 'userID', 'email', 'name'] as const;

/** The Invite Acceptance Request `peer` sends for `user` redeeming `token`. */
function acceptance(peer: PeerSimulator, token: string, user: PeerUser): Record<string, string> {
  return { recipientProvider: peer.domain, token, userID: user.id, email: user.email, name: user.name };
}

/** Tokens this worker has been handed out: a repeat is INV-12's finding, and the step that got it failed. */
const handedOut = new Set<string>();

/** A fresh invite token of the target's first user (driver step). */
async function targetInvite(target: TargetHandle): Promise<string> {
  needDriver(target, 'generateInvite');
  const { token } = await target.driver.generateInvite(target.user);
  if (typeof token !== 'string' || !/\S/.test(token)) notRun(`setup failed: generate an invite: the driver returned no token`);
  if (handedOut.has(token)) notRun(`setup failed: generate an invite: the target handed out token ${token} again (see INV-12)`);
  handedOut.add(token);
  return token;
}

/**
 * Redeems a token the target has just generated: a step of the checks that
 * test something else. A 409 means the token was used already, so the target
 * handed out a used token (INV-12's finding): the check cannot run.
 */
async function acceptFresh(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, body: Record<string, unknown>): Promise<Answer> {
  const answer = await accept(ocm, target, peer, body);
  if (answer.status === 409)
    notRun(
      `setup failed: accept a freshly generated invite token: 409 ${answer.text.slice(0, 200)} (the token was already used; see INV-12)`,
    );
  return answer;
}

function show(answer: Answer): string {
  return `${answer.status} ${answer.text.slice(0, 300)}`;
}

function expectErrorMessage(answer: Answer): void {
  expect(answer.json, `the ${answer.status} answer is a JSON object: ${answer.text.slice(0, 300)}`).toEqual(expect.any(Object));
  expect(typeof answer.json.message, `the ${answer.status} answer has a string message: ${answer.text.slice(0, 300)}`).toBe('string');
}

async function accept(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  body: Record<string, unknown>,
  options: { sign?: boolean } = {},
): Promise<Answer> {
  return peerPost(ocm, target, peer, '/invite-accepted', body, options);
}

// ---------------------------------------------------------------- INV-3

check(
  ['INV-3'],
  'an acceptance missing any one of recipientProvider, token, userID, email, name is answered 400',
  async ({ target, peer, ocm }) => {
    // Positive control: the same acceptance with all five fields is taken, so a refusal below is the missing field's doing
    // (and a driver that hands out no real token cannot make this check pass).
    const control = await acceptFresh(ocm, target, peer, acceptance(peer, await targetInvite(target), peer.newUser('inv3ok')));
    if (control.status !== 200) notRun(`setup failed: accept an invite with all five fields: ${show(control)}`);
    // A second valid, unredeemed token: the missing field is the only fault of each request.
    const token = await targetInvite(target);
    const user = peer.newUser('inv3');
    for (const field of FIELDS) {
      const body: Record<string, unknown> = acceptance(peer, token, user);
      delete body[field];
      const answer = await accept(ocm, target, peer, body);
      expect(answer.status, `without ${field}: ${show(answer)}`).toBe(400);
    }
  },
);

// ---------------------------------------------------------------- INV-12

check(['INV-12'], 'two invites of the same user carry different tokens', async ({ target }) => {
  needDriver(target, 'generateInvite');
  const first = (await target.driver.generateInvite(target.user)).token;
  const second = (await target.driver.generateInvite(target.user)).token;
  if (typeof first !== 'string' || first === '') notRun('setup failed: generate an invite: the driver returned no token');
  expect(second, `the second invite repeats the first one's token ${JSON.stringify(first)}`).not.toBe(first);
});

// ---------------------------------------------------------------- INV-4

check(
  ['INV-4'],
  'a valid token is answered 200 with JSON userID, email and name describing the inviting user',
  async ({ target, peer, ocm }) => {
    const token = await targetInvite(target);
    const answer = await acceptFresh(ocm, target, peer, acceptance(peer, token, peer.newUser('inv4')));
    expect(answer.status, show(answer)).toBe(200);
    expect(answer.json, `the 200 body is a JSON object: ${answer.text.slice(0, 300)}`).toEqual(expect.any(Object));
    expect(registry.validate('ocm', 'AcceptedInviteResponse', answer.json), 'userID, email and name are strings').toEqual({ ok: true });
    // userID is how other servers know the inviter: the identifier the target config names for this user.
    expect(answer.json.userID, 'userID is the inviting user (target.user.id)').toBe(target.user.id);
    if (target.user.displayName) expect(answer.json.name, 'name is the inviting user').toBe(target.user.displayName);
  },
);

// ---------------------------------------------------------------- INV-5

check(['INV-5'], 'an unknown token and a malformed token are each answered 400 with a message', async ({ target, peer, ocm }) => {
  const user = peer.newUser('inv5');
  for (const [what, token] of [
    ['an unknown token', randomBytes(18).toString('base64url')],
    ['a malformed token', `not a token <>"\u00e9\u2603 ${randomBytes(4).toString('hex')}`],
  ] as const) {
    const answer = await accept(ocm, target, peer, acceptance(peer, token, user));
    expect(answer.status, `${what}: ${show(answer)}`).toBe(400);
    expectErrorMessage(answer);
  }
});

check(['INV-5'], 'an expired token is answered 400', async ({ target, peer, ocm }) => {
  needDriver(target, 'generateInvite');
  // Ask for a one-second token; a target that ignores the wish cannot be probed this way.
  const { token, expiration } = await target.driver.generateInvite(target.user, { expiresInSeconds: 1 });
  if (expiration === undefined || expiration > Date.now() / 1000 + 5)
    notRun('the target does not issue short-lived invite tokens on request, so no token can be aged');
  await new Promise((r) => setTimeout(r, Math.max(0, expiration * 1000 - Date.now()) + 1100));
  const user = peer.newUser('late');
  const answer = await accept(ocm, target, peer, acceptance(peer, token, user));
  expect(answer.status, show(answer)).toBe(400);
  expectErrorMessage(answer);
});

// ---------------------------------------------------------------- INV-6

check(['INV-6'], 'a token already accepted is answered 409 when presented again', async ({ target, peer, ocm }) => {
  const token = await targetInvite(target);
  const first = await acceptFresh(ocm, target, peer, acceptance(peer, token, peer.newUser('inv6a')));
  if (first.status !== 200) notRun(`setup failed: the first acceptance: ${show(first)}`);
  // Another user of the same server: only the reuse of the token is wrong.
  const second = await accept(ocm, target, peer, acceptance(peer, token, peer.newUser('inv6b')));
  expect(second.status, `the second acceptance of the same token: ${show(second)}`).toBe(409);
});

check(
  ['INV-6'],
  'a token accepted from one server is answered 409 when a second server presents it',
  async ({ target, peer, peer2, ocm }) => {
    const token = await targetInvite(target);
    const first = await acceptFresh(ocm, target, peer, acceptance(peer, token, peer.newUser('inv6p1')));
    if (first.status !== 200) notRun(`setup failed: the first acceptance, from ${peer.domain}: ${show(first)}`);
    const second = await accept(ocm, target, peer2, acceptance(peer2, token, peer2.newUser('inv6p2')));
    expect(second.status, `acceptance of the same token from ${peer2.domain}: ${show(second)}`).toBe(409);
  },
);

// ---------------------------------------------------------------- INV-7

/*
 * How "an Invite Receiver server the target does not trust" is played.
 *
 * §6.4 (Invite Acceptance Response): 403 = the Invite Receiver OCM Server is
 * not trusted to accept this invite. The table has no 401.
 * §10.2: a server MAY accept unsigned requests from servers that do not
 * advertise http-sig; one advertising must-use-http-sig MUST reject unsigned
 * requests. §10.3 step 8: after verifying, the payload SHOULD fit the signer.
 *
 * The honest probe is therefore an UNSIGNED acceptance in the name of
 * `untrusted.invalid`: that server cannot be discovered (so it advertises no
 * http-sig), nothing ties the request to a trusted server, and the target's
 * trust policy must refuse it with 403. Signing it with our (trusted) peer's
 * key would not make an untrusted server: it makes a trusted server lying
 * about recipientProvider, a signer mismatch (SIG-17's business), whose 401
 * §6.4 does not name — so that variant is not used here.
 *
 * Only a target advertising must-use-http-sig may refuse the unsigned probe
 * before its trust policy runs; §10.2 fixes no status for that refusal, so
 * there 401 (the §4.4 "cannot be authenticated" code) or 403 is accepted.
 *
 * The token is valid, so trust is the only reason to refuse; afterwards the
 * trusted peer can still redeem it (the refusal had no effect).
 */
check(
  ['INV-7'],
  'an acceptance from a server the target does not trust is answered 403 and leaves the token usable',
  async ({ target, peer, ocm }) => {
    const token = await targetInvite(target);
    const untrusted = {
      recipientProvider: 'untrusted.invalid',
      token,
      userID: 'mallory',
      email: 'mallory@untrusted.invalid',
      name: 'Mallory',
    };
    const answer = await accept(ocm, target, peer, untrusted, { sign: false });
    const criteria: unknown[] = Array.isArray(target.discovery?.criteria) ? target.discovery.criteria : [];
    if (criteria.includes('must-use-http-sig')) {
      expect(
        [401, 403],
        `unsigned acceptance in the name of untrusted.invalid (target demands must-use-http-sig): ${show(answer)}`,
      ).toContain(answer.status);
    } else {
      expect(
        answer.status,
        `acceptance in the name of untrusted.invalid: ${show(answer)}${answer.status === 200 ? ' — the target accepted an invite for a server outside any trust policy' : ''}`,
      ).toBe(403);
    }
    expectErrorMessage(answer);
    const trusted = await accept(ocm, target, peer, acceptance(peer, token, peer.newUser('inv7')));
    expect(trusted.status, `the same token from the trusted peer afterwards: ${show(trusted)}`).toBe(200);
  },
);

// ---------------------------------------------------------------- INV-8

check(
  ['INV-8'],
  'the inviter verifies signed acceptances: a valid signature is taken, a body altered after signing is refused; must-use-http-sig refuses unsigned ones',
  async ({ target, peer, ocm }, testInfo) => {
    const url = `${target.endPoint}/invite-accepted`;
    const token = await targetInvite(target);
    // Two users of equal field lengths: the altered body keeps the signed Content-Length.
    const signedFor = peer.newUser('inv8');
    const swapped = peer.newUser('inv8');
    const signedBody = JSON.stringify(acceptance(peer, token, signedFor));
    const alteredBody = JSON.stringify(acceptance(peer, token, swapped));
    expect(Buffer.byteLength(alteredBody)).toBe(Buffer.byteLength(signedBody));
    const altered = await ocm.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...peer.signatureHeaders(url, signedBody) },
      body: alteredBody,
    });
    expect(altered.status, `a body altered after signing must fail verification: ${show(altered)}`).toBeGreaterThanOrEqual(400);
    expect(altered.status, show(altered)).toBeLessThan(500);

    const signed = await accept(ocm, target, peer, acceptance(peer, token, signedFor), { sign: true });
    expect(signed.status, `a correctly signed acceptance: ${show(signed)}`).toBe(200);

    const criteria: unknown[] = Array.isArray(target.discovery?.criteria) ? target.discovery.criteria : [];
    if (!criteria.includes('must-use-http-sig')) {
      testInfo.annotations.push({
        type: 'note',
        description: 'INV-8: the target does not advertise must-use-http-sig; the unsigned-refusal clause does not apply',
      });
      return;
    }
    const second = await targetInvite(target);
    const unsigned = await accept(ocm, target, peer, acceptance(peer, second, peer.newUser('inv8u')), { sign: false });
    expect(unsigned.status, `an unsigned acceptance to a must-use-http-sig target: ${show(unsigned)}`).toBeGreaterThanOrEqual(400);
    expect(unsigned.status, show(unsigned)).toBeLessThan(500);
  },
);
