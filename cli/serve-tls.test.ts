/**
 * The reference over TLS, started as a user would: `ca init` and `ca issue`
 * make the certificates, `serve --tls-cert/--tls-key` answers discovery over
 * https to a client trusting that CA (and fails verification for one that
 * does not), and `serve --resolve name:port:address --ca-file` lets the
 * reference call a peer by its DNS name on loopback, checking the peer's
 * certificate against that name. Bad values stop `serve` with one line, exit 2.
 */
import { test, expect } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { providerEntry } from '../reference/pair.ts';

const BIN = fileURLToPath(new URL('../bin/ocm-conformance.js', import.meta.url));
const HOST = '127.0.0.1';
const run = promisify(execFile);

test.describe.configure({ timeout: 60_000 });

let dir: string;
test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-serve-tls-'));
  await run(process.execPath, [BIN, 'ca', 'init', join(dir, 'ca')]);
  await run(process.execPath, [BIN, 'ca', 'issue', join(dir, 'ca'), '--name', `ref.test,${HOST}`, '--out', join(dir, 'ref')]);
  await run(process.execPath, [BIN, 'ca', 'issue', join(dir, 'ca'), '--name', 'peer-a.test', '--out', join(dir, 'peer-a')]);
  // Another CA, whose certificates the reference must not accept.
  await run(process.execPath, [BIN, 'ca', 'init', join(dir, 'other-ca')]);
});
test.afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `serve` with these extra flags on a free port; resolves with its URL once its ready file appears. */
async function serve(name: string, flags: string[]): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const ready = join(dir, `${name}.ready`);
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--host', HOST, '--port', '0', '--data-dir', join(dir, `data-${name}`), '--ready-file', ready, ...flags],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  // Bounded: 30 s at most.
  for (let i = 0; i < 300; i++) {
    if (existsSync(ready)) return { url: readFileSync(ready, 'utf8').trim(), child, stop };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`serve ${flags.join(' ')} did not start: ${stderr}`);
}

/** The innermost error code of a failed undici fetch. */
async function failureCode(fetching: Promise<unknown>): Promise<string | undefined> {
  const error = await fetching.then(
    () => undefined,
    (caught: unknown) => caught as Error & { cause?: { code?: string } },
  );
  expect(error, 'the call should have failed').toBeDefined();
  return error?.cause?.code;
}

test('serve --tls-cert/--tls-key answers discovery over https to a client that trusts the CA, and fails verification otherwise', async () => {
  const reference = await serve('https', ['--tls-cert', join(dir, 'ref.pem'), '--tls-key', join(dir, 'ref-key.pem')]);
  const ca = await readFile(join(dir, 'ca', 'ca.pem'), 'utf8');
  const trusting = new Agent({ connect: { ca } });
  const byName = new Agent({ connect: { ca, lookup: (_host, _options, callback) => callback(null, [{ address: HOST, family: 4 }]) } });
  try {
    expect(reference.url).toMatch(new RegExp(`^https://${HOST.replaceAll('.', '\\.')}:\\d+$`));
    const port = new URL(reference.url).port;
    const response = await fetch(`${reference.url}/.well-known/ocm`, { dispatcher: trusting, signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    const document = (await response.json()) as { endPoint: string };
    // Discovery advertises https by default once the instance serves it.
    expect(document.endPoint).toBe(`${reference.url}/ocm`);
    // The DNS SAN of `ca issue --name ref.test,…` is accepted too.
    const named = await fetch(`https://ref.test:${port}/.well-known/ocm`, { dispatcher: byName, signal: AbortSignal.timeout(5_000) });
    expect(named.status).toBe(200);
    await named.body?.cancel();
    // Without the CA the client refuses the certificate: the server really is speaking TLS with ours.
    const untrusted = new Agent();
    expect(
      await failureCode(fetch(`${reference.url}/.well-known/ocm`, { dispatcher: untrusted, signal: AbortSignal.timeout(5_000) })),
    ).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    await untrusted.close();
    // And plain http on the same port gets no OCM answer.
    const plain = await fetch(`http://${HOST}:${port}/.well-known/ocm`, { signal: AbortSignal.timeout(5_000) }).then(
      (answer) => answer.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  } finally {
    await Promise.all([trusting.close(), byName.close()]);
    await reference.stop();
  }
});

test.describe('serve --resolve and --ca-file: the reference calls a peer by its DNS name on loopback', () => {
  let peer: Server;
  let port: number;
  let seen: string[];
  let handshakeFailures: number;
  let providersFile: string;

  test.beforeAll(async () => {
    seen = [];
    handshakeFailures = 0;
    peer = createServer(
      { cert: await readFile(join(dir, 'peer-a.pem')), key: await readFile(join(dir, 'peer-a-key.pem')) },
      (request, response) => {
        seen.push(`${request.method} ${request.url} host=${request.headers.host}`);
        response.setHeader('content-type', 'application/json');
        if (request.url === '/.well-known/ocm') {
          response.end(
            JSON.stringify({
              enabled: true,
              apiVersion: '1.4.0',
              endPoint: `https://peer-a.test:${port}/ocm`,
              provider: 'Peer A',
              resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/ocm' } }],
              capabilities: ['invites'],
            }),
          );
        } else if (request.method === 'POST' && request.url === '/ocm/invite-accepted') {
          request.resume();
          request.on('end', () => response.end(JSON.stringify({ userID: 'alice', email: 'alice@peer-a.test', name: 'Alice' })));
        } else {
          response.statusCode = 404;
          response.end('{"message":"not found"}');
        }
      },
    );
    peer.on('tlsClientError', () => {
      handshakeFailures++;
    });
    await new Promise<void>((done) => peer.listen(0, HOST, done));
    port = (peer.address() as AddressInfo).port;
    providersFile = join(dir, 'providers.json');
    await writeFile(providersFile, JSON.stringify([providerEntry('peer-a', `https://peer-a.test:${port}`)]));
  });
  test.afterAll(async () => {
    peer.closeAllConnections();
    await new Promise((done) => peer.close(done));
  });
  test.beforeEach(() => {
    seen = [];
    handshakeFailures = 0;
  });

  /** einstein on the reference accepts an invite of peer-a.test: the reference discovers the peer and POSTs /ocm/invite-accepted. */
  async function acceptInvite(reference: { url: string }): Promise<{ status: number; body: { message?: string } }> {
    const ca = await readFile(join(dir, 'ca', 'ca.pem'), 'utf8');
    const client = new Agent({ connect: { ca } });
    try {
      const response = await fetch(`${reference.url}/sciencemesh/accept-invite`, {
        method: 'POST',
        dispatcher: client,
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('einstein:relativity').toString('base64')}` },
        body: JSON.stringify({ token: 'token-from-peer-a', providerDomain: `peer-a.test:${port}` }),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: response.status, body: (await response.json()) as { message?: string } };
    } finally {
      await client.close();
    }
  }

  const tlsFlags = () => ['--tls-cert', join(dir, 'ref.pem'), '--tls-key', join(dir, 'ref-key.pem'), '--providers', providersFile];

  test('with --resolve and --ca-file the call reaches the peer by name, verified against its DNS SAN', async () => {
    const reference = await serve('resolve-ca', [
      ...tlsFlags(),
      '--resolve',
      `peer-a.test:${port}:${HOST}`,
      '--ca-file',
      join(dir, 'ca', 'ca.pem'),
    ]);
    try {
      const answer = await acceptInvite(reference);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ user_id: 'alice' });
      expect(seen).toEqual([`GET /.well-known/ocm host=peer-a.test:${port}`, `POST /ocm/invite-accepted host=peer-a.test:${port}`]);
      expect(handshakeFailures).toBe(0);
    } finally {
      await reference.stop();
    }
  });

  test('without --ca-file, or trusting another CA, the peer certificate fails verification and nothing is sent', async () => {
    for (const [name, extra] of [
      ['resolve-only', []],
      ['resolve-other-ca', ['--ca-file', join(dir, 'other-ca', 'ca.pem')]],
    ] as const) {
      seen = [];
      handshakeFailures = 0;
      const reference = await serve(name, [...tlsFlags(), '--resolve', `peer-a.test:${port}:${HOST}`, ...extra]);
      try {
        const answer = await acceptInvite(reference);
        expect(answer.status, name).toBeGreaterThanOrEqual(500);
        expect(answer.body.message, name).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
        expect(seen, name).toEqual([]);
        expect(handshakeFailures, name).toBeGreaterThan(0);
      } finally {
        await reference.stop();
      }
    }
  });

  test('without --resolve the name is asked of the system resolver, and .test resolves nowhere', async () => {
    const reference = await serve('ca-only', [...tlsFlags(), '--ca-file', join(dir, 'ca', 'ca.pem')]);
    try {
      const answer = await acceptInvite(reference);
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(answer.body.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
      expect(seen).toEqual([]);
    } finally {
      await reference.stop();
    }
  });
});

// Each case is a process start; the other refusals are checked in process (serve-config.test.ts).
test.describe('bad TLS and --resolve values stop serve with one line and exit 2', () => {
  for (const [what, flags, message] of [
    [
      '--resolve without an address',
      ['--resolve', 'peer-a.test:9400'],
      /^--resolve "peer-a\.test:9400": three parts are needed; expected name:port:address/,
    ],
    ['--tls-cert without --tls-key', ['--tls-cert', 'ref.pem'], /^--tls-cert needs --tls-key/],
    ['a key of another certificate', ['--tls-cert', 'ref.pem', '--tls-key', 'peer-a-key.pem'], /cannot be used together/],
    [
      'a --ca-file without certificates',
      ['--ca-file', 'ref-key.pem'],
      /^the CA file .*ref-key\.pem \(--ca-file\) holds no PEM certificate$/,
    ],
  ] as const) {
    test(what, async () => {
      const failure = await run(
        process.execPath,
        [BIN, 'serve', '--host', HOST, '--port', '0', '--data-dir', join(dir, 'data-refused'), ...flags],
        { cwd: dir, timeout: 30_000 },
      ).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure, 'serve should have stopped').toBeDefined();
      expect(failure!.code).toBe(2);
      const lines = failure!.stderr!.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      // Nothing was started or written.
      expect(existsSync(join(dir, 'data-refused'))).toBe(false);
    });
  }
});
