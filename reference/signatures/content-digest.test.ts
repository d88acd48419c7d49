import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { computeContentDigest, parseContentDigest, verifyContentDigest } from './content-digest.ts';

const BODY = '{"hello": "world"}';
// RFC 9530 examples for the body {"hello": "world"}.
const SHA256 = 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=';
const SHA512 = 'WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==';

test.describe('Content-Digest (RFC 9530)', () => {
  test('computes sha-256 and sha-512', () => {
    expect(computeContentDigest(BODY)).toBe(`sha-256=:${SHA256}:`);
    expect(computeContentDigest(Buffer.from(BODY), ['sha-512'])).toBe(`sha-512=:${SHA512}:`);
    expect(computeContentDigest(BODY, ['sha-256', 'sha-512'])).toBe(`sha-256=:${SHA256}:, sha-512=:${SHA512}:`);
    // Independent check with node:crypto directly.
    expect(SHA256).toBe(createHash('sha256').update(BODY).digest('base64'));
  });

  test('empty body', () => {
    expect(computeContentDigest(undefined)).toBe(`sha-256=:${createHash('sha256').update('').digest('base64')}:`);
  });

  test('parses members', () => {
    const members = parseContentDigest(`sha-256=:${SHA256}:, unixsum=:AAAA:`);
    expect([...members.keys()]).toEqual(['sha-256', 'unixsum']);
    expect(() => parseContentDigest('sha-256="text"')).toThrow();
  });

  test('every recognised algorithm must match', () => {
    expect(verifyContentDigest(`sha-256=:${SHA256}:, sha-512=:${SHA512}:`, BODY)).toEqual({ ok: true, algorithms: ['sha-256', 'sha-512'] });
    const wrong512 = Buffer.alloc(64, 1).toString('base64');
    expect(verifyContentDigest(`sha-256=:${SHA256}:, sha-512=:${wrong512}:`, BODY)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifyContentDigest(`sha-256=:${SHA256}:`, `${BODY} `)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  test('unknown algorithms are ignored, but one recognised algorithm is needed', () => {
    expect(verifyContentDigest(`md5=:AAAA:, sha-256=:${SHA256}:`, BODY)).toEqual({ ok: true, algorithms: ['sha-256'] });
    expect(verifyContentDigest('md5=:AAAA:, unixsum=:AAAA:', BODY)).toMatchObject({ ok: false, reason: 'no-recognised-algorithm' });
    expect(verifyContentDigest(undefined, BODY)).toMatchObject({ ok: false, reason: 'missing' });
  });

  test('garbage is malformed, never thrown', () => {
    for (const bad of ['sha-256', 'sha-256=abc', 'SHA-256=:abc:', '((', `sha-256=:${SHA256}`]) {
      expect(verifyContentDigest(bad, BODY)).toMatchObject({ ok: false });
    }
    expect(verifyContentDigest('sha-256=:AAAA:', BODY)).toMatchObject({ ok: false, reason: 'mismatch' });
  });
});
