/**
 * Request for a Share (OCM 1.4: `POST /request-share`): a would-be recipient
 * asks an owner on the target to share a resource they know of. The peer
 * plays the requesting server; black-box, with the driver only to make the
 * peer user a contact of the owner.
 */
import { check, expect, needDriver } from '../harness/fixtures.ts';
import { becomeContact, peerPost, targetAddress } from '../harness/ocm-actions.ts';

check(['RQS-1'], 'a request-share missing owner, shareWith or share is answered 400', async ({ target, peer, ocm }) => {
  const user = peer.newUser('asker');
  const valid = { owner: targetAddress(target), shareWith: peer.address(user.id), share: target.context.target.resources.file };
  for (const field of ['owner', 'shareWith', 'share'] as const) {
    const body: Record<string, string> = { ...valid };
    delete body[field];
    const answer = await peerPost(ocm, target, peer, '/request-share', body);
    expect(answer.status, `without ${field}: ${answer.text.slice(0, 200)}`).toBe(400);
    expect(typeof answer.json?.message, `without ${field}: a JSON error with a message`).toBe('string');
  }
});

check(
  ['RQS-2'],
  'a request for an existing resource by a contact is received (201); an unknown resource is 404',
  async ({ target, peer, ocm }) => {
    needDriver(target, 'generateInvite');
    const user = peer.newUser('asker');
    await becomeContact(ocm, target, peer, user);
    const ask = (share: string) =>
      peerPost(ocm, target, peer, '/request-share', { owner: targetAddress(target), shareWith: peer.address(user.id), share });
    const known = await ask(target.context.target.resources.file);
    expect(known.status, known.text.slice(0, 200)).toBe(201);
    const unknown = await ask('/no/such/resource-for-the-conformance-suite');
    expect(unknown.status, unknown.text.slice(0, 200)).toBe(404);
  },
);

check(['RQS-2'], 'a requester who is no contact of the owner gets 404, like an unknown resource', async ({ target, peer, ocm }) => {
  const stranger = peer.newUser('stranger');
  const answer = await peerPost(ocm, target, peer, '/request-share', {
    owner: targetAddress(target),
    shareWith: peer.address(stranger.id),
    share: target.context.target.resources.file,
  });
  expect(answer.status, answer.text.slice(0, 200)).toBe(404);
});

check(['RQS-3'], 'an unsigned request-share is refused by a target that has signatures', async ({ target, peer, ocm }) => {
  needDriver(target, 'generateInvite');
  const user = peer.newUser('asker');
  await becomeContact(ocm, target, peer, user);
  const body = { owner: targetAddress(target), shareWith: peer.address(user.id), share: target.context.target.resources.file };
  const unsigned = await peerPost(ocm, target, peer, '/request-share', body, { sign: false });
  expect(unsigned.status, unsigned.text.slice(0, 200)).toBeGreaterThanOrEqual(400);
  expect(unsigned.status).toBeLessThan(500);
  const signed = await peerPost(ocm, target, peer, '/request-share', body, { sign: true });
  expect(signed.status, `the same request signed is taken: ${signed.text.slice(0, 200)}`).toBe(201);
});
