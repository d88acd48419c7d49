/**
 * Part 2's end-to-end share lifecycle (reference/e2e-share-flow.test.ts),
 * with each instance split in two processes, the oCIS way
 * (decisions/0009-http-over-grpc.md):
 *
 *   back  `serve --grpc-port 0 --public-url <front URL>`: stores, files, keys, the CS3 services
 *   front `serve --grpc-backend <back gRPC> --http-backend <back HTTP>`: the public HTTP surfaces
 *
 * Four processes; everything a user or the other instance does goes to the
 * fronts, and a front reaches its back only over the network (gRPC, and
 * HTTP for bytes and the routes without an rpc). Back A puts
 * must-exchange-token in every share it sends, so A→B also runs the code
 * flow through both fronts (B's back signs the token request, A's front
 * relays it, A's back verifies and issues). The fronts' data dirs stay empty.
 */
import { test, expect } from '@playwright/test';
import * as grpc from '@grpc/grpc-js';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../pair.ts';
import { spawnServe, writeProvidersFile, type ServeProcess } from '../testing/processes.ts';
import { call, type Credentials } from '../testing/client.ts';
import { basicAuth } from '../testing/harness.ts';
import { ShareFlow } from '../testing/share-flow.ts';
import { callUnary, ocmApi } from '../grpc/protos.ts';

const START_TIMEOUT_MS = 40_000;

interface Side {
  back: ServeProcess;
  front: ServeProcess;
  /** The front's URL: the instance's public URL. */
  url: string;
  domain: string;
  grpc: string;
  backDir: string;
  frontDir: string;
}

let dir: string;
let a: Side;
let b: Side;
/** Every process started, so a failed start leaves nothing running. */
const spawned: ServeProcess[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  // four processes to start, each a few seconds on a loaded machine
  test.setTimeout(180_000);
  dir = await mkdtemp(join(tmpdir(), 'ocm-split-'));
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const origins = [`http://127.0.0.2:${portA}`, `http://127.0.0.3:${portB}`];
  // The fronts are the instances the world knows.
  const providers = await writeProvidersFile(dir, origins);
  const start = async (host: string, port: number, name: string, extra: string[]): Promise<Side> => {
    const backDir = join(dir, `${name}-back`);
    const frontDir = join(dir, `${name}-front`);
    await mkdir(frontDir);
    const publicUrl = `http://${host}:${port}`;
    const back = await spawnServe(
      [
        '--host',
        host,
        '--port',
        '0',
        '--grpc-port',
        '0',
        '--public-url',
        publicUrl,
        '--data-dir',
        backDir,
        '--providers',
        providers,
        ...extra,
      ],
      START_TIMEOUT_MS,
    );
    spawned.push(back);
    // serve prints the gRPC address right after its "listening on" line.
    await expect.poll(() => /gRPC:\s+(\S+)/.exec(back.output())?.[1], { timeout: 5_000 }).toBeTruthy();
    const grpcAddress = /gRPC:\s+(\S+)/.exec(back.output())?.[1];
    const front = await spawnServe(
      ['--host', host, '--port', String(port), '--grpc-backend', grpcAddress!, '--http-backend', back.url, '--data-dir', frontDir],
      START_TIMEOUT_MS,
    );
    spawned.unshift(front);
    expect(front.output()).toContain('(HTTP front) listening on');
    return { back, front, url: front.url, domain: `${host}:${port}`, grpc: grpcAddress!, backDir, frontDir };
  };
  // One at a time: four tsx start-ups at once starve a two-core machine (and its other tests).
  a = await start('127.0.0.2', portA, 'a', ['--always-require-exchange']);
  b = await start('127.0.0.3', portB, 'b', []);
});

test.afterAll(async () => {
  // fronts first (they were put at the head), then the backs
  for (const proc of spawned) await proc.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The sent share as the back's OcmAPI shows it (the test's own gRPC client). */
async function sentShareOverGrpc(side: Side, owner: Credentials, id: string): Promise<Record<string, any>> {
  const client = new ocmApi(side.grpc, grpc.credentials.createInsecure());
  try {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', basicAuth(owner));
    return await callUnary(client, 'GetOCMShare', { ref: { id: { opaque_id: id } } }, { metadata, deadlineMs: 10_000 });
  } finally {
    client.close();
  }
}

for (const direction of ['A→B', 'B→A'] as const) {
  test(`share lifecycle ${direction} between two split instances (HTTP front over gRPC back)`, async () => {
    const flow = new ShareFlow(direction, a, b);
    const { sender, owner } = flow;
    await flow.befriend({ checkContactsStatus: true });

    // a binary file, viewer: identical bytes, write refused
    const bin = await flow.shareAndAccept('/sample.bin', 'viewer');
    const sent = await sentShareOverGrpc(sender, owner, bin.shareId);
    const requirements = sent.share.opaque.map.requirements?.value.toString();
    // A requires the code flow for every share: reading below exchanged the secret for a token through both fronts.
    expect(requirements, 'A→B shares require token exchange; B→A shares do not').toBe(
      direction === 'A→B' ? '["must-exchange-token"]' : undefined,
    );
    await flow.readViewerBinary(bin);
    // the bare secret does not open a share that requires the exchange; a wrong secret never does
    const secret = sent.share.token as string;
    const direct = await call(`${sender.url}/dav/ocm/${bin.shareId}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(direct.status).toBe(direction === 'A→B' ? 401 : 200);
    const wrong = await call(`${sender.url}/dav/ocm/${bin.shareId}`, { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);

    // a folder, editor: list, read a child, write lands at the owner
    const folder = await flow.shareEditorFolder();

    // the sender lowers permissions: the next write is refused
    const lowered = await flow.lowerToRead(folder);
    expect(lowered.body.ocs.data.permissions).toBe(1);
    await flow.writeRefused(folder);

    // unshare: the received share is gone and access refused
    await flow.unshare(folder);

    // decline: the sender sees it
    await flow.decline();
  });
}

test('the fronts opened nothing: their data dirs are empty, the backs hold every store', async () => {
  for (const side of [a, b]) {
    expect(await readdir(side.frontDir), `${side.frontDir} stays empty`).toEqual([]);
    const backFiles = await readdir(side.backDir);
    for (const name of [
      'invites.journal.jsonl',
      'contacts.journal.jsonl',
      'sent-shares.journal.jsonl',
      'received-shares.journal.jsonl',
      'signing-keys.json',
    ]) {
      expect(backFiles, `the back of ${side.domain} has ${name}`).toContain(name);
    }
  }
  // discovery and keys come from the back, under the front's public URL
  const discovery = await call(`${a.url}/.well-known/ocm`);
  expect(discovery.status).toBe(200);
  expect(discovery.body.endPoint).toBe(`${a.url}/ocm`);
  expect(discovery.body.capabilities).toEqual(expect.arrayContaining(['http-sig', 'exchange-token']));
  const jwks = await call(discovery.body.jwksUri);
  expect(jwks.status).toBe(200);
  expect(jwks.body.keys[0].kid).toMatch(new RegExp(`^${a.domain.replace(/\./g, '\\.')}#key-`));
});
