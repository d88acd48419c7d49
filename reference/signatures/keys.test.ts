import { test, expect } from '@playwright/test';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPublicJwk, loadOrCreateSigningKeys, publicJwks, rotateSigningKey, SIGNING_KEYS_FILE } from './keys.ts';
import { signRequest } from './sign.ts';
import { verifyOcmSignature } from './verify.ts';

let dir: string;

test.beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-keys-'));
});

test.afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test.describe('signing keys', () => {
  test('creates one Ed25519 key, persists it with mode 0600, and reloads the same key', async () => {
    const store = await loadOrCreateSigningKeys(dir, { kidPrefix: 'localhost:8443' });
    expect(store.active.kid).toBe('localhost:8443#key-1');
    expect(store.keys).toHaveLength(1);
    const file = join(dir, SIGNING_KEYS_FILE);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await readFile(file, 'utf8'));
    expect(onDisk).toMatchObject({ format: 'ocm-conformance/signing-keys@1', active: 'localhost:8443#key-1' });
    expect(onDisk.keys[0].jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(await readdir(dir)).toEqual([SIGNING_KEYS_FILE]); // no temp files left behind

    const again = await loadOrCreateSigningKeys(dir, { kidPrefix: 'localhost:8443' });
    expect(again.active.kid).toBe(store.active.kid);
    expect(again.active.publicKey.export({ format: 'jwk' })).toEqual(store.active.publicKey.export({ format: 'jwk' }));
  });

  test('publishes a JWK Set with kid, alg and use on every key and no private members', async () => {
    let store = await loadOrCreateSigningKeys(dir, { kidPrefix: 'sender.example.org' });
    store = await rotateSigningKey(dir, store, { kidPrefix: 'sender.example.org' });
    expect(store.active.kid).toBe('sender.example.org#key-2');
    const jwks = publicJwks(store);
    expect(jwks.keys.map((k) => k.kid)).toEqual(['sender.example.org#key-1', 'sender.example.org#key-2']);
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'Ed25519', use: 'sig' });
      expect(importPublicJwk(jwk).asymmetricKeyType).toBe('ed25519');
    }
    const reloaded = await loadOrCreateSigningKeys(dir, { kidPrefix: 'sender.example.org' });
    expect(reloaded.active.kid).toBe('sender.example.org#key-2');
    expect(publicJwks(reloaded)).toEqual(jwks);
  });

  test('a signature made with the stored key verifies against the published JWKS', async () => {
    const store = await loadOrCreateSigningKeys(dir, { kidPrefix: 'sender.example.org' });
    const url = 'https://receiver.example.org/ocm/shares';
    const headers = signRequest({ method: 'POST', url, body: '{}' }, store.active);
    const jwks = publicJwks(store);
    const result = await verifyOcmSignature(
      { method: 'POST', url, headers, body: Buffer.from('{}') },
      { lookupKey: async (kid) => jwks.keys.find((k) => k.kid === kid) },
    );
    expect(result).toMatchObject({ status: 'valid', signerHost: 'sender.example.org' });
  });

  test('relabels stored keys when the host changes', async () => {
    const first = await loadOrCreateSigningKeys(dir, { kidPrefix: 'localhost:1111' });
    const moved = await loadOrCreateSigningKeys(dir, { kidPrefix: 'localhost:2222' });
    expect(moved.active.kid).toBe('localhost:2222#key-1');
    expect(moved.active.publicKey.export({ format: 'jwk' })).toEqual(first.active.publicKey.export({ format: 'jwk' }));
    expect(JSON.parse(await readFile(join(dir, SIGNING_KEYS_FILE), 'utf8')).active).toBe('localhost:2222#key-1');
  });

  test('refuses a corrupt key file instead of replacing it', async () => {
    await writeFile(join(dir, SIGNING_KEYS_FILE), '{"format":');
    await expect(loadOrCreateSigningKeys(dir, { kidPrefix: 'h' })).rejects.toThrow(/not valid JSON/);
    await writeFile(join(dir, SIGNING_KEYS_FILE), '{"format":"other"}');
    await expect(loadOrCreateSigningKeys(dir, { kidPrefix: 'h' })).rejects.toThrow(/not a/);
  });

  test('rejects kid prefixes that cannot travel in Signature-Input', async () => {
    for (const bad of ['', 'a b', 'a#b', 'a"b', 'é']) {
      await expect(loadOrCreateSigningKeys(dir, { kidPrefix: bad })).rejects.toThrow(/kidPrefix/);
    }
  });
});
