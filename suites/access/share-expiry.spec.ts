/**
 * Resource Access after a share expires, the target as the SHARER whose
 * WebDAV the peer reads (our WebDAV convention for reva-family servers: an
 * expired share's secret no longer opens it, DAV-4; reva never checks expiry).
 *
 * The target's driver shares a file with a fresh contact at the peer; the
 * peer reads it with what it received; then the share is made to expire and
 * the same credential must be refused. To expire a share the check needs a
 * way to set its expiry: the OCS share API (`exposes.ocs`), setting an expiry
 * date in the past (OCS expiry dates have a one-day granularity, so waiting
 * for one to pass is no option).
 */
import { check, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import {
  becomeContact,
  requestToken,
  shareFromTarget,
  sharedResourceUrl,
  tokenRequestFields,
  type TargetShare,
} from '../harness/ocm-actions.ts';
import type { PeerSimulator } from '../harness/peer-simulator.ts';
import { registerSecret, type Transcript } from '../../results/transcript.ts';

/** What a refused credential may be answered with. */
const REFUSED = [401, 403, 404];

function webdavOf(share: TargetShare): Record<string, any> {
  const webdav = share.body.protocol?.webdav;
  if (!webdav || typeof webdav !== 'object') throw new Error('the share that reached the peer has no protocol.webdav');
  if (typeof webdav.sharedSecret === 'string') registerSecret(webdav.sharedSecret);
  return webdav;
}

/** Bearer sharedSecret, or an exchanged token when the share requires token exchange. */
async function credential(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, share: TargetShare): Promise<string> {
  const webdav = webdavOf(share);
  if (!(Array.isArray(webdav.requirements) && webdav.requirements.includes('must-exchange-token'))) return `Bearer ${webdav.sharedSecret}`;
  const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, webdav.sharedSecret));
  if (answer.status !== 200 || typeof answer.json?.access_token !== 'string')
    throw new Error(`the share requires token exchange and the target's token endpoint answered ${answer.status}`);
  return `Bearer ${answer.json.access_token}`;
}

function ocsBase(target: TargetHandle): string {
  const driver = target.context.target.driver as { ocsBase?: string };
  return `${target.origin}${driver.ocsBase ?? '/ocs/v2.php/apps/files_sharing/api/v1'}`;
}

/** YYYY-MM-DD, `days` days from today (UTC). */
function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

check(['DAV-4'], "once a share's expiry has passed, its secret no longer opens it", async ({ target, peer, ocm }) => {
  needDriver(target, 'generateInvite', 'shareWith');
  if (!target.context.target.exposes.ocs)
    notRun("the target config exposes no OCS share API, the only way this suite has to set a share's expiry");
  const user = peer.newUser('expiry');
  await becomeContact(ocm, target, peer, user);
  const share = await shareFromTarget(target, peer, user, { path: target.context.target.resources.file });
  const url = sharedResourceUrl(target, share.body);
  const authorization = await credential(ocm, target, peer, share);
  const propfind = () =>
    ocm.request(url, { method: 'PROPFIND', headers: { authorization, depth: '0', 'content-type': 'application/xml; charset=utf-8' } });
  expect((await propfind()).status, `PROPFIND ${url} before the share expires`).toBe(207);

  // Two days back, so no time zone of the target can read it as today.
  const expireDate = day(-2);
  const set = await ocm.request(`${ocsBase(target)}/shares/${encodeURIComponent(share.id)}?format=json`, {
    method: 'PUT',
    headers: {
      authorization: `Basic ${Buffer.from(`${target.user.username}:${target.user.password}`).toString('base64')}`,
      'ocs-apirequest': 'true',
      accept: 'application/json',
    },
    form: { expireDate },
  });
  const meta = set.json?.ocs?.meta;
  if (set.status !== 200 || meta?.status !== 'ok')
    notRun(
      `the target refused to set the expiry date ${expireDate} (${set.status}, ${meta?.statuscode ?? '-'} ${meta?.message ?? set.text.slice(0, 200)}), so the share cannot be aged`,
    );

  const after = await propfind();
  expect(REFUSED, `PROPFIND ${url} after the share expired (${expireDate}) answered ${after.status}`).toContain(after.status);
});
