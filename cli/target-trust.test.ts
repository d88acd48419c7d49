/**
 * Trusting a target over TLS (suites/harness/target-trust.ts): validate-discovery
 * against an https server whose certificate comes from a test CA fails with a
 * one-line hint and exit 2, and works with --ca-file or --insecure.
 */
import { test, expect } from '@playwright/test';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueServerCertificate } from '../certs/ca.ts';
import { tlsFailureHint } from '../suites/harness/target-trust.ts';
import { validateDiscovery } from './validate-discovery.ts';

const BIN = new URL('../bin/ocm-conformance.js', import.meta.url).pathname;
let server: Server;
let origin: string;
let caFile: string;

test.beforeAll(async () => {
  const ca = await createCertificateAuthority();
  const issued = await issueServerCertificate(ca, ['127.0.0.1']);
  caFile = join(await mkdtemp(join(tmpdir(), 'ocm-trust-')), 'ca.pem');
  await writeFile(caFile, ca.certPem);
  server = createServer({ cert: issued.certPem, key: issued.keyPem }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ enabled: true, apiVersion: '1.1.0', endPoint: `${origin}/ocm`, resourceTypes: [] }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.afterAll(() => new Promise<void>((done) => server.close(() => done())));

test('without --ca-file or --insecure, validate-discovery exits 2 with one line naming the cause and both options', async () => {
  const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, [BIN, 'validate-discovery', origin], (_error, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr }),
    );
  });
  expect(outcome.code).toBe(2);
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr.trim().split('\n')).toEqual([
    "the target's certificate is signed by a CA that is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass --ca-file or --insecure",
  ]);
});

test('--ca-file and --insecure each let validate-discovery read the document', async () => {
  for (const trust of [{ caFile }, { insecure: true }]) {
    const { findings } = await validateDiscovery(origin, { profile: 'auto', ...trust });
    expect(findings.length).toBeGreaterThan(0);
  }
});

test('the hint names self-signed certificates and ignores errors that are not about trust', () => {
  const wrapped = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
  });
  expect(tlsFailureHint(wrapped)).toBe(
    "the target's certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT): pass --ca-file or --insecure",
  );
  expect(tlsFailureHint(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBeUndefined();
});
