/**
 * Share Creation Notification, the target as Receiving Server (spec: Share
 * Creation Notification › Fields and Response; Terms › OCM Address; the
 * Error schema). A simulated peer plays the Sending Server and POSTs shares
 * to the target's `<endPoint>/shares`; with a driver, the target's user
 * lists, accepts, declines and reads what the peer shared.
 *
 * Every check sends its shares from a fresh peer user; when the target
 * advertises the `must-invite` criterion, that user first becomes a contact
 * of the recipient through the invite flow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { check, expect, needDriver, notRun, type CheckFixtures } from '../harness/fixtures.ts';
import { becomeContact, eventually, expectErrorBody, peerPost, sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import { stepRequest } from '../harness/step.ts';
import { advertises, suiteContext } from '../harness/context.ts';
import { PROJECT_ROOT, type SelectedRequirement } from '../harness/requirements.ts';
import type { PeerShare, PeerSimulator, PeerUser } from '../harness/peer-simulator.ts';
import type { Answer } from '../../results/transcript.ts';
import type { ReceivedShareView } from '../harness/drivers.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';

const registry = getLazyRegistry();
const context = suiteContext();
/** The variant of the spec-conflict reading in force for a requirement (see spec-conflicts.ts). */
const readingVariant = (id: string): string | undefined => (context.selected.get(id) as SelectedRequirement | undefined)?.reading?.variant;
const criteria: string[] = Array.isArray(context.discovery?.criteria) ? context.discovery.criteria : [];
const resourceTypes: Array<{ name?: string; shareTypes?: unknown; protocols?: Record<string, unknown> }> = Array.isArray(
  context.discovery?.resourceTypes,
)
  ? context.discovery.resourceTypes
  : [];
/** Names no OCM server supports: unknown requirement and resource type values. */
const UNKNOWN_REQUIREMENT = 'x-ocm-conformance-unknown-requirement';
const UNSUPPORTED_RESOURCE_TYPE = 'x-ocm-conformance-resource';

// ------------------------------------------------------------------ helpers

type Fixtures = Pick<CheckFixtures, 'target' | 'peer' | 'ocm'>;

/** A fresh peer user allowed to share with the target user (a contact first when the target demands must-invite). */
async function freshSender({ target, peer, ocm }: Fixtures): Promise<PeerUser> {
  const user = peer.newUser('sharer');
  if (criteria.includes('must-invite')) {
    const done = await becomeContact(ocm, target, peer, user);
    if (!done) notRun('the target only takes shares from contacts (must-invite) and its driver cannot generate an invite');
  }
  return user;
}

interface Offer {
  user: PeerUser;
  share: PeerShare;
  payload: Record<string, any>;
}

/** A valid newest-draft share of `path` from a fresh peer user to the target user, built but not sent. */
async function prepareOffer(
  fixtures: Fixtures,
  path = '/welcome.txt',
  options: { requirements?: string[]; permissions?: string[] } = {},
): Promise<Offer> {
  const user = await freshSender(fixtures);
  const share = fixtures.peer.createShare(path, options);
  const payload = sharePayload(fixtures.peer, share, targetAddress(fixtures.target), user);
  return { user, share, payload };
}

async function postShare({ target, peer, ocm }: Fixtures, payload: unknown, options: { raw?: string } = {}): Promise<Answer> {
  return peerPost(ocm, target, peer, '/shares', payload, options);
}

/** The share is refused: an error status, never 2xx. */
function expectRefused(answer: Answer, what: string): void {
  expect(
    answer.status,
    `${what} must be refused; the target answered ${answer.status} ${answer.text.slice(0, 200)}`,
  ).toBeGreaterThanOrEqual(400);
}

/** A webapp protocol object satisfying every 1.4 rule, for `share`. */
function webappFor(peer: PeerSimulator, share: PeerShare): Record<string, unknown> {
  return {
    uri: `${peer.origin}/apps/viewer/${share.id}`,
    sharedSecret: share.secret,
    targets: ['blank'],
    permissions: ['view'],
    requirements: ['must-exchange-token'],
  };
}

/** Finds the share `providerId` named `name` among the target user's received shares. */
async function findReceived(target: Fixtures['target'], providerId: string, name: string): Promise<ReceivedShareView | undefined> {
  return eventually(
    async () => (await target.driver.listReceived(target.user)).find((s) => s.remoteId === providerId || s.name === name),
    3000,
    100,
  );
}

/** A share of `path` the peer sends the target user, under a unique name, and how the driver lists it. */
async function receiveShare(fixtures: Fixtures, path: string): Promise<Offer & { name: string; view: ReceivedShareView }> {
  const offer = await prepareOffer(fixtures, path);
  const extension = path.includes('.') ? path.slice(path.lastIndexOf('.')) : '';
  const name = `conformance-${randomUUID().slice(0, 8)}${extension}`;
  offer.payload.name = name;
  // A step: that a well-formed share is answered 201 is SHR-1's own check; here the peer only shares first.
  await stepRequest('the peer shares a file with the target user', () => postShare(fixtures, offer.payload), 201);
  const view = await findReceived(fixtures.target, offer.share.id, name);
  expect(
    view,
    `the share ${name} (providerId ${offer.share.id}) shows up among ${fixtures.target.user.username}'s received shares`,
  ).toBeTruthy();
  return { ...offer, name, view: view! };
}

function fixtureBytes(path: string): Buffer {
  return readFileSync(join(PROJECT_ROOT, 'fixtures/files', ...path.split('/').filter(Boolean)));
}

// ------------------------------------------------------------ valid shares

check(['SHR-1'], 'a well-formed share to an existing local user is answered 201', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  const answer = await postShare(fixtures, payload);
  expect(answer.status, answer.text.slice(0, 300)).toBe(201);
});

check(['SHR-2'], 'the 201 answer is a JSON object with a string recipientDisplayName', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  const answer = await postShare(fixtures, payload);
  expect(answer.status, answer.text.slice(0, 300)).toBe(201);
  expect(answer.json, `the body is a JSON object: ${answer.text.slice(0, 200)}`).toEqual(expect.any(Object));
  expect(typeof answer.json.recipientDisplayName, 'recipientDisplayName').toBe('string');
  expect(registry.validate('ocm', 'CreateShareResponse', answer.json)).toEqual({ ok: true });
});

check(['SHR-3'], 'answers of POST /shares, success and error, are labelled application/json', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  const created = await postShare(fixtures, payload);
  expect(created.status, created.text.slice(0, 300)).toBe(201);
  expect(created.headers.get('content-type') ?? '', 'content type of the 201 answer').toMatch(/^application\/json\b/i);
  const { payload: bad } = await prepareOffer(fixtures);
  delete bad.shareWith;
  const refused = await postShare(fixtures, bad);
  expect(refused.status).toBeGreaterThanOrEqual(400);
  expect(refused.headers.get('content-type') ?? '', `content type of the ${refused.status} answer`).toMatch(/^application\/json\b/i);
});

check(['SHR-1'], 'a received share is listed for its recipient, pending, under its name and providerId', async (fixtures) => {
  needDriver(fixtures.target, 'listReceived');
  const { view, name, share } = await receiveShare(fixtures, '/welcome.txt');
  expect(view.name).toBe(name);
  expect(view.state, 'a share nobody has answered yet').toBe('pending');
  if (view.remoteId !== undefined) expect(view.remoteId, 'the sender providerId the target shows').toBe(share.id);
});

check(['SHR-1'], 'an accepted share is read over WebDAV with a Bearer credential and identical bytes', async (fixtures) => {
  const { target, peer } = fixtures;
  needDriver(target, 'listReceived', 'acceptShare', 'readReceived');
  const { view, share } = await receiveShare(fixtures, '/sample.bin');
  await target.driver.acceptShare(target.user, view.id);
  const read = await target.driver.readReceived(target.user, view.id);
  expect(read.status, 'the target user reads the received file').toBe(200);
  expect(read.bytes.equals(fixtureBytes('/sample.bin')), `the bytes read (${read.bytes.length}) are the peer's file, byte for byte`).toBe(
    true,
  );
  const davRequests = peer.requests.filter((r) => r.path === `/dav/ocm/${share.id}` || r.path.startsWith(`/dav/ocm/${share.id}/`));
  expect(davRequests.length, "the target fetched the file from the peer's webdav.uri").toBeGreaterThan(0);
  // The Bearer is the sharedSecret, or an access token the peer's token endpoint issued for this share (code flow).
  for (const request of davRequests) {
    const authorization = String(request.headers.authorization ?? '');
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    expect(bearer, `${request.method} ${request.path} carries Authorization: Bearer (got "${authorization.split(' ')[0]}")`).toBeTruthy();
    expect(
      bearer === share.secret || share.tokens.includes(bearer!),
      `${request.method} ${request.path}: the Bearer is the share's secret or a token issued for it`,
    ).toBe(true);
  }
});

check(
  ['NTF-5'],
  'accepting a received share sends SHARE_ACCEPTED with the providerId (and resourceType) of the share',
  async (fixtures) => {
    const { target, peer } = fixtures;
    needDriver(target, 'listReceived', 'acceptShare');
    const { view, share } = await receiveShare(fixtures, '/welcome.txt');
    await target.driver.acceptShare(target.user, view.id);
    await expectAcceptanceNotification(peer, share, 'SHARE_ACCEPTED');
  },
);

check(
  ['NTF-5'],
  'declining a received share sends SHARE_DECLINED with the providerId (and resourceType) of the share',
  async (fixtures) => {
    const { target, peer } = fixtures;
    needDriver(target, 'listReceived', 'declineShare');
    const { view, share } = await receiveShare(fixtures, '/welcome.txt');
    await target.driver.declineShare(target.user, view.id);
    await expectAcceptanceNotification(peer, share, 'SHARE_DECLINED');
  },
);

async function expectAcceptanceNotification(
  peer: PeerSimulator,
  share: PeerShare,
  type: 'SHARE_ACCEPTED' | 'SHARE_DECLINED',
): Promise<void> {
  const request = await peer.waitFor('/notifications');
  expect(request, `the target POSTs a notification to the peer's /notifications after the user's answer`).toBeTruthy();
  const body = request!.body;
  expect(body?.notificationType, 'notificationType').toBe(type);
  expect(body?.providerId, 'providerId copied from the share').toBe(share.id);
  const resourceTypeRequired = readingVariant('NTF-5') === 'resource-type-always';
  if (resourceTypeRequired || body?.resourceType !== undefined)
    expect(body?.resourceType, 'resourceType copied from the share').toBe(share.resourceType);
}

// ------------------------------------------------------- required fields

const REQUIRED_FIELDS = ['shareWith', 'name', 'providerId', 'owner', 'sender', 'shareType', 'resourceType', 'protocol'].filter(
  (field) => field !== 'sender' || context.profile !== '1.0',
);
for (const field of REQUIRED_FIELDS) {
  check(['SHR-4'], `a share without ${field} gets 400 with a message`, async (fixtures) => {
    const { payload } = await prepareOffer(fixtures);
    delete payload[field];
    const answer = await postShare(fixtures, payload);
    expect(answer.status, answer.text.slice(0, 300)).toBe(400);
    expectErrorBody(answer);
  });
}

check(['SHR-5'], 'a share for a user the target does not know gets 400', async (fixtures, testInfo) => {
  const { payload } = await prepareOffer(fixtures);
  payload.shareWith = `no-such-user-${randomUUID()}@${fixtures.target.domain}`;
  const answer = await postShare(fixtures, payload);
  expect(answer.status, answer.text.slice(0, 300)).toBe(400);
  expectErrorBody(answer);
  const names = Array.isArray(answer.json?.validationErrors) ? answer.json.validationErrors.map((v: { name?: unknown }) => v?.name) : [];
  testInfo.annotations.push({
    type: 'observation',
    description: names.includes('shareWith')
      ? 'validationErrors names shareWith'
      : 'validationErrors does not name shareWith (recommended, not required)',
  });
});

// -------------------------------------------------- unsupported types (501)

const REGISTERED_SHARE_TYPES = ['group', 'federation'];
check(['SHR-6'], 'a share type the target does not take is answered 501 with a message', async (fixtures) => {
  const fileType = resourceTypes.find((t) => t.name === 'file');
  const offered = Array.isArray(fileType?.shareTypes) ? (fileType.shareTypes as string[]) : ['user'];
  const shareType = REGISTERED_SHARE_TYPES.find((t) => !offered.includes(t));
  if (!shareType) notRun(`the target advertises every registered share type for files (${offered.join(', ')})`);
  const { payload } = await prepareOffer(fixtures);
  payload.shareType = shareType;
  const answer = await postShare(fixtures, payload);
  const federationMayBeUnknown = shareType === 'federation' && readingVariant('SHR-6') === 'federation-extension';
  if (federationMayBeUnknown) expect([400, 501], answer.text.slice(0, 300)).toContain(answer.status);
  else expect(answer.status, `shareType ${shareType} is not advertised for files: ${answer.text.slice(0, 300)}`).toBe(501);
  expectErrorBody(answer);
});

check(['SHR-6'], 'a resource type the target does not take is answered 501 with a message', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  payload.resourceType = UNSUPPORTED_RESOURCE_TYPE;
  const answer = await postShare(fixtures, payload);
  expect(answer.status, answer.text.slice(0, 300)).toBe(501);
  expectErrorBody(answer);
});

// ---------------------------------------------------------- requirements

check(['SHR-8'], 'a share whose requirements hold an unknown value is refused', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  payload.protocol.webdav.requirements = [UNKNOWN_REQUIREMENT];
  expectRefused(await postShare(fixtures, payload), `requirements ["${UNKNOWN_REQUIREMENT}"]`);
});

check(['SHR-9'], 'a share with an empty requirements array is refused', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  payload.protocol.webdav.requirements = [];
  expectRefused(await postShare(fixtures, payload), 'requirements []');
});

check(['SHR-10'], 'with the must-exchange-token criterion, a share without must-exchange-token is refused', async (fixtures) => {
  const { payload } = await prepareOffer(fixtures);
  delete payload.protocol.webdav.requirements;
  expectRefused(await postShare(fixtures, payload), 'a share without must-exchange-token to a target demanding it');
});

// ----------------------------------------------------------- webapp (1.4)

const WEBAPP_DEFECTS: Array<[string, (webapp: Record<string, any>, webdav: Record<string, any>) => void]> = [
  ...['uri', 'sharedSecret', 'targets', 'permissions', 'requirements'].map(
    (field) =>
      [`without ${field}`, (webapp: Record<string, any>) => void delete webapp[field]] as [string, (webapp: Record<string, any>) => void],
  ),
  ['with empty targets', (webapp) => void (webapp.targets = [])],
  ['with empty permissions', (webapp) => void (webapp.permissions = [])],
  [
    'whose requirements lack must-exchange-token',
    (webapp, webdav) => {
      // The only other registered requirement; webdav gets the same list so the lists still agree (SHR-12).
      webapp.requirements = ['must-use-mfa'];
      webdav.requirements = ['must-use-mfa'];
    },
  ],
];
for (const [defect, spoil] of WEBAPP_DEFECTS) {
  check(['SHR-11'], `a webapp protocol ${defect} gets 400`, async (fixtures) => {
    const { peer } = fixtures;
    const { payload, share } = await prepareOffer(fixtures, '/welcome.txt', { requirements: ['must-exchange-token'] });
    const webapp = webappFor(peer, share);
    spoil(webapp, payload.protocol.webdav);
    payload.protocol.webapp = webapp;
    const answer = await postShare(fixtures, payload);
    expect(answer.status, answer.text.slice(0, 300)).toBe(400);
    expectErrorBody(answer);
  });
}

check(['SHR-12'], 'a multi share whose webdav and webapp requirements differ is refused', async (fixtures) => {
  const { peer } = fixtures;
  // webdav without requirements (bare secret access), webapp with must-exchange-token: the lists disagree.
  const { payload, share } = await prepareOffer(fixtures);
  payload.protocol.webapp = webappFor(peer, share);
  expectRefused(await postShare(fixtures, payload), 'webdav.requirements absent but webapp.requirements ["must-exchange-token"]');
});

// ------------------------------------------------------------ webdav (1.4)

const WEBDAV_REQUIRED =
  readingVariant('SHR-13') === 'uri-secret-and-permissions' ? ['uri', 'sharedSecret', 'permissions'] : ['uri', 'sharedSecret'];
for (const field of WEBDAV_REQUIRED) {
  check(['SHR-13'], `a multi share whose webdav lacks ${field} is refused`, async (fixtures) => {
    const { payload } = await prepareOffer(fixtures);
    delete payload.protocol.webdav[field];
    expectRefused(await postShare(fixtures, payload), `protocol.webdav without ${field}`);
  });
}

// ------------------------------------------------------------------- ssh

check(
  ['SHR-14'],
  'a share offering ssh gets recipientPublicKeys in its 201 answer',
  async (fixtures) => {
    const { peer } = fixtures;
    const { payload, share, user } = await prepareOffer(fixtures);
    payload.protocol.ssh = { accessTypes: ['remote'], uri: `${user.id}@${peer.host}:22/${share.id}` };
    const answer = await postShare(fixtures, payload);
    expect(answer.status, answer.text.slice(0, 300)).toBe(201);
    const keys = answer.json?.recipientPublicKeys;
    expect(Array.isArray(keys) && keys.length > 0, `recipientPublicKeys: ${JSON.stringify(keys)}`).toBe(true);
    for (const key of keys) expect(typeof key).toBe('string');
  },
  {
    unless: () =>
      resourceTypes.some((t) => t.protocols && 'ssh-receive' in t.protocols)
        ? undefined
        : 'the target does not advertise ssh-receive: it takes no ssh shares',
  },
);

// ------------------------------------------------------ protocol encodings

check(['SHR-15'], 'the protocol encodings accepted match the protocol-object claim', async (fixtures, testInfo) => {
  const { peer } = fixtures;
  const encodings: Record<string, (share: PeerShare) => Record<string, unknown>> = {
    'legacy name+options': (share) => ({
      name: 'webdav',
      options: { sharedSecret: share.secret, permissions: '{http://open-cloud-mesh.org/ns}share-permissions' },
    }),
    'name webdav + webdav object': (share) => ({
      name: 'webdav',
      webdav: { uri: `${peer.origin}/dav/ocm/${share.id}`, sharedSecret: share.secret, permissions: share.permissions },
    }),
    multi: (share) => ({
      name: 'multi',
      webdav: { uri: `${peer.origin}/dav/ocm/${share.id}`, sharedSecret: share.secret, permissions: share.permissions },
    }),
  };
  const status: Record<string, number> = {};
  for (const [encoding, protocol] of Object.entries(encodings)) {
    const { payload, share } = await prepareOffer(fixtures);
    payload.protocol = protocol(share);
    status[encoding] = (await postShare(fixtures, payload)).status;
  }
  const summary = Object.entries(status)
    .map(([encoding, s]) => `${encoding}: ${s === 201 ? 'accepted' : `refused (${s})`}`)
    .join('; ');
  testInfo.annotations.push({ type: 'observation', description: summary });
  if (advertises('protocol-object')) {
    expect(status['name webdav + webdav object'], `the target advertises protocol-object; ${summary}`).toBe(201);
    expect(status.multi, `the target advertises protocol-object; ${summary}`).toBe(201);
  } else {
    expect(status['legacy name+options'], `without protocol-object the target claims the legacy encoding only; ${summary}`).toBe(201);
  }
});

// -------------------------------------------------------------- addresses

check(['ADR-1'], 'shareWith a@b@host is split at the last @: no share for user a', async (fixtures) => {
  const { target, peer } = fixtures;
  const { payload, share } = await prepareOffer(fixtures);
  // Split at the first @ this would be the target user; split at the last @ it is "<id>@<peer>", no user of the target.
  payload.shareWith = `${target.user.id}@${peer.domain}@${target.domain}`;
  const answer = await postShare(fixtures, payload);
  expect(answer.status, `no local user is called ${target.user.id}@${peer.domain}: ${answer.text.slice(0, 300)}`).toBe(400);
  if (target.driver.supports('listReceived')) {
    const received = await target.driver.listReceived(target.user);
    expect(
      received.find((s) => s.remoteId === share.id),
      `${target.user.username} must not have received the share`,
    ).toBeUndefined();
  }
});

// ----------------------------------------------------------------- errors

check(['SHR-7', 'ERR-1'], 'every error answer of POST /shares is JSON with a string message', async (fixtures) => {
  const { target } = fixtures;
  const cases: Array<[string, (offer: Offer) => { payload?: unknown; raw?: string }]> = [
    ['missing name', ({ payload }) => (delete payload.name, { payload })],
    ['unknown recipient', ({ payload }) => ({ payload: { ...payload, shareWith: `no-such-user-${randomUUID()}@${target.domain}` } })],
    ['unsupported resource type', ({ payload }) => ({ payload: { ...payload, resourceType: UNSUPPORTED_RESOURCE_TYPE } })],
    ['unknown requirement', ({ payload }) => ((payload.protocol.webdav.requirements = [UNKNOWN_REQUIREMENT]), { payload })],
    ['body that is not JSON', () => ({ raw: '{"shareWith": ' })],
  ];
  for (const [label, make] of cases) {
    const { payload, raw } = make(await prepareOffer(fixtures));
    const answer = await postShare(fixtures, payload, raw === undefined ? {} : { raw });
    expectRefused(answer, label);
    expectErrorBody(answer, label);
  }
});
