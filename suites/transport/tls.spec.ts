/**
 * Transport security (spec: Share Creation Notification — every OCM endpoint
 * is offered over HTTPS). Any endpoint over plain HTTP fails TLS-1. A target
 * config may declare `allowHttp` for a test setup (loopback, no
 * certificates): where it then serves plain `http://`, TLS-1 is not
 * applicable, with the reason; it is judged (and can pass) on https only,
 * e.g. `run --tls` for the embedded pair.
 *
 * TLS-1 is black-box: the endpoints the target's discovery document
 * advertises, and the origin the suites reach it on. TLS-2 and TLS-3 judge
 * the calls the target makes to https peers (`run --tls`, or an https target
 * whose peers serve https): over https, and only to a peer whose certificate
 * it can verify.
 */
import { check, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import { plainHttpReason } from '../discovery/discovery-rules.ts';
import { becomeContact, eventually, shareFromTarget } from '../harness/ocm-actions.ts';
import type { PeerSimulator } from '../harness/peer-simulator.ts';
import { peerTlsEnabled } from '../harness/peer-pair.ts';
import type { SuiteContext } from '../harness/context.ts';
import { createCertificateAuthority, issueServerCertificate } from '../../certs/ca.ts';

/** What the target offers over HTTP: its origin and every endpoint in its discovery document. */
function advertisedEndpoints(origin: string, discovery: Record<string, any>): Array<[string, string]> {
  const endpoints: Array<[string, string]> = [['the target origin (baseUrl)', origin]];
  for (const key of ['endPoint', 'tokenEndPoint', 'jwksUri', 'inviteAcceptDialog'] as const) {
    if (typeof discovery[key] === 'string' && discovery[key] !== '') endpoints.push([key, discovery[key]]);
  }
  for (const [i, type] of (Array.isArray(discovery.resourceTypes) ? discovery.resourceTypes : []).entries()) {
    // The HTTP-served protocols (ssh names an ssh host:port, not an HTTP endpoint).
    for (const protocol of ['webdav', 'webapp']) {
      const value = (type?.protocols ?? {})[protocol];
      if (typeof value === 'string' && value !== '') endpoints.push([`resourceTypes[${i}].protocols.${protocol}`, value]);
    }
  }
  return endpoints;
}

/** The endpoints that are plain http (a relative value lives on the target's origin). */
function plainHttpEndpoints(origin: string, discovery: Record<string, any>): string[] {
  return advertisedEndpoints(origin, discovery)
    .filter(([, value]) => URL.canParse(value, `${origin}/`) && new URL(value, `${origin}/`).protocol === 'http:')
    .map(([what, value]) => `${what} ${new URL(value, `${origin}/`).href}`);
}

check(
  ['TLS-1'],
  'the target origin and every endpoint its discovery advertises use https',
  async ({ target }) => {
    const discovery = target.discovery;
    expect(discovery, 'the discovery document was readable at the start of the run').toBeDefined();
    const wrong: string[] = [];
    for (const [what, value] of advertisedEndpoints(target.origin, discovery!)) {
      let url: URL;
      try {
        url = new URL(value, `${target.origin}/`);
      } catch {
        wrong.push(`${what} ${JSON.stringify(value)} is not a URL`);
        continue;
      }
      if (url.protocol !== 'https:') wrong.push(`${what} ${url.href} uses ${url.protocol}`);
    }
    expect(wrong, `every OCM endpoint must be offered over https:\n${wrong.join('\n')}`).toEqual([]);
  },
  {
    // A test setup on plain http (allowHttp): not judged, never passed over http.
    unless: (context) => {
      if (!context.target.allowHttp || !context.discovery) return undefined;
      const plain = plainHttpEndpoints(new URL(context.target.baseUrl).origin, context.discovery);
      return plain.length > 0 ? plainHttpReason(plain.join('; ')) : undefined;
    },
  },
);

/** TLS-2 and TLS-3 need peers on https: the target's calls to them are what is judged. */
function peersOnPlainHttp(context: SuiteContext): string | undefined {
  return peerTlsEnabled(context.target)
    ? undefined
    : 'the simulated peers serve plain http (run --tls, or an https target with peerTls auto or on, puts them on https)';
}

/** The plain-HTTP requests `peer` refused on its https port since `from`. */
function plainHttpAttempts(peer: PeerSimulator, from: number): string[] {
  return peer.tlsFailures
    .slice(from)
    .filter((failure) => failure.plainHttp)
    .map((failure) => failure.code);
}

check(
  ['TLS-2'],
  'the target calls a peer that advertises https over https (invite acceptance, share), never over plain http',
  async ({ target, peer, ocm }) => {
    needDriver(target, 'generateInvite', 'shareWith');
    const from = peer.tlsFailures.length;
    const peerUser = peer.newUser();
    try {
      await becomeContact(ocm, target, peer, peerUser);
      await shareFromTarget(target, peer, peerUser, { path: target.context.target.resources.file });
    } catch (error) {
      // A plain-HTTP call to the https peer explains the failed step: that is the finding.
      expect(plainHttpAttempts(peer, from), `the target sent plain http to ${peer.origin}, which advertises https`).toEqual([]);
      throw error;
    }
    expect(plainHttpAttempts(peer, from), `the target sent plain http to ${peer.origin}, which advertises https`).toEqual([]);
  },
  { unless: peersOnPlainHttp },
);

check(
  ['TLS-3'],
  'the target does not talk to a peer whose certificate chains to a CA it does not trust',
  async ({ target, peer, ocm }) => {
    needDriver(target, 'generateInvite', 'shareWith');
    const peerUser = peer.newUser();
    // A contact first, over the peer's good certificate: the refusal below is then about the certificate alone.
    await becomeContact(ocm, target, peer, peerUser);
    const stranger = await createCertificateAuthority({ commonName: 'a CA nobody trusts' });
    const names = [new URL(peer.origin).hostname.replace(/^\[(.*)\]$/, '$1'), peer.host];
    peer.presentCertificate(await issueServerCertificate(stranger, [...new Set(names)]));
    const requestsBefore = peer.requests.length;
    const failuresBefore = peer.tlsFailures.length;
    await shareAttempt(target, peer, peerUser.id);
    // Bounded: a connection attempt (refused handshake) or a request, whichever comes.
    await eventually(async () => (peer.requests.length > requestsBefore || peer.tlsFailures.length > failuresBefore ? true : undefined));
    const talked = peer.requests.slice(requestsBefore).map((request) => `${request.method} ${request.path}`);
    expect(talked, 'the target sent requests to a peer whose certificate is signed by a CA it does not trust').toEqual([]);
    if (peer.tlsFailures.length === failuresBefore)
      notRun('the target made no connection to the peer after the share step: nothing to judge');
  },
  { unless: peersOnPlainHttp },
);

/** The driver's share step; refusing to reach the peer may fail it, which is the expected outcome here. */
async function shareAttempt(target: TargetHandle, peer: PeerSimulator, userId: string): Promise<void> {
  try {
    await target.driver.shareWith(target.user, {
      path: target.context.target.resources.file,
      recipient: { userId, domain: peer.domain },
      role: 'viewer',
    });
  } catch {
    // The target could not deliver the share to an unverified peer: what TLS-3 wants.
  }
}
