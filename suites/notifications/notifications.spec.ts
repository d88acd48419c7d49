/**
 * Notifications (spec: Share Acceptance Notification; Share Deletion;
 * Resharing; HTTP Message Signatures › Signing Direction Index; the
 * NewNotification schema and the answers of POST /notifications).
 *
 * A simulated peer POSTs notifications to the target's
 * `<endPoint>/notifications`. For notifications about a share the TARGET
 * sent, the target's driver first shares a file with a fresh peer user (who
 * becomes a contact of the target user through the invite flow), and the
 * peer answers with the providerId and sharedSecret it received, as
 * Nextcloud and ownCloud do. The acceptance notifications the target sends
 * as receiver (NTF-5) are checked in suites/shares/share-creation-receiving.
 */
import { randomUUID } from 'node:crypto';
import { check, expect, needDriver, notRun, type CheckFixtures } from '../harness/fixtures.ts';
import { becomeContact, eventually, expectErrorBody, peerPost, sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import { StepFailed, stepRequest } from '../harness/step.ts';
import { suiteContext } from '../harness/context.ts';
import type { SelectedRequirement } from '../harness/requirements.ts';
import type { PeerUser } from '../harness/peer-simulator.ts';
import type { Answer } from '../../results/transcript.ts';

const context = suiteContext();
/** The variant of the spec-conflict reading in force for a requirement (see spec-conflicts.ts). */
const readingVariant = (id: string): string | undefined => (context.selected.get(id) as SelectedRequirement | undefined)?.reading?.variant;
const criteria: string[] = Array.isArray(context.discovery?.criteria) ? context.discovery.criteria : [];
const UNKNOWN_TYPE = 'X_OCM_CONFORMANCE_UNKNOWN';
const UNSUPPORTED_RESOURCE_TYPE = 'x-ocm-conformance-resource';

type Fixtures = Pick<CheckFixtures, 'target' | 'peer' | 'ocm'>;

interface SentShare {
  peerUser: PeerUser;
  /** The target's id of the share (for its driver). */
  id: string;
  /** The Share Creation Notification as the peer received it. */
  body: Record<string, any>;
  providerId: string;
  resourceType: string;
  sharedSecret: string | undefined;
}

/** Makes `peerUser` a contact of the target user: the target invites (preferred) or accepts the peer's invite. */
async function contact({ target, peer, ocm }: Fixtures, peerUser: PeerUser): Promise<void> {
  if (await becomeContact(ocm, target, peer, peerUser)) return;
  if (target.driver.supports('acceptInvite')) {
    const invite = peer.createInvite(peerUser);
    await target.driver.acceptInvite(target.user, { token: invite.token, providerDomain: peer.domain });
  }
}

/** The target's user shares the configured file with a fresh peer user; returns the share as the peer received it. */
async function shareFromTarget(fixtures: Fixtures): Promise<SentShare> {
  const { target, peer } = fixtures;
  needDriver(target, 'shareWith');
  const peerUser = peer.newUser('recipient');
  await contact(fixtures, peerUser);
  const { id } = await target.driver.shareWith(target.user, {
    path: target.context.target.resources.file,
    recipient: { userId: peerUser.id, domain: peer.domain },
    role: 'viewer',
  });
  const body = await eventually(async () =>
    peer.receivedShares.find((s) => typeof s?.shareWith === 'string' && s.shareWith.startsWith(`${peerUser.id}@`)),
  );
  // A step of the notification checks: whether and what the target sends is judged by the share-sending checks.
  if (!body)
    throw new StepFailed(['the target shares a file with the peer'], undefined, `no share reached ${peer.address(peerUser.id)} within 5 s`);
  const secret = body!.protocol?.webdav?.sharedSecret ?? body!.protocol?.options?.sharedSecret;
  return {
    peerUser,
    id,
    body: body!,
    providerId: String(body!.providerId),
    resourceType: String(body!.resourceType),
    sharedSecret: typeof secret === 'string' ? secret : undefined,
  };
}

/** A Share Acceptance Notification for `share`, with its secret (as Nextcloud sends it). */
function acceptance(share: SentShare, type: 'SHARE_ACCEPTED' | 'SHARE_DECLINED'): Record<string, unknown> {
  return {
    notificationType: type,
    resourceType: share.resourceType,
    providerId: share.providerId,
    notification: { ...(share.sharedSecret ? { sharedSecret: share.sharedSecret } : {}), shareWith: share.body.shareWith },
  };
}

/** A providerId to name in a notification: a share the target really sent when its driver can share, else a made-up one. */
async function someProviderId(fixtures: Fixtures): Promise<{ providerId: string; resourceType: string; sharedSecret?: string }> {
  if (!fixtures.target.driver.supports('shareWith')) return { providerId: randomUUID(), resourceType: 'file' };
  const share = await shareFromTarget(fixtures);
  return {
    providerId: share.providerId,
    resourceType: share.resourceType,
    ...(share.sharedSecret ? { sharedSecret: share.sharedSecret } : {}),
  };
}

async function notify({ target, peer, ocm }: Fixtures, payload: unknown, options: { sign?: boolean; raw?: string } = {}): Promise<Answer> {
  return peerPost(ocm, target, peer, '/notifications', payload, options);
}

// ---------------------------------------------------------------- NTF-1

const NOTIFICATION_REQUIRED =
  readingVariant('NTF-1') === 'type-provider-id-and-resource-type'
    ? ['notificationType', 'providerId', 'resourceType']
    : ['notificationType', 'providerId'];
for (const field of NOTIFICATION_REQUIRED) {
  check(['NTF-1'], `a notification without ${field} gets 400 with a message`, async (fixtures) => {
    const payload: Record<string, unknown> = {
      notificationType: 'SHARE_ACCEPTED',
      resourceType: 'file',
      providerId: randomUUID(),
      notification: {},
    };
    delete payload[field];
    const answer = await notify(fixtures, payload);
    expect(answer.status, answer.text.slice(0, 300)).toBe(400);
    expectErrorBody(answer);
  });
}

// ---------------------------------------------------------------- NTF-2

for (const type of ['SHARE_ACCEPTED', 'SHARE_DECLINED'] as const) {
  check(['NTF-2'], `a valid ${type} about a share the target sent is answered 201`, async (fixtures) => {
    const share = await shareFromTarget(fixtures);
    const answer = await notify(fixtures, acceptance(share, type));
    expect(answer.status, answer.text.slice(0, 300)).toBe(201);
  });
}

// ---------------------------------------------------------- NTF-3, NTF-4

check(['NTF-3'], 'an unknown notificationType is refused with 400 or 501', async (fixtures) => {
  const { providerId, resourceType, sharedSecret } = await someProviderId(fixtures);
  const answer = await notify(fixtures, {
    notificationType: UNKNOWN_TYPE,
    resourceType,
    providerId,
    notification: sharedSecret ? { sharedSecret } : {},
  });
  expect([400, 501], `notificationType ${UNKNOWN_TYPE}: ${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  expectErrorBody(answer);
});

check(['NTF-4'], 'a notification about an unsupported resourceType is answered 501', async (fixtures) => {
  const { providerId, sharedSecret } = await someProviderId(fixtures);
  const answer = await notify(fixtures, {
    notificationType: 'SHARE_ACCEPTED',
    resourceType: UNSUPPORTED_RESOURCE_TYPE,
    providerId,
    notification: sharedSecret ? { sharedSecret } : {},
  });
  expect(answer.status, answer.text.slice(0, 300)).toBe(501);
  expectErrorBody(answer);
});

// ---------------------------------------------------------------- NTF-6

check(['NTF-6'], 'an unsigned notification is declined, the same one signed is taken', async (fixtures) => {
  const share = await shareFromTarget(fixtures);
  const unsigned = await notify(fixtures, acceptance(share, 'SHARE_ACCEPTED'), { sign: false });
  expect(
    unsigned.status,
    `an unsigned SHARE_ACCEPTED from a peer advertising http-sig: ${unsigned.text.slice(0, 300)}`,
  ).toBeGreaterThanOrEqual(400);
  // The refusal was about the missing signature: signed, the same notification is accepted.
  const signed = await notify(fixtures, acceptance(share, 'SHARE_ACCEPTED'), { sign: true });
  expect(signed.status, `the same notification, signed: ${signed.text.slice(0, 300)}`).toBe(201);
});

// ---------------------------------------------------------------- NTF-7

check(['NTF-7'], 'SHARE_UNSHARED sent by the target after an unshare is signed', async (fixtures) => {
  const { target, peer } = fixtures;
  needDriver(target, 'shareWith', 'unshare');
  expect(peer.discovery.capabilities, 'the peer advertises http-sig').toContain('http-sig');
  const share = await shareFromTarget(fixtures);
  await target.driver.unshare(target.user, share.id);
  const request = await eventually(
    async () => peer.received('/notifications').find((r) => r.body?.notificationType === 'SHARE_UNSHARED'),
    5000,
  );
  expect(request, 'the target tells the peer with SHARE_UNSHARED').toBeTruthy();
  expect(request!.body?.providerId, 'providerId of the share').toBe(share.providerId);
  const verdict = request!.signature;
  expect(verdict.status, `signature verdict: ${JSON.stringify(verdict)}`).toBe('valid');
});

// ---------------------------------------------------------------- NTF-8

check(['NTF-8'], 'a share received without the share permission is not offered to its recipient for resharing', async (fixtures) => {
  const { target, peer, ocm } = fixtures;
  const settings = target.context.target.driver;
  if (settings.kind !== 'ocs+sciencemesh' || !target.context.target.exposes.ocs)
    notRun('the target exposes no OCS share list showing the permissions of received shares');
  const sender = peer.newUser('sharer');
  if (criteria.includes('must-invite')) await contact(fixtures, sender);
  const share = peer.createShare('/welcome.txt', { permissions: ['read'] });
  const name = `conformance-${randomUUID().slice(0, 8)}.txt`;
  await stepRequest(
    'the peer shares a read-only file with the target user',
    () => peerPost(ocm, target, peer, '/shares', { ...sharePayload(peer, share, targetAddress(target), sender), name }),
    201,
  );
  const ocsBase = settings.ocsBase ?? '/ocs/v2.php/apps/files_sharing/api/v1';
  const authorization = `Basic ${Buffer.from(`${target.user.username}:${target.user.password}`).toString('base64')}`;
  const listed = await ocm.request(`${target.origin}${ocsBase}/shares?shared_with_me=true&state=all&format=json`, {
    headers: { authorization, 'ocs-apirequest': 'true' },
  });
  expect(listed.status, listed.text.slice(0, 300)).toBe(200);
  const data: any[] = Array.isArray(listed.json?.ocs?.data) ? listed.json.ocs.data : [];
  const entry = data.find((s) => String(s?.remote_id) === share.id || s?.name === name);
  expect(entry, `the received share ${name} is listed`).toBeTruthy();
  const permissions = Number(entry.permissions);
  if (!Number.isInteger(permissions)) notRun('the target does not show the permissions of received shares');
  expect(permissions & 1, `OCS permissions ${permissions}: read is granted`).toBe(1);
  expect(permissions & 16, `OCS permissions ${permissions}: the share bit (16) must not be set without the share permission`).toBe(0);
});

// ---------------------------------------------------------------- ERR-1

check(['ERR-1'], 'every error answer of POST /notifications is JSON with a string message', async (fixtures) => {
  const cases: Array<[string, { payload?: unknown; raw?: string }]> = [
    ['missing notificationType', { payload: { resourceType: 'file', providerId: randomUUID() } }],
    ['missing providerId', { payload: { notificationType: 'SHARE_ACCEPTED', resourceType: 'file' } }],
    ['unknown notificationType', { payload: { notificationType: UNKNOWN_TYPE, resourceType: 'file', providerId: randomUUID() } }],
    [
      'unsupported resourceType',
      { payload: { notificationType: 'SHARE_ACCEPTED', resourceType: UNSUPPORTED_RESOURCE_TYPE, providerId: randomUUID() } },
    ],
    ['body that is not JSON', { raw: '{"notificationType": ' }],
  ];
  for (const [label, { payload, raw }] of cases) {
    const answer = await notify(fixtures, payload, raw === undefined ? {} : { raw });
    expect(answer.status, `${label}: ${answer.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expectErrorBody(answer, label);
  }
});
