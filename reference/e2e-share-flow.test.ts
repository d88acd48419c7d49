/**
 * The whole user-level flow between two `serve` processes on two loopback
 * addresses, in both directions: invite; share a file and a folder over OCS;
 * pending; accept (the sender sees it); read identical bytes (text and
 * binary) through the receiver's own WebDAV path; a folder child; viewer
 * write refused, editor write lands at the owner; permissions lowered →
 * write refused; unshare → gone and refused. Decline too.
 */
import { test } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './pair.ts';
import { spawnServe, writeProvidersFile, type ServeProcess } from './testing/processes.ts';
import { ShareFlow } from './testing/share-flow.ts';

interface Side {
  proc: ServeProcess;
  url: string;
  domain: string;
  dataDir: string;
}

let dir: string;
let a: Side;
let b: Side;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  dir = await mkdtemp(join(tmpdir(), 'ocm-e2e-'));
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const origins = [`http://127.0.0.2:${portA}`, `http://127.0.0.3:${portB}`];
  const providers = await writeProvidersFile(dir, origins);
  const start = async (host: string, port: number, name: string): Promise<Side> => {
    const dataDir = join(dir, name);
    const proc = await spawnServe(['--host', host, '--port', String(port), '--data-dir', dataDir, '--providers', providers]);
    return { proc, url: proc.url, domain: `${host}:${port}`, dataDir };
  };
  a = await start('127.0.0.2', portA, 'a');
  b = await start('127.0.0.3', portB, 'b');
});

test.afterAll(async () => {
  await a?.proc.stop();
  await b?.proc.stop();
  await rm(dir, { recursive: true, force: true });
});

for (const direction of ['A→B', 'B→A'] as const) {
  test(`share lifecycle ${direction} between two processes`, async () => {
    const flow = new ShareFlow(direction, a, b);
    await flow.befriend();

    // a binary file, viewer: identical bytes, write refused
    const bin = await flow.shareAndAccept('/sample.bin', 'viewer');
    await flow.readViewerBinary(bin);

    // a folder, editor: list, read a child, write lands at the owner
    const folder = await flow.shareEditorFolder();

    // the sender lowers permissions: the next write is refused
    await flow.lowerToRead(folder);
    await flow.writeRefused(folder);

    // unshare: the received share is gone and access refused
    await flow.unshare(folder);

    // decline: the sender sees it
    await flow.decline();
  });
}
