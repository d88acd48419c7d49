/**
 * The harness's trust in the target (`--ca-file`, `--insecure`) applies to the
 * harness's plain `fetch` calls, including signed POSTs that set their own
 * Content-Length (results/transcript.ts does). Under the former global
 * dispatcher swap, Node 20's built-in fetch refused those with
 * "invalid content-length header" and every signed request failed.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueServerCertificate } from '../../certs/ca.ts';
import { installTargetTrust } from './target-trust.ts';

/** An https echo server whose certificate, for `names`, comes from a fresh CA; the CA's PEM is saved as `caFile`. */
async function untrustedEchoServer(names: string[]): Promise<{ server: Server; origin: string; caFile: string }> {
  const ca = await createCertificateAuthority();
  const issued = await issueServerCertificate(ca, names);
  const caFile = join(await mkdtemp(join(tmpdir(), 'ocm-trust-')), 'ca.pem');
  await writeFile(caFile, ca.certPem);
  return { ...(await echoServer(issued.certPem, issued.keyPem)), caFile };
}

async function echoServer(certPem: string, keyPem: string): Promise<{ server: Server; origin: string }> {
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'], body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function postWithOwnLength(origin: string) {
  const body = JSON.stringify({ shareWith: 'marie@b.test' });
  const response = await fetch(`${origin}/ocm/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  return { status: response.status, answer: await response.json() };
}

for (const mode of ['ca-file', 'insecure'] as const) {
  test(`a POST with its own Content-Length goes through the installed trust (${mode})`, async () => {
    const { server, origin, caFile } = await untrustedEchoServer(['127.0.0.1']);
    const originalFetch = globalThis.fetch;
    try {
      // Without the trust the certificate is refused: the test server really is untrusted by default.
      await expect(originalFetch(`${origin}/`)).rejects.toThrow(/fetch failed/);
      installTargetTrust(mode === 'insecure' ? { insecure: true } : { caFile });
      const { status, answer } = await postWithOwnLength(origin);
      expect(status).toBe(200);
      expect(answer).toEqual({ method: 'POST', length: '28', body: '{"shareWith":"marie@b.test"}' });
    } finally {
      globalThis.fetch = originalFetch;
      server.close();
    }
  });
}

test('a pinned name (run --tls) reaches its address, and TLS checks the name, without the system resolver', async () => {
  const { server, origin, caFile } = await untrustedEchoServer(['a.ocm.test']);
  const named = origin.replace('127.0.0.1', 'a.ocm.test');
  const originalFetch = globalThis.fetch;
  try {
    installTargetTrust({ caFile, resolve: { 'a.ocm.test': '127.0.0.1' } });
    const { status } = await postWithOwnLength(named);
    expect(status).toBe(200);
    // The certificate names a.ocm.test only: the same server by its address is refused.
    await expect(fetch(`${origin}/`)).rejects.toThrow(/fetch failed/);
  } finally {
    globalThis.fetch = originalFetch;
    server.close();
  }
});

test('the liveness probe trusts the target as the checks do: a TLS target with --ca-file is answering, not dead', async () => {
  const { probeTarget } = await import('./liveness.ts'); // imported before the trust is installed, as fixtures.ts does
  const { server, origin, caFile } = await untrustedEchoServer(['127.0.0.1']);
  const originalFetch = globalThis.fetch;
  const once = { tries: 1, timeoutMs: 2000, gapMs: 0 };
  try {
    expect((await probeTarget(`${origin}/.well-known/ocm`, once)).answering, 'untrusted: the probe cannot tell').toBe(false);
    installTargetTrust({ caFile });
    expect(await probeTarget(`${origin}/.well-known/ocm`, once)).toMatchObject({ answering: true, status: 200 });
  } finally {
    globalThis.fetch = originalFetch;
    server.close();
  }
});
