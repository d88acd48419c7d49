/**
 * The run CA (certs/ca.ts) and `ocm-conformance ca`: a CA certificate that can
 * sign and nothing else, server certificates with the asked SANs that chain
 * to it, and a real TLS handshake that trusts them through the CA alone.
 */
import { test, expect } from '@playwright/test';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { Agent, fetch } from 'undici';
import { createCertificateAuthority, fingerprint, issueServerCertificate, subjectAltNames } from '../certs/ca.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/ocm-conformance.js', import.meta.url).pathname;

test('ca init, show and issue write a CA and a server certificate that chains to it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-ca-'));
  const init = await run(process.execPath, [BIN, 'ca', 'init', dir]);
  const show = await run(process.execPath, [BIN, 'ca', 'show', dir]);
  expect(show.stdout).toBe(init.stdout);
  expect(show.stdout).toContain(join(dir, 'ca.pem'));
  expect(show.stdout).toMatch(/SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o077).toBe(0);
  await expect(run(process.execPath, [BIN, 'ca', 'init', dir])).rejects.toThrow(/exists; pass --force/);

  await run(process.execPath, [BIN, 'ca', 'issue', dir, '--name', 'peer-a.ocm.test,127.0.0.10,::1', '--out', join(dir, 'peer-a')]);
  const ca = new X509Certificate(await readFile(join(dir, 'ca.pem')));
  const server = new X509Certificate(await readFile(join(dir, 'peer-a.pem')));
  expect(ca.ca).toBe(true);
  expect(server.ca).toBe(false);
  expect(server.checkIssued(ca)).toBe(true);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.subjectAltName).toBe('DNS:peer-a.ocm.test, IP Address:127.0.0.10, IP Address:0:0:0:0:0:0:0:1');
  expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  expect(show.stdout).toContain(fingerprint(await readFile(join(dir, 'ca.pem'), 'utf8')));
});

test('a name that is neither a DNS name nor an IP address is refused', () => {
  expect(() => subjectAltNames(['bad name'])).toThrow(/not a DNS name or IP address/);
  expect(() => subjectAltNames([''])).toThrow(/at least one name/);
  expect(subjectAltNames(['[::1]', 'A.Test'])).toEqual([
    { type: 'ip', value: '::1' },
    { type: 'dns', value: 'a.test' },
  ]);
});

test('an https server with an issued certificate is trusted through the CA alone, and refused under another CA', async () => {
  const ca = await createCertificateAuthority();
  const foreign = await createCertificateAuthority({ commonName: 'someone else' });
  const issued = await issueServerCertificate(ca, ['a.ocm.test', '127.0.0.1']);
  const server = createServer({ cert: issued.certPem, key: issued.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  try {
    const trusting = new Agent({ connect: { ca: ca.certPem } });
    expect(await (await fetch(`https://127.0.0.1:${port}/`, { dispatcher: trusting })).text()).toBe('ok');
    // The DNS SAN: the name resolves to loopback through the dispatcher, not the system resolver.
    const byName = new Agent({
      connect: { ca: ca.certPem, lookup: (_host, _opts, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]) },
    });
    expect(await (await fetch(`https://a.ocm.test:${port}/`, { dispatcher: byName })).text()).toBe('ok');
    const other = new Agent({ connect: { ca: foreign.certPem } });
    const refused = await fetch(`https://127.0.0.1:${port}/`, { dispatcher: other }).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error & { cause?: { code?: string } }).cause?.code)).toMatch(
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
    );
    await Promise.all([trusting.close(), byName.close(), other.close()]);
  } finally {
    server.close();
  }
});
