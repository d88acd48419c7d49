import { test, expect } from '@playwright/test';
import { createHash, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { httpbis, createSigner, createVerifier } from 'http-message-signatures';
import { generateEd25519SigningKey, publicJwk, signingKeyFromPrivateKey, type Jwk, type SigningKey } from './keys.ts';
import { appendSignature, createMessageSignature, signRequest, type SignatureParamValues } from './sign.ts';
import { verifyOcmSignature, type IncomingRequest, type VerifyOcmOptions } from './verify.ts';
import type { HeaderMap } from './profile.ts';

const URL_SHARES = 'https://receiver.example.org/ocm/shares';
const BODY = JSON.stringify({ shareWith: 'bob@receiver.example.org', name: 'doc.txt', sender: 'alice@sender.example.org' });
const NOW = 1_785_060_500;

const edKey = generateEd25519SigningKey('sender.example.org#key-1');
const otherEdKey = generateEd25519SigningKey('sender.example.org#key-2');

function lookupFrom(...jwks: Jwk[]): VerifyOcmOptions['lookupKey'] {
  return async (kid) => jwks.find((j) => j.kid === kid);
}

function verify(request: IncomingRequest, extra: Partial<VerifyOcmOptions> = {}) {
  return verifyOcmSignature(request, { now: NOW, lookupKey: lookupFrom(publicJwk(edKey)), ...extra });
}

function b64digest(body: string | Buffer, alg: 'sha256' | 'sha512' = 'sha256'): string {
  return createHash(alg).update(body).digest('base64');
}

/** A request signed with the OCM profile by our signer. */
function signed(body: string = BODY, key: SigningKey = edKey, created = NOW): IncomingRequest {
  const headers = { 'content-type': 'application/json', ...signRequest({ method: 'POST', url: URL_SHARES, body }, key, { created }) };
  return { method: 'POST', url: URL_SHARES, headers, body: Buffer.from(body) };
}

interface CraftOptions {
  components?: string[];
  params?: SignatureParamValues;
  body?: string;
  contentDigest?: string;
  key?: SigningKey;
  label?: string;
  headers?: HeaderMap;
}

/** A request with a hand-built signature (for the negative cases). */
function craft(options: CraftOptions = {}): IncomingRequest {
  const body = options.body ?? BODY;
  const key = options.key ?? edKey;
  const headers: HeaderMap = {
    'content-type': 'application/json',
    'content-digest': options.contentDigest ?? `sha-256=:${b64digest(body)}:`,
    'content-length': String(Buffer.byteLength(body)),
    ...options.headers,
  };
  const sig = createMessageSignature(
    { method: 'POST', url: URL_SHARES, headers },
    {
      key,
      components: options.components ?? ['@method', '@target-uri', 'content-digest', 'content-length'],
      params: options.params ?? { created: NOW, keyid: key.kid, alg: 'ed25519', tag: 'ocm' },
    },
  );
  return {
    method: 'POST',
    url: URL_SHARES,
    headers: { ...headers, ...appendSignature(headers, options.label ?? 'ocm', sig) },
    body: Buffer.from(body),
  };
}

test.describe('OCM profile: sign → verify', () => {
  test('our signer produces the profile headers', () => {
    const headers = signRequest({ method: 'post', url: URL_SHARES, body: BODY }, edKey, { created: NOW });
    expect(headers['content-digest']).toBe(`sha-256=:${b64digest(BODY)}:`);
    expect(headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
    expect(headers['signature-input']).toBe(
      `ocm=("@method" "@target-uri" "content-digest" "content-length");created=${NOW};keyid="sender.example.org#key-1";alg="ed25519";tag="ocm"`,
    );
    expect(headers.signature).toMatch(/^ocm=:[A-Za-z0-9+/]{86}==:$/);
  });

  test('a request we sign verifies', async () => {
    const result = await verify(signed());
    expect(result).toEqual({
      status: 'valid',
      scheme: 'rfc9421',
      keyid: 'sender.example.org#key-1',
      signerHost: 'sender.example.org',
      created: NOW,
      alg: 'ed25519',
      label: 'ocm',
      components: ['"@method"', '"@target-uri"', '"content-digest"', '"content-length"'],
    });
  });

  test('the host from the key lookup wins over the keyid', async () => {
    const result = await verify(signed(), { lookupKey: async () => ({ jwk: publicJwk(edKey), host: 'jwks-origin.example.org' }) });
    expect(result).toMatchObject({ status: 'valid', signerHost: 'jwks-origin.example.org' });
  });

  test('signing without alg parameter is allowed', async () => {
    const headers = signRequest({ method: 'POST', url: URL_SHARES, body: BODY }, edKey, { created: NOW, includeAlg: false });
    expect(headers['signature-input']).not.toContain('alg=');
    expect(await verify({ method: 'POST', url: URL_SHARES, headers, body: BODY })).toMatchObject({ status: 'valid' });
  });

  test('multi-algorithm Content-Digest that matches verifies', async () => {
    const headers = signRequest({ method: 'POST', url: URL_SHARES, body: BODY }, edKey, {
      created: NOW,
      digestAlgorithms: ['sha-256', 'sha-512'],
    });
    expect(await verify({ method: 'POST', url: URL_SHARES, headers, body: BODY })).toMatchObject({ status: 'valid' });
  });

  test('freshness window edges', async () => {
    expect(await verify(signed(BODY, edKey, NOW + 60))).toMatchObject({ status: 'valid' });
    expect(await verify(signed(BODY, edKey, NOW + 61))).toMatchObject({ reason: 'created-in-future' });
    expect(await verify(signed(BODY, edKey, NOW - 300))).toMatchObject({ status: 'valid' });
    expect(await verify(signed(BODY, edKey, NOW - 301))).toMatchObject({ reason: 'created-too-old' });
    expect(await verify(signed(BODY, edKey, NOW - 301), { maxAgeSeconds: 600 })).toMatchObject({ status: 'valid' });
  });
});

test.describe('interop with http-message-signatures', () => {
  test('our Ed25519 signature verifies with httpbis.verifyMessage', async () => {
    const request = signed(BODY, edKey, Math.floor(Date.now() / 1000));
    const ok = await httpbis.verifyMessage(
      {
        keyLookup: async (params) =>
          params.keyid === edKey.kid ? { id: edKey.kid, algs: ['ed25519'], verify: createVerifier(edKey.publicKey, 'ed25519') } : null,
        requiredFields: ['@method', '@target-uri', 'content-digest', 'content-length'],
        requiredParams: ['created', 'keyid', 'tag'],
      },
      { method: request.method, url: request.url, headers: request.headers as Record<string, string> },
    );
    expect(ok).toBe(true);
  });

  test('httpbis.signMessage with the same inputs emits byte-identical Ed25519 headers', async () => {
    const ours = signRequest({ method: 'POST', url: URL_SHARES, body: BODY }, edKey, { created: NOW });
    const theirs = await httpbis.signMessage(
      {
        key: createSigner(edKey.privateKey, 'ed25519', edKey.kid),
        name: 'ocm',
        fields: ['@method', '@target-uri', 'content-digest', 'content-length'],
        params: ['created', 'keyid', 'alg', 'tag'],
        paramValues: { created: new Date(NOW * 1000), tag: 'ocm' },
      },
      { method: 'POST', url: URL_SHARES, headers: { 'content-digest': ours['content-digest'], 'content-length': ours['content-length'] } },
    );
    const headers = theirs.headers as Record<string, string>;
    expect(headers['Signature-Input']).toBe(ours['signature-input']);
    expect(headers['Signature']).toBe(ours.signature);
  });

  test('our ES256 signature (raw r||s) verifies with httpbis.verifyMessage', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = signingKeyFromPrivateKey(privateKey, 'sender.example.org#es', 'ES256');
    const headers = signRequest({ method: 'POST', url: URL_SHARES, body: BODY }, key);
    expect(headers['signature-input']).toContain('alg="ecdsa-p256-sha256"');
    const ok = await httpbis.verifyMessage(
      { keyLookup: async () => ({ id: key.kid, algs: ['ecdsa-p256-sha256'], verify: createVerifier(key.publicKey, 'ecdsa-p256-sha256') }) },
      { method: 'POST', url: URL_SHARES, headers },
    );
    expect(ok).toBe(true);
  });

  const cases: Array<{
    name: string;
    alg: 'ed25519' | 'ecdsa-p256-sha256' | 'rsa-pss-sha512' | 'rsa-v1_5-sha256';
    jose: string;
    make: () => KeyObject;
  }> = [
    { name: 'Ed25519', alg: 'ed25519', jose: 'Ed25519', make: () => generateKeyPairSync('ed25519').privateKey },
    { name: 'ES256', alg: 'ecdsa-p256-sha256', jose: 'ES256', make: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
    { name: 'PS512', alg: 'rsa-pss-sha512', jose: 'PS512', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
    { name: 'RS256', alg: 'rsa-v1_5-sha256', jose: 'RS256', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
  ];
  for (const c of cases) {
    test(`a ${c.name} signature made by httpbis.signMessage verifies with ours`, async () => {
      const privateKey = c.make();
      const kid = `sender.example.org#${c.name}`;
      const headers = {
        'Content-Type': 'application/json',
        'Content-Digest': `sha-256=:${b64digest(BODY)}:`,
        'Content-Length': String(Buffer.byteLength(BODY)),
      };
      const signedMessage = await httpbis.signMessage(
        {
          key: createSigner(privateKey, c.alg, kid),
          name: 'sig1',
          fields: ['@method', '@target-uri', 'content-digest', 'content-length'],
          params: ['created', 'keyid', 'alg', 'tag'],
          paramValues: { created: new Date(NOW * 1000), tag: 'ocm' },
        },
        { method: 'POST', url: URL_SHARES, headers },
      );
      const jwk: Jwk = {
        ...(signingKeyFromPrivateKey(privateKey, kid, c.jose as 'ES256').publicKey.export({ format: 'jwk' }) as Jwk),
        kid,
        alg: c.jose,
      };
      const result = await verify(
        { method: 'POST', url: URL_SHARES, headers: signedMessage.headers, body: BODY },
        { lookupKey: lookupFrom(jwk) },
      );
      expect(result).toMatchObject({ status: 'valid', keyid: kid, alg: c.alg, label: 'sig1' });
    });
  }
});

test.describe('OCM profile: rejections', () => {
  test('tampered body → digest-mismatch', async () => {
    const request = signed();
    expect(await verify({ ...request, body: Buffer.from(BODY.replace('doc.txt', 'evil.txt')) })).toMatchObject({
      status: 'invalid',
      reason: 'digest-mismatch',
    });
  });

  test('tampered Content-Digest (matching a tampered body) → bad-signature', async () => {
    const request = signed();
    const evil = BODY.replace('doc.txt', 'evil.txt');
    const headers = {
      ...request.headers,
      'content-digest': `sha-256=:${b64digest(evil)}:`,
      'content-length': String(Buffer.byteLength(evil)),
    };
    expect(await verify({ ...request, headers, body: Buffer.from(evil) })).toMatchObject({ status: 'invalid', reason: 'bad-signature' });
    // Content-Digest alone changed, body untouched: still the signature that fails.
    const onlyHeader = { ...request.headers, 'content-digest': `sha-256=:${b64digest('x')}:` };
    expect(await verify({ ...request, headers: onlyHeader })).toMatchObject({ reason: 'bad-signature' });
  });

  test('two digest algorithms, one wrong → digest-mismatch', async () => {
    const wrong512 = b64digest('something else', 'sha512');
    const request = craft({ contentDigest: `sha-256=:${b64digest(BODY)}:, sha-512=:${wrong512}:` });
    expect(await verify(request)).toMatchObject({ status: 'invalid', reason: 'digest-mismatch' });
  });

  test('Content-Digest with only unknown algorithms → digest-missing', async () => {
    expect(await verify(craft({ contentDigest: 'md5=:AAAA:' }))).toMatchObject({ reason: 'digest-missing' });
  });

  test('Content-Digest absent → digest-missing', async () => {
    const request = signed();
    const headers = { ...request.headers, 'content-digest': undefined };
    expect(await verify({ ...request, headers })).toMatchObject({ reason: 'digest-missing' });
  });

  for (const component of ['@method', '@target-uri', 'content-digest', 'content-length']) {
    test(`${component} not covered → missing-component`, async () => {
      const components = ['@method', '@target-uri', 'content-digest', 'content-length'].filter((c) => c !== component);
      const result = await verify(craft({ components }));
      expect(result).toMatchObject({ status: 'invalid', reason: 'missing-component' });
      expect((result as { detail: string }).detail).toContain(`"${component}"`);
    });
  }

  test('covered field absent from the message → component-unavailable', async () => {
    const request = craft({ components: ['@method', '@target-uri', 'content-digest', 'content-length', 'content-type'] });
    const headers = { ...request.headers, 'content-type': undefined };
    expect(await verify({ ...request, headers })).toMatchObject({ reason: 'component-unavailable' });
  });

  test('missing created → missing-created', async () => {
    expect(await verify(craft({ params: { keyid: edKey.kid, alg: 'ed25519', tag: 'ocm' } }))).toMatchObject({ reason: 'missing-created' });
  });

  test('missing keyid → missing-keyid', async () => {
    expect(await verify(craft({ params: { created: NOW, alg: 'ed25519', tag: 'ocm' } }))).toMatchObject({ reason: 'missing-keyid' });
  });

  test('created one hour ahead → created-in-future', async () => {
    expect(await verify(craft({ params: { created: NOW + 3600, keyid: edKey.kid, tag: 'ocm' } }))).toMatchObject({
      reason: 'created-in-future',
    });
  });

  test('created one day old → created-too-old', async () => {
    expect(await verify(craft({ params: { created: NOW - 86_400, keyid: edKey.kid, tag: 'ocm' } }))).toMatchObject({
      reason: 'created-too-old',
    });
  });

  test('expires in the past → expired', async () => {
    expect(await verify(craft({ params: { created: NOW - 100, expires: NOW - 90, keyid: edKey.kid, tag: 'ocm' } }))).toMatchObject({
      reason: 'expired',
    });
  });

  test('two tag="ocm" signatures → multiple-ocm-signatures', async () => {
    const first = signed();
    const second = createMessageSignature(
      { method: 'POST', url: URL_SHARES, headers: first.headers },
      {
        key: otherEdKey,
        components: ['@method', '@target-uri', 'content-digest', 'content-length'],
        params: { created: NOW, keyid: otherEdKey.kid, tag: 'ocm' },
      },
    );
    const headers = { ...first.headers, ...appendSignature(first.headers, 'second', second) };
    const result = await verify({ ...first, headers }, { lookupKey: lookupFrom(publicJwk(edKey), publicJwk(otherEdKey)) });
    expect(result).toMatchObject({ status: 'invalid', reason: 'multiple-ocm-signatures' });
  });

  test('unknown kid → unknown-key', async () => {
    expect(await verify(signed(BODY, otherEdKey))).toMatchObject({ reason: 'unknown-key', keyid: otherEdKey.kid });
  });

  test('key lookup that throws → key-lookup-failed (no throw)', async () => {
    const result = await verify(signed(), {
      lookupKey: async () => {
        throw new Error('ECONNREFUSED');
      },
    });
    expect(result).toMatchObject({ reason: 'key-lookup-failed' });
  });

  test('alg parameter contradicting the JWK alg → alg-mismatch', async () => {
    expect(await verify(craft({ params: { created: NOW, keyid: edKey.kid, alg: 'ecdsa-p256-sha256', tag: 'ocm' } }))).toMatchObject({
      reason: 'alg-mismatch',
    });
    // The JOSE spelling is not an RFC 9421 algorithm name.
    expect(await verify(craft({ params: { created: NOW, keyid: edKey.kid, alg: 'Ed25519', tag: 'ocm' } }))).toMatchObject({
      reason: 'alg-mismatch',
    });
  });

  test('JWK alg decides; unacceptable JWK algs are rejected', async () => {
    const jwk = publicJwk(edKey);
    for (const alg of ['HS256', 'none', 'RS256', undefined]) {
      const result = await verify(signed(), { lookupKey: async () => ({ ...jwk, alg }) });
      expect(result, String(alg)).toMatchObject({ status: 'invalid' });
      expect(['unacceptable-alg', 'invalid-key']).toContain((result as { reason: string }).reason);
    }
    expect(await verify(signed(), { lookupKey: async () => ({ ...jwk, alg: 'HS256' }) })).toMatchObject({ reason: 'unacceptable-alg' });
    // EdDSA (polymorphic, deprecated by RFC 9864) still denotes ed25519 for an Ed25519 JWK.
    expect(await verify(signed(), { lookupKey: async () => ({ ...jwk, alg: 'EdDSA' }) })).toMatchObject({ status: 'valid' });
    // A JWK without alg is accepted only when asked to infer.
    const noAlg = { ...jwk, alg: undefined };
    expect(await verify(signed(), { lookupKey: async () => noAlg, requireJwkAlg: false })).toMatchObject({ status: 'valid' });
  });

  test('a JWK whose key type does not fit its alg → invalid-key', async () => {
    expect(await verify(signed(), { lookupKey: async () => ({ ...publicJwk(edKey), alg: 'ES256' }) })).toMatchObject({
      reason: 'invalid-key',
    });
  });

  test('ES256 signature in DER form → bad-signature with a hint', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = signingKeyFromPrivateKey(privateKey, 'sender.example.org#es', 'ES256');
    const request = signed(BODY, key);
    const input = String(request.headers['signature-input']);
    // Re-sign the same base in DER encoding, as a non-conforming signer would.
    const { base } = createMessageSignature(
      { method: 'POST', url: URL_SHARES, headers: request.headers },
      {
        key,
        components: ['@method', '@target-uri', 'content-digest', 'content-length'],
        params: { created: NOW, keyid: key.kid, alg: 'ecdsa-p256-sha256', tag: 'ocm' },
      },
    );
    const der = edSign('sha256', Buffer.from(base), privateKey);
    const headers = { ...request.headers, 'signature-input': input, signature: `ocm=:${der.toString('base64')}:` };
    const result = await verify({ ...request, headers }, { lookupKey: lookupFrom(publicJwk(key)) });
    expect(result).toMatchObject({ reason: 'bad-signature' });
    expect((result as { detail: string }).detail).toContain('DER');
  });

  test('Content-Length not matching the body → content-length-mismatch', async () => {
    const request = craft({ headers: { 'content-length': '5' } });
    expect(await verify(request)).toMatchObject({ reason: 'content-length-mismatch' });
  });

  test('a valid OCM signature plus a non-OCM signature with a garbage value is valid', async () => {
    const request = signed();
    const proxy = createMessageSignature(
      { method: 'POST', url: URL_SHARES, headers: request.headers },
      { key: otherEdKey, components: ['@method'], params: { created: NOW, keyid: 'proxy-key' } },
    );
    proxy.signature = Buffer.from('definitely not a signature');
    const headers = { ...request.headers, ...appendSignature(request.headers, 'proxy', proxy) };
    expect(String(headers['signature-input'])).toContain('proxy=');
    expect(await verify({ ...request, headers })).toMatchObject({ status: 'valid', label: 'ocm' });
  });

  test('only a non-OCM signature → unsigned (even when labelled "ocm")', async () => {
    expect(await verify(craft({ params: { created: NOW, keyid: edKey.kid } }))).toMatchObject({ status: 'unsigned' });
    expect(await verify(craft({ params: { created: NOW, keyid: edKey.kid, tag: 'other' } }))).toMatchObject({ status: 'unsigned' });
    expect(await verify({ method: 'POST', url: URL_SHARES, headers: {}, body: BODY })).toMatchObject({ status: 'unsigned' });
  });

  test('garbage headers → malformed, never thrown', async () => {
    const valid = signed();
    const validInput = String(valid.headers['signature-input']);
    const garbage: Array<HeaderMap> = [
      { 'signature-input': 'ocm=(', signature: 'ocm=:AAAA:' },
      { 'signature-input': 'ocm=("@method" "@target-uri";tag="ocm"', signature: 'ocm=:AAAA:' },
      { 'signature-input': 'Ocm=();tag="ocm"', signature: 'ocm=:AAAA:' },
      { 'signature-input': '\u0000\u00ff', signature: '' },
      { 'signature-input': validInput },
      { 'signature-input': validInput, signature: 'ocm=notbytes' },
      { 'signature-input': validInput, signature: 'other=:AAAA:' },
      { 'signature-input': validInput, signature: 'ocm=:!!:' },
      { 'signature-input': 'ocm="@method";tag="ocm"', signature: 'ocm=:AAAA:' },
      { 'signature-input': `ocm=(@method);created=${NOW};keyid="k";tag="ocm"`, signature: 'ocm=:AAAA:' },
      {
        'signature-input': `ocm=("@method" "@method" "@target-uri" "content-digest" "content-length");created=${NOW};keyid="k";tag="ocm"`,
        signature: 'ocm=:AAAA:',
      },
      {
        'signature-input': `ocm=("@method" "@target-uri" "content-digest" "content-length");created="x";keyid="k";tag="ocm"`,
        signature: 'ocm=:AAAA:',
      },
      {
        'signature-input': `ocm=("@method" "@target-uri" "content-digest" "content-length");created=${NOW};keyid=k;tag="ocm"`,
        signature: 'ocm=:AAAA:',
      },
      { 'signature-input': 'x'.repeat(100_000), signature: 'ocm=:AAAA:' },
    ];
    for (const extra of garbage) {
      const result = await verify({ ...valid, headers: { ...valid.headers, signature: undefined, ...extra } });
      expect(result, JSON.stringify(extra).slice(0, 200)).toMatchObject({ status: 'invalid', reason: 'malformed' });
    }
  });

  test('random mutations of a signed request never throw', async () => {
    const valid = signed();
    const input = String(valid.headers['signature-input']);
    const sig = String(valid.headers.signature);
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '"();=,:*?-@ \t\\aZ09é\u0000';
    const mutate = (s: string) => {
      const chars = [...s];
      for (let i = 0, n = 1 + rand(4); i < n; i++) {
        const at = rand(chars.length + 1);
        const op = rand(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]!);
        else chars[at] = alphabet[rand(alphabet.length)]!;
      }
      return chars.join('');
    };
    const statuses = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const headers = { ...valid.headers, 'signature-input': rand(2) ? mutate(input) : input, signature: rand(2) ? mutate(sig) : sig };
      const result = await verify({ ...valid, headers });
      statuses.add(result.status);
      expect(['valid', 'invalid', 'unsigned']).toContain(result.status);
    }
    expect(statuses.has('invalid')).toBe(true);
  });
});
