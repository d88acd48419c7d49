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
