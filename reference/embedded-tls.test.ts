/**
 * The embedded pair on https under DNS names (the options a `run --tls`
 * starts it with): A and B serve certificates of our own CA, trust that CA
 * for their calls, and reach each other's names through `--resolve` pins to
 * their loopback addresses. An invite, a share and a read through the
 * receiver's WebDAV then cross TLS both ways (discovery, signed POSTs, the
 * WebDAV client), in process and split.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { createCertificateAuthority, issueServerCertificate } from '../certs/ca.ts';
import { startEmbeddedPair } from './embedded.ts';
import { ShareFlow } from './testing/share-flow.ts';

const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';
const [HOST_A, HOST_B] = [`${SUBNET}.2`, `${SUBNET}.3`];
const NAMES: [string, string] = ['ref-a.test', 'ref-b.test'];

test.describe.configure({ timeout: 120_000 });

for (const split of [false, true]) {
  test(`over https by name, ${split ? 'A split in front and back' : 'in process'}: invite, share, read through WebDAV`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-embedded-tls-'));
    const ca = await createCertificateAuthority();
    const [a, b] = [await issueServerCertificate(ca, [NAMES[0], HOST_A]), await issueServerCertificate(ca, [NAMES[1], HOST_B])];
    const pair = await startEmbeddedPair({
      dataDir: dir,
      trust: [],
      subnet: SUBNET,
      split,
      tls: { a: { cert: a.certPem, key: a.keyPem }, b: { cert: b.certPem, key: b.keyPem }, ca: ca.certPem },
      names: NAMES,
    });
    // This test's own requests: the CA and the names, for this test only (restored below).
    const previous = getGlobalDispatcher();
    const client = new Agent({
      connect: {
        ca: ca.certPem,
        lookup: (hostname, _options, callback) =>
          callback(null, [{ address: hostname === NAMES[0] ? HOST_A : hostname === NAMES[1] ? HOST_B : '0.0.0.0', family: 4 }]),
      },
    });
    setGlobalDispatcher(client);
    try {
      const [originA, originB] = pair.origins;
      expect(originA).toMatch(new RegExp(`^https://${NAMES[0]}:\\d+$`));
      expect(originB).toMatch(new RegExp(`^https://${NAMES[1]}:\\d+$`));
      const discovery = await fetch(`${originA}/.well-known/ocm`, { signal: AbortSignal.timeout(5_000) });
      expect(((await discovery.json()) as { endPoint: string }).endPoint).toBe(`${originA}/ocm`);
      const side = (origin: string) => ({ url: origin, domain: new URL(origin).host });
      const flow = new ShareFlow('A→B', side(originA), side(originB));
      await flow.befriend();
      const shared = await flow.shareAndAccept('/sample.bin', 'viewer');
      await flow.readViewerBinary(shared);
    } finally {
      setGlobalDispatcher(previous);
      await client.close();
      await pair.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
