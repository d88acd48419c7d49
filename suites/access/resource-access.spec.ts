/**
 * Resource Access, the target as the SHARER whose WebDAV the peer reads
 * (spec: Resource Access; Share Creation Notification › Fields, webdav uri;
 * our WebDAV and OCS conventions for reva-family servers).
 *
 * Each check has the target's driver share a resource with a fresh peer user
 * (an accepted contact), takes `protocol.webdav.uri` and `sharedSecret` from
 * the share that reached the peer, composes the URL as a receiver would (an
 * absolute uri as is, a relative one below the `protocols.webdav` prefix of
 * the target's discovery, on the target's origin) and reads or probes it.
 */
import { randomUUID } from 'node:crypto';
import { check, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import {
  becomeContact,
  isAbsoluteUri,
  rawPathRequest,
  requestToken,
  shareFromTarget,
  sharedResourceUrl,
  targetWebdavPrefix,
  tokenRequestFields,
  type TargetShare,
} from '../harness/ocm-actions.ts';
import type { PeerSimulator, PeerUser } from '../harness/peer-simulator.ts';
import type { Transcript } from '../../results/transcript.ts';

type Role = 'viewer' | 'editor';

/** A fresh peer user who is an accepted contact of the target's user. */
async function contact(ocm: Transcript, target: TargetHandle, peer: PeerSimulator): Promise<PeerUser> {
  needDriver(target, 'generateInvite', 'shareWith');
  const peerUser = peer.newUser();
  await becomeContact(ocm, target, peer, peerUser);
  return peerUser;
}

/** The peer asks for relative webdav uris (webdav-receive), so a sender that can sends the key form. */
function preferRelative(peer: PeerSimulator): void {
  for (const type of peer.discovery.resourceTypes) type.protocols['webdav-receive'] = { uri: 'relative' };
}

/** The variant of the webdav-prefix-entry reading for `id` (first-entry unless the run chose matching-entry). */
function prefixEntry(target: TargetHandle, id: string): 'first-entry' | 'matching-entry' {
  const selected = target.context.selected.get(id) as { reading?: { variant?: string } } | undefined;
  return selected?.reading?.variant === 'matching-entry' ? 'matching-entry' : 'first-entry';
}

function webdavOf(share: TargetShare): Record<string, any> {
  const webdav = share.body.protocol?.webdav;
  if (!webdav || typeof webdav !== 'object') throw new Error('the share that reached the peer has no protocol.webdav');
  return webdav;
}

function isStrict(share: TargetShare): boolean {
  const requirements = webdavOf(share).requirements;
  return Array.isArray(requirements) && requirements.includes('must-exchange-token');
}

function bearerSecret(share: TargetShare): string {
  return `Bearer ${webdavOf(share).sharedSecret}`;
}

/**
 * The Authorization a receiver uses for this share: Bearer sharedSecret, or,
 * for a share that requires token exchange, Bearer of a token exchanged at the
 * target's tokenEndPoint.
 */
async function credential(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, share: TargetShare): Promise<string> {
  if (!isStrict(share)) return bearerSecret(share);
  const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, webdavOf(share).sharedSecret));
  if (answer.status !== 200 || typeof answer.json?.access_token !== 'string') {
    throw new Error(`the share requires token exchange and the target's token endpoint answered ${answer.status}`);
  }
  return `Bearer ${answer.json.access_token}`;
}

async function propfind(ocm: Transcript, url: string, authorization: string, depth = '0') {
  return ocm.request(url, { method: 'PROPFIND', headers: { authorization, depth, 'content-type': 'application/xml; charset=utf-8' } });
}

/** The target shares `path` with a fresh contact at `peer` and the share as it reached the peer. */
async function targetShares(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  path: string,
  role: Role = 'viewer',
  peerUser?: PeerUser,
): Promise<TargetShare> {
  const recipient = peerUser ?? (await contact(ocm, target, peer));
  return shareFromTarget(target, peer, recipient, { path, role });
}

const REFUSED_WRITE = [401, 403];
const REFUSED_SECRET = [401, 404];

// ---------------------------------------------------------------- ACC

check(['ACC-1'], 'PROPFIND on <webdav prefix>/<relative uri> with Bearer <sharedSecret> succeeds', async ({ target, peer, ocm }) => {
  preferRelative(peer);
  const share = await targetShares(ocm, target, peer, target.context.target.resources.file);
  const webdav = webdavOf(share);
  if (isAbsoluteUri(String(webdav.uri)))
    notRun('the target sent an absolute webdav.uri although the peer asked for relative ones; ACC-1 is about relative uris');
  if (isStrict(share))
    notRun(
      'the target made the share require token exchange although the peer did not ask; the bare secret is not meant to open it (TOK-7)',
    );
  const url = sharedResourceUrl(target, share.body, prefixEntry(target, 'ACC-1'));
  const answer = await propfind(ocm, url, bearerSecret(share));
  expect(answer.status, `PROPFIND ${url}`).toBe(207);
  expect(answer.text, 'a multistatus document').toMatch(/multistatus/i);
});

check(
  ['ACC-2'],
  'a child of a shared folder is reached by appending its relative path to the composed URI',
  async ({ target, peer, ocm }) => {
    preferRelative(peer);
    const { folder, folderChild } = target.context.target.resources;
    const share = await targetShares(ocm, target, peer, folder);
    const authorization = await credential(ocm, target, peer, share);
    const root = sharedResourceUrl(target, share.body, prefixEntry(target, 'ACC-2'));
    const childUrl = `${root}/${folderChild.split('/').map(encodeURIComponent).join('/')}`;
    const listing = await propfind(ocm, childUrl, authorization);
    expect(listing.status, `PROPFIND ${childUrl}`).toBe(207);
    const lastSegment = encodeURIComponent(folderChild.split('/').filter(Boolean).pop()!);
    expect(listing.text, 'the multistatus names the child').toContain(lastSegment);
    const content = await ocm.request(childUrl, { headers: { authorization } });
    expect(content.status, `GET ${childUrl}`).toBe(200);
    expect(content.bytes.length, 'the child has content').toBeGreaterThan(0);
  },
);

check(
  ['ACC-3'],
  'legacy HTTP Basic with the secret as user name and an empty password opens the share at the webdav prefix',
  async ({ target, peer, ocm }) => {
    const share = await targetShares(ocm, target, peer, target.context.target.resources.file);
    if (isStrict(share)) notRun('the target made the share require token exchange; legacy secret access is not meant to open it');
    const prefix = targetWebdavPrefix(target);
    expect(prefix, 'the target discovery names a webdav prefix').toBeDefined();
    const basic = `Basic ${Buffer.from(`${webdavOf(share).sharedSecret}:`).toString('base64')}`;
    const answer = await propfind(ocm, prefix!, basic);
    expect(answer.status, `PROPFIND ${prefix} with Basic <sharedSecret>:`).toBe(207);
  },
);

// ---------------------------------------------------------------- DAV

check(['DAV-1'], 'a read-only share refuses PUT, MKCOL, MOVE and DELETE and its content stays unchanged', async ({ target, peer, ocm }) => {
  const { folder, folderChild, file } = target.context.target.resources;
  const peerUser = await contact(ocm, target, peer);
  const folderShare = await targetShares(ocm, target, peer, folder, 'viewer', peerUser);
  const fileShare = await targetShares(ocm, target, peer, file, 'viewer', peerUser);
  const folderAuth = await credential(ocm, target, peer, folderShare);
  const fileAuth = await credential(ocm, target, peer, fileShare);
  const root = sharedResourceUrl(target, folderShare.body);
  const fileUrl = sharedResourceUrl(target, fileShare.body);
  const childUrl = `${root}/${folderChild.split('/').map(encodeURIComponent).join('/')}`;
  const tag = randomUUID().slice(0, 8);

  const before = {
    child: await ocm.request(childUrl, { headers: { authorization: folderAuth } }),
    file: await ocm.request(fileUrl, { headers: { authorization: fileAuth } }),
  };
  expect(before.child.status, `GET ${childUrl}`).toBe(200);
  expect(before.file.status, `GET ${fileUrl}`).toBe(200);

  const attempts: Array<[string, string, string, Record<string, string>, string?]> = [
    ['PUT over a child', 'PUT', childUrl, { authorization: folderAuth, 'content-type': 'text/plain' }, `overwritten ${tag}`],
    ['PUT a new child', 'PUT', `${root}/new-${tag}.txt`, { authorization: folderAuth, 'content-type': 'text/plain' }, `new ${tag}`],
    ['MKCOL', 'MKCOL', `${root}/dir-${tag}`, { authorization: folderAuth }],
    ['MOVE a child', 'MOVE', childUrl, { authorization: folderAuth, destination: `${root}/moved-${tag}.md` }],
    ['DELETE a child', 'DELETE', childUrl, { authorization: folderAuth }],
    ['PUT over the shared file', 'PUT', fileUrl, { authorization: fileAuth, 'content-type': 'text/plain' }, `overwritten ${tag}`],
    ['DELETE the shared file', 'DELETE', fileUrl, { authorization: fileAuth }],
  ];
  for (const [what, method, url, headers, body] of attempts) {
    const answer = await ocm.request(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    expect(REFUSED_WRITE, `${what}: ${method} ${url} answered ${answer.status}`).toContain(answer.status);
  }

  const after = {
    child: await ocm.request(childUrl, { headers: { authorization: folderAuth } }),
    file: await ocm.request(fileUrl, { headers: { authorization: fileAuth } }),
  };
  expect(after.child.status).toBe(200);
  expect(after.child.bytes.equals(before.child.bytes), 'the child is unchanged').toBe(true);
  expect(after.file.status).toBe(200);
  expect(after.file.bytes.equals(before.file.bytes), 'the shared file is unchanged').toBe(true);
  const listing = await propfind(ocm, root, folderAuth, '1');
  expect(listing.status).toBe(207);
  expect(listing.text, 'nothing new in the folder').not.toContain(tag);
});

check(['DAV-2'], 'paths that climb out of a shared folder are refused and reveal nothing outside it', async ({ target, peer, ocm }) => {
  const { folder, folderChild, file } = target.context.target.resources;
  const peerUser = await contact(ocm, target, peer);
  const folderShare = await targetShares(ocm, target, peer, folder, 'viewer', peerUser);
  const fileShare = await targetShares(ocm, target, peer, file, 'viewer', peerUser);
  const authorization = await credential(ocm, target, peer, folderShare);
  // What lies outside: the content of the shared file (a sibling of the folder in the reference's layout).
  const outside = await ocm.request(sharedResourceUrl(target, fileShare.body), {
    headers: { authorization: await credential(ocm, target, peer, fileShare) },
  });
  expect(outside.status).toBe(200);
  const outsideText = outside.text.trim();
  const fileName = encodeURIComponent(file.split('/').filter(Boolean).pop()!);
  const child = encodeURIComponent(folderChild.split('/').filter(Boolean)[0]!);
  const root = new URL(sharedResourceUrl(target, folderShare.body));
  const base = root.pathname.replace(/\/+$/, '');
  const probes = [
    `${base}/../${fileName}`,
    `${base}/%2e%2e/${fileName}`,
    `${base}/%2E%2E/${fileName}`,
    `${base}/..%2f${fileName}`,
    `${base}/%2e%2e%2f${fileName}`,
    `${base}/..%5c${fileName}`,
    `${base}/${child}/../../${fileName}`,
    `${base}/${child}/..%2f..%2f${fileName}`,
  ];
  for (const path of probes) {
    for (const method of ['GET', 'PROPFIND']) {
      const answer = await rawPathRequest(ocm, root.origin, path, { method, headers: { authorization, depth: '1' } });
      expect(answer.status >= 400 && answer.status < 500, `${method} ${path} answered ${answer.status}: a refusal (4xx) is expected`).toBe(
        true,
      );
      if (outsideText.length >= 8)
        expect(answer.text.includes(outsideText), `${method} ${path} revealed the content of ${file}`).toBe(false);
    }
  }
});

check(['DAV-3'], 'a wrong or unknown share secret is answered 401 or 404, never 500', async ({ target, peer, ocm }) => {
  const prefix = targetWebdavPrefix(target);
  expect(prefix, 'the target discovery names a webdav prefix').toBeDefined();
  const wrong = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
  const probes: Array<[string, string]> = [
    [`${prefix}/${randomUUID()}`, `Bearer ${wrong}`],
    [prefix!, `Basic ${Buffer.from(`${wrong}:`).toString('base64')}`],
  ];
  if (target.driver.supports('generateInvite') && target.driver.supports('shareWith')) {
    const share = await targetShares(ocm, target, peer, target.context.target.resources.file);
    const url = sharedResourceUrl(target, share.body);
    probes.push([url, `Bearer ${wrong}`], [url, `Basic ${Buffer.from(`${wrong}:`).toString('base64')}`]);
  }
  for (const [url, authorization] of probes) {
    const answer = await propfind(ocm, url, authorization);
    expect(REFUSED_SECRET, `PROPFIND ${url} with a wrong ${authorization.split(' ')[0]} secret answered ${answer.status}`).toContain(
      answer.status,
    );
  }
});

check(['DAV-5'], "a share's secret opens that share only, not another share's URI", async ({ target, peer, ocm }) => {
  preferRelative(peer);
  const { file, folder } = target.context.target.resources;
  const peerUser = await contact(ocm, target, peer);
  const a = await targetShares(ocm, target, peer, file, 'viewer', peerUser);
  const b = await targetShares(ocm, target, peer, folder, 'viewer', peerUser);
  const [urlA, urlB] = [sharedResourceUrl(target, a.body), sharedResourceUrl(target, b.body)];
  const [authA, authB] = [await credential(ocm, target, peer, a), await credential(ocm, target, peer, b)];
  expect((await propfind(ocm, urlA, authA)).status, 'share A with its own credential').toBe(207);
  expect((await propfind(ocm, urlB, authB)).status, 'share B with its own credential').toBe(207);
  const crossedAB = await propfind(ocm, urlB, authA);
  expect([401, 403, 404], `share B's URI with share A's credential answered ${crossedAB.status}`).toContain(crossedAB.status);
  const crossedBA = await propfind(ocm, urlA, authB);
  expect([401, 403, 404], `share A's URI with share B's credential answered ${crossedBA.status}`).toContain(crossedBA.status);
});

// ---------------------------------------------------------------- OCS

check(['OCS-5'], 'after the owner removes the share, its secret no longer opens the resource', async ({ target, peer, ocm }) => {
  needDriver(target, 'unshare');
  const share = await targetShares(ocm, target, peer, target.context.target.resources.file);
  const url = sharedResourceUrl(target, share.body);
  const authorization = await credential(ocm, target, peer, share);
  expect((await propfind(ocm, url, authorization)).status, 'the share opens before it is removed').toBe(207);
  await target.driver.unshare(target.user, share.id);
  const after = await propfind(ocm, url, authorization);
  expect(REFUSED_SECRET, `PROPFIND ${url} after the share was removed answered ${after.status}`).toContain(after.status);
  if (!isStrict(share)) {
    const legacy = await propfind(
      ocm,
      targetWebdavPrefix(target)!,
      `Basic ${Buffer.from(`${webdavOf(share).sharedSecret}:`).toString('base64')}`,
    );
    expect(REFUSED_SECRET, `legacy Basic access after removal answered ${legacy.status}`).toContain(legacy.status);
  }
});
