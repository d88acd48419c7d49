/**
 * `certify` on the shipped runs: the submission carries the implementation,
 * profile, outcomes and the SHA-256 of the exact results bytes; partial runs
 * are refused; `matrix DIR --site OUT` builds the overview, one page and one
 * badge per implementation, keeping "not supported" apart from "failed".
 */
import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certify } from './certify.ts';
import { writeSite } from './matrix.ts';

const RUNS = fileURLToPath(new URL('../reports/fixtures/runs/', import.meta.url));

test('certify binds the submission to the results by SHA-256 and keeps not supported apart from failed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-certify-'));
  const file = join(RUNS, 'reference-main.json');
  const s = await certify({
    results: file,
    implementation: 'Reference',
    implVersion: '0.1.0',
    url: 'https://example.org/r/',
    out: join(dir, 's.json'),
  });
  expect(JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'))).toEqual(s);
  expect(s.results.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
  expect(s.implementation).toEqual({ name: 'Reference', version: '0.1.0', url: 'https://example.org/r/' });
  expect(s.profile).toBe('main');
  const results = JSON.parse(readFileSync(file, 'utf8'));
  expect(s.requirements.map((r) => r.id)).toEqual(results.requirements.map((r: { id: string }) => r.id));
  const gated = s.requirements.filter((r) => r.status === 'not-supported');
  expect(gated.length).toBeGreaterThan(0);
  for (const r of gated) expect(r.reason).toMatch(/does not advertise/);
  // The ledger run declares expected failures: they stay visible as such.
  const ledger = await certify({
    results: join(RUNS, 'reference-body-limit-ledger.json'),
    implementation: 'Reference',
    implVersion: 'body-limit',
    out: join(dir, 'l.json'),
  });
  expect(ledger.requirements.find((r) => r.id === 'SHR-11')?.status).toBe('expected-failure');
  expect(ledger.requirements.find((r) => r.id === 'DISC-4')?.unexpectedPass).toBe(true);
});

test('certify refuses a partial run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-certify-'));
  const results = JSON.parse(readFileSync(join(RUNS, 'reference-1.1.json'), 'utf8'));
  results.run.only = ['SHR-4'];
  results.run.selectedBy = '--only SHR-4';
  await writeFile(join(dir, 'partial.json'), JSON.stringify(results));
  await expect(
    certify({ results: join(dir, 'partial.json'), implementation: 'x', implVersion: '1', out: join(dir, 'o.json') }),
  ).rejects.toThrow('the results come from a partial run (--only SHR-4): certify needs a run of every check');
  expect(existsSync(join(dir, 'o.json'))).toBe(false);
});

test('matrix --site writes the overview, a page and a badge per implementation; a stray file is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-site-'));
  const submissions = join(dir, 'submissions');
  await certify({
    results: join(RUNS, 'reference-main.json'),
    implementation: 'Reference',
    implVersion: '0.1.0',
    out: join(submissions, 'a.json'),
  });
  await certify({
    results: join(RUNS, 'reference-1.1.json'),
    implementation: 'Reference',
    implVersion: '0.1.0',
    out: join(submissions, 'b.json'),
  });
  const site = await writeSite(submissions, join(dir, 'site'));
  expect(site.submissions).toBe(2);
  const index = readFileSync(site.index, 'utf8');
  expect(index).toContain('impl/reference-0.1.0-main.html');
  expect(index).toContain('impl/reference-0.1.0-1.1.html');
  expect(index).toContain("default-src 'none'");
  const badge = JSON.parse(readFileSync(join(dir, 'site', 'badges', 'reference-0.1.0-main.json'), 'utf8'));
  expect(badge).toMatchObject({ schemaVersion: 1, label: 'OCM main' });
  expect(badge.message).toMatch(/^MUST \d+\/\d+$/);
  const page = readFileSync(join(dir, 'site', 'impl', 'reference-0.1.0-main.html'), 'utf8');
  expect(page).toContain('not supported (capability not advertised)');
  await writeFile(join(submissions, 'notes.json'), '{"hello": 1}');
  await expect(writeSite(submissions, join(dir, 'site2'))).rejects.toThrow(
    /notes\.json is not a submission: format is not ocm-conformance\/submission@1/,
  );
});
