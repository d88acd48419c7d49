import { test, expect } from '@playwright/test';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  cavageSigningString,
  hasCavageSignature,
  parseCavageSignature,
  signCavage,
  verifyCavageSignature,
  type CavageRequest,
} from './cavage.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const KEY_ID = 'https://sender.example.org/ocm#signature';
const URL_SHARES = 'https://receiver.example.org/ocm/shares';
const BODY = '{"shareWith":"bob@receiver.example.org"}';
const DATE = new Date('2026-07-26T10:00:00Z');
const NOW = Math.floor(DATE.getTime() / 1000);

function signedRequest(options: { headers?: string[]; body?: string } = {}): CavageRequest {
  const body = options.body ?? BODY;
  const headers = signCavage(
    { method: 'POST', url: URL_SHARES, body, headers: { 'content-type': 'application/json' } },
    { keyId: KEY_ID, privateKey, date: DATE, ...(options.headers ? { headers: options.headers } : {}) },
  );
  return { method: 'POST', url: URL_SHARES, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(body) };
}

const lookupKey = async (keyId: string) => (keyId === KEY_ID ? PEM : undefined);

test.describe('draft-cavage-12 (OCM 1.2)', () => {
  test('signCavage produces the 1.2-era header shape', () => {
    const request = signedRequest();
    expect(request.headers.digest).toBe(`SHA-256=${createHash('sha256').update(BODY).digest('base64')}`);
    expect(request.headers.host).toBe('receiver.example.org');
    expect(request.headers.date).toBe('Sun, 26 Jul 2026 10:00:00 GMT');
    expect(String(request.headers.signature)).toMatch(
      /^keyId="https:\/\/sender\.example\.org\/ocm#signature",algorithm="rsa-sha256",headers="\(request-target\) content-length date digest host",signature="[A-Za-z0-9+/=]+"$/,
    );
    expect(hasCavageSignature(request.headers)).toBe(true);
    expect(cavageSigningString(request, ['(request-target)', 'host'])).toBe(
      '(request-target): post /ocm/shares\nhost: receiver.example.org',
    );
  });

  test('valid signature', async () => {
    expect(await verifyCavageSignature(signedRequest(), { now: NOW + 10, lookupKey })).toEqual({
      status: 'valid',
      scheme: 'cavage',
      keyid: KEY_ID,
      signerHost: 'sender.example.org',
      created: NOW,
      alg: 'rsa-sha256',
      components: ['(request-target)', 'content-length', 'date', 'digest', 'host'],
    });
  });

  test('wrong digest → digest-mismatch', async () => {
    const request = signedRequest();
    expect(await verifyCavageSignature({ ...request, body: Buffer.from(`${BODY} `) }, { now: NOW, lookupKey })).toMatchObject({
      status: 'invalid',
      reason: 'digest-mismatch',
    });
  });

  test('changed Digest header → bad-signature', async () => {
    const request = signedRequest();
    const headers = { ...request.headers, digest: `SHA-256=${createHash('sha256').update('x').digest('base64')}` };
    expect(await verifyCavageSignature({ ...request, headers }, { now: NOW, lookupKey })).toMatchObject({ reason: 'bad-signature' });
  });

  test('stale Date → created-too-old; future Date → created-in-future', async () => {
    expect(await verifyCavageSignature(signedRequest(), { now: NOW + 301, lookupKey })).toMatchObject({ reason: 'created-too-old' });
    expect(await verifyCavageSignature(signedRequest(), { now: NOW - 3600, lookupKey })).toMatchObject({ reason: 'created-in-future' });
  });

  test('host missing from headers → missing-component', async () => {
    const request = signedRequest({ headers: ['(request-target)', 'content-length', 'date', 'digest'] });
    const result = await verifyCavageSignature(request, { now: NOW, lookupKey });
    expect(result).toMatchObject({ status: 'invalid', reason: 'missing-component' });
    expect((result as { detail: string }).detail).toContain('host');
  });

  test('unknown keyId → unknown-key; no signature → unsigned', async () => {
    expect(await verifyCavageSignature(signedRequest(), { now: NOW, lookupKey: async () => undefined })).toMatchObject({
      reason: 'unknown-key',
    });
    expect(await verifyCavageSignature({ method: 'POST', url: URL_SHARES, headers: {}, body: BODY }, { now: NOW, lookupKey })).toEqual({
      status: 'unsigned',
      detail: 'no cavage Signature',
    });
  });

  test('garbage Signature → malformed, never thrown', async () => {
    const request = signedRequest();
    for (const bad of ['keyId=', 'keyId="a",signature="!!"', 'garbage', 'keyId="a",keyId="b",signature="AAAA"', '\u0000']) {
      const result = await verifyCavageSignature({ ...request, headers: { ...request.headers, signature: bad } }, { now: NOW, lookupKey });
      expect(result, bad).toMatchObject({ status: 'invalid', reason: 'malformed' });
    }
    expect(parseCavageSignature('signature="AAAA"')).toMatchObject({ ok: false, reason: 'missing-keyid' });
  });
});
