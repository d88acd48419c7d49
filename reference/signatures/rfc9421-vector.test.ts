/**
 * RFC 9421 Appendix B.2.6 (ed25519 over "date" "@method" "@path" "@authority"
 * "content-type" "content-length") with test-key-ed25519 (Appendix B.1.4).
 * Ed25519 is deterministic, so signing the base with the RFC key must give
 * the RFC's signature byte for byte.
 */
import { test, expect } from '@playwright/test';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpbis, createVerifier } from 'http-message-signatures';
import { importPrivateJwk, importPublicJwk, type Jwk } from './keys.ts';
import { buildSignatureBase } from './signature-base.ts';
import { appendSignature, createMessageSignature } from './sign.ts';
import { parseSignatureByLabel, verifyOcmSignature, verifySignatureWithKey } from './verify.ts';
import { verifyContentDigest } from './content-digest.ts';

interface Vector {
  key: { keyid: string; publicKeyPem: string; privateKeyPem: string; publicJwk: Jwk; privateJwk: Jwk };
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  label: string;
  created: number;
  components: string[];
  signatureBase: string[];
  signatureInput: string;
  signature: string;
}

const vector = JSON.parse(readFileSync(new URL('./fixtures/rfc9421-b26.json', import.meta.url), 'utf8')) as Vector;
const signedHeaders = { ...vector.request.headers, 'signature-input': vector.signatureInput, signature: vector.signature };
const request = { method: vector.request.method, url: vector.request.url, headers: signedHeaders };

test.describe('RFC 9421 B.2.6 (ed25519)', () => {
  test('the fixture key material is self-consistent (PEM, JWK, private → public)', () => {
    const fromPrivatePem = createPublicKey(createPrivateKey(vector.key.privateKeyPem));
    expect(fromPrivatePem.export({ type: 'spki', format: 'pem' })).toBe(vector.key.publicKeyPem);
    expect(importPublicJwk(vector.key.publicJwk).export({ type: 'spki', format: 'pem' })).toBe(vector.key.publicKeyPem);
    expect(createPublicKey(importPrivateJwk(vector.key.privateJwk)).export({ format: 'jwk' })).toMatchObject({ x: vector.key.publicJwk.x });
  });

  test('the test request body matches its Content-Digest', () => {
    expect(verifyContentDigest(vector.request.headers['content-digest'], vector.request.body)).toEqual({
      ok: true,
      algorithms: ['sha-512'],
    });
  });

  test('our signature base reproduces the documented base', () => {
    const parsed = parseSignatureByLabel(signedHeaders, vector.label);
    if ('ok' in parsed) throw new Error(parsed.detail);
    expect(buildSignatureBase(request, parsed.input)).toBe(vector.signatureBase.join('\n'));
  });

  test('signing with the RFC key reproduces Signature-Input and Signature byte for byte', () => {
    const sig = createMessageSignature(
      { method: vector.request.method, url: vector.request.url, headers: vector.request.headers },
      {
        key: { alg: 'Ed25519', privateKey: createPrivateKey(vector.key.privateKeyPem) },
        components: vector.components,
        params: { created: vector.created, keyid: vector.key.keyid },
      },
    );
    expect(sig.base).toBe(vector.signatureBase.join('\n'));
    const headers = appendSignature({}, vector.label, sig);
    expect(headers['signature-input']).toBe(vector.signatureInput);
    expect(headers.signature).toBe(vector.signature);
  });

  test('our verifier core accepts the RFC signature and rejects a changed component', () => {
    const parsed = parseSignatureByLabel(signedHeaders, vector.label);
    if ('ok' in parsed) throw new Error(parsed.detail);
    const publicKey = createPublicKey(vector.key.publicKeyPem);
    expect(verifySignatureWithKey(request, parsed, publicKey, 'ed25519')).toMatchObject({ ok: true });
    const changed = { ...request, headers: { ...signedHeaders, 'content-type': 'text/plain' } };
    expect(verifySignatureWithKey(changed, parsed, publicKey, 'ed25519')).toMatchObject({ ok: false, reason: 'bad-signature' });
    const noDate = { ...request, headers: { ...signedHeaders, date: undefined } };
    expect(verifySignatureWithKey(noDate, parsed, publicKey, 'ed25519')).toMatchObject({ ok: false, reason: 'component-unavailable' });
  });

  test('http-message-signatures (independent implementation) accepts the same vector', async () => {
    const ok = await httpbis.verifyMessage(
      {
        keyLookup: async () => ({
          id: vector.key.keyid,
          algs: ['ed25519'],
          verify: createVerifier(createPublicKey(vector.key.publicKeyPem), 'ed25519'),
        }),
        notAfter: vector.created + 10,
      },
      request,
    );
    expect(ok).toBe(true);
  });

  test('the OCM profile verifier treats the vector as unsigned (no tag="ocm")', async () => {
    const result = await verifyOcmSignature(
      { ...request, body: vector.request.body },
      { now: vector.created, lookupKey: async () => ({ ...vector.key.publicJwk, alg: 'Ed25519' }) },
    );
    expect(result).toEqual({ status: 'unsigned', detail: 'no signature carries tag="ocm"' });
  });
});
