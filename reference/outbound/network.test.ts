/**
 * The reference's outbound network (network.ts): `--resolve` pins a name:port
 * to an address while TLS still checks the name, `--ca-file` trusts our own
 * CA for these calls only, and bad values are one-line refusals.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueServerCertificate } from '../../certs/ca.ts';
import { NetworkSettingError, parseResolveEntry } from '../base/config.ts';
import { assertAllowedDestination } from './address-guard.ts';
import { DEFAULT_NETWORK, outboundNetwork } from './network.ts';

test.describe.configure({ timeout: 20_000 });

test('a --resolve entry is name:port:address, and anything else is one line saying what is expected', () => {
  expect(parseResolveEntry('Peer-A.test:9400:127.0.0.10')).toEqual({ name: 'peer-a.test', port: 9400, address: '127.0.0.10' });
  expect(parseResolveEntry('peer-a.test:443:[::1]')).toEqual({ name: 'peer-a.test', port: 443, address: '::1' });
  expect(parseResolveEntry('peer-a.test:443:::1')).toEqual({ name: 'peer-a.test', port: 443, address: '::1' });
  for (const bad of [
    'peer-a.test',
    'peer-a.test:9400',
    'peer-a.test:x:127.0.0.1',
    'peer-a.test:0:127.0.0.1',
    'peer-a.test:70000:127.0.0.1',
    'peer-a.test:9400:peer-b.test',
    ':9400:127.0.0.1',
    'bad name:9400:127.0.0.1',
    '127.0.0.1:9400:127.0.0.2',
    42,
  ]) {
    let error: unknown;
    try {
      parseResolveEntry(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error, String(bad)).toBeInstanceOf(NetworkSettingError);
    expect((error as NetworkSettingError).exitCode).toBe(2);
    expect((error as Error).message, String(bad)).toMatch(
      /^--resolve .*expected name:port:address, e\.g\. peer-a\.test:9400:127\.0\.0\.10$/,
    );
    expect((error as Error).message).not.toContain('\n');
  }
});

test('without settings the calls use the plain global fetch', () => {
  expect(outboundNetwork({})).toBe(DEFAULT_NETWORK);
  expect(outboundNetwork({ resolve: [] })).toBe(DEFAULT_NETWORK);
});

test.describe('against a local https server with a certificate for peer-a.test only', () => {
  let dir: string;
  let server: Server;
  let port: number;
  let caFile: string;
  let foreignCaFile: string;
  let hosts: string[];

  test.beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocm-network-'));
    const ca = await createCertificateAuthority();
    const foreign = await createCertificateAuthority({ commonName: 'someone else' });
    const issued = await issueServerCertificate(ca, ['peer-a.test']);
    caFile = join(dir, 'ca.pem');
    foreignCaFile = join(dir, 'foreign.pem');
    await writeFile(caFile, ca.certPem);
    await writeFile(foreignCaFile, foreign.certPem);
    hosts = [];
    server = createServer({ cert: issued.certPem, key: issued.keyPem }, (request, response) => {
      hosts.push(request.headers.host ?? '');
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  test.afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await rm(dir, { recursive: true, force: true });
  });

  async function failureCode(fetching: Promise<Response>): Promise<string | undefined> {
    const error = await fetching.then(
      () => undefined,
      (caught: unknown) => caught as Error & { cause?: { code?: string } },
    );
    expect(error, 'the call should have failed').toBeDefined();
    return error?.cause?.code;
  }

  test('--resolve with --ca-file: the name reaches the pinned address and the certificate is checked against the name', async () => {
    const network = outboundNetwork({ caFile, resolve: [`peer-a.test:${port}:127.0.0.1`] });
    try {
      const response = await network.fetch(`https://peer-a.test:${port}/.well-known/ocm`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(hosts.at(-1)).toBe(`peer-a.test:${port}`);
      // A POST with its own Content-Length (webdav-client forwards it) goes through the same dispatcher.
      const body = JSON.stringify({ shareWith: 'marie' });
      const posted = await network.fetch(`https://peer-a.test:${port}/ocm/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      expect(posted.status).toBe(200);
      await posted.body?.cancel();
      expect(network.pinnedAddress(`https://PEER-A.test:${port}/x`)).toBe('127.0.0.1');
      expect(network.pinnedAddress(`https://peer-a.test:${port + 1}/x`)).toBeUndefined();
      // By address, the certificate (DNS SAN peer-a.test only) does not match: the name is what TLS checks.
      expect(await failureCode(network.fetch(`https://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) }))).toBe(
        'ERR_TLS_CERT_ALTNAME_INVALID',
      );
    } finally {
      await network.close();
    }
  });

  test('--resolve without --ca-file, or with another CA: verification fails', async () => {
    for (const settings of [{}, { caFile: foreignCaFile }]) {
      const network = outboundNetwork({ ...settings, resolve: [`peer-a.test:${port}:127.0.0.1`] });
      try {
        const code = await failureCode(network.fetch(`https://peer-a.test:${port}/`, { signal: AbortSignal.timeout(5_000) }));
        expect(code, JSON.stringify(settings)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      } finally {
        await network.close();
      }
    }
  });

  test('a pin applies to its name and port only', async () => {
    const network = outboundNetwork({ caFile, resolve: [`peer-a.test:${port === 65535 ? 1 : port + 1}:127.0.0.1`] });
    try {
      // Not pinned: the system resolver is asked, and .test names resolve nowhere.
      const code = await failureCode(network.fetch(`https://peer-a.test:${port}/`, { signal: AbortSignal.timeout(5_000) }));
      expect(code).toMatch(/ENOTFOUND|EAI_AGAIN/);
    } finally {
      await network.close();
    }
  });

  test("a pinned name is the operator's choice of address, as an IP literal is, for the private-address rule", async () => {
    const network = outboundNetwork({ resolve: ['peer-a.test:9400:127.0.0.10'] });
    await expect(assertAllowedDestination('https://peer-a.test:9400/ocm', false, network.pinnedAddress)).resolves.toBeUndefined();
    await expect(assertAllowedDestination('https://127.0.0.10:9400/ocm', false)).resolves.toBeUndefined();
    await network.close();
  });

  test('a CA file that cannot be read or holds no certificate is one line', async () => {
    expect(() => outboundNetwork({ caFile: join(dir, 'missing.pem') })).toThrow(
      /^cannot read the CA file .*missing\.pem \(--ca-file\): ENOENT$/,
    );
    await writeFile(join(dir, 'notes.txt'), 'not a certificate\n');
    expect(() => outboundNetwork({ caFile: join(dir, 'notes.txt') })).toThrow(
      /^the CA file .*notes\.txt \(--ca-file\) holds no PEM certificate$/,
    );
  });
});
