/**
 * The judge's draft-cavage pieces (cavage.ts) and the 1.2-era peer: which
 * targets meet 1.2-era peers, the peer's RSA key kept for the run, its
 * `publicKey` in discovery, and verdicts on the target's cavage signatures
 * that never throw, even for a keyId that is no valid URL.
 */
import { expect, test } from '@playwright/test';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cavageEra, cavageSign, cavageVerify, keyIdHost, peerCavageKey } from './cavage.ts';
import { PeerSimulator } from './peer-simulator.ts';

const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';

test('1.2-era peers meet a target judged under 1.2 or one that publishes a legacy publicKey, no other', () => {
  expect(cavageEra('1.2', undefined)).toBe(true);
  expect(cavageEra('main', { publicKey: { keyId: 'https://t.example/ocm#signature', publicKeyPem: '…' } })).toBe(true);
  expect(cavageEra('main', { jwksUri: 'https://t.example/ocm/jwks' })).toBe(false);
  expect(cavageEra('1.4', { publicKey: null })).toBe(false);
});

test('keyIdHost reads a keyId from the other side without throwing', () => {
  expect(keyIdHost('https://cloud.example.org:8443/ocm#signature')).toBe('cloud.example.org:8443');
  for (const bad of ['https://[cloud.example.org/ocm#signature', 'not a url', '', 42, undefined]) expect(keyIdHost(bad)).toBeUndefined();
});

test('a peer keeps one RSA key per address for the run, so a restarted worker signs with the published key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cavage-key-'));
  try {
    const first = peerCavageKey('127.0.0.10:9400', 'http://127.0.0.10:9400/ocm#signature', dir);
    const again = peerCavageKey('127.0.0.10:9400', 'http://127.0.0.10:9400/ocm#signature', dir);
    const other = peerCavageKey('127.0.0.11:9400', 'http://127.0.0.11:9400/ocm#signature', dir);
    expect(again.publicKeyPem).toBe(first.publicKeyPem);
    expect(other.publicKeyPem).not.toBe(first.publicKeyPem);
    expect(first.privateKey.asymmetricKeyType).toBe('rsa');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a verifier whose key lookup throws on a keyId that is no URL answers a verdict', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const url = 'http://receiver.example/ocm/shares';
  const body = '{"a":1}';
  const keyId = 'https://[sender.example/ocm#signature';
  const headers = { ...cavageSign('POST', url, body, { keyId, privateKey }), host: 'receiver.example' };
  const verdict = await cavageVerify({ method: 'POST', url, headers }, Buffer.from(body), {
    lookupKey: async (id) => (new URL(id).host === 'sender.example' ? publicKey : undefined),
  });
  expect(verdict).toEqual({ status: 'invalid', keyId, reason: `no public key for keyId ${keyId}` });
});

/** A stand-in 1.2-era target: its discovery publishes `publicKey` under `keyId`. */
async function legacyTarget(
  host: string,
  keyId: (origin: string) => string,
  publicKeyPem: string,
): Promise<{ server: Server; origin: string }> {
  let origin = '';
  const server = createServer((request, response) => {
    if (request.url !== '/.well-known/ocm') return void response.writeHead(404).end();
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({ enabled: true, apiVersion: '1.2.2', endPoint: `${origin}/ocm`, publicKey: { keyId: keyId(origin), publicKeyPem } }),
    );
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const address = server.address();
  origin = `http://${host}:${typeof address === 'object' && address ? address.port : 0}`;
  return { server, origin };
}

test('a 1.2-era peer publishes its cavage publicKey and judges the target cavage signatures, a keyId that is no URL included', async () => {
  const target = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = target.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const { server, origin } = await legacyTarget(`${SUBNET}.78`, (o) => `${o}/ocm#signature`, pem);
  const runDir = mkdtempSync(join(tmpdir(), 'cavage-peer-'));
  const peer = new PeerSimulator({ name: 'cavage-test', host: `${SUBNET}.79`, port: 9479, targetOrigin: origin, cavage: true, runDir });
  await peer.start();
  try {
    const discovery = (await (await fetch(`${peer.origin}/.well-known/ocm`)).json()) as {
      publicKey?: { keyId: string; publicKeyPem: string };
    };
    expect(discovery.publicKey).toEqual({ keyId: `${peer.endPoint}#signature`, publicKeyPem: peer.cavageKey().publicKeyPem });
    expect(keyIdHost(discovery.publicKey?.keyId)).toBe(peer.domain);
    peer.reset();
    expect((await (await fetch(`${peer.origin}/.well-known/ocm`)).json()).publicKey, 'reset keeps the key published').toBeTruthy();

    const url = `${peer.endPoint}/notifications`;
    const send = async (keyId: string) => {
      const body = JSON.stringify({ notificationType: 'SHARE_ACCEPTED', keyId });
      const headers = { 'content-type': 'application/json', ...cavageSign('POST', url, body, { keyId, privateKey: target.privateKey }) };
      const answer = await fetch(url, { method: 'POST', headers, body });
      expect(answer.status).toBe(201);
      return peer.requests.at(-1)?.cavageSignature;
    };
    expect(await send(`${origin}/ocm#signature`)).toEqual({ status: 'valid', keyId: `${origin}/ocm#signature` });
    const notUrl = `http://[${origin.slice(7)}/ocm#signature`;
    expect(await send(notUrl)).toEqual({ status: 'invalid', keyId: notUrl, reason: `no public key for keyId ${notUrl}` });
    const elsewhere = 'https://elsewhere.example/ocm#signature';
    expect(await send(elsewhere)).toEqual({ status: 'invalid', keyId: elsewhere, reason: `no public key for keyId ${elsewhere}` });
  } finally {
    await peer.stop();
    server.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
