/**
 * Target drivers make the target act as its users would: generate or accept
 * an invite, share with a remote user, list, accept, decline or read a
 * received share, unshare. A check whose step the driver cannot do is
 * reported as not run (`DriverUnsupported`), never as passed.
 *
 *  - `ocs+sciencemesh`: the OCS share API (share type 6) and the sciencemesh
 *    invitation API that reva, oCIS and our reference expose (Nextcloud's
 *    OCS shares API with share type 6 too).
 *  - `http-trigger`: URL templates, e.g. for stub servers.
 *  - `manual`: prints the step and waits for its visible effect (bounded).
 */
import type { HttpTriggerAction, TargetConfig, TargetUser, DriverAction } from './target.ts';
import { DRIVER_ACTIONS } from './target.ts';
import { StepFailed } from './step.ts';

export class DriverUnsupported extends Error {
  constructor(
    readonly action: DriverAction,
    driverKind: string,
  ) {
    super(`the ${driverKind} driver cannot ${action}`);
    this.name = 'DriverUnsupported';
  }
}

/** A driver action the target did not do: a failed step (the check is not run), never a target failure by itself. */
export class DriverStepFailed extends StepFailed {
  constructor(
    readonly action: DriverAction,
    status: number | string,
    detail: string,
  ) {
    super([`driver ${action}`], status, detail.replace(/\s+/g, ' ').trim());
    this.name = 'DriverStepFailed';
  }
}

export interface RemoteUserRef {
  userId: string;
  domain: string;
}

export interface ReceivedShareView {
  id: string;
  name: string;
  state: 'pending' | 'accepted' | 'declined';
  /** The sender's providerId, when the target shows it. */
  remoteId?: string;
}

export interface Driver {
  readonly kind: string;
  supports(action: DriverAction): boolean;
  /** `expiresInSeconds` asks for a short-lived token; a target may ignore it (check the returned `expiration`). */
  generateInvite(user: TargetUser, options?: { expiresInSeconds?: number }): Promise<{ token: string; expiration?: number }>;
  acceptInvite(user: TargetUser, invite: { token: string; providerDomain: string }): Promise<void>;
  listContacts(user: TargetUser): Promise<RemoteUserRef[]>;
  shareWith(user: TargetUser, share: { path: string; recipient: RemoteUserRef; role: 'viewer' | 'editor' }): Promise<{ id: string }>;
  listReceived(user: TargetUser): Promise<ReceivedShareView[]>;
  acceptShare(user: TargetUser, id: string): Promise<void>;
  declineShare(user: TargetUser, id: string): Promise<void>;
  readReceived(user: TargetUser, id: string, relativePath?: string): Promise<{ status: number; bytes: Buffer }>;
  writeReceived(user: TargetUser, id: string, relativePath: string, content: Buffer): Promise<{ status: number }>;
  unshare(user: TargetUser, id: string): Promise<void>;
  updateShare(user: TargetUser, id: string, role: 'viewer' | 'editor'): Promise<void>;
}

interface HttpAnswer {
  status: number;
  text: string;
  json: any;
  bytes: Buffer;
}

async function http(
  action: DriverAction,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<HttpAnswer> {
  let bytes: Buffer;
  let response: Response;
  try {
    response = await fetch(url, { ...init, body: toBody(init.body), redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    bytes = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    // The target did not answer the driver: the step failed (a bad URL in the config is our error, not a step's).
    if (error instanceof TypeError && !/^fetch failed/.test(error.message)) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new DriverStepFailed(action, 'network error', `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
  }
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, bytes };
}

function basic(user: TargetUser): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

const OCS_STATES: Record<number, ReceivedShareView['state']> = { 0: 'accepted', 1: 'pending', 2: 'declined' };

export class OcsScienceMeshDriver implements Driver {
  readonly kind = 'ocs+sciencemesh';
  private readonly ocs: string;
  private readonly mesh: string;

  constructor(
    private readonly target: TargetConfig,
    private readonly receivedDav?: string,
  ) {
    const settings = target.driver as { ocsBase?: string; sciencemeshBase?: string };
    this.ocs = `${target.baseUrl}${settings.ocsBase ?? '/ocs/v2.php/apps/files_sharing/api/v1'}`;
    this.mesh = `${target.baseUrl}${settings.sciencemeshBase ?? '/sciencemesh'}`;
  }

  supports(action: DriverAction): boolean {
    if (action === 'readReceived') return this.receivedDav !== undefined;
    return true;
  }

  private async ocsCall(action: DriverAction, user: TargetUser, method: string, path: string, form?: Record<string, string>): Promise<any> {
    const answer = await http(action, `${this.ocs}${path}${path.includes('?') ? '&' : '?'}format=json`, {
      method,
      headers: {
        authorization: basic(user),
        'ocs-apirequest': 'true',
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    const meta = answer.json?.ocs?.meta;
    if (answer.status !== 200 || (meta && meta.status !== 'ok')) {
      throw new DriverStepFailed(action, meta?.statuscode ?? answer.status, meta?.message ?? answer.text.slice(0, 200));
    }
    return answer.json.ocs.data;
  }

  async generateInvite(user: TargetUser, options: { expiresInSeconds?: number } = {}): Promise<{ token: string; expiration?: number }> {
    const body = options.expiresInSeconds ? { expiresIn: options.expiresInSeconds } : {};
    const answer = await http('generateInvite', `${this.mesh}/generate-invite`, {
      method: 'POST',
      headers: { authorization: basic(user), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (answer.status !== 200 && answer.status !== 201)
      throw new DriverStepFailed('generateInvite', answer.status, answer.text.slice(0, 200));
    const expiration = Number(answer.json?.expiration);
    return { token: String(answer.json?.token), ...(Number.isFinite(expiration) ? { expiration } : {}) };
  }

  async acceptInvite(user: TargetUser, invite: { token: string; providerDomain: string }): Promise<void> {
    const answer = await http('acceptInvite', `${this.mesh}/accept-invite`, {
      method: 'POST',
      headers: { authorization: basic(user), 'content-type': 'application/json' },
      body: JSON.stringify(invite),
    });
    if (answer.status !== 200) throw new DriverStepFailed('acceptInvite', answer.status, answer.text.slice(0, 200));
  }

  async listContacts(user: TargetUser): Promise<RemoteUserRef[]> {
    const answer = await http('listContacts', `${this.mesh}/find-accepted-users`, {
      method: 'GET',
      headers: { authorization: basic(user) },
    });
    if (answer.status !== 200 || !Array.isArray(answer.json))
      throw new DriverStepFailed('listContacts', answer.status, answer.text.slice(0, 200));
    return (answer.json as Array<{ user_id: string; idp: string }>).map((c) => ({
      userId: c.user_id,
      domain: c.idp.replace(/^https?:\/\//, ''),
    }));
  }

  async shareWith(user: TargetUser, share: { path: string; recipient: RemoteUserRef; role: 'viewer' | 'editor' }): Promise<{ id: string }> {
    const data = await this.ocsCall('shareWith', user, 'POST', '/shares', {
      shareType: '6',
      path: share.path,
      shareWith: share.recipient.userId,
      shareWithProvider: share.recipient.domain,
      role: share.role,
      permissions: share.role === 'editor' ? '15' : '1',
    });
    return { id: String(data.id) };
  }

  async listReceived(user: TargetUser): Promise<ReceivedShareView[]> {
    const data = await this.ocsCall('listReceived', user, 'GET', '/shares?shared_with_me=true&state=all');
    return (Array.isArray(data) ? data : [])
      .filter((s: any) => Number(s.share_type) === 6)
      .map((s: any) => ({
        id: String(s.id),
        name: String(s.name ?? s.file_target ?? ''),
        state: OCS_STATES[Number(s.state)] ?? 'pending',
        ...(s.remote_id ? { remoteId: String(s.remote_id) } : {}),
      }));
  }

  async acceptShare(user: TargetUser, id: string): Promise<void> {
    await this.ocsCall('acceptShare', user, 'POST', `/shares/pending/${encodeURIComponent(id)}`);
  }

  async declineShare(user: TargetUser, id: string): Promise<void> {
    await this.ocsCall('declineShare', user, 'DELETE', `/shares/pending/${encodeURIComponent(id)}`);
  }

  private receivedUrl(id: string, relativePath = ''): string {
    const path = this.receivedDav!.replace('{id}', encodeURIComponent(id)).replace(
      '{path}',
      relativePath.split('/').filter(Boolean).map(encodeURIComponent).join('/'),
    );
    return `${this.target.baseUrl}${path.replace(/\/+$/, '')}`;
  }

  async readReceived(user: TargetUser, id: string, relativePath = ''): Promise<{ status: number; bytes: Buffer }> {
    if (!this.receivedDav) throw new DriverUnsupported('readReceived', this.kind);
    const answer = await http('readReceived', this.receivedUrl(id, relativePath), {
      method: 'GET',
      headers: { authorization: basic(user) },
    });
    return { status: answer.status, bytes: answer.bytes };
  }

  async writeReceived(user: TargetUser, id: string, relativePath: string, content: Buffer): Promise<{ status: number }> {
    if (!this.receivedDav) throw new DriverUnsupported('readReceived', this.kind);
    const answer = await http('readReceived', this.receivedUrl(id, relativePath), {
      method: 'PUT',
      headers: { authorization: basic(user), 'content-type': 'application/octet-stream' },
      body: content,
    });
    return { status: answer.status };
  }

  async unshare(user: TargetUser, id: string): Promise<void> {
    await this.ocsCall('unshare', user, 'DELETE', `/shares/${encodeURIComponent(id)}`);
  }

  async updateShare(user: TargetUser, id: string, role: 'viewer' | 'editor'): Promise<void> {
    await this.ocsCall('updateShare', user, 'PUT', `/shares/${encodeURIComponent(id)}`, { permissions: role === 'editor' ? '15' : '1' });
  }
}

/** Fills `{name}` placeholders (URL-encoded in URLs). */
function fill(template: string, values: Record<string, string>, encode: boolean): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? (encode ? encodeURIComponent(values[name]!) : values[name]!) : whole,
  );
}

function fillJson(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') return fill(value, values, false);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, values)]));
  return value;
}

function pick(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  return path.split('.').reduce<any>((v, key) => (v == null ? undefined : v[key]), value);
}

export class HttpTriggerDriver implements Driver {
  readonly kind = 'http-trigger';
  constructor(private readonly actions: Partial<Record<DriverAction, HttpTriggerAction>>) {}

  supports(action: DriverAction): boolean {
    return this.actions[action] !== undefined;
  }

  private async run(action: DriverAction, user: TargetUser, values: Record<string, string>): Promise<HttpAnswer> {
    const spec = this.actions[action];
    if (!spec) throw new DriverUnsupported(action, this.kind);
    const all = { username: user.username, userId: user.id, password: user.password, ...values };
    const body = spec.json === undefined ? undefined : JSON.stringify(fillJson(spec.json, all));
    const answer = await http(action, fill(spec.url, all, true), {
      method: spec.method ?? (body ? 'POST' : 'GET'),
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([k, v]) => [k, fill(v, all, false)])),
      },
      ...(body ? { body } : {}),
    });
    if (answer.status < 200 || answer.status >= 300) throw new DriverStepFailed(action, answer.status, answer.text.slice(0, 200));
    return answer;
  }

  async generateInvite(user: TargetUser) {
    const answer = await this.run('generateInvite', user, {});
    return { token: String(pick(answer.json, this.actions.generateInvite?.result ?? 'token')) };
  }
  async acceptInvite(user: TargetUser, invite: { token: string; providerDomain: string }) {
    await this.run('acceptInvite', user, invite);
  }
  async listContacts(user: TargetUser) {
    const answer = await this.run('listContacts', user, {});
    const list = pick(answer.json, this.actions.listContacts?.result);
    return Array.isArray(list)
      ? list.map((c: any) => ({ userId: String(c.user_id ?? c.userId), domain: String(c.idp ?? c.domain).replace(/^https?:\/\//, '') }))
      : [];
  }
  async shareWith(user: TargetUser, share: { path: string; recipient: RemoteUserRef; role: 'viewer' | 'editor' }) {
    const answer = await this.run('shareWith', user, {
      path: share.path,
      recipientId: share.recipient.userId,
      recipientDomain: share.recipient.domain,
      role: share.role,
    });
    return { id: String(pick(answer.json, this.actions.shareWith?.result ?? 'id')) };
  }
  async listReceived(user: TargetUser) {
    const answer = await this.run('listReceived', user, {});
    const list = pick(answer.json, this.actions.listReceived?.result);
    return Array.isArray(list) ? (list as ReceivedShareView[]) : [];
  }
  async acceptShare(user: TargetUser, id: string) {
    await this.run('acceptShare', user, { id });
  }
  async declineShare(user: TargetUser, id: string) {
    await this.run('declineShare', user, { id });
  }
  async readReceived(user: TargetUser, id: string, relativePath = '') {
    const answer = await this.run('readReceived', user, { id, path: relativePath });
    return { status: answer.status, bytes: answer.bytes };
  }
  async writeReceived(): Promise<{ status: number }> {
    throw new DriverUnsupported('readReceived', this.kind);
  }
  async unshare(user: TargetUser, id: string) {
    await this.run('unshare', user, { id });
  }
  async updateShare(user: TargetUser, id: string, role: 'viewer' | 'editor') {
    await this.run('updateShare', user, { id, role });
  }
}

/**
 * A person drives the target: each step is printed and the driver waits for
 * what the step makes visible to the peer (bounded by `timeoutSeconds`).
 * Steps whose effect the harness cannot observe are not supported.
 */
export class ManualDriver implements Driver {
  readonly kind = 'manual';
  constructor(
    private readonly waitForPeer: (pathSuffix: string, timeoutMs: number) => Promise<unknown>,
    private readonly timeoutSeconds: number,
  ) {}

  supports(action: DriverAction): boolean {
    return action === 'acceptInvite' || action === 'shareWith' || action === 'unshare';
  }
  private async step(text: string, pathSuffix: string): Promise<unknown> {
    console.log(`\n>>> MANUAL STEP: ${text}\n    (waiting up to ${this.timeoutSeconds} s)`);
    const seen = await this.waitForPeer(pathSuffix, this.timeoutSeconds * 1000);
    if (!seen) throw new DriverStepFailed('shareWith', 0, `nothing arrived at the peer within ${this.timeoutSeconds} s`);
    return seen;
  }
  async acceptInvite(user: TargetUser, invite: { token: string; providerDomain: string }) {
    await this.step(`as ${user.username}, accept the invite token ${invite.token} from ${invite.providerDomain}`, '/invite-accepted');
  }
  async shareWith(user: TargetUser, share: { path: string; recipient: RemoteUserRef; role: 'viewer' | 'editor' }) {
    await this.step(
      `as ${user.username}, share ${share.path} (${share.role}) with ${share.recipient.userId}@${share.recipient.domain}`,
      '/shares',
    );
    return { id: 'manual' };
  }
  async unshare(user: TargetUser, _id: string) {
    await this.step(`as ${user.username}, remove the share you just made`, '/notifications');
  }
  private unsupported(action: DriverAction): never {
    throw new DriverUnsupported(action, this.kind);
  }
  async generateInvite(): Promise<{ token: string }> {
    return this.unsupported('generateInvite');
  }
  async listContacts(): Promise<RemoteUserRef[]> {
    return this.unsupported('listContacts');
  }
  async listReceived(): Promise<ReceivedShareView[]> {
    return this.unsupported('listReceived');
  }
  async acceptShare(): Promise<void> {
    return this.unsupported('acceptShare');
  }
  async declineShare(): Promise<void> {
    return this.unsupported('declineShare');
  }
  async readReceived(): Promise<{ status: number; bytes: Buffer }> {
    return this.unsupported('readReceived');
  }
  async writeReceived(): Promise<{ status: number }> {
    return this.unsupported('readReceived');
  }
  async updateShare(): Promise<void> {
    return this.unsupported('updateShare');
  }
}

export class NoDriver implements Driver {
  readonly kind = 'none';
  supports(): boolean {
    return false;
  }
  private unsupported(action: DriverAction): never {
    throw new DriverUnsupported(action, this.kind);
  }
  async generateInvite(): Promise<{ token: string }> {
    return this.unsupported('generateInvite');
  }
  async acceptInvite(): Promise<void> {
    return this.unsupported('acceptInvite');
  }
  async listContacts(): Promise<RemoteUserRef[]> {
    return this.unsupported('listContacts');
  }
  async shareWith(): Promise<{ id: string }> {
    return this.unsupported('shareWith');
  }
  async listReceived(): Promise<ReceivedShareView[]> {
    return this.unsupported('listReceived');
  }
  async acceptShare(): Promise<void> {
    return this.unsupported('acceptShare');
  }
  async declineShare(): Promise<void> {
    return this.unsupported('declineShare');
  }
  async readReceived(): Promise<{ status: number; bytes: Buffer }> {
    return this.unsupported('readReceived');
  }
  async writeReceived(): Promise<{ status: number }> {
    return this.unsupported('readReceived');
  }
  async unshare(): Promise<void> {
    return this.unsupported('unshare');
  }
  async updateShare(): Promise<void> {
    return this.unsupported('updateShare');
  }
}

export function createDriver(target: TargetConfig, waitForPeer: (pathSuffix: string, timeoutMs: number) => Promise<unknown>): Driver {
  const settings = target.driver;
  switch (settings.kind) {
    case 'ocs+sciencemesh':
      return new OcsScienceMeshDriver(target, settings.receivedDav);
    case 'http-trigger':
      return new HttpTriggerDriver(settings.actions);
    case 'manual':
      return new ManualDriver(waitForPeer, settings.timeoutSeconds ?? 120);
    default:
      return new NoDriver();
  }
}

export { DRIVER_ACTIONS };

/** fetch takes bytes as a Uint8Array view; Buffer's typing does not fit BodyInit on Node 20's types. */
function toBody(body: string | Buffer | undefined): string | Uint8Array<ArrayBuffer> | undefined {
  return Buffer.isBuffer(body) ? Uint8Array.from(body) : body;
}
