/**
 * HTTP Message Signatures (spec: HTTP Message Signatures › Applicability,
 * Signing Requirements, Keys and Algorithms, Verification Requirements;
 * Appendix B; Share Creation Notification › Decision to Discard; the 1.2
 * Appendix B for draft-cavage).
 *
 * Two roles:
 *
 *  - SIGNER (passive, SIG-1…5, SIG-16): the driver makes the target send the
 *    peer — which advertises http-sig — every kind of request it can: an
 *    invite acceptance (the target's user accepts a peer invite), a share
 *    and its SHARE_UNSHARED (the target's user shares, then unshares),
 *    SHARE_ACCEPTED and SHARE_DECLINED (the user answers shares the peer
 *    offered) and a token request (the user reads a peer share that
 *    requires must-exchange-token). Every POST the peer records is then
 *    judged: covered components, parameters, the one OCM signature, the
 *    Content-Digest, the algorithm, and the peer's verdict of verifying it
 *    with the target's JWK Set.
 *
 *  - VERIFIER (black-box, SIG-6…15, 17…21): the peer POSTs crafted shares
 *    (and one invite acceptance) to the target, each wrong in exactly one
 *    way. The target verifies with the peer's JWK Set at `<peer
 *    endPoint>/jwks` (Ed25519, kid `<host:port>#key-1`), or, for a 1.2-era
 *    target, with the RSA draft-cavage `publicKey` of the peer's discovery.
 *    First a positive control: a fresh share built the same way and signed
 *    correctly must be taken (and listed), else the check is not run (setup
 *    failed), so a target that refuses everything or a driver that lists
 *    nothing cannot pass it. Then the refusal must be a 4xx and must store
 *    nothing: where the driver can list received shares, the share must not
 *    show up. Then the same share, correctly signed, must be taken (and
 *    listed): the refused attempt left nothing behind.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { check, discoveryUrl, expect, needDriver, notRun, test, type CheckFixtures } from '../harness/fixtures.ts';
import { advertises, suiteContext } from '../harness/context.ts';
import { DriverUnsupported, type ReceivedShareView } from '../harness/drivers.ts';
import { StepFailed } from '../harness/step.ts';
import {
  becomeContact,
  eventually,
  peerPost,
  rawPathRequest,
  requestToken,
  sentDespiteFailedStep,
  sharePayload,
  stepEvenIfSent,
  targetAddress,
  tokenRequestFields,
} from '../harness/ocm-actions.ts';
import type { PeerShare, PeerSimulator, PeerUser, RecordedRequest } from '../harness/peer-simulator.ts';
import type { SelectedRequirement } from '../harness/requirements.ts';
import type { Answer } from '../../results/transcript.ts';
import { CAVAGE_HEADERS } from '../harness/cavage.ts';
import {
  appendSignature,
  computeContentDigest,
  createMessageSignature,
  digestBytes,
  generateEd25519SigningKey,
  parseContentDigest,
  signaturesIn,
  signRequest,
  type FoundSignature,
  type Jwk,
  type SigningKey,
} from '../harness/http-signatures.ts';

const context = suiteContext();
/** The variant of the spec-conflict reading in force for a requirement (see spec-conflicts.ts). */
const readingVariant = (id: string): string | undefined => (context.selected.get(id) as SelectedRequirement | undefined)?.reading?.variant;
const criteria: string[] = Array.isArray(context.discovery?.criteria) ? context.discovery.criteria : [];
/** 1.4.0 (draft-05) identified the OCM signature by its label `ocm`; draft-06 and main by `tag="ocm"`. */
const BY_LABEL = readingVariant('SIG-3') === 'by-label';
/** 1.4.0 (draft-05) made `date` a mandatory covered component; main does not cover it. */
const DATE_REQUIRED = readingVariant('SIG-1') === 'date-required' || readingVariant('SIG-6') === 'date-mandatory';
/** keyid became a mandatory parameter in main. */
const KEYID_REQUIRED = context.profile === 'main';
const REQUIRED_COMPONENTS = ['@method', '@target-uri', 'content-digest', 'content-length', ...(DATE_REQUIRED ? ['date'] : [])];
/** RFC 9421 §6.2 asymmetric algorithms; hmac-sha256 is the registry's symmetric one. */
const ASYMMETRIC_HTTPSIG = ['ed25519', 'ecdsa-p256-sha256', 'ecdsa-p384-sha384', 'rsa-pss-sha512', 'rsa-v1_5-sha256'];
/** RFC 9530 algorithms with status Active (the rest of the registry is deprecated). */
const REGISTERED_DIGESTS = ['sha-256', 'sha-512'];

type Fixtures = Pick<CheckFixtures, 'target' | 'peer' | 'ocm'>;

/** A component for a check title: no `@` there, Playwright would read `@method` as a tag. */
function titled(component: string): string {
  return component.startsWith('@') ? `the derived component ${component.slice(1)}` : `the field ${component}`;
}

// =========================================================== signer role

/** One POST the target sent to the peer. */
interface Sent {
  kind: string;
  request: RecordedRequest;
}

function headerText(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Every signature of a request (parse failures yield an empty list and a reason). */
function signaturesOf(request: RecordedRequest): { found: FoundSignature[]; problem?: string } {
  const input = headerText(request, 'signature-input');
  if (input === undefined) return { found: [], problem: 'no Signature-Input field' };
  try {
    return { found: signaturesIn(request.headers) };
  } catch (error) {
    return { found: [], problem: `Signature-Input or Signature does not parse: ${(error as Error).message}` };
  }
}

/** How often a dictionary member `label` appears in a (possibly combined) field value. */
function memberCount(field: string, label: string): number {
  return field.match(new RegExp(`(?:^|,)\\s*${label}\\s*=`, 'g'))?.length ?? 0;
}

/** The OCM signatures of a request under the reading in force: tag="ocm" (main, draft-06) or label ocm (1.4.0). */
function ocmSignatures(request: RecordedRequest): { found: FoundSignature[]; problem?: string } {
  const all = signaturesOf(request);
  const found = all.found.filter((s) =>
    BY_LABEL ? s.label === 'ocm' : s.params.get('tag')?.type === 'string' && s.params.get('tag')?.value === 'ocm',
  );
  return { found, ...(all.problem ? { problem: all.problem } : {}) };
}

/** The request's one OCM signature, failing the check when there is none. */
function theOcmSignature(sent: Sent): FoundSignature {
  const { found, problem } = ocmSignatures(sent.request);
  expect(
    found.length,
    `${named(sent)} carries an OCM signature (${BY_LABEL ? 'label ocm' : 'tag="ocm"'})${problem ? `: ${problem}` : ''}`,
  ).toBeGreaterThan(0);
  return found[0]!;
}

function named(sent: Sent): string {
  return `the ${sent.kind} (POST ${sent.request.path})`;
}

function param(signature: FoundSignature, name: string): { type: string; value: unknown } | undefined {
  return signature.params.get(name);
}

/** Runs one way of making the target send something; a step the driver lacks or that fails is noted, not fatal. */
async function produce(testInfo: import('@playwright/test').TestInfo, kind: string, step: () => Promise<void>): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (error) {
    if (!(error instanceof DriverUnsupported) && !(error instanceof StepFailed) && !(error instanceof NotProduced)) throw error;
    testInfo.annotations.push({ type: 'note', description: `${kind} not examined: ${(error as Error).message}` });
    return false;
  }
}

class NotProduced extends Error {}

/** Waits for the first POST on `pathSuffix` (matching `match`) recorded by `peer` after index `from`. */
async function arrival(
  peer: PeerSimulator,
  from: number,
  pathSuffix: string,
  what: string,
  match: (r: RecordedRequest) => boolean = () => true,
): Promise<RecordedRequest> {
  const found = await eventually(async () =>
    peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith(pathSuffix) && match(r)),
  );
  if (!found) throw new NotProduced(`no ${what} reached ${peer.name} within 5 s`);
  return found;
}

/** A share the peer offers the target user; answers the target's view of it once listed. */
async function offerToTarget(
  { target, peer, ocm }: Fixtures,
  sender: PeerUser,
  options: { requirements?: string[] } = {},
): Promise<{ share: PeerShare; view: ReceivedShareView }> {
  const share = peer.createShare('/welcome.txt', options.requirements ? { requirements: options.requirements } : {});
  const name = `sig-${randomUUID().slice(0, 8)}.txt`;
  const answer = await peerPost(ocm, target, peer, '/shares', sharePayload(peer, share, targetAddress(target), sender, { name }), {
    sign: true,
  });
  if (answer.status !== 201)
    throw new NotProduced(`the target did not take the peer's share (${answer.status}): ${answer.text.slice(0, 200)}`);
  const view = await eventually(
    async () => (await target.driver.listReceived(target.user)).find((s) => s.remoteId === share.id || s.name === name),
    3000,
    100,
  );
  if (!view) throw new NotProduced(`the share ${name} did not show up among ${target.user.username}'s received shares`);
  return { share, view };
}

/**
 * The target's traffic as this worker's peer recorded it, kept once it was
 * produced in full: SIG-1..5 and SIG-16 all judge "every request the target
 * sends", so they judge one sample rather than each making the target go
 * through the whole exchange again (and, against a target that never sends
 * some kind, each waiting 5 s for it). A production that failed is not kept:
 * the next check tries again.
 */
let trafficSample: { peer: string; sent: Sent[]; notes: string[]; during: string } | undefined;

/**
 * Makes the target send the peer every kind of request the driver allows,
 * and returns every POST the peer recorded meanwhile (with its kind).
 * The share is the one kind that must be produced.
 */
async function targetTraffic(fixtures: Fixtures, testInfo: import('@playwright/test').TestInfo): Promise<Sent[]> {
  const { target, peer } = fixtures;
  needDriver(target, 'shareWith');
  expect(peer.discovery.capabilities, 'the peer advertises http-sig').toContain('http-sig');
  if (trafficSample?.peer === peer.domain) {
    for (const description of trafficSample.notes) testInfo.annotations.push({ type: 'note', description });
    testInfo.annotations.push({
      type: 'note',
      description: `judged the target's requests that ${peer.name} recorded during "${trafficSample.during}" (one sample per worker)`,
    });
    // In this check's transcript too, as what the peer received.
    peer.requests.push(...trafficSample.sent.map((s) => s.request));
    return trafficSample.sent;
  }
  const notesBefore = testInfo.annotations.length;
  const sent = await produceTargetTraffic(fixtures, testInfo);
  const notes = testInfo.annotations
    .slice(notesBefore)
    .filter((a) => a.type === 'note' && a.description)
    .map((a) => a.description!);
  trafficSample = { peer: peer.domain, sent, notes, during: testInfo.title };
  return sent;
}

async function produceTargetTraffic(fixtures: Fixtures, testInfo: import('@playwright/test').TestInfo): Promise<Sent[]> {
  const { target, peer, ocm } = fixtures;
  const from = peer.requests.length;
  const peerUser = peer.newUser('sig');

  // The target's user accepts an invite of the peer's user: POST /invite-accepted (and a contact for what follows).
  const invited = await produce(testInfo, 'invite acceptance', async () => {
    const invite = peer.createInvite(peerUser);
    await target.driver.acceptInvite(target.user, { token: invite.token, providerDomain: peer.domain });
    await arrival(peer, from, '/invite-accepted', 'POST /invite-accepted');
  });
  if (!invited && target.driver.supports('generateInvite')) await becomeContact(ocm, target, peer, peerUser);

  // The target's user shares with the peer's user (mandatory), then unshares: POST /shares, POST /notifications.
  const mark = peer.requests.length;
  // The peer may refuse what the target sends (a bad signature), and the target's share then fails: what was sent is judged.
  const { id, failed } = await stepEvenIfSent('the target shares with the peer', () =>
    target.driver.shareWith(target.user, {
      path: target.context.target.resources.file,
      recipient: { userId: peerUser.id, domain: peer.domain },
      role: 'viewer',
    }),
  );
  const share = await eventually(
    async () => peer.requests.slice(mark).find((r) => r.method === 'POST' && r.path.endsWith('/shares')),
    failed ? 1000 : 5000,
  );
  if (failed && !share) throw failed;
  if (failed) sentDespiteFailedStep(failed);
  expect(share, `a POST /shares reached ${peer.name} after the driver shared ${target.context.target.resources.file}`).toBeTruthy();
  await produce(testInfo, 'SHARE_UNSHARED notification', async () => {
    const before = peer.requests.length;
    if (id === undefined) throw new NotProduced('the driver reported no share id to unshare');
    await target.driver.unshare(target.user, id);
    await arrival(peer, before, '/notifications', 'SHARE_UNSHARED notification', (r) => r.body?.notificationType === 'SHARE_UNSHARED');
  });

  // The user accepts a share the peer offered: SHARE_ACCEPTED; reading it, when it requires token exchange: the token request.
  const exchange = advertises('exchange-token');
  await produce(testInfo, 'SHARE_ACCEPTED notification', async () => {
    const { share: offered, view } = await offerToTarget(fixtures, peerUser, exchange ? { requirements: ['must-exchange-token'] } : {});
    const before = peer.requests.length;
    await target.driver.acceptShare(target.user, view.id);
    await arrival(peer, before, '/notifications', 'SHARE_ACCEPTED notification', (r) => r.body?.notificationType === 'SHARE_ACCEPTED');
    if (!exchange) {
      testInfo.annotations.push({ type: 'note', description: 'token request not examined: the target does not advertise exchange-token' });
      return;
    }
    await produce(testInfo, 'token request', async () => {
      const beforeRead = peer.requests.length;
      await target.driver.readReceived(target.user, view.id);
      await arrival(peer, beforeRead, '/token', 'token request', (r) => r.body?.code === offered.secret);
    });
  });

  // The user declines another: SHARE_DECLINED.
  await produce(testInfo, 'SHARE_DECLINED notification', async () => {
    const { view } = await offerToTarget(fixtures, peerUser);
    const before = peer.requests.length;
    await target.driver.declineShare(target.user, view.id);
    await arrival(peer, before, '/notifications', 'SHARE_DECLINED notification', (r) => r.body?.notificationType === 'SHARE_DECLINED');
  });

  const sent = peer.requests.slice(from).filter((r) => r.method === 'POST' && r.path.startsWith('/ocm/'));
  const kinds = sent.map((request) => ({ kind: kindOf(request), request }));
  testInfo.annotations.push({ type: 'observation', description: `examined: ${kinds.map((k) => k.kind).join(', ')}` });
  return kinds;
}

function kindOf(request: RecordedRequest): string {
  const tail = request.path.replace(/^\/ocm\//, '');
  if (tail === 'notifications') return `${String(request.body?.notificationType ?? 'unknown')} notification`;
  if (tail === 'shares') return 'share';
  if (tail === 'invite-accepted') return 'invite acceptance';
  if (tail === 'token') return 'token request';
  return `POST /ocm/${tail}`;
}

/**
 * The target's JWK Set: discovery jwksUri (main; a relative one resolved against the discovery origin, as
 * DISC-14 reports it), else the 1.3–1.4.0 fixed location.
 */
async function targetJwks({ target, ocm }: Fixtures): Promise<Jwk[]> {
  const uri = target.discovery?.jwksUri === undefined ? `${target.origin}/.well-known/jwks.json` : discoveryUrl(target, 'jwksUri');
  const answer = await ocm.request(uri);
  expect(answer.status, `GET ${uri} (the target's JWK Set)`).toBe(200);
  const keys = answer.json?.keys;
  expect(Array.isArray(keys), `${uri} holds a JWK Set {keys: [...]}`).toBe(true);
  return keys as Jwk[];
}

// ---------------------------------------------------------------- SIG-14
// First in the file: it waits twice for the target to refresh what it knows of the peer (about 2 s of
// pauses), so it starts while the other worker still has checks to run, instead of ending the run alone.

/** A broken OCM signature: right shape and key, wrong bytes. Any verifier refuses it. */
function brokenHeaders(peer: PeerSimulator, url: string, body: string): Record<string, string> {
  const headers = craftHeaders(peer, url, body);
  return { ...headers, signature: `ocm=:${Buffer.alloc(64, 7).toString('base64')}:` };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `probe` until it holds (true) or the attempts are used up (false).
 * A target that caches the peer's discovery sees a change the peer made only
 * when it fetches the document again: between attempts it is sent a broken
 * signature (which it must refuse anyway, and which makes a verifier that
 * refreshes keys after a failed signature fetch the peer's documents again)
 * and given a moment.
 */
async function afterRefresh(fixtures: Fixtures, probe: () => Promise<boolean>, attempts = 4): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await probe()) return true;
    if (attempt === attempts - 1) break;
    await pause(1100);
    const nudge = await prepareOffer(fixtures);
    await post(fixtures, sharesUrl(fixtures), brokenHeaders(fixtures.peer, sharesUrl(fixtures), nudge.body), nudge.body);
  }
  return false;
}

/** Unsigned share probes until the target takes one (`taken`) or refuses one (`!taken`). */
async function untilUnsigned(fixtures: Fixtures, taken: boolean): Promise<boolean> {
  return afterRefresh(fixtures, async () => {
    const probe = await prepareOffer(fixtures);
    const answer = await post(fixtures, sharesUrl(fixtures), { 'content-type': 'application/json' }, probe.body);
    return (answer.status === 201) === taken;
  });
}

check(
  ['SIG-14'],
  'from a peer that does not advertise http-sig, an unsigned share is taken but a broken signature is refused',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    if (criteria.includes('must-use-http-sig'))
      notRun('the target demands must-use-http-sig: it takes no unsigned request, so "would take it unsigned" cannot be arranged');
    const advertised = [...peer.discovery.capabilities];
    peer.discovery.capabilities = advertised.filter((c) => c !== 'http-sig');
    try {
      const premise = await untilUnsigned(fixtures, true);
      if (!premise) {
        notRun(
          `the target refused unsigned shares from ${peer.domain} even after the peer stopped advertising http-sig (it may cache the peer's discovery): no request it would take unsigned`,
        );
      }
      await refusedShare(fixtures, testInfo, 'a broken signature from a peer whose unsigned shares are taken', (offer, url) => ({
        headers: brokenHeaders(peer, url, offer.body),
      }));
    } finally {
      // Later checks rely on the target seeing the peer as a signer again.
      peer.discovery.capabilities = advertised;
      const restored = await untilUnsigned(fixtures, false);
      if (!restored)
        testInfo.annotations.push({
          type: 'note',
          description: `the target still takes unsigned shares from ${peer.domain} after the peer advertises http-sig again`,
        });
    }
  },
);

check(
  ['SIG-1'],
  `every request the target sends the peer covers ${REQUIRED_COMPONENTS.map(titled).join(', ')}`,
  async (fixtures, testInfo) => {
    for (const sent of await targetTraffic(fixtures, testInfo)) {
      const signature = theOcmSignature(sent);
      expect(signature.components, `components covered by the OCM signature of ${named(sent)}`).toEqual(
        expect.arrayContaining(REQUIRED_COMPONENTS),
      );
      if (DATE_REQUIRED) expect(headerText(sent.request, 'date'), `${named(sent)} covers date, so it carries a Date field`).toBeTruthy();
    }
  },
);

check(
  ['SIG-2'],
  KEYID_REQUIRED
    ? 'every signature has an integer created and a keyid that is a kid of the target JWK Set'
    : 'every signature has an integer created',
  async (fixtures, testInfo) => {
    const traffic = await targetTraffic(fixtures, testInfo);
    const kids = KEYID_REQUIRED ? (await targetJwks(fixtures)).map((k) => k.kid) : [];
    for (const sent of traffic) {
      const signature = theOcmSignature(sent);
      const created = param(signature, 'created');
      expect(created?.type, `created of ${named(sent)}: ${JSON.stringify(created?.value)}`).toBe('integer');
      if (!KEYID_REQUIRED) continue;
      const keyid = param(signature, 'keyid');
      expect(keyid?.type, `keyid of ${named(sent)}: ${JSON.stringify(keyid?.value)}`).toBe('string');
      expect(kids, `keyid ${JSON.stringify(keyid?.value)} of ${named(sent)} among the kids of the target's JWK Set`).toContain(
        keyid!.value,
      );
    }
  },
);

check(
  ['SIG-3'],
  BY_LABEL
    ? 'every request carries exactly one signature labelled ocm'
    : 'every request carries exactly one signature with tag="ocm", with its value',
  async (fixtures, testInfo) => {
    for (const sent of await targetTraffic(fixtures, testInfo)) {
      const { found, problem } = ocmSignatures(sent.request);
      expect(
        found.map((s) => s.label),
        `OCM signatures of ${named(sent)}${problem ? ` (${problem})` : ''}`,
      ).toHaveLength(1);
      // A dictionary keeps the last of two equal labels, so two `ocm` members (e.g. on two field lines) are counted in the text.
      if (BY_LABEL)
        expect(
          memberCount(headerText(sent.request, 'signature-input') ?? '', 'ocm'),
          `Signature-Input members labelled ocm in ${named(sent)}`,
        ).toBe(1);
      expect(found[0]!.hasValue, `the Signature field of ${named(sent)} has a byte-sequence member "${found[0]!.label}"`).toBe(true);
    }
  },
);

check(['SIG-4'], 'every Content-Digest uses registered algorithms and its sha-256 matches the body', async (fixtures, testInfo) => {
  for (const sent of await targetTraffic(fixtures, testInfo)) {
    const field = headerText(sent.request, 'content-digest');
    expect(field, `${named(sent)} carries Content-Digest`).toBeTruthy();
    let members: Map<string, Buffer>;
    try {
      members = parseContentDigest(field!);
    } catch (error) {
      throw new Error(`Content-Digest of ${named(sent)} does not parse (${field}): ${(error as Error).message}`);
    }
    for (const alg of members.keys()) expect(REGISTERED_DIGESTS, `Content-Digest algorithm ${alg} of ${named(sent)}`).toContain(alg);
    expect([...members.keys()], `Content-Digest of ${named(sent)} has sha-256`).toContain('sha-256');
    for (const [alg, value] of members) {
      const expected = digestBytes(sent.request.rawBody, alg as 'sha-256' | 'sha-512');
      expect(value.equals(expected), `Content-Digest ${alg} of ${named(sent)} matches its ${sent.request.rawBody.length}-byte body`).toBe(
        true,
      );
    }
  }
});

check(['SIG-5'], 'the target signs with an asymmetric algorithm and publishes no HMAC or none key', async (fixtures, testInfo) => {
  const traffic = await targetTraffic(fixtures, testInfo);
  const jwks = await targetJwks(fixtures);
  // Keys and Algorithms: every published JWK names an asymmetric alg; HS* and none are forbidden.
  for (const key of jwks) {
    expect(['OKP', 'EC', 'RSA'], `kty of JWK ${JSON.stringify(key.kid)} in the target's JWK Set`).toContain(key.kty);
    expect(
      /^(HS\d+|none)$/i.test(String(key.alg ?? '')),
      `alg ${JSON.stringify(key.alg)} of JWK ${JSON.stringify(key.kid)} is symmetric or none`,
    ).toBe(false);
  }
  for (const sent of traffic) {
    const signature = theOcmSignature(sent);
    const alg = param(signature, 'alg');
    if (alg !== undefined) expect(ASYMMETRIC_HTTPSIG, `alg parameter of ${named(sent)}`).toContain(alg.value);
  }
});

check(
  ['SIG-16'],
  'every request the target sends a peer advertising http-sig carries an OCM signature that verifies with the target JWK Set',
  async (fixtures, testInfo) => {
    const traffic = await targetTraffic(fixtures, testInfo);
    expect(traffic.length, 'the target sent the peer at least one request').toBeGreaterThan(0);
    for (const sent of traffic) {
      expect(sent.request.signature, `verdict of verifying ${named(sent)} with the target's JWK Set`).toEqual(
        expect.objectContaining({ status: 'valid' }),
      );
    }
  },
);

// ========================================================= verifier role

/** A share from a fresh peer user to the target user, under a unique name; not sent yet. */
interface Offer {
  user: PeerUser;
  share: PeerShare;
  payload: Record<string, any>;
  body: string;
}

/** A fresh peer user allowed to share with the target user (a contact first when the target demands must-invite). */
async function freshSender({ target, peer, ocm }: Fixtures): Promise<PeerUser> {
  const user = peer.newUser('signer');
  if (criteria.includes('must-invite')) {
    const done = await becomeContact(ocm, target, peer, user);
    if (!done) notRun('the target only takes shares from contacts (must-invite) and its driver cannot generate an invite');
  }
  return user;
}

async function prepareOffer(fixtures: Fixtures): Promise<Offer> {
  const { target, peer } = fixtures;
  const user = await freshSender(fixtures);
  const share = peer.createShare('/welcome.txt');
  // A name of fixed length, so one character can be changed without changing the Content-Length (SIG-12).
  const payload = sharePayload(peer, share, targetAddress(target), user, { name: `sig-${randomUUID().slice(0, 8)}.txt` });
  return { user, share, payload, body: JSON.stringify(payload) };
}

interface Craft {
  components?: readonly string[];
  /** Parameters; undefined values are left out. Defaults: created now, keyid, alg, tag. */
  params?: Record<string, string | number | undefined>;
  key?: Pick<SigningKey, 'privateKey' | 'alg'>;
  label?: string;
  /** Content-Digest to send (and cover) instead of the body's sha-256. */
  contentDigest?: string;
  /** Extra fields added before signing (e.g. a Date to cover). */
  headers?: Record<string, string>;
}

/** Headers for a POST of `body` to `url`, signed by `peer` as `craft` says (covered fields included). */
function craftHeaders(peer: PeerSimulator, url: string, body: string, craft: Craft = {}): Record<string, string> {
  const components = craft.components ?? REQUIRED_COMPONENTS;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(components.includes('date') || DATE_REQUIRED ? { date: new Date().toUTCString() } : {}),
    ...craft.headers,
    'content-digest': craft.contentDigest ?? computeContentDigest(body),
    'content-length': String(Buffer.byteLength(body)),
  };
  const params = { created: Math.floor(Date.now() / 1000), keyid: peer.key.kid, alg: 'ed25519', tag: 'ocm', ...craft.params };
  const signature = createMessageSignature({ method: 'POST', url, headers }, { key: craft.key ?? peer.key, components, params });
  return { ...headers, ...appendSignature(headers, craft.label ?? 'ocm', signature) };
}

/** Headers of a correct signature by `peer` under the reading in force (date covered where 1.4.0 demands it). */
function goodHeaders(peer: PeerSimulator, url: string, body: string): Record<string, string> {
  if (!DATE_REQUIRED) return { 'content-type': 'application/json', ...peer.signatureHeaders(url, body) };
  const date = new Date().toUTCString();
  return {
    'content-type': 'application/json',
    date,
    ...signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json', date }, body }, peer.key, {
      extraComponents: ['date'],
    }),
  };
}

function sharesUrl(fixtures: Fixtures): string {
  return `${fixtures.target.endPoint}/shares`;
}

async function post(fixtures: Fixtures, url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return fixtures.ocm.request(url, { method: 'POST', headers, body });
}

function show(answer: Answer): string {
  return `${answer.status} ${answer.text.slice(0, 200)}`;
}

/** A refusal: a client-error status (a 5xx is a crash, not a verdict on the signature). */
function expectRefused(answer: Answer, what: string): void {
  expect(answer.status, `${what} must be refused; the target answered ${show(answer)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${what}: refused with a 4xx, not a server error: ${show(answer)}`).toBeLessThan(500);
}

async function listedShare({ target }: Fixtures, offer: Offer): Promise<ReceivedShareView | undefined> {
  return (await target.driver.listReceived(target.user)).find((s) => s.remoteId === offer.share.id || s.name === offer.payload.name);
}

/** Nothing was stored: the target user does not list the share (when the driver can list). */
async function expectNotStored(fixtures: Fixtures, offer: Offer, testInfo: import('@playwright/test').TestInfo): Promise<void> {
  if (!fixtures.target.driver.supports('listReceived')) {
    testInfo.annotations.push({
      type: 'note',
      description: 'the driver cannot list received shares: that nothing was stored is not verified',
    });
    return;
  }
  expect(
    await listedShare(fixtures, offer),
    `the refused share ${offer.payload.name} (providerId ${offer.share.id}) must not be among ${fixtures.target.user.username}'s received shares`,
  ).toBeUndefined();
}

/** Headers of a correct signature of `body` to `url`: the RFC 9421 OCM profile unless a check says otherwise (cavage). */
type Signer = (url: string, body: string) => Record<string, string>;

/**
 * The positive control, before any negative case: a fresh share, built the
 * same way and correctly signed, must be taken and (where the driver can
 * list) listed. Otherwise the check is not run (setup failed): a target that
 * refuses everything, or a driver that lists nothing, cannot make a refusal
 * or an empty list pass.
 */
async function positiveControl(fixtures: Fixtures, signer?: Signer): Promise<void> {
  const offer = await prepareOffer(fixtures);
  const url = sharesUrl(fixtures);
  const answer = await post(fixtures, url, signer ? signer(url, offer.body) : goodHeaders(fixtures.peer, url, offer.body), offer.body);
  test.info().annotations.push({ type: 'observation', description: `positive control, a correctly signed share: ${answer.status}` });
  if (answer.status !== 201) notRun(`setup failed: a correctly signed share (the positive control): ${show(answer)}`);
  if (!fixtures.target.driver.supports('listReceived')) return;
  let listed: ReceivedShareView | undefined;
  try {
    listed = await eventually(() => listedShare(fixtures, offer), 3000, 100);
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    notRun(`setup failed: list received shares (the positive control): ${error.message}`);
  }
  if (!listed)
    notRun(
      `setup failed: the correctly signed share ${offer.payload.name} (the positive control) is not among ${fixtures.target.user.username}'s received shares, so "stores nothing" cannot be told apart`,
    );
}

/** After the refusal, the same share correctly signed is taken (and listed): the refused attempt left nothing behind. */
async function expectControlTaken(fixtures: Fixtures, offer: Offer, signer?: Signer): Promise<void> {
  const url = sharesUrl(fixtures);
  const answer = await post(fixtures, url, signer ? signer(url, offer.body) : goodHeaders(fixtures.peer, url, offer.body), offer.body);
  expect(
    answer.status,
    `the same share, correctly signed after the refusal, must be taken (the refused attempt must leave nothing behind): ${show(answer)}`,
  ).toBe(201);
  if (!fixtures.target.driver.supports('listReceived')) return;
  const listed = await eventually(() => listedShare(fixtures, offer), 3000, 100);
  expect(listed, `the correctly signed share ${offer.payload.name} is listed for ${fixtures.target.user.username}`).toBeTruthy();
}

/**
 * The positive control first (a fresh share signed by `control`, default the
 * RFC 9421 profile, must be taken: else not run), then a fresh share signed as
 * `craft` says must be refused and store nothing, and the same share signed
 * by `control` must then be taken.
 * `craft` is a signature recipe, or a function that builds the headers (and
 * may change the body sent).
 */
async function refusedShare(
  fixtures: Fixtures,
  testInfo: import('@playwright/test').TestInfo,
  what: string,
  craft: Craft | ((offer: Offer, url: string) => { headers: Record<string, string>; body?: string }),
  control?: Signer,
): Promise<void> {
  await positiveControl(fixtures, control);
  const offer = await prepareOffer(fixtures);
  const url = sharesUrl(fixtures);
  const made = typeof craft === 'function' ? craft(offer, url) : { headers: craftHeaders(fixtures.peer, url, offer.body, craft) };
  const answer = await post(fixtures, url, made.headers, made.body ?? offer.body);
  testInfo.annotations.push({ type: 'observation', description: `${what}: ${answer.status}` });
  expectRefused(answer, what);
  await expectNotStored(fixtures, offer, testInfo);
  await expectControlTaken(fixtures, offer, control);
}

// ---------------------------------------------------------------- SIG-6

for (const component of REQUIRED_COMPONENTS) {
  check(['SIG-6'], `a signature that does not cover ${titled(component)} is refused and stores nothing`, async (fixtures, testInfo) => {
    await refusedShare(fixtures, testInfo, `a signature without "${component}"`, {
      components: REQUIRED_COMPONENTS.filter((c) => c !== component),
    });
  });
}

check(['SIG-6'], 'a signature without created is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'a signature without created', { params: { created: undefined } });
});

if (KEYID_REQUIRED) {
  check(['SIG-6'], 'a signature without keyid is refused and stores nothing', async (fixtures, testInfo) => {
    await refusedShare(fixtures, testInfo, 'a signature without keyid', { params: { keyid: undefined } });
  });
}

// ---------------------------------------------------------------- SIG-7

check(['SIG-7'], 'a signature created one hour ahead is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'created = now + 1 h', { params: { created: Math.floor(Date.now() / 1000) + 3600 } });
});

check(['SIG-7'], 'a signature created one day ago is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'created = now - 1 d', { params: { created: Math.floor(Date.now() / 1000) - 86_400 } });
});

check(['SIG-7'], 'an invite acceptance signed one day ago is refused and leaves the token usable', async (fixtures, testInfo) => {
  const { target, peer } = fixtures;
  needDriver(target, 'generateInvite');
  const { token } = await target.driver.generateInvite(target.user);
  // "Leaves the token usable" needs a token nobody used before: a target handing out one token again (INV-12) cannot be probed.
  const { token: another } = await target.driver.generateInvite(target.user);
  if (another === token) notRun(`setup failed: generate an invite: the target handed out token ${token} twice (see INV-12)`);
  const url = `${target.endPoint}/invite-accepted`;
  // Positive control: another invite, accepted with a correct signature, is redeemed (else a refusal proves nothing).
  const controlUser = peer.newUser('sig7ok');
  const controlBody = JSON.stringify({
    recipientProvider: peer.domain,
    token: another,
    userID: controlUser.id,
    email: controlUser.email,
    name: controlUser.name,
  });
  const control = await post(fixtures, url, goodHeaders(peer, url, controlBody), controlBody);
  if (control.status !== 200) notRun(`setup failed: a correctly signed invite acceptance (the positive control): ${show(control)}`);
  const user = peer.newUser('sig7');
  const body = JSON.stringify({ recipientProvider: peer.domain, token, userID: user.id, email: user.email, name: user.name });
  const stale = await post(
    fixtures,
    url,
    craftHeaders(peer, url, body, { params: { created: Math.floor(Date.now() / 1000) - 86_400 } }),
    body,
  );
  testInfo.annotations.push({ type: 'observation', description: `stale acceptance: ${stale.status}` });
  expectRefused(stale, 'an invite acceptance signed a day ago');
  const fresh = await post(fixtures, url, goodHeaders(peer, url, body), body);
  expect(fresh.status, `the same acceptance, correctly signed, redeems the untouched token: ${show(fresh)}`).toBe(200);
});

// ---------------------------------------------------------------- SIG-8

check(
  ['SIG-8'],
  BY_LABEL
    ? 'two signatures labelled ocm (two field lines) are refused and store nothing'
    : 'two valid signatures with tag="ocm" are refused and store nothing',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    if (!BY_LABEL) {
      await refusedShare(fixtures, testInfo, 'two tag="ocm" signatures', (offer, url) => {
        const headers = craftHeaders(peer, url, offer.body);
        // A second, equally valid OCM signature under another label.
        const second = createMessageSignature(
          { method: 'POST', url, headers },
          {
            key: peer.key,
            components: REQUIRED_COMPONENTS,
            params: { created: Math.floor(Date.now() / 1000), keyid: peer.key.kid, alg: 'ed25519', tag: 'ocm' },
          },
        );
        return { headers: { ...headers, ...appendSignature(headers, 'ocm2', second) } };
      });
      return;
    }
    // 1.4.0: signatures are told apart by label; two `ocm` members can only travel as two field lines.
    await positiveControl(fixtures);
    const offer = await prepareOffer(fixtures);
    const url = sharesUrl(fixtures);
    const first = craftHeaders(peer, url, offer.body);
    const second = craftHeaders(peer, url, offer.body, { params: { created: Math.floor(Date.now() / 1000) - 1 } });
    const headers = {
      ...first,
      'signature-input': [first['signature-input'], second['signature-input']],
      signature: [first.signature, second.signature],
    };
    const where = new URL(url);
    // node:http sends an array value as one field line per element.
    const answer = await rawPathRequest(fixtures.ocm, where.origin, `${where.pathname}${where.search}`, {
      method: 'POST',
      headers: headers as unknown as Record<string, string>,
      body: offer.body,
    });
    const asAnswer = { status: answer.status, text: answer.text } as Answer;
    expectRefused(asAnswer, 'two signatures labelled ocm');
    await expectNotStored(fixtures, offer, testInfo);
    await expectControlTaken(fixtures, offer);
  },
);

// ---------------------------------------------------------------- SIG-9, SIG-10

check(['SIG-9'], 'a signature whose keyid is no kid of the peer JWK Set is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'keyid unknown to the peer JWK Set', {
    params: { keyid: `${fixtures.peer.domain}#key-unknown-${randomUUID().slice(0, 8)}` },
  });
});

check(['SIG-10'], 'a signature whose alg parameter contradicts the JWK alg is refused and stores nothing', async (fixtures, testInfo) => {
  // The peer's JWK says Ed25519 and the signature IS Ed25519; only the claim differs.
  await refusedShare(fixtures, testInfo, 'alg="ecdsa-p256-sha256" for an Ed25519 JWK', { params: { alg: 'ecdsa-p256-sha256' } });
});

// ---------------------------------------------------------------- SIG-11, SIG-12

check(
  ['SIG-11'],
  'a Content-Digest with a matching sha-256 and a wrong sha-512 is refused and stores nothing',
  async (fixtures, testInfo) => {
    await refusedShare(fixtures, testInfo, 'Content-Digest sha-256 right, sha-512 wrong', (offer, url) => {
      const good = computeContentDigest(offer.body, ['sha-256']);
      const wrong = computeContentDigest(`${offer.body} `, ['sha-512']);
      return { headers: craftHeaders(fixtures.peer, url, offer.body, { contentDigest: `${good}, ${wrong}` }) };
    });
  },
);

check(['SIG-12'], 'a share whose body was changed after signing is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'body changed after signing', (offer, url) => {
    const headers = craftHeaders(fixtures.peer, url, offer.body);
    // Same length, another name: Content-Length still fits, Content-Digest and signature do not.
    const name = String(offer.payload.name);
    const altered = offer.body.replace(JSON.stringify(name), JSON.stringify(`x${name.slice(1)}`));
    expect(altered).not.toBe(offer.body);
    expect(Buffer.byteLength(altered)).toBe(Buffer.byteLength(offer.body));
    return { headers, body: altered };
  });
});

// ---------------------------------------------------------------- SIG-13 (must-use-http-sig)

check(['SIG-13'], 'an unsigned share is refused and stores nothing', async (fixtures, testInfo) => {
  await refusedShare(fixtures, testInfo, 'an unsigned share', () => ({ headers: { 'content-type': 'application/json' } }));
});

check(['SIG-13'], 'an unsigned invite acceptance is refused and leaves the token usable', async (fixtures, testInfo) => {
  const { target, peer } = fixtures;
  needDriver(target, 'generateInvite');
  const { token } = await target.driver.generateInvite(target.user);
  const { token: another } = await target.driver.generateInvite(target.user);
  if (another === token) notRun(`setup failed: generate an invite: the target handed out token ${token} twice (see INV-12)`);
  // Positive control: another invite, accepted with a signature, is redeemed (else a refusal proves nothing).
  const controlUser = peer.newUser('sig13ok');
  const control = await peerPost(
    fixtures.ocm,
    target,
    peer,
    '/invite-accepted',
    { recipientProvider: peer.domain, token: another, userID: controlUser.id, email: controlUser.email, name: controlUser.name },
    { sign: true },
  );
  if (control.status !== 200) notRun(`setup failed: a signed invite acceptance (the positive control): ${show(control)}`);
  const user = peer.newUser('sig13');
  const payload = { recipientProvider: peer.domain, token, userID: user.id, email: user.email, name: user.name };
  const unsigned = await peerPost(fixtures.ocm, target, peer, '/invite-accepted', payload, { sign: false });
  testInfo.annotations.push({ type: 'observation', description: `unsigned acceptance: ${unsigned.status}` });
  expectRefused(unsigned, 'an unsigned invite acceptance');
  const signed = await peerPost(fixtures.ocm, target, peer, '/invite-accepted', payload, { sign: true });
  expect(signed.status, `the same acceptance signed redeems the untouched token: ${show(signed)}`).toBe(200);
});

/** The target's user shares the file with a fresh contact at the peer; the share as the peer received it. */
async function shareToPeer(fixtures: Fixtures): Promise<Record<string, any>> {
  const { target, peer, ocm } = fixtures;
  needDriver(target, 'generateInvite', 'shareWith');
  const user = peer.newUser('sig13');
  await becomeContact(ocm, target, peer, user);
  const from = peer.requests.length;
  await target.driver.shareWith(target.user, {
    path: target.context.target.resources.file,
    recipient: { userId: user.id, domain: peer.domain },
    role: 'viewer',
  });
  const request = await eventually(async () => peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/shares')));
  expect(request?.body, `the target sent the share to ${peer.address(user.id)}`).toEqual(expect.any(Object));
  return request!.body as Record<string, any>;
}

check(['SIG-13'], 'an unsigned notification is refused; the same one signed is taken', async (fixtures, testInfo) => {
  const share = await shareToPeer(fixtures);
  const secret = share.protocol?.webdav?.sharedSecret;
  const notification = {
    notificationType: 'SHARE_ACCEPTED',
    resourceType: share.resourceType,
    providerId: share.providerId,
    notification: typeof secret === 'string' ? { sharedSecret: secret } : {},
  };
  const unsigned = await peerPost(fixtures.ocm, fixtures.target, fixtures.peer, '/notifications', notification, { sign: false });
  testInfo.annotations.push({ type: 'observation', description: `unsigned notification: ${unsigned.status}` });
  expectRefused(unsigned, 'an unsigned SHARE_ACCEPTED');
  const signed = await peerPost(fixtures.ocm, fixtures.target, fixtures.peer, '/notifications', notification, { sign: true });
  expect(signed.status, `the same notification signed: ${show(signed)}`).toBe(201);
});

check(['SIG-13'], 'an unsigned token request is refused; the same one signed gets a token', async (fixtures, testInfo) => {
  if (!advertises('exchange-token') || typeof fixtures.target.discovery?.tokenEndPoint !== 'string')
    notRun('the target has no token endpoint (exchange-token and tokenEndPoint)');
  const share = await shareToPeer(fixtures);
  const code = share.protocol?.webdav?.sharedSecret;
  expect(typeof code, 'the share carries a sharedSecret to exchange').toBe('string');
  const unsigned = await requestToken(fixtures.ocm, fixtures.target, fixtures.peer, tokenRequestFields(fixtures.peer, code), {
    sign: false,
  });
  testInfo.annotations.push({ type: 'observation', description: `unsigned token request: ${unsigned.status}` });
  expectRefused(unsigned, 'an unsigned token request');
  const signed = await requestToken(fixtures.ocm, fixtures.target, fixtures.peer, tokenRequestFields(fixtures.peer, code));
  expect(signed.status, `the same token request signed: ${show(signed)}`).toBe(200);
});

// ---------------------------------------------------------------- SIG-15

check(
  ['SIG-15'],
  'a bogus extra signature without the OCM marker beside a valid OCM one is ignored: the share is taken',
  async (fixtures) => {
    const { peer } = fixtures;
    const offer = await prepareOffer(fixtures);
    const url = sharesUrl(fixtures);
    const headers = goodHeaders(peer, url, offer.body);
    // What a proxy might add: another label, no tag, a signature value that verifies with nothing.
    const proxy = createMessageSignature(
      { method: 'POST', url, headers },
      {
        key: generateEd25519SigningKey('proxy'),
        components: ['@method', '@target-uri'],
        params: { created: Math.floor(Date.now() / 1000), keyid: 'proxy.invalid#1' },
      },
    );
    const both = appendSignature(headers, 'proxy', { input: proxy.input, signature: Buffer.alloc(64, 1) });
    const answer = await post(fixtures, url, { ...headers, ...both }, offer.body);
    expect(answer.status, `the share with a valid OCM signature and a garbage proxy signature: ${show(answer)}`).toBe(201);
    if (fixtures.target.driver.supports('listReceived')) {
      expect(await eventually(() => listedShare(fixtures, offer), 3000, 100), `the share ${offer.payload.name} is listed`).toBeTruthy();
    }
  },
);

// ---------------------------------------------------------------- SIG-17

for (const field of ['sender', 'owner'] as const) {
  check(
    ['SIG-17'],
    `a correctly signed share whose ${field} is at another host than the signer is refused and stores nothing`,
    async ({ target, peer, peer2, ocm }, testInfo) => {
      const fixtures = { target, peer, ocm };
      // peer2: a server the target trusts, with keys of its own, that did not sign.
      const other = peer2.address(peer2.users[0]!.id);
      await refusedShare(fixtures, testInfo, `${field} ${other}, signed by ${peer.domain}`, (offer, url) => {
        const lying = JSON.stringify({ ...offer.payload, [field]: other });
        return { headers: craftHeaders(peer, url, lying), body: lying };
      });
    },
  );
}

// ---------------------------------------------------------------- SIG-18

check(
  ['SIG-18'],
  'a share signed under the sender key id with a key the sender does not publish is discarded',
  async (fixtures, testInfo) => {
    if (context.profile === '1.2') {
      // 1.2: the sender's key is the draft-cavage publicKey of its discovery.
      await cavagePremise(fixtures);
      const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      await refusedShare(
        fixtures,
        testInfo,
        'cavage-signed with a key the sender does not publish',
        (offer, url) => ({ headers: fixtures.peer.cavageSignatureHeaders(url, offer.body, { privateKey: rogue }) }),
        cavageSigner(fixtures.peer),
      );
      return;
    }
    // The sender's published kid, another key: the JWK Set at the sender host does not hold it.
    const rogue = generateEd25519SigningKey(fixtures.peer.key.kid);
    await refusedShare(fixtures, testInfo, 'signed with a key the sender does not publish', { key: rogue });
  },
);

// ---------------------------------------------------------------- SIG-18…21 (1.2, draft-cavage)

/** The target advertises draft-cavage verification: a 1.2 discovery publicKey (or the 1.2 criterion for signed requests). */
function cavageGate(): string | undefined {
  const discovery = context.discovery ?? {};
  const hasKey = (discovery.publicKey && typeof discovery.publicKey === 'object') || Array.isArray(discovery.publicKeys);
  if (hasKey || criteria.includes('http-request-signatures')) return undefined;
  return 'the target publishes no draft-cavage publicKey (nor the http-request-signatures criterion): it does not advertise cavage signatures';
}

/** A correct 1.2-era signature by `peer`: its RSA key, under the keyId its discovery publishes. */
function cavageSigner(peer: PeerSimulator): Signer {
  return (url, body) => peer.cavageSignatureHeaders(url, body);
}

/**
 * The peers play 1.2-era servers for this target (a cavage publicKey in their
 * discovery), and a correctly cavage-signed share is taken once the target has
 * seen the peer's publicKey; else the check cannot judge refusals.
 */
async function cavagePremise(fixtures: Fixtures): Promise<void> {
  if (!fixtures.peer.cavage)
    notRun('setup failed: the peers do not play 1.2-era servers for this target (neither profile 1.2 nor a publicKey in its discovery)');
  let status = 0;
  let text = '';
  const taken = await afterRefresh(fixtures, async () => {
    const offer = await prepareOffer(fixtures);
    const url = sharesUrl(fixtures);
    const answer = await post(fixtures, url, fixtures.peer.cavageSignatureHeaders(url, offer.body), offer.body);
    status = answer.status;
    text = answer.text.slice(0, 200);
    return status === 201;
  });
  if (!taken)
    notRun(
      `setup failed: the target did not take a correctly cavage-signed share from a peer publishing its publicKey (last answer ${status} ${text}): refusals cannot be judged`,
    );
}

/**
 * A 1.2-era negative case: the premise, then `refusedShare` with its positive
 * control and the control after the refusal both signed correctly with cavage.
 */
async function cavageRefused(
  fixtures: Fixtures,
  testInfo: import('@playwright/test').TestInfo,
  what: string,
  craft: (offer: Offer, url: string) => { headers: Record<string, string>; body?: string },
): Promise<void> {
  await cavagePremise(fixtures);
  await refusedShare(fixtures, testInfo, what, craft, cavageSigner(fixtures.peer));
}

check(
  ['SIG-18'],
  'a cavage signature under a keyId the sender does not publish is discarded',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    // The sender's own key and host, but a keyId its discovery does not name.
    const keyId = `${peer.endPoint}#unknown-${randomUUID().slice(0, 8)}`;
    await cavageRefused(fixtures, testInfo, `cavage keyId ${keyId}, not the published one`, (offer, url) => ({
      headers: peer.cavageSignatureHeaders(url, offer.body, { keyId }),
    }));
  },
  { unless: cavageGate },
);

check(
  ['SIG-18'],
  'a cavage signature whose keyId is no valid URL is discarded',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    // Not a URL (an unclosed IPv6 bracket): neither side may throw on it; the target finds no key under it.
    const keyId = `https://[${peer.domain}/ocm#signature`;
    expect(() => new URL(keyId), `${keyId} is no valid URL`).toThrow();
    await cavageRefused(fixtures, testInfo, `cavage keyId ${keyId}`, (offer, url) => ({
      headers: peer.cavageSignatureHeaders(url, offer.body, { keyId }),
    }));
  },
  { unless: cavageGate },
);

for (const missing of ['content-length', 'date', 'digest', 'host']) {
  check(
    ['SIG-19'],
    `a cavage signature whose headers leave out ${missing} is refused and stores nothing`,
    async (fixtures, testInfo) => {
      const { peer } = fixtures;
      await cavageRefused(fixtures, testInfo, `cavage headers without ${missing}`, (offer, url) => ({
        headers: peer.cavageSignatureHeaders(url, offer.body, { names: CAVAGE_HEADERS.filter((h) => h !== missing) }),
      }));
    },
    { unless: cavageGate },
  );
}

check(
  ['SIG-19'],
  'a cavage signature over a Digest that does not match the body is refused and stores nothing',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    await cavageRefused(fixtures, testInfo, 'cavage Digest of another body', (offer, url) => ({
      headers: peer.cavageSignatureHeaders(url, offer.body, {
        digest: `SHA-256=${digestBytes(`${offer.body} `, 'sha-256').toString('base64')}`,
      }),
    }));
  },
  { unless: cavageGate },
);

check(
  ['SIG-19'],
  'a cavage-signed share whose body was changed after signing is refused and stores nothing',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    await cavageRefused(fixtures, testInfo, 'cavage-signed body changed after signing', (offer, url) => {
      const headers = peer.cavageSignatureHeaders(url, offer.body);
      // Same length, another name: Content-Length and the signature still fit the headers; the Digest no longer fits the body.
      const name = String(offer.payload.name);
      const altered = offer.body.replace(JSON.stringify(name), JSON.stringify(`x${name.slice(1)}`));
      expect(altered).not.toBe(offer.body);
      expect(Buffer.byteLength(altered)).toBe(Buffer.byteLength(offer.body));
      return { headers, body: altered };
    });
  },
  { unless: cavageGate },
);

check(
  ['SIG-19'],
  'a cavage signature with a Date one day old is refused and stores nothing',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    await cavageRefused(fixtures, testInfo, 'cavage Date a day old', (offer, url) => ({
      headers: peer.cavageSignatureHeaders(url, offer.body, { date: new Date(Date.now() - 86_400_000) }),
    }));
  },
  { unless: cavageGate },
);

check(
  ['SIG-20'],
  'a cavage signature with forged signature bytes is refused and stores nothing',
  async (fixtures, testInfo) => {
    const { peer } = fixtures;
    await cavageRefused(fixtures, testInfo, 'cavage signature bytes forged', (offer, url) => {
      const headers = peer.cavageSignatureHeaders(url, offer.body);
      // Everything right (keyId, algorithm, headers, Date, Digest) but the signature value: random bytes of an RSA-2048 signature's length.
      const forged = randomBytes(256).toString('base64');
      return { headers: { ...headers, signature: headers.signature!.replace(/signature="[^"]*"/, `signature="${forged}"`) } };
    });
  },
  { unless: cavageGate },
);

check(
  ['SIG-21'],
  'a share from one host cavage-signed under the keyId of another host is refused and stores nothing',
  async ({ target, peer, peer2, ocm }, testInfo) => {
    const fixtures = { target, peer, ocm };
    if (!peer2.cavage) notRun('setup failed: the second peer does not play a 1.2-era server');
    // peer2: a server the target trusts, publishing its own cavage key, signs a share whose sender and owner are at peer.
    await cavageRefused(fixtures, testInfo, `cavage keyId ${peer2.cavageKeyId} for a share from ${peer.domain}`, (offer, url) => ({
      headers: peer2.cavageSignatureHeaders(url, offer.body),
    }));
  },
  { unless: cavageGate },
);
