/**
 * Steps the suites repeat, played by a simulated peer against the target:
 * POST to the target's OCM endpoints (signed when the target advertises
 * `http-sig`), build newest-draft share payloads, and become a contact of a
 * target user through the invite flow.
 */
import { expect, test } from '@playwright/test';
import { discoveryUrl, notRun, type TargetHandle } from './fixtures.ts';
import type { PeerShare, PeerSimulator, PeerUser, RecordedRequest } from './peer-simulator.ts';
import { redactHeaders, redactText, type Answer, type Transcript } from '../../results/transcript.ts';
import type { TargetUser } from './target.ts';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { advertises } from './context.ts';
import { step, stepRequest, StepFailed } from './step.ts';
import { rawConnectOptions, trustFromEnv } from './target-trust.ts';

export interface PostOptions {
  /** Sign even/never, regardless of what the target advertises. */
  sign?: boolean;
  headers?: Record<string, string>;
  /** Send this raw body instead of JSON-encoding `payload`. */
  raw?: string;
}

/** POSTs JSON to `<target endPoint><path>` as `peer`. */
export async function peerPost(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  path: string,
  payload: unknown,
  options: PostOptions = {},
): Promise<Answer> {
  const url = `${target.endPoint}${path}`;
  const body = options.raw ?? JSON.stringify(payload);
  // A 1.2-era peer signs with draft-cavage unless the target advertises http-sig (RFC 9421).
  const sign = options.sign ?? (advertises('http-sig') || peer.cavage);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (sign) Object.assign(headers, peerSignature(peer, url, body));
  return ocm.request(url, { method: 'POST', headers, body });
}

/**
 * Signature headers of `peer` for a POST of `body` to `url`: RFC 9421 (the OCM
 * profile) when the target advertises http-sig or the peer is not a 1.2-era
 * one, else draft-cavage with the peer's RSA key (content-type left to the caller).
 */
export function peerSignature(peer: PeerSimulator, url: string, body: string): Record<string, string> {
  if (advertises('http-sig') || !peer.cavage) return peer.signatureHeaders(url, body);
  const { 'content-type': _contentType, ...headers } = peer.cavageSignatureHeaders(url, body);
  return headers;
}

/** The OCM Address of a target user. */
export function targetAddress(target: TargetHandle, userId = target.user.id): string {
  return `${userId}@${target.domain}`;
}

/** A newest-draft Share Creation Notification from `peer` offering `share` to `shareWith`. */
export function sharePayload(
  peer: PeerSimulator,
  share: PeerShare,
  shareWith: string,
  owner: PeerUser = peer.users[0]!,
  overrides: Record<string, unknown> = {},
): Record<string, any> {
  const webdav: Record<string, unknown> = {
    uri: `${peer.origin}/dav/ocm/${share.id}`,
    sharedSecret: share.secret,
    permissions: share.permissions,
  };
  if (share.requirements) webdav.requirements = share.requirements;
  return {
    shareWith,
    name: share.path.split('/').filter(Boolean).pop() ?? share.path,
    description: 'shared by the conformance suite',
    providerId: share.id,
    owner: peer.address(owner.id),
    sender: peer.address(owner.id),
    ownerDisplayName: owner.name,
    senderDisplayName: owner.name,
    shareType: 'user',
    resourceType: share.resourceType,
    protocol: { name: 'multi', webdav },
    ...overrides,
  };
}

/**
 * Makes `peerUser` an accepted contact of the target's user: the target user
 * generates an invite (driver) and the peer redeems it at the target's
 * `/invite-accepted`. Returns false when the driver cannot generate invites.
 */
export async function becomeContact(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  peerUser: PeerUser,
  targetUser = target.user,
): Promise<boolean> {
  if (!target.driver.supports('generateInvite')) return false;
  // Steps, not the assertion under test: their failure means the check could not run (INV-4/INV-12 judge them on their own).
  const { token } = await step('become a contact (generate an invite)', () => target.driver.generateInvite(targetUser));
  await stepRequest(
    'become a contact (invite acceptance)',
    () =>
      peerPost(ocm, target, peer, '/invite-accepted', {
        recipientProvider: peer.domain,
        token,
        userID: peerUser.id,
        email: peerUser.email,
        name: peerUser.name,
      }),
    200,
  );
  return true;
}

/** Waits (bounded) until `predicate` holds, polling. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000, intervalMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- shares the target sends: what reaches the peer, WebDAV access, token exchange

/** A share the target sent to a peer. */
export interface TargetShare {
  /** The share id the driver reported (the target's local id). */
  id: string;
  /** The POST /shares as the peer recorded it. */
  request: RecordedRequest;
  /** Its parsed JSON body. */
  body: Record<string, any>;
}

/**
 * The target's user shares `path` with `peerUser` at `peer` (driver step) and
 * the first POST /shares that reaches `peer` after the step is returned
 * (bounded wait). Throws when none arrives; a driver failure propagates.
 */
export async function shareFromTarget(
  target: TargetHandle,
  peer: PeerSimulator,
  peerUser: PeerUser,
  options: { path: string; role?: 'viewer' | 'editor'; user?: TargetUser },
): Promise<TargetShare> {
  const from = peer.requests.length;
  const { id, failed } = await stepEvenIfSent(`the target shares ${options.path}`, () =>
    target.driver.shareWith(options.user ?? target.user, {
      path: options.path,
      recipient: { userId: peerUser.id, domain: peer.domain },
      role: options.role ?? 'viewer',
    }),
  );
  const request = await eventually(
    async () => peer.requests.slice(from).find((r) => r.method === 'POST' && r.path.endsWith('/shares')),
    failed ? 1000 : 5000,
  );
  // The driver failed and nothing was sent: a step failure. Sent anyway (the peer refused it, say): what was sent is judged.
  if (failed && !request) throw failed;
  if (failed) sentDespiteFailedStep(failed);
  // The driver said the target shared: a share that never reaches the peer is the target's failure, not a step's.
  if (!request)
    throw new Error(
      `no POST /shares reached ${peer.name} within 5 s after the driver shared ${options.path} with ${peer.address(peerUser.id)}`,
    );
  if (!request.body || typeof request.body !== 'object')
    throw new Error(`the POST /shares that reached ${peer.name} has no JSON object body`);
  return { id: id ?? '', request, body: request.body as Record<string, any> };
}

/**
 * A driver step whose effect the check judges on the peer's side (what the
 * target sent): a driver error is kept, not thrown, so that the caller can
 * look whether the target sent something anyway (the peer's refusal makes
 * a target's own action fail). The caller throws it when nothing was sent.
 */
export async function stepEvenIfSent<T extends object>(
  name: string,
  body: () => Promise<T>,
): Promise<(T & { failed?: undefined }) | (Partial<T> & { failed: StepFailed })> {
  try {
    return await step(name, body);
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    return { failed: error } as Partial<T> & { failed: StepFailed };
  }
}

/** Notes on the check that its driver step failed after the target had sent what the check judges. */
export function sentDespiteFailedStep(failed: StepFailed): void {
  test.info().annotations.push({ type: 'note', description: `the target sent it, though its driver step then failed (${failed.message})` });
}

/**
 * The target's WebDAV prefix for relative uris, as an absolute URL without a
 * trailing slash: `protocols.webdav` of resourceTypes[0] (the draft's Resource
 * Access step 1), or of the entry named `resourceType` when given (the
 * `matching-entry` reading of webdav-prefix-entry). Undefined when absent.
 */
export function targetWebdavPrefix(target: TargetHandle, resourceType?: string): string | undefined {
  const types = target.discovery?.resourceTypes;
  if (!Array.isArray(types) || types.length === 0) return undefined;
  const entry = (resourceType ? types.find((t: any) => t?.name === resourceType) : undefined) ?? types[0];
  const prefix = entry?.protocols?.webdav;
  if (typeof prefix !== 'string' || prefix === '') return undefined;
  return new URL(prefix, `${target.origin}/`).toString().replace(/\/+$/, '');
}

/** Whether a webdav.uri is absolute (scheme://…) rather than a key below the prefix. */
export function isAbsoluteUri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

/**
 * The URL a receiver reaches a share the target sent: an absolute
 * `protocol.webdav.uri` as is, a relative one below the target's WebDAV prefix
 * (see targetWebdavPrefix). Throws when the share or the discovery lacks what is needed.
 */
export function sharedResourceUrl(
  target: TargetHandle,
  share: Record<string, any>,
  entry: 'first-entry' | 'matching-entry' = 'first-entry',
): string {
  const uri = share?.protocol?.webdav?.uri;
  if (typeof uri !== 'string' || uri === '') throw new Error('the share has no protocol.webdav.uri');
  if (isAbsoluteUri(uri)) return uri.replace(/\/+$/, '');
  const prefix = targetWebdavPrefix(target, entry === 'matching-entry' ? share.resourceType : undefined);
  if (!prefix) throw new Error('the target discovery names no webdav prefix for a relative uri');
  return `${prefix}/${uri.replace(/^\/+/, '').replace(/\/+$/, '')}`;
}

/** The form fields of a code-flow token request by `peer` for `code`, plus `extra`. */
export function tokenRequestFields(peer: PeerSimulator, code: string, extra: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'authorization_code', client_id: peer.domain, code, ...extra };
}

/**
 * POSTs a code-flow token request to the target's tokenEndPoint as `peer`:
 * `application/x-www-form-urlencoded`, signed with the peer's key (RFC 9421,
 * over the exact body) unless `sign: false`.
 */
export async function requestToken(
  ocm: Transcript,
  target: TargetHandle,
  peer: PeerSimulator,
  fields: Record<string, string>,
  options: { sign?: boolean } = {},
): Promise<Answer> {
  // A relative tokenEndPoint is DISC-17's finding: resolved (and noted) or not run, never a TypeError here.
  const url = discoveryUrl(target, 'tokenEndPoint');
  const body = new URLSearchParams(fields).toString();
  const headers: Record<string, string> = {
    ...(options.sign === false ? {} : peerSignature(peer, url, body)),
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  return ocm.request(url, { method: 'POST', headers, body });
}

/**
 * A request whose path goes out exactly as written: no dot-segment removal
 * and no percent-encoding normalisation, which fetch would apply (path
 * traversal probes need `..` on the wire). Recorded in the transcript like
 * `ocm.request`.
 */
export async function rawPathRequest(
  ocm: Transcript,
  origin: string,
  rawPath: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const base = new URL(origin);
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  const started = Date.now();
  const exchange: Transcript['exchanges'][number] = {
    at: new Date(started).toISOString(),
    request: {
      method,
      url: `${base.origin}${rawPath}`,
      headers: redactHeaders(headers),
      ...(options.body !== undefined ? { body: redactText(options.body) } : {}),
    },
    durationMs: 0,
  };
  ocm.exchanges.push(exchange);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const answer = await new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>(
      (resolve, reject) => {
        const req = send(
          {
            host: base.hostname,
            port: base.port || undefined,
            path: rawPath,
            method,
            headers,
            timeout: options.timeoutMs ?? 15_000,
            // The same trust as every harness request (run --ca-file / --insecure / --tls pins).
            ...(rawConnectOptions(trustFromEnv()) as Record<string, unknown>),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
            );
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 15_000} ms`)));
        req.on('error', reject);
        req.end(options.body);
      },
    );
    exchange.durationMs = Date.now() - started;
    exchange.response = { status: answer.status, headers: redactHeaders(answer.headers), body: redactText(answer.text.slice(0, 8000)) };
    return answer;
  } catch (error) {
    exchange.durationMs = Date.now() - started;
    exchange.error = (error as Error).message;
    throw error;
  }
}

/** The body is an OCM Error: JSON with a string message, validationErrors (when present) with string name and message. */
export function expectErrorBody(answer: Answer, label = 'the error answer'): void {
  expect(answer.json, `${label} (${answer.status}) has a JSON object body: ${answer.text.slice(0, 200)}`).toEqual(expect.any(Object));
  expect(typeof answer.json?.message, `${label} (${answer.status}) has a string message`).toBe('string');
  const issues = answer.json?.validationErrors;
  if (issues === undefined) return;
  expect(Array.isArray(issues), `${label} (${answer.status}): validationErrors is an array`).toBe(true);
  for (const issue of issues) {
    expect(
      typeof issue?.name === 'string' && typeof issue?.message === 'string',
      `${label} (${answer.status}): validationErrors item ${JSON.stringify(issue)} has string name and message`,
    ).toBe(true);
  }
}
