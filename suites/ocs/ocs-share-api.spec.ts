/**
 * The OCS share API for federated (OCM, share type 6) shares that reva-family
 * targets (reva, oCIS, Nextcloud, our reference) offer their local users. No
 * OCM text covers it; the OCS-* requirements are conventions (SHOULD).
 *
 * Every check needs `exposes.ocs` in the target config and calls the API as
 * a local user with HTTP Basic and `OCS-APIRequest: true`, asking for JSON.
 * The base is the driver's `ocsBase` (default
 * /ocs/v2.php/apps/files_sharing/api/v1); its v1 twin is the same path under
 * /ocs/v1.php. The OCS status convention both flavours follow (Nextcloud,
 * reva): v2 answers with the HTTP status the meta.statuscode names (200 on
 * success); v1 answers HTTP 200 with meta.statuscode 100 on success and the
 * failure's code otherwise. The simulated peers are the remote contacts:
 * they receive the shares the target makes and send the shares it receives.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { check, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import { becomeContact, eventually, peerPost, sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import type { PeerShare, PeerSimulator, PeerUser, RecordedRequest } from '../harness/peer-simulator.ts';
import type { TargetUser } from '../harness/target.ts';
import { registerSecret, type Answer, type Transcript } from '../../results/transcript.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';
import { StepFailed, stepRequest } from '../harness/step.ts';

const registry = getLazyRegistry();

type Version = 1 | 2;
type Any = Record<string, any>;

/** OCS `state` of a received share. */
const STATE = { accepted: 0, pending: 1, declined: 2 } as const;

/** The OCS not-found status: reva writes 998, Nextcloud (and the reference) 404; v2 answers HTTP 404 either way. */
const NOT_FOUND_CODES = [404, 998];

// ---------------------------------------------------------------- calls

function bases(target: TargetHandle): Record<Version, string> {
  const driver = target.context.target.driver as { ocsBase?: string };
  const v2 = driver.ocsBase ?? '/ocs/v2.php/apps/files_sharing/api/v1';
  return { 2: `${target.origin}${v2}`, 1: `${target.origin}${v2.replace('/v2.php/', '/v1.php/')}` };
}

/** Ends the check as not run unless the target exposes the OCS API and names a user. */
function needOcs(target: TargetHandle): void {
  if (!target.context.target.exposes.ocs) notRun('the target does not expose the OCS share API (exposes.ocs is false in its config)');
  if (!target.user.username) notRun('the target config names no local user');
}

async function ocs(
  ocm: Transcript,
  target: TargetHandle,
  version: Version,
  method: string,
  path: string,
  options: { form?: Record<string, string>; user?: TargetUser } = {},
): Promise<Answer> {
  const user = options.user ?? target.user;
  const url = `${bases(target)[version]}${path}${path.includes('?') ? '&' : '?'}format=json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`,
    'ocs-apirequest': 'true',
    accept: 'application/json',
  };
  return ocm.request(url, { method, headers, ...(options.form ? { form: options.form } : {}) });
}

function show(answer: Answer): string {
  return `${answer.status} ${answer.text.slice(0, 400)}`;
}

function metaOf(answer: Answer): Any | undefined {
  return answer.json?.ocs?.meta;
}

/** A success envelope of `version`: v2 HTTP 200 and statuscode 200, v1 HTTP 200 and statuscode 100; valid against `schema`. */
function expectOk(
  answer: Answer,
  version: Version,
  schema: 'OcsShareResponse' | 'OcsShareListResponse' | 'OcsEmptyResponse',
  what: string,
): void {
  expect(answer.status, `${what}: HTTP status: ${show(answer)}`).toBe(200);
  const meta = metaOf(answer);
  expect(meta?.status, `${what}: meta.status: ${show(answer)}`).toBe('ok');
  expect(meta?.statuscode, `${what}: meta.statuscode of an OCS v${version} success: ${show(answer)}`).toBe(version === 1 ? 100 : 200);
  if (schema === 'OcsEmptyResponse') return;
  const outcome = registry.validate('ocs', schema, answer.json);
  expect(outcome.ok ? [] : outcome.issues, `${what}: the answer is a valid ${schema}`).toEqual([]);
}

/**
 * A failure envelope of `version` whose statuscode is one of `codes`: v2
 * answers with that HTTP status, v1 with HTTP 200; meta.status is failure
 * (reva writes error).
 */
function expectFailure(answer: Answer, version: Version, codes: (code: number) => boolean, describe: string, what: string): void {
  const meta = metaOf(answer);
  expect(meta, `${what}: an OCS envelope with meta: ${show(answer)}`).toBeDefined();
  expect(['failure', 'error'], `${what}: meta.status is failure: ${show(answer)}`).toContain(meta?.status);
  const code = Number(meta?.statuscode);
  expect(codes(code), `${what}: meta.statuscode ${meta?.statuscode} is ${describe}: ${show(answer)}`).toBe(true);
  if (version === 1) expect(answer.status, `${what}: OCS v1 answers a failure with HTTP 200: ${show(answer)}`).toBe(200);
  else
    expect(codes(answer.status), `${what}: OCS v2 answers with the HTTP status of the failure (${describe}): ${show(answer)}`).toBe(true);
}

// ---------------------------------------------------------------- steps

/** A fresh peer user who is an accepted contact of the target's user (the driver's invite flow). */
async function contact(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, prefix = 'ocs'): Promise<PeerUser> {
  needDriver(target, 'generateInvite');
  const user = peer.newUser(prefix);
  await becomeContact(ocm, target, peer, user);
  return user;
}

/** The first POST /shares that reached `peer` after request index `from` (bounded wait). */
async function deliveredShare(peer: PeerSimulator, from: number): Promise<RecordedRequest | undefined> {
  return eventually(async () => peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/shares')));
}

function createForm(peer: PeerSimulator, user: PeerUser, path: string): Record<string, string> {
  return { shareType: '6', path, shareWith: user.id, shareWithProvider: peer.domain, permissions: '1' };
}

/** Every sharedSecret in a share the peer received. */
function secretsOf(request: RecordedRequest | undefined): string[] {
  const protocol = (request?.body as Any | undefined)?.protocol;
  if (!protocol || typeof protocol !== 'object') return [];
  const found = Object.values(protocol).flatMap((p: any) =>
    [p?.sharedSecret].filter((s): s is string => typeof s === 'string' && s !== ''),
  );
  for (const secret of found) registerSecret(secret);
  return found;
}

/** The peer's `owner` sends the target's user a share under a unique name; the answer must be 201. */
async function peerSendsShare(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  owner: PeerUser,
): Promise<{ share: PeerShare; name: string }> {
  const share = peer.createShare('/welcome.txt');
  const name = `ocs-${randomBytes(4).toString('hex')}.txt`;
  await stepRequest(
    'the peer shares a file with the target user',
    () => peerPost(ocm, target, peer, '/shares', sharePayload(peer, share, targetAddress(target), owner, { name })),
    201,
  );
  return { share, name };
}

/** The received shares of the target's user (shared_with_me=true&state=all), asserted to be a valid list. */
async function receivedList(ocm: Transcript, target: TargetHandle, version: Version = 2): Promise<{ answer: Answer; shares: Any[] }> {
  const answer = await ocs(ocm, target, version, 'GET', '/shares?shared_with_me=true&state=all');
  expectOk(answer, version, 'OcsShareListResponse', 'GET /shares?shared_with_me=true&state=all');
  return { answer, shares: Array.isArray(answer.json.ocs.data) ? answer.json.ocs.data : [] };
}

function findReceived(shares: Any[], share: PeerShare, name: string): Any | undefined {
  return (
    shares.find((s) => String(s.remote_id ?? '') === share.id) ??
    shares.find((s) => s.name === name || String(s.file_target ?? s.path ?? '').endsWith(`/${name}`))
  );
}

/** A pending share the peer sent to the target's user, as OCS lists it. */
async function pendingShare(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
): Promise<{ id: string; share: PeerShare; name: string }> {
  const owner = target.driver.supports('generateInvite') ? await contact(ocm, target, peer, 'sender') : peer.newUser('sender');
  const { share, name } = await peerSendsShare(ocm, target, peer, owner);
  const listed = findReceived((await receivedList(ocm, target)).shares, share, name);
  expect(listed, `the received share ${name} is listed`).toBeDefined();
  expect(Number(listed!.state), 'a new received share is pending (state 1)').toBe(STATE.pending);
  return { id: String(listed!.id), share, name };
}

// ---------------------------------------------------------------- OCS-1

check(
  ['OCS-1'],
  'a shareType=6 create answers the OCS share envelope (v2: 200/200, v1: 200/100) and the peer receives POST /shares',
  async ({ target, peer, ocm }) => {
    needOcs(target);
    const user = await contact(ocm, target, peer);
    const { file, folder } = target.context.target.resources;
    for (const [version, path] of [
      [2, file],
      [1, folder],
    ] as Array<[Version, string]>) {
      const from = peer.requests.length;
      const answer = await ocs(ocm, target, version, 'POST', '/shares', { form: createForm(peer, user, path) });
      expectOk(answer, version, 'OcsShareResponse', `OCS v${version} POST /shares of ${path}`);
      const data = answer.json.ocs.data;
      expect(Number(data.share_type), 'share_type 6').toBe(6);
      const delivered = await deliveredShare(peer, from);
      expect(delivered, `a POST /shares reached ${peer.domain} for the v${version} share of ${path}`).toBeDefined();
      expect(delivered!.body?.shareWith, 'the share names the recipient').toBe(peer.address(user.id));
      // The OCM secret is for the two servers only: no OCS answer carries it.
      const secrets = secretsOf(delivered);
      expect(secrets.length, 'the delivered share carries a sharedSecret').toBeGreaterThan(0);
      const shown = await ocs(ocm, target, version, 'GET', `/shares/${encodeURIComponent(String(data.id))}`);
      expectOk(shown, version, 'OcsShareListResponse', `OCS v${version} GET /shares/${data.id}`);
      const listed = await ocs(ocm, target, version, 'GET', '/shares');
      expectOk(listed, version, 'OcsShareListResponse', `OCS v${version} GET /shares`);
      expect(
        (listed.json.ocs.data as Any[]).some((s) => String(s.id) === String(data.id)),
        'the new share is listed',
      ).toBe(true);
      for (const [what, text] of [
        ['the create answer', answer.text],
        ['GET /shares/{id}', shown.text],
        ['GET /shares', listed.text],
      ] as const) {
        for (const secret of secrets) expect(text.includes(secret), `${what} reveals the OCM shared secret`).toBe(false);
      }
    }
  },
);

// ---------------------------------------------------------------- OCS-2

check(
  ['OCS-2'],
  'a shareType=6 create without shareWith or shareWithProvider gets a 400-class OCS failure and sends nothing',
  async ({ target, peer, ocm }) => {
    needOcs(target);
    const user = await contact(ocm, target, peer);
    const full = createForm(peer, user, target.context.target.resources.file);
    const from = peer.requests.length;
    for (const missing of ['shareWith', 'shareWithProvider']) {
      const form = Object.fromEntries(Object.entries(full).filter(([k]) => k !== missing));
      for (const version of [2, 1] as Version[]) {
        const answer = await ocs(ocm, target, version, 'POST', '/shares', { form });
        expectFailure(answer, version, (c) => c >= 400 && c < 500, 'a 400-class status', `OCS v${version} POST /shares without ${missing}`);
        const body = registry.validate('ocs', 'OcsErrorResponse', answer.json);
        expect(body.ok ? [] : body.issues, `OCS v${version} without ${missing}: a valid failure envelope`).toEqual([]);
      }
    }
    expect(
      peer.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/shares')).length,
      'no share reached the peer',
    ).toBe(0);
  },
);

// ---------------------------------------------------------------- OCS-3, OCS-4

check(['OCS-3'], 'POST /shares/pending/{id} moves a pending received share to state 0 (accepted)', async ({ target, peer, ocm }) => {
  needOcs(target);
  const { id, share, name } = await pendingShare(ocm, target, peer);
  const answer = await ocs(ocm, target, 2, 'POST', `/shares/pending/${encodeURIComponent(id)}`);
  expectOk(answer, 2, 'OcsShareListResponse', `POST /shares/pending/${id}`);
  const after = findReceived((await receivedList(ocm, target)).shares, share, name);
  expect(Number(after?.state), 'the share is accepted (state 0)').toBe(STATE.accepted);
  const accepted = await ocs(ocm, target, 2, 'GET', '/shares?shared_with_me=true&state=0');
  expectOk(accepted, 2, 'OcsShareListResponse', 'GET /shares?shared_with_me=true&state=0');
  expect(findReceived(accepted.json.ocs.data, share, name), 'it is listed among the accepted shares').toBeDefined();
});

check(['OCS-4'], 'DELETE /shares/pending/{id} moves a pending received share to state 2 (declined)', async ({ target, peer, ocm }) => {
  needOcs(target);
  const { id, share, name } = await pendingShare(ocm, target, peer);
  const answer = await ocs(ocm, target, 2, 'DELETE', `/shares/pending/${encodeURIComponent(id)}`);
  expect(answer.status, `DELETE /shares/pending/${id}: ${show(answer)}`).toBe(200);
  expect(metaOf(answer)?.status, `DELETE /shares/pending/${id}: ${show(answer)}`).toBe('ok');
  const after = findReceived((await receivedList(ocm, target)).shares, share, name);
  expect(Number(after?.state), 'the share is declined (state 2)').toBe(STATE.declined);
  const declined = await ocs(ocm, target, 2, 'GET', '/shares?shared_with_me=true&state=2');
  expectOk(declined, 2, 'OcsShareListResponse', 'GET /shares?shared_with_me=true&state=2');
  expect(findReceived(declined.json.ocs.data, share, name), 'it is listed among the declined shares').toBeDefined();
});

// ---------------------------------------------------------------- OCS-5

check(['OCS-5'], 'DELETE /shares/{id} of an outgoing share removes it and sends the peer SHARE_UNSHARED', async ({ target, peer, ocm }) => {
  needOcs(target);
  const user = await contact(ocm, target, peer);
  const from = peer.requests.length;
  const created = await ocs(ocm, target, 2, 'POST', '/shares', { form: createForm(peer, user, target.context.target.resources.file) });
  expectOk(created, 2, 'OcsShareResponse', 'POST /shares');
  const id = String(created.json.ocs.data.id);
  const delivered = await deliveredShare(peer, from);
  const providerId = delivered?.body?.providerId;
  expect(typeof providerId, 'the peer received the share with a providerId').toBe('string');
  secretsOf(delivered);
  const afterCreate = peer.requests.length;
  const removed = await ocs(ocm, target, 2, 'DELETE', `/shares/${encodeURIComponent(id)}`);
  expect(removed.status, `DELETE /shares/${id}: ${show(removed)}`).toBe(200);
  expect(metaOf(removed)?.status, `DELETE /shares/${id}: ${show(removed)}`).toBe('ok');
  const gone = await ocs(ocm, target, 2, 'GET', `/shares/${encodeURIComponent(id)}`);
  expectFailure(gone, 2, (c) => NOT_FOUND_CODES.includes(c), 'not found', `GET /shares/${id} after the removal`);
  const listed = await ocs(ocm, target, 2, 'GET', '/shares');
  expectOk(listed, 2, 'OcsShareListResponse', 'GET /shares');
  expect(
    (listed.json.ocs.data as Any[]).some((s) => String(s.id) === id),
    'the removed share is no longer listed',
  ).toBe(false);
  const notification = await eventually(async () =>
    peer.requests
      .slice(afterCreate)
      .find((r) => r.method === 'POST' && r.path.endsWith('/notifications') && r.body?.providerId === providerId),
  );
  expect(notification, `a POST /notifications about providerId ${providerId} reached ${peer.domain} within 5 s`).toBeDefined();
  expect(notification!.body.notificationType).toBe('SHARE_UNSHARED');
});

// ---------------------------------------------------------------- OCS-6

check(
  ['OCS-6'],
  'shared_with_me=true&state=all lists received OCM shares with share_type 6 and their state, without their secret',
  async ({ target, peer, ocm }) => {
    needOcs(target);
    const pending = await pendingShare(ocm, target, peer);
    const declined = await pendingShare(ocm, target, peer);
    const decline = await ocs(ocm, target, 2, 'DELETE', `/shares/pending/${encodeURIComponent(declined.id)}`);
    if (metaOf(decline)?.status !== 'ok') throw new StepFailed([`decline share ${declined.id}`], decline.status, show(decline));
    for (const version of [2, 1] as Version[]) {
      const { answer, shares } = await receivedList(ocm, target, version);
      const a = findReceived(shares, pending.share, pending.name);
      const b = findReceived(shares, declined.share, declined.name);
      expect(a, `v${version}: the pending share is listed`).toBeDefined();
      expect(b, `v${version}: the declined share is listed`).toBeDefined();
      expect([Number(a!.share_type), Number(b!.share_type)], `v${version}: both are federated shares (share_type 6)`).toEqual([6, 6]);
      expect([Number(a!.state), Number(b!.state)], `v${version}: their states are pending (1) and declined (2)`).toEqual([
        STATE.pending,
        STATE.declined,
      ]);
      for (const secret of [pending.share.secret, declined.share.secret])
        expect(answer.text.includes(secret), `v${version}: the listing reveals a share's secret`).toBe(false);
    }
  },
);

// ---------------------------------------------------------------- OCS-7

check(
  ['OCS-7'],
  'accepting, declining or deleting an unknown share id gives the OCS not-found status (v2: HTTP 404)',
  async ({ target, ocm }) => {
    needOcs(target);
    const calls: Array<[string, string]> = [
      ['POST', '/shares/pending/'],
      ['DELETE', '/shares/pending/'],
      ['DELETE', '/shares/'],
    ];
    for (const [method, prefix] of calls) {
      for (const version of [2, 1] as Version[]) {
        const id = randomUUID();
        const answer = await ocs(ocm, target, version, method, `${prefix}${id}`);
        expectFailure(
          answer,
          version,
          (c) => NOT_FOUND_CODES.includes(c),
          "the not-found status (404, or reva's 998)",
          `OCS v${version} ${method} ${prefix}<unknown id>`,
        );
        if (version === 2) expect(answer.status, `OCS v2 ${method} ${prefix}<unknown id>: HTTP 404: ${show(answer)}`).toBe(404);
      }
    }
  },
);
