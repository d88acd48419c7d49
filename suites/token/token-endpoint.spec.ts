/**
 * The code flow (spec: Code Flow › Token Request, Token Response, Error
 * Responses; Resource Access and its Decision Table; Security Considerations).
 *
 * As TOKEN ENDPOINT (TOK-1…TOK-7): the target shares a resource with a fresh
 * peer user; the peer exchanges the share's real sharedSecret at the target's
 * tokenEndPoint with a form-encoded POST signed with its key (RFC 9421 over the
 * exact body), client_id = the peer's host:port, and uses the token for WebDAV.
 *
 * As RECEIVER (TOK-8, TOK-9): the peer offers the target a share; the target's
 * driver accepts and reads it, and the peer records the token request and the
 * WebDAV calls the target makes.
 *
 * Every check is gated by the target's exchange-token capability (catalogue).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { check, discoveryUrl, expect, needDriver, notRun, type TargetHandle } from '../harness/fixtures.ts';
import { resolveDiscoveryUrl } from '../harness/discovery-urls.ts';
import { plainHttpReason } from '../discovery/discovery-rules.ts';
import {
  becomeContact,
  peerPost,
  requestToken,
  shareFromTarget,
  sharedResourceUrl,
  sharePayload,
  targetAddress,
  targetWebdavPrefix,
  tokenRequestFields,
  eventually,
  type TargetShare,
} from '../harness/ocm-actions.ts';
import type { PeerShare, PeerSimulator, PeerUser, RecordedRequest } from '../harness/peer-simulator.ts';
import type { Transcript } from '../../results/transcript.ts';
import { PROJECT_ROOT } from '../harness/requirements.ts';
import { getLazyRegistry } from '../../openapi/registry.ts';

const registry = getLazyRegistry();

/** A fresh peer user who is an accepted contact of the target's user. */
async function contact(ocm: Transcript, target: TargetHandle, peer: PeerSimulator): Promise<PeerUser> {
  needDriver(target, 'generateInvite', 'shareWith');
  const peerUser = peer.newUser();
  await becomeContact(ocm, target, peer, peerUser);
  return peerUser;
}

/** The target shares its plain file with a fresh contact; the share as it reached the peer. */
async function sharedByTarget(ocm: Transcript, target: TargetHandle, peer: PeerSimulator): Promise<TargetShare> {
  const peerUser = await contact(ocm, target, peer);
  return shareFromTarget(target, peer, peerUser, { path: target.context.target.resources.file });
}

function secretOf(share: TargetShare): string {
  const secret = share.body.protocol?.webdav?.sharedSecret;
  if (typeof secret !== 'string' || secret === '') throw new Error('the share that reached the peer has no protocol.webdav.sharedSecret');
  return secret;
}

function isStrict(share: TargetShare): boolean {
  const requirements = share.body.protocol?.webdav?.requirements;
  return Array.isArray(requirements) && requirements.includes('must-exchange-token');
}

async function propfind(ocm: Transcript, url: string, authorization: string) {
  return ocm.request(url, { method: 'PROPFIND', headers: { authorization, depth: '0' } });
}

/** Expects a 400 OAuth error answer with `code`. */
function expectTokenError(answer: { status: number; json: any; text: string; headers: Headers }, code: string): void {
  expect(answer.status, `answer: ${answer.text.slice(0, 300)}`).toBe(400);
  expect(answer.headers.get('content-type') ?? '', 'content-type').toMatch(/^application\/json\b/i);
  expect(answer.json?.error, 'error').toBe(code);
  expect(registry.validate('ocm', 'TokenError', answer.json), 'the body against our TokenError schema').toEqual({ ok: true });
  expect(answer.json?.access_token, 'no access_token in an error').toBeUndefined();
}

const WRONG_CODE = () => randomBytes(32).toString('base64url');

// ---------------------------------------------------------------- the endpoint

check(
  ['TOK-6'],
  'the tokenEndPoint is an https URL',
  async ({ target }) => {
    // Whether it is absolute is DISC-17's; here only the scheme it is reached over (a path is on the discovery origin).
    const url = new URL(discoveryUrl(target, 'tokenEndPoint'));
    expect(['https:'], `tokenEndPoint ${url.href} uses ${url.protocol}`).toContain(url.protocol);
  },
  {
    // A test setup on plain http (allowHttp): not judged, never passed over http.
    unless: (context) => {
      if (!context.target.allowHttp) return undefined;
      const resolved = resolveDiscoveryUrl(context.discovery, 'tokenEndPoint', context.target.baseUrl);
      return 'url' in resolved && new URL(resolved.url).protocol === 'http:' ? plainHttpReason(`tokenEndPoint ${resolved.url}`) : undefined;
    },
  },
);

check(
  ['TOK-1'],
  'a signed form-encoded request with grant_type, client_id and the share secret as code is accepted',
  async ({ target, peer, ocm }) => {
    const share = await sharedByTarget(ocm, target, peer);
    const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share)));
    expect(answer.status, `answer: ${answer.text.slice(0, 300)}`).toBe(200);
  },
);

check(
  ['TOK-2'],
  'the answer is JSON with access_token, token_type Bearer, an integer expires_in and no refresh_token',
  async ({ target, peer, ocm }) => {
    const share = await sharedByTarget(ocm, target, peer);
    const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share)));
    expect(answer.status, `answer: ${answer.text.slice(0, 300)}`).toBe(200);
    expect(answer.headers.get('content-type') ?? '', 'content-type').toMatch(/^application\/json\b/i);
    const body = answer.json;
    expect(registry.validate('ocm', 'TokenResponse', body), 'the body against our TokenResponse schema').toEqual({ ok: true });
    expect(typeof body.access_token === 'string' && body.access_token !== '', 'access_token is a non-empty string').toBe(true);
    expect(body.token_type).toBe('Bearer');
    expect(
      Number.isInteger(body.expires_in) && body.expires_in > 0,
      `expires_in ${JSON.stringify(body.expires_in)} is a positive integer`,
    ).toBe(true);
    expect(body, 'no refresh_token').not.toHaveProperty('refresh_token');
  },
);

check(['TOK-3'], 'a wrong grant_type is answered 400 {error: unsupported_grant_type}', async ({ target, peer, ocm }) => {
  const share = await sharedByTarget(ocm, target, peer);
  const answer = await requestToken(ocm, target, peer, { ...tokenRequestFields(peer, secretOf(share)), grant_type: 'client_credentials' });
  expectTokenError(answer, 'unsupported_grant_type');
});

check(['TOK-3'], 'an unknown code is answered 400 {error: invalid_grant}', async ({ target, peer, ocm }) => {
  const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, WRONG_CODE()));
  expectTokenError(answer, 'invalid_grant');
});

check(['TOK-3'], 'a request without code is answered 400 {error: invalid_request}', async ({ target, peer, ocm }) => {
  const { code: _omitted, ...fields } = tokenRequestFields(peer, 'unused');
  const answer = await requestToken(ocm, target, peer, fields);
  expectTokenError(answer, 'invalid_request');
});

check(['TOK-4'], 'extra parameters such as redirect_uri, scope and state are ignored', async ({ target, peer, ocm }) => {
  const share = await sharedByTarget(ocm, target, peer);
  const extra = { redirect_uri: `https://${peer.domain}/callback`, scope: 'openid', state: 'conformance' };
  const plain = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share)));
  const withExtra = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share), extra));
  expect(plain.status, 'without extra parameters').toBe(200);
  expect(withExtra.status, `with extra parameters: ${withExtra.text.slice(0, 300)}`).toBe(200);
  expect(Object.keys(withExtra.json ?? {}).sort(), 'the same answer fields').toEqual(Object.keys(plain.json ?? {}).sort());
  expect(withExtra.json?.token_type).toBe(plain.json?.token_type);

  const wrongPlain = await requestToken(ocm, target, peer, tokenRequestFields(peer, WRONG_CODE()));
  const wrongExtra = await requestToken(ocm, target, peer, tokenRequestFields(peer, WRONG_CODE(), extra));
  expect(wrongExtra.status, 'a bad code with extra parameters').toBe(wrongPlain.status);
  expect(wrongExtra.json?.error, 'the same error code').toBe(wrongPlain.json?.error);
});

check(['TOK-5'], 'an unsigned token request is refused with 400 or 401', async ({ target, peer, ocm }) => {
  const share = await sharedByTarget(ocm, target, peer);
  const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share)), { sign: false });
  expect([400, 401], `answer: ${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  expect(answer.json?.access_token, 'no access_token').toBeUndefined();
});

// ---------------------------------------------------------------- the token at work (target as sharer)

check(['TOK-7'], 'the issued token opens the shared resource as a Bearer credential over WebDAV', async ({ target, peer, ocm }) => {
  const share = await sharedByTarget(ocm, target, peer);
  const answer = await requestToken(ocm, target, peer, tokenRequestFields(peer, secretOf(share)));
  expect(answer.status, `token answer: ${answer.text.slice(0, 300)}`).toBe(200);
  const url = sharedResourceUrl(target, share.body);
  const dav = await propfind(ocm, url, `Bearer ${answer.json.access_token}`);
  expect(dav.status, `PROPFIND ${url} with the token`).toBe(207);
});

check(
  ['TOK-7'],
  'a share made for a peer demanding must-exchange-token refuses the bare secret and opens with a token',
  async ({ target, peer, ocm }) => {
    const peerUser = await contact(ocm, target, peer);
    peer.discovery.criteria = ['must-exchange-token'];
    const share = await shareFromTarget(target, peer, peerUser, { path: target.context.target.resources.file });
    if (!isStrict(share))
      notRun(
        'the target did not put must-exchange-token in the share although the peer demands it (SHR-17); there is no strict share to probe',
      );
    const url = sharedResourceUrl(target, share.body);
    const secret = secretOf(share);
    const bare = await propfind(ocm, url, `Bearer ${secret}`);
    expect([401, 403, 404], `PROPFIND ${url} with Bearer <sharedSecret> answered ${bare.status}`).toContain(bare.status);
    const prefix = targetWebdavPrefix(target);
    if (prefix) {
      const basic = await propfind(ocm, prefix, `Basic ${Buffer.from(`${secret}:`).toString('base64')}`);
      expect([401, 403, 404], `legacy Basic <sharedSecret>: at ${prefix} answered ${basic.status}`).toContain(basic.status);
    }
    const token = await requestToken(ocm, target, peer, tokenRequestFields(peer, secret));
    expect(token.status, `token answer: ${token.text.slice(0, 300)}`).toBe(200);
    const dav = await propfind(ocm, url, `Bearer ${token.json.access_token}`);
    expect(dav.status, `PROPFIND ${url} with the token`).toBe(207);
  },
);

// ---------------------------------------------------------------- the target as receiver

const PEER_FILE = 'welcome.txt';
const PEER_FILE_BYTES = readFileSync(join(PROJECT_ROOT, 'fixtures/files', PEER_FILE));

interface ReadOutcome {
  share: PeerShare;
  read: { status: number; bytes: Buffer };
  /** Everything the peer received from the moment the share was offered. */
  seen: RecordedRequest[];
}

/**
 * The peer offers the target's user `share` (a fresh contact sends it); the
 * target's driver finds it, accepts it and reads it.
 */
async function offerAndRead(ocm: Transcript, target: TargetHandle, peer: PeerSimulator, share: PeerShare): Promise<ReadOutcome> {
  needDriver(target, 'generateInvite', 'listReceived', 'acceptShare', 'readReceived');
  const peerUser = peer.newUser();
  await becomeContact(ocm, target, peer, peerUser);
  const from = peer.requests.length;
  const answer = await peerPost(ocm, target, peer, '/shares', sharePayload(peer, share, targetAddress(target), peerUser));
  expect(answer.status, `the target's answer to the share: ${answer.text.slice(0, 300)}`).toBe(201);
  const name = share.path.split('/').pop();
  // By the sender's providerId when the driver shows it, else the newest pending share of that name.
  const received = await eventually(async () => {
    const list = await target.driver.listReceived(target.user);
    return (
      list.find((s) => s.remoteId === share.id) ??
      list.filter((s) => s.remoteId === undefined && s.name === name && s.state === 'pending').at(-1)
    );
  });
  expect(received, "the share shows up among the target user's received shares").toBeDefined();
  if (received!.state !== 'accepted') await target.driver.acceptShare(target.user, received!.id);
  const read = await target.driver.readReceived(target.user, received!.id);
  return { share, read, seen: peer.requests.slice(from) };
}

function tokenRequests(seen: RecordedRequest[]): RecordedRequest[] {
  return seen.filter((r) => r.method === 'POST' && r.path.endsWith('/token'));
}

function davRequests(seen: RecordedRequest[]): RecordedRequest[] {
  return seen.filter((r) => r.path.startsWith('/dav/'));
}

check(
  ['TOK-8'],
  'reading a must-exchange-token share, the target sends a signed token request with client_id = its own host',
  async ({ target, peer, ocm }) => {
    const share = peer.createShare(`/${PEER_FILE}`, { requirements: ['must-exchange-token'] });
    const { seen } = await offerAndRead(ocm, target, peer, share);
    const requests = tokenRequests(seen);
    expect(requests.length, 'token requests that reached the peer').toBeGreaterThan(0);
    for (const request of requests) {
      expect(String(request.headers['content-type'] ?? ''), 'content-type').toMatch(/^application\/x-www-form-urlencoded\b/i);
      expect(request.body, 'the form').toEqual(
        expect.objectContaining({ grant_type: 'authorization_code', client_id: target.domain, code: share.secret }),
      );
      expect(request.signature, 'verdict of verifying the token request against the target JWKS').toEqual(
        expect.objectContaining({ status: 'valid' }),
      );
    }
  },
);

check(
  ['TOK-9'],
  'for a must-exchange-token share the target exchanges first and then reads with the token only',
  async ({ target, peer, ocm }) => {
    const share = peer.createShare(`/${PEER_FILE}`, { requirements: ['must-exchange-token'] });
    const { read, seen } = await offerAndRead(ocm, target, peer, share);
    expect(read.status, 'the driver read the share').toBe(200);
    expect(read.bytes.equals(PEER_FILE_BYTES), 'the content is the shared file').toBe(true);
    const tokens = tokenRequests(seen);
    const dav = davRequests(seen);
    expect(tokens.length, 'a token request before access').toBeGreaterThan(0);
    expect(dav.length, 'WebDAV requests to the peer').toBeGreaterThan(0);
    expect(seen.indexOf(tokens[0]!), 'the first token request came before the first WebDAV request').toBeLessThan(seen.indexOf(dav[0]!));
    for (const request of dav) {
      const authorization = String(request.headers.authorization ?? '');
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      expect(
        bearer !== undefined && share.tokens.includes(bearer),
        `${request.method} ${request.path} carries an issued token (not the secret)`,
      ).toBe(true);
    }
  },
);

check(
  ['TOK-9'],
  'when the exchange fails for a share without must-exchange-token, the target falls back on the secret',
  async ({ target, peer, ocm }, testInfo) => {
    // The peer offers exchange-token but its token endpoint does not work.
    peer.discovery.extra = { tokenEndPoint: `${peer.endPoint}/token-out-of-order` };
    const share = peer.createShare(`/${PEER_FILE}`);
    const { read, seen } = await offerAndRead(ocm, target, peer, share);
    const attempts = seen.filter((r) => r.path.endsWith('/token-out-of-order'));
    testInfo.annotations.push({
      type: 'note',
      description:
        attempts.length > 0
          ? `the target tried the exchange ${attempts.length} time(s)`
          : 'the target did not try the exchange (it MAY skip it)',
    });
    expect(read.status, 'the driver read the share with the secret').toBe(200);
    expect(read.bytes.equals(PEER_FILE_BYTES), 'the content is the shared file').toBe(true);
    const dav = davRequests(seen);
    expect(dav.length, 'WebDAV requests to the peer').toBeGreaterThan(0);
  },
);
