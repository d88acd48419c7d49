/**
 * https peers (peer-pair.ts): each peer's certificate names its public host
 * (DNS SAN) and its bind address (IP SAN) and chains to the run CA; a peer on
 * https answers discovery, with https URLs, to a client that trusts that CA
 * (an undici Agent with `connect: { ca }`, never the system store), and a
 * client that does not trust it is refused.
 */
import { test, expect } from '@playwright/test';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { LookupAddress } from 'node:dns';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import {
  createCertificateAuthority,
  issueServerCertificate,
  writeCertificateAuthority,
  type CertificateAuthority,
} from '../../certs/ca.ts';
import { PEER_CA_DIR_ENV } from './peer-addresses.ts';
import { peerCertificateNames, peerTlsEnabled, startPeerPair } from './peer-pair.ts';
import { validateTargetConfig } from './target.ts';

const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';
let ca: CertificateAuthority;
let caDir: string;

test.beforeAll(async () => {
  ca = await createCertificateAuthority();
  caDir = await mkdtemp(join(tmpdir(), 'ocm-peer-ca-test-'));
  await writeCertificateAuthority(caDir, ca);
});
test.afterAll(() => rm(caDir, { recursive: true, force: true }));

/** Resolves every name to `address`, as a compose network would (no system resolver involved). */
function resolveTo(address: string) {
  return (
    _hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => (options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4));
}

test('a peer certificate names its public host (DNS) and its bind address (IP), and chains to the run CA', async () => {
  const names = peerCertificateNames({ bind: `${SUBNET}.60:9400`, publicUrl: 'https://peer-a.test:9400' });
  expect(names).toEqual(['peer-a.test', `${SUBNET}.60`]);
  expect(peerCertificateNames({ bind: '0.0.0.0:9400', publicUrl: 'https://peer-a:9400' })).toEqual(['peer-a']);
  expect(peerCertificateNames({ bind: `${SUBNET}.60:9400` })).toEqual([`${SUBNET}.60`]);
  const issued = await issueServerCertificate(ca, names);
  const certificate = new X509Certificate(issued.certPem);
  const authority = new X509Certificate(ca.certPem);
  expect(certificate.subjectAltName).toBe(`DNS:peer-a.test, IP Address:${SUBNET}.60`);
  expect(certificate.checkIssued(authority)).toBe(true);
  expect(certificate.verify(authority.publicKey)).toBe(true);
  expect(certificate.ca).toBe(false);
  const other = new X509Certificate((await createCertificateAuthority()).certPem);
  expect(certificate.verify(other.publicKey)).toBe(false);
});

test('auto: https peers exactly when the target is https; run decides through the environment', () => {
  const https = validateTargetConfig({ baseUrl: 'https://cloud.example.org' }, 'test');
  const http = validateTargetConfig({ baseUrl: 'http://127.0.0.2:8080' }, 'test');
  expect(peerTlsEnabled(https, {})).toBe(true);
  expect(peerTlsEnabled(http, {})).toBe(false);
  expect(peerTlsEnabled(validateTargetConfig({ baseUrl: 'http://x', peerTls: 'on' }, 'test'), {})).toBe(true);
  expect(peerTlsEnabled(https, { OCM_PEER_TLS: '0' })).toBe(false);
});

test('an https peer answers discovery with https URLs to a client trusting the run CA, and is refused by one that does not', async () => {
  const setup = await startPeerPair([{ bind: `${SUBNET}.61:0`, publicUrl: 'https://peer-a.test' }, { bind: `${SUBNET}.62:0` }], {
    tls: true,
    targetOrigin: 'https://target.invalid',
    env: { [PEER_CA_DIR_ENV]: caDir },
  });
  if ('failure' in setup) throw new Error(setup.failure);
  const [named, bare] = setup.peers;
  const trusting = new Agent({ connect: { ca: ca.certPem, lookup: resolveTo(`${SUBNET}.61`) } as never });
  const untrusting = new Agent({
    connect: { ca: (await createCertificateAuthority()).certPem, lookup: resolveTo(`${SUBNET}.61`) } as never,
  });
  try {
    expect(named.origin).toBe(`https://peer-a.test:${named.port}`);
    expect(bare.origin).toBe(`https://${SUBNET}.62:${bare.port}`);
    for (const peer of [named, bare]) {
      const response = await fetch(`${peer.origin}/.well-known/ocm`, { dispatcher: trusting, signal: AbortSignal.timeout(5000) });
      expect(response.status).toBe(200);
      const discovery = (await response.json()) as Record<string, string>;
      expect(discovery.endPoint).toBe(`${peer.origin}/ocm`);
      for (const field of ['endPoint', 'jwksUri', 'tokenEndPoint', 'inviteAcceptDialog']) expect(discovery[field]).toMatch(/^https:\/\//);
    }
    const refused = await fetch(`${named.origin}/.well-known/ocm`, { dispatcher: untrusting, signal: AbortSignal.timeout(5000) }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(JSON.stringify((refused as { cause?: { code?: string } }).cause?.code)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/);
  } finally {
    await Promise.all([trusting.close(), untrusting.close()]);
    await Promise.all(setup.peers.map((peer) => peer.stop()));
  }
});

test('a publicUrl whose scheme disagrees with the TLS setting, or a taken address, is a setup failure in one line', async () => {
  const mismatch = await startPeerPair([{ bind: `${SUBNET}.63:0`, publicUrl: 'http://peer-a.test' }, { bind: `${SUBNET}.64:0` }], {
    tls: true,
    targetOrigin: 'https://target.invalid',
    env: { [PEER_CA_DIR_ENV]: caDir },
  });
  expect(mismatch).toEqual({ failure: expect.stringMatching(/^setup failed: .*is http but the peers serve https/) });
  const first = await startPeerPair([{ bind: `${SUBNET}.65:0` }, { bind: `${SUBNET}.66:0` }], { tls: false, targetOrigin: 'http://x' });
  if ('failure' in first) throw new Error(first.failure);
  const taken = `${SUBNET}.66:${first.peers[1].port}`;
  try {
    const second = await startPeerPair([{ bind: `${SUBNET}.67:0` }, { bind: taken }], { tls: false, targetOrigin: 'http://x' });
    expect(second).toEqual({ failure: `setup failed: cannot listen on ${taken}: EADDRINUSE` });
  } finally {
    await Promise.all(first.peers.map((peer) => peer.stop()));
  }
});
