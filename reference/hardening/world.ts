/**
 * The world the fuzzer attacks: reference instance A (listening on a socket
 * and inject()-able, with its gRPC server), reference instance B (a real
 * signing peer that trusts A) and a plain peer P (discovery without
 * `http-sig`, so unsigned shares from it get past the signature policy).
 * A holds real data before the first case: contacts with B, sent shares to
 * B, received shares from B (one accepted) and from P, open and accepted
 * invites. `known` lists ids, tokens and secrets the generators mix in so
 * that cases reach past "not found".
 *
 * Every error A logs (level ≥ error: unexpected faults, responses replaced
 * by a 500) is kept in `errors` for the fuzzer's report.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildConfig, type ReferenceConfig } from '../base/config.ts';
import { startInstance, type RunningInstance } from '../main.ts';
import { freePort, providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { basicAuth, EINSTEIN, MARIE } from '../testing/harness.ts';

export const OCS_V2 = '/ocs/v2.php/apps/files_sharing/api/v1';

export interface LoggedError {
  at: number;
  line: Record<string, unknown>;
}

export interface Known {
  domainA: string;
  domainB: string;
  domainP: string;
  tokens: string[];
  receivedShareIds: string[];
  receivedProviderIds: string[];
  sentShareIds: string[];
  sentProviderIds: string[];
  secrets: string[];
  userIds: string[];
}

export interface World {
  a: RunningInstance;
  b: RunningInstance;
  p: FastifyInstance;
  originA: string;
  originB: string;
  originP: string;
  grpcPort: number | undefined;
  known: Known;
  errors: LoggedError[];
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Start A's gRPC server too (when reference/grpc/server.ts exports startGrpcServer). */
  grpc?: boolean;
  configure?: Partial<ReferenceConfig>;
  hosts?: [string, string, string];
}

function capturingLogger(errors: LoggedError[]): pino.Logger {
  return pino(
    { level: 'error' },
    {
      write(line: string) {
        try {
          errors.push({ at: Date.now(), line: JSON.parse(line) as Record<string, unknown> });
        } catch {
          errors.push({ at: Date.now(), line: { raw: line } });
        }
      },
    },
  );
}

/** A minimal OCM server without signatures: discovery, and 2xx for what A may send it. */
export async function startPlainPeer(host: string, port: number): Promise<FastifyInstance> {
  const origin = `http://${host}:${port}`;
  const p = Fastify({ logger: false });
  const discovery = {
    enabled: true,
    apiVersion: '1.4.0',
    endPoint: `${origin}/ocm`,
    provider: 'plain peer',
    resourceTypes: [
      { name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm/' } },
      { name: 'folder', shareTypes: ['user'], protocols: { webdav: '/dav/ocm/' } },
    ],
    capabilities: ['invites', 'notifications'],
    criteria: [],
  };
  p.get('/.well-known/ocm', async () => discovery);
  p.get('/ocm-provider', async () => discovery);
  p.post('/ocm/shares', async (_request, reply) => reply.code(201).send({ recipientDisplayName: 'Plain Recipient' }));
  p.post('/ocm/notifications', async (_request, reply) => reply.code(201).send({}));
  p.post('/ocm/invite-accepted', async () => ({ userID: 'plain-user', email: 'plain@example.org', name: 'Plain User' }));
  await p.listen({ host, port });
  return p;
}

/** One request with Basic auth and a JSON or form body; the answer's status and parsed JSON (else its text). */
export async function requestJson(
  url: string,
  init: {
    method?: string;
    user?: { username: string; password: string };
    body?: unknown;
    form?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (init.user) headers.authorization = basicAuth(init.user);
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body, signal: AbortSignal.timeout(init.timeoutMs ?? 15_000) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

function expectStatus(what: string, got: { status: number; body: unknown }, ...wanted: number[]): void {
  if (!wanted.includes(got.status))
    throw new Error(`world seed: ${what} answered ${got.status}: ${JSON.stringify(got.body).slice(0, 300)}`);
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const [hostA, hostB, hostP] = options.hosts ?? ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const [portA, portB, portP] = [await freePort(hostA), await freePort(hostB), await freePort(hostP)];
  const originA = `http://${hostA}:${portA}`;
  const originB = `http://${hostB}:${portB}`;
  const originP = `http://${hostP}:${portP}`;
  const dirs = [await mkdtemp(join(tmpdir(), 'ocm-fuzz-a-')), await mkdtemp(join(tmpdir(), 'ocm-fuzz-b-'))] as const;
  const errors: LoggedError[] = [];
  const a = await startInstance(buildConfig({ host: hostA, port: portA, dataDir: dirs[0], logLevel: 'error', ...options.configure }), {
    logger: capturingLogger(errors),
    providers: new TrustedProviders([providerEntry('a', originA), providerEntry('b', originB), providerEntry('p', originP)]),
  });
  const b = await startInstance(buildConfig({ host: hostB, port: portB, dataDir: dirs[1], logLevel: 'silent' }), {
    logger: pino({ level: 'silent' }),
    providers: new TrustedProviders([providerEntry('a', originA), providerEntry('b', originB)]),
  });
  const p = await startPlainPeer(hostP, portP);

  let grpcPort: number | undefined;
  let grpcClose: (() => Promise<void>) | undefined;
  if (options.grpc !== false) {
    const grpcModule = (await import('../grpc/server.ts').catch(() => undefined)) as
      | {
          startGrpcServer?: (
            core: unknown,
            o: { host: string; port: number; logger?: { error(d: object, m: string): void } },
          ) => Promise<{ port: number; close(): Promise<void> }>;
        }
      | undefined;
    if (grpcModule?.startGrpcServer) {
      const server = await grpcModule.startGrpcServer(a.core, {
        host: hostA,
        port: 0,
        logger: {
          error: (details, message) =>
            errors.push({
              at: Date.now(),
              line: { source: 'grpc', msg: message, ...details, err: String((details as { err?: unknown }).err) },
            }),
        },
      });
      grpcPort = server.port;
      grpcClose = () => server.close();
    }
  }

  const domainA = `${hostA}:${portA}`;
  const domainB = `${hostB}:${portB}`;
  const domainP = `${hostP}:${portP}`;
  const known: Known = {
    domainA,
    domainB,
    domainP,
    tokens: [],
    receivedShareIds: [],
    receivedProviderIds: [],
    sentShareIds: [],
    sentProviderIds: [],
    secrets: [],
    userIds: [EINSTEIN.id, MARIE.id],
  };

  // einstein@A and marie@B become contacts (B redeems A's invite).
  const invite = await requestJson(`${originA}/sciencemesh/generate-invite`, { method: 'POST', user: EINSTEIN });
  expectStatus('generate-invite', invite, 200);
  const accepted = await requestJson(`${originB}/sciencemesh/accept-invite`, {
    method: 'POST',
    user: MARIE,
    body: { invite: invite.body.invite_string },
  });
  expectStatus('accept-invite at B', accepted, 200);
  known.tokens.push(invite.body.token);
  for (const user of [EINSTEIN, MARIE, EINSTEIN]) {
    const open = await requestJson(`${originA}/sciencemesh/generate-invite`, { method: 'POST', user, body: { description: 'fuzz seed' } });
    expectStatus('generate-invite', open, 200);
    known.tokens.push(open.body.token);
  }
  // einstein@A shares a file and a folder with marie@B.
  for (const [path, role] of [
    ['/welcome.txt', 'viewer'],
    ['/project', 'editor'],
  ] as const) {
    const sent = await requestJson(`${originA}${OCS_V2}/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path, shareWith: MARIE.id, shareWithProvider: domainB, role },
    });
    expectStatus(`OCS share ${path} A→B`, sent, 200);
    known.sentShareIds.push(sent.body.ocs.data.id);
  }
  // marie@B shares three things with einstein@A; A accepts the first.
  for (const path of ['/welcome.txt', '/project', '/sample.bin']) {
    const sent = await requestJson(`${originB}${OCS_V2}/shares`, {
      method: 'POST',
      user: MARIE,
      form: { shareType: '6', path, shareWith: EINSTEIN.id, shareWithProvider: domainA, role: 'editor' },
    });
    expectStatus(`OCS share ${path} B→A`, sent, 200);
  }
  const pending = await requestJson(`${originA}${OCS_V2}/shares?shared_with_me=true&state=all`, { user: EINSTEIN });
  for (const share of pending.body.ocs.data as Array<{ id: string; remote_id: string }>) {
    known.receivedShareIds.push(share.id);
    known.receivedProviderIds.push(share.remote_id);
  }
  if (known.receivedShareIds[0]) {
    const acceptedShare = await requestJson(`${originA}${OCS_V2}/shares/pending/${known.receivedShareIds[0]}`, {
      method: 'POST',
      user: EINSTEIN,
    });
    expectStatus('accept received share', acceptedShare, 200);
  }
  // Two unsigned shares from the plain peer.
  for (let i = 0; i < 2; i++) {
    const providerId = `plain-${i}`;
    const share = await requestJson(`${originA}/ocm/shares`, {
      method: 'POST',
      body: {
        shareWith: `${EINSTEIN.id}@${domainA}`,
        name: `plain-${i}.txt`,
        providerId,
        owner: `owner@${domainP}`,
        sender: `sender@${domainP}`,
        shareType: 'user',
        resourceType: 'file',
        protocol: {
          name: 'multi',
          webdav: { uri: `${originP}/dav/ocm/${providerId}`, sharedSecret: `plain-secret-${i}-0123456789`, permissions: ['read'] },
        },
      },
    });
    expectStatus('unsigned share from P', share, 201);
    known.receivedProviderIds.push(providerId);
    known.secrets.push(`plain-secret-${i}-0123456789`);
  }
  for (const record of a.core.stores.receivedShares.values())
    if (!known.receivedShareIds.includes(record.id)) known.receivedShareIds.push(record.id);
  for (const record of a.core.stores.sentShares.values()) {
    known.sentProviderIds.push(record.providerId);
    known.secrets.push(record.sharedSecret);
  }
  for (const record of a.core.stores.receivedShares.values())
    if (record.protocols.webdav?.sharedSecret) known.secrets.push(record.protocols.webdav.sharedSecret);

  return {
    a,
    b,
    p,
    originA,
    originB,
    originP,
    grpcPort,
    known,
    errors,
    async close() {
      await grpcClose?.();
      await Promise.allSettled([a.close(), b.close(), p.close()]);
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
