/**
 * The judge's signer (suites/harness/http-signatures.ts, ecosystem libraries)
 * and the reference's (reference/signatures) are two implementations: each
 * must verify what the other signs, and both must refuse the same tampering.
 * A bug they shared would have to be written twice (decisions/0005). Lives in
 * selftest/, the one place that may import both sides.
 */
import { expect, test } from '@playwright/test';
import * as judge from '../suites/harness/http-signatures.ts';
import * as reference from '../reference/signatures/index.ts';
import * as judgeCavage from '../suites/harness/cavage.ts';
import { generateKeyPairSync } from 'node:crypto';

const url = 'http://127.0.0.2:8080/ocm/shares';
const body = JSON.stringify({ shareWith: 'marie@127.0.0.2:8080', name: 'report.pdf' });

function referenceKey(): reference.SigningKey {
  return reference.generateEd25519SigningKey('127.0.0.10:9000#key-1');
}

test('a request the judge signs verifies with the reference verifier', async () => {
  const key = judge.generateEd25519SigningKey('127.0.0.10:9000#key-1');
  const [jwk] = judge.publicJwks([key]).keys;
  const headers = { 'content-type': 'application/json', ...judge.signRequest({ method: 'POST', url, body }, key) };
  const verdict = await reference.verifyOcmSignature(
    { method: 'POST', url, headers, body: Buffer.from(body) },
    { lookupKey: async (kid) => (kid === key.kid ? (jwk as reference.Jwk) : undefined) },
  );
  expect(verdict).toMatchObject({ status: 'valid', keyid: key.kid });
});

test('a request the reference signs verifies with the judge verifier', async () => {
  const key = referenceKey();
  const [jwk] = reference.publicJwks([key]).keys;
  const headers = { 'content-type': 'application/json', ...reference.signRequest({ method: 'POST', url, body: Buffer.from(body) }, key) };
  const verdict = await judge.verifyOcmSignature({ method: 'POST', url, headers, body: Buffer.from(body) }, async (kid) =>
    kid === key.kid ? (jwk as judge.Jwk) : undefined,
  );
  expect(verdict).toMatchObject({
    status: 'valid',
    keyid: key.kid,
    components: ['@method', '@target-uri', 'content-digest', 'content-length'],
  });
});

test('both verifiers refuse a body changed after signing, another key under the kid, and a stale created', async () => {
  const key = judge.generateEd25519SigningKey('127.0.0.10:9000#key-1');
  const [jwk] = judge.publicJwks([key]).keys;
  const rogue = judge.generateEd25519SigningKey(key.kid);
  const cases: Array<[string, Record<string, string>, string]> = [
    ['altered body', judge.signRequest({ method: 'POST', url, body }, key), `${body} `],
    ['rogue key', judge.signRequest({ method: 'POST', url, body }, rogue), body],
    ['stale created', judge.signRequest({ method: 'POST', url, body }, key, { created: Math.floor(Date.now() / 1000) - 86_400 }), body],
  ];
  for (const [what, signed, sent] of cases) {
    const request = { method: 'POST', url, headers: { 'content-type': 'application/json', ...signed }, body: Buffer.from(sent) };
    const byJudge = await judge.verifyOcmSignature(request, async () => jwk);
    const byReference = await reference.verifyOcmSignature(request, { lookupKey: async () => jwk as reference.Jwk });
    expect(byJudge.status, `${what}: the judge`).toBe('invalid');
    expect(byReference.status, `${what}: the reference`).toBe('invalid');
  }
});

// ---------------------------------------------------------------- draft-cavage (OCM 1.2)

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const cavageKeyId = 'http://127.0.0.10:9000/ocm#signature';
const cavageUrl = 'http://127.0.0.2:8080/ocm/shares';

test('a request the judge cavage-signs verifies with the reference verifier', async () => {
  const headers = {
    'content-type': 'application/json',
    host: '127.0.0.2:8080',
    ...judgeCavage.cavageSign('POST', cavageUrl, body, { keyId: cavageKeyId, privateKey: rsa.privateKey }),
  };
  const verdict = await reference.verifyCavageSignature(
    { method: 'POST', url: cavageUrl, headers, body: Buffer.from(body) },
    { lookupKey: async (keyId) => (keyId === cavageKeyId ? rsa.publicKey : undefined) },
  );
  expect(verdict).toMatchObject({ status: 'valid', keyid: cavageKeyId });
});

test('a request the reference cavage-signs verifies with the judge verifier', async () => {
  const headers = reference.signCavage(
    { method: 'POST', url: cavageUrl, body: Buffer.from(body) },
    { keyId: cavageKeyId, privateKey: rsa.privateKey },
  );
  const verdict = await judgeCavage.cavageVerify({ method: 'POST', url: cavageUrl, headers }, Buffer.from(body), {
    lookupKey: async (keyId) => (keyId === cavageKeyId ? rsa.publicKey : undefined),
  });
  expect(verdict).toEqual({ status: 'valid', keyId: cavageKeyId });
});

test('both cavage verifiers refuse forged bytes, a tampered body, an unknown keyId and a stale Date', async () => {
  const signed = (options: Partial<judgeCavage.CavageSignOptions> = {}): Record<string, string> => ({
    host: '127.0.0.2:8080',
    ...judgeCavage.cavageSign('POST', cavageUrl, body, { keyId: cavageKeyId, privateKey: rsa.privateKey, ...options }),
  });
  const forged = signed();
  forged.signature = forged.signature!.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA');
  const cases: Array<[string, Record<string, string>, string]> = [
    ['forged signature bytes', forged, body],
    ['a tampered body', signed(), `${body} `],
    ['an unknown keyId', signed({ keyId: 'http://127.0.0.11:9000/ocm#signature' }), body],
    ['a stale Date', signed({ date: new Date(Date.now() - 86_400_000) }), body],
  ];
  const lookupKey = async (keyId: string) => (keyId === cavageKeyId ? rsa.publicKey : undefined);
  for (const [what, headers, sentBody] of cases) {
    const message = { method: 'POST', url: cavageUrl, headers };
    expect((await judgeCavage.cavageVerify(message, Buffer.from(sentBody), { lookupKey })).status, `judge: ${what}`).toBe('invalid');
    expect(
      (await reference.verifyCavageSignature({ ...message, body: Buffer.from(sentBody) }, { lookupKey })).status,
      `reference: ${what}`,
    ).toBe('invalid');
  }
});

test('a keyId that is not a URL gets a verdict from the judge, not an exception', async () => {
  const headers = {
    host: '127.0.0.2:8080',
    ...judgeCavage.cavageSign('POST', cavageUrl, body, { keyId: 'not a url::', privateKey: rsa.privateKey }),
  };
  const verdict = await judgeCavage.cavageVerify({ method: 'POST', url: cavageUrl, headers }, Buffer.from(body), {
    lookupKey: async (keyId) => {
      new URL(keyId);
      return rsa.publicKey;
    },
  });
  expect(verdict).toMatchObject({ status: 'invalid' });
});
