/**
 * Share Creation Notification, the target as SENDING server (spec: Share
 * Creation Notification; its Fields; HTTP Message Signatures › Applicability).
 *
 * Every check is passive: the target's driver makes the target's user share
 * a resource with a fresh peer user (an accepted contact first, since senders
 * such as the reference only share with contacts), and the peer records what
 * arrives — the discovery fetch, the POST /shares and its signature. The peer
 * is told per check what to advertise (criteria, resource types, receive
 * protocols) before the share is made.
 */
import { check, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import { advertises, suiteContext } from '../harness/context.ts';
import { DriverStepFailed } from '../harness/drivers.ts';
import { StepFailed } from '../harness/step.ts';
import { becomeContact, isAbsoluteUri, shareFromTarget, sharedResourceUrl, type TargetShare } from '../harness/ocm-actions.ts';
import type { PeerSimulator, PeerUser } from '../harness/peer-simulator.ts';
import type { Transcript } from '../../results/transcript.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';

const registry = getLazyRegistry();

/** host[:port] as an OCM Address's server part: a DNS name or IPv4/[IPv6] literal, optional port, nothing else. */
const HOST_PORT = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** An OCM Address split at the last `@`, or undefined when it is not one. */
function parseAddress(value: unknown): { identifier: string; host: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return undefined;
  const host = value.slice(at + 1);
  return HOST_PORT.test(host) ? { identifier: value.slice(0, at), host } : undefined;
}

/** A fresh peer user who is an accepted contact of the target's user. */
async function contact(ocm: Transcript, target: TargetHandle, peer: PeerSimulator): Promise<PeerUser> {
  needDriver(target, 'generateInvite', 'shareWith');
  const peerUser = peer.newUser();
  await becomeContact(ocm, target, peer, peerUser);
  return peerUser;
}

/** The offered protocol objects of a share: every object-valued property of `protocol` except `name`. */
function offeredProtocols(share: Record<string, any>): Array<[string, any]> {
  const protocol = share.protocol;
  if (!protocol || typeof protocol !== 'object') return [];
  return Object.entries(protocol).filter(([key, value]) => key !== 'name' && value !== null && typeof value === 'object');
}

/** Every string in `value` found under a key that names a URI (uri, uriTemplate, srcUri, …) or that parses as an absolute URL. */
function uriStrings(value: unknown, path = ''): Array<{ path: string; value: string }> {
  if (typeof value === 'string') {
    const key = path.split('.').pop() ?? '';
    return /ur[il]/i.test(key) || isAbsoluteUri(value) ? [{ path, value }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => uriStrings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => uriStrings(v, path ? `${path}.${k}` : k));
  return [];
}

/** Every sharedSecret (in any protocol, legacy options included) of a share. */
function sharedSecrets(share: Record<string, any>): string[] {
  return offeredProtocols(share)
    .map(([, p]) => p.sharedSecret)
    .filter((s): s is string => typeof s === 'string' && s !== '');
}

/** The variant of a spec-conflict reading applied to `id` in this run. */
function readingOf(target: TargetHandle, id: string): string | undefined {
  const selected = target.context.selected.get(id) as { reading?: { variant?: string } } | undefined;
  return selected?.reading?.variant;
}

/** The target offers token exchange (as of the run's start): it advertises exchange-token and names a tokenEndPoint. */
function targetCanExchange(): boolean {
  return advertises('exchange-token') && typeof suiteContext().discovery?.tokenEndPoint === 'string';
}

/** Shares `path` (the plain file by default) with a fresh contact and returns what reached the peer. */
async function shareWithContact(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  path = target.context.target.resources.file,
): Promise<TargetShare> {
  const peerUser = await contact(ocm, target, peer);
  return shareFromTarget(target, peer, peerUser, { path });
}

// ---------------------------------------------------------------- discovery first

check(['SHR-16'], 'the target fetches the peer discovery before it posts the share', async ({ target, peer, ocm }) => {
  const peerUser = await contact(ocm, target, peer);
  const from = peer.requests.length;
  const share = await shareFromTarget(target, peer, peerUser, { path: target.context.target.resources.file });
  const after = peer.requests.slice(from);
  const post = after.indexOf(share.request);
  const discovery = after.findIndex((r) => r.method === 'GET' && r.path === '/.well-known/ocm');
  expect(discovery, 'a GET /.well-known/ocm reached the peer after the driver step').toBeGreaterThanOrEqual(0);
  expect(discovery, 'the discovery GET came before the POST /shares').toBeLessThan(post);
  expect(after[discovery]!.at).toBeLessThanOrEqual(share.request.at);
});

// ---------------------------------------------------------------- the payload

check(
  ['SHR-24'],
  'the share is a complete NewShare whose shareWith, owner and sender are OCM Addresses; the sender host serves discovery',
  async ({ target, peer, ocm }) => {
    const peerUser = await contact(ocm, target, peer);
    const { body } = await shareFromTarget(target, peer, peerUser, { path: target.context.target.resources.file });

    const outcome = registry.validate('ocm', 'NewShare', body);
    // webdav.permissions is required only under the yaml reading of webdav-permissions-required (SHR-26 judges it).
    const issues = outcome.ok
      ? []
      : outcome.issues.filter(
          (i) =>
            !(
              i.name === 'protocol.webdav.permissions' &&
              i.message === 'REQUIRED' &&
              readingOf(target, 'SHR-26') !== 'uri-secret-and-permissions'
            ),
        );
    expect(issues, 'problems against our strict NewShare schema').toEqual([]);

    expect(body.shareWith, 'shareWith names the recipient the driver was given').toBe(peer.address(peerUser.id));
    for (const field of ['shareWith', 'owner', 'sender'] as const) {
      expect(parseAddress(body[field]), `${field} ${JSON.stringify(body[field])} is identifier@host[:port]`).toBeDefined();
    }
    const sender = parseAddress(body.sender)!;
    const scheme = new URL(target.origin).protocol;
    const discovery = await ocm.request(`${scheme}//${sender.host}/.well-known/ocm`);
    expect(discovery.status, `GET ${scheme}//${sender.host}/.well-known/ocm`).toBe(200);
    expect(discovery.json, 'the sender host answers with a discovery document').toEqual(
      expect.objectContaining({ endPoint: expect.any(String) }),
    );
  },
);

check(['SHR-22'], 'the sharedSecret appears in no URI of the share', async ({ target, peer, ocm }) => {
  // The peer asks for absolute uris (its default), where a secret would most likely be embedded.
  const { body } = await shareWithContact(ocm, target, peer);
  const secrets = sharedSecrets(body);
  expect(secrets.length, 'the share carries a sharedSecret').toBeGreaterThan(0);
  const uris = uriStrings(body);
  for (const uri of uris) {
    let decoded = uri.value;
    try {
      decoded = decodeURIComponent(uri.value);
    } catch {
      // keep the raw value
    }
    for (const secret of secrets) {
      expect(uri.value.includes(secret) || decoded.includes(secret), `${uri.path} contains a sharedSecret`).toBe(false);
    }
  }
});

check(
  ['SHR-26'],
  'protocol.webdav has uri and sharedSecret, and a relative uri is served under the discovery webdav prefix',
  async ({ target, peer, ocm }) => {
    // A receiver asking for relative uris gets the key form where the sender supports it.
    for (const type of peer.discovery.resourceTypes) type.protocols['webdav-receive'] = { uri: 'relative' };
    const { body } = await shareWithContact(ocm, target, peer);
    const webdav = body.protocol?.webdav;
    expect(webdav, 'protocol.webdav').toEqual(expect.any(Object));
    expect(typeof webdav.uri === 'string' && webdav.uri !== '', 'webdav.uri is a non-empty string').toBe(true);
    expect(typeof webdav.sharedSecret === 'string' && webdav.sharedSecret !== '', 'webdav.sharedSecret is a non-empty string').toBe(true);
    if (readingOf(target, 'SHR-26') === 'uri-secret-and-permissions')
      expect(Array.isArray(webdav.permissions), 'webdav.permissions (yaml reading)').toBe(true);
    if (isAbsoluteUri(webdav.uri)) {
      expect(() => new URL(webdav.uri), 'an absolute uri is a URL with a host').not.toThrow();
      return;
    }
    const strict = Array.isArray(webdav.requirements) && webdav.requirements.includes('must-exchange-token');
    if (strict)
      notRun(
        'the target made the share require token exchange although the peer did not ask; the bare secret cannot probe the uri (TOK-7 covers tokens)',
      );
    const url = sharedResourceUrl(target, body);
    const answer = await ocm.request(url, { method: 'PROPFIND', headers: { authorization: `Bearer ${webdav.sharedSecret}`, depth: '0' } });
    expect(answer.status, `PROPFIND ${url} with the share's secret`).toBe(207);
  },
);

check(['SHR-25'], 'a folder is shared with resourceType "folder"', async ({ target, peer, ocm }) => {
  const { body } = await shareWithContact(ocm, target, peer, target.context.target.resources.folder);
  expect(body.resourceType).toBe('folder');
});

check(
  ['SHR-23'],
  'two shares of one resource, to the same and to different recipients, carry different providerIds',
  async ({ target, peer, peer2, ocm }, testInfo) => {
    const resource = target.context.target.resources.file;
    const first = await contact(ocm, target, peer);
    const second = await contact(ocm, target, peer);
    const elsewhere = await contact(ocm, target, peer2);
    const providerIds: string[] = [];
    providerIds.push((await shareFromTarget(target, peer, first, { path: resource })).body.providerId);
    try {
      providerIds.push((await shareFromTarget(target, peer, first, { path: resource })).body.providerId);
    } catch (error) {
      // A target may refuse to share one resource twice with one person; then only different recipients are compared.
      if (!(error instanceof StepFailed)) throw error;
      testInfo.annotations.push({ type: 'note', description: `the target refused a second share to the same recipient: ${error.message}` });
    }
    providerIds.push((await shareFromTarget(target, peer, second, { path: resource })).body.providerId);
    providerIds.push((await shareFromTarget(target, peer2, elsewhere, { path: resource })).body.providerId);
    for (const id of providerIds) expect(typeof id === 'string' && id !== '', `providerId ${JSON.stringify(id)}`).toBe(true);
    expect(new Set(providerIds).size, `providerIds ${JSON.stringify(providerIds)}`).toBe(providerIds.length);
  },
);

// ---------------------------------------------------------------- the receiver's terms

check(['SHR-17'], 'when the peer demands must-exchange-token, every offered protocol lists it', async ({ target, peer, ocm }) => {
  if (typeof target.discovery?.tokenEndPoint !== 'string')
    notRun('the target advertises exchange-token without a tokenEndPoint (DISC-17), so SHR-18 applies instead');
  peer.discovery.criteria = ['must-exchange-token'];
  const { body } = await shareWithContact(ocm, target, peer);
  const protocols = offeredProtocols(body);
  expect(protocols.length, 'the share offers at least one protocol').toBeGreaterThan(0);
  for (const [name, protocol] of protocols) {
    expect(protocol.requirements, `protocol.${name}.requirements`).toEqual(expect.arrayContaining(['must-exchange-token']));
  }
});

// SHR-18 is about a sender WITHOUT token exchange; with exchange-token and a tokenEndPoint the same situation is SHR-17's.
if (!targetCanExchange()) {
  check(
    ['SHR-18'],
    'when the peer demands must-exchange-token and the target cannot exchange tokens, no share is sent',
    async ({ target, peer, ocm }, testInfo) => {
      const peerUser = await contact(ocm, target, peer);
      peer.discovery.criteria = ['must-exchange-token'];
      const from = peer.requests.length;
      try {
        await target.driver.shareWith(target.user, {
          path: target.context.target.resources.file,
          recipient: { userId: peerUser.id, domain: peer.domain },
          role: 'viewer',
        });
      } catch (error) {
        if (!(error instanceof DriverStepFailed)) throw error;
        testInfo.annotations.push({ type: 'note', description: `the target refused to share: ${error.message}` });
      }
      // Give an asynchronous sender time to (wrongly) post.
      await new Promise((r) => setTimeout(r, 1000));
      const posts = peer.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/shares'));
      expect(
        posts.map((p) => p.body),
        'POST /shares that reached the peer',
      ).toEqual([]);
    },
  );
}

check(['SHR-19'], 'a folder is not sent as a folder to a peer that advertises only file', async ({ target, peer, ocm }, testInfo) => {
  const peerUser = await contact(ocm, target, peer);
  peer.discovery.resourceTypes = peer.discovery.resourceTypes.filter((t) => t.name === 'file');
  const from = peer.requests.length;
  try {
    await target.driver.shareWith(target.user, {
      path: target.context.target.resources.folder,
      recipient: { userId: peerUser.id, domain: peer.domain },
      role: 'viewer',
    });
  } catch (error) {
    if (!(error instanceof DriverStepFailed)) throw error;
    testInfo.annotations.push({ type: 'note', description: `the target refused to share: ${error.message}` });
  }
  await new Promise((r) => setTimeout(r, 500));
  const posts = peer.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/shares'));
  const unadvertised = posts.filter((p) => p.body?.resourceType !== 'file' || p.body?.shareType !== 'user');
  expect(
    unadvertised.map((p) => ({ resourceType: p.body?.resourceType, shareType: p.body?.shareType })),
    'shares of a type the peer does not advertise',
  ).toEqual([]);
});

// ---------------------------------------------------------------- webapp

/** Asks for a webapp share (the peer advertises webapp-receive) and returns the share, or ends the check when the target offers no webapp. */
async function webappShare(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, targets: string[]): Promise<Record<string, any>> {
  for (const type of peer.discovery.resourceTypes) type.protocols['webapp-receive'] = { targets };
  const { body } = await shareWithContact(ocm, target, peer);
  if (!body.protocol?.webapp) notRun('the target sent no protocol.webapp (it does not offer webapp shares)');
  return body;
}

check(
  ['SHR-20'],
  'webapp.targets names only targets the peer advertised in webapp-receive',
  async ({ target, peer, ocm }) => {
    const body = await webappShare(ocm, target, peer, ['iframe']);
    const targets = body.protocol.webapp.targets;
    expect(Array.isArray(targets), 'webapp.targets is a list').toBe(true);
    for (const t of targets) expect(['iframe'], 'a webapp target the peer advertised').toContain(t);
  },
  {
    unless: ({ discovery }) =>
      ((discovery?.resourceTypes ?? []) as Array<{ protocols?: Record<string, unknown> }>).some(
        (t) => t.protocols && 'webapp' in t.protocols,
      )
        ? undefined
        : 'the target does not advertise webapp (it sends no webapp shares)',
  },
);

check(
  ['SHR-21'],
  'a target that offers protocol.webapp advertises exchange-token and a tokenEndPoint',
  async ({ target, peer, ocm }) => {
    await webappShare(ocm, target, peer, ['blank', 'iframe']);
    const discovery = await ocm.request(`${target.origin}/.well-known/ocm`);
    expect(discovery.json?.capabilities ?? [], 'capabilities').toContain('exchange-token');
    expect(typeof discovery.json?.tokenEndPoint, 'tokenEndPoint').toBe('string');
  },
  {
    unless: ({ discovery }) =>
      ((discovery?.resourceTypes ?? []) as Array<{ protocols?: Record<string, unknown> }>).some(
        (t) => t.protocols && 'webapp' in t.protocols,
      )
        ? undefined
        : 'the target does not advertise webapp (it sends no webapp shares)',
  },
);

// ---------------------------------------------------------------- signatures

check(
  ['SHR-27'],
  'the POST /shares to a peer advertising http-sig carries a valid signature by the target',
  async ({ target, peer, ocm }) => {
    expect(peer.discovery.capabilities).toContain('http-sig');
    const { request } = await shareWithContact(ocm, target, peer);
    expect(request.signature, 'verdict of verifying the POST /shares against the target JWKS').toEqual(
      expect.objectContaining({ status: 'valid' }),
    );
  },
);
