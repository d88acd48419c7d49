/**
 * `run --tls` for real: the embedded pair and every simulated peer on https
 * under DNS names (a.ocm.test, peer-1.ocm.test…) with a fresh run CA and
 * allowHttp off. No MUST fails, the https requirements (TLS-1, TOK-6,
 * DISC-14) pass on real https, and every exchange in the transcripts is
 * https. Over plain http (allowHttp) the same requirements are not
 * applicable, with the reason: never passed over http.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-child.ts';

const HTTPS_REQUIREMENTS = ['TLS-1', 'TOK-6', 'DISC-14'];

async function readResults(dir: string): Promise<any> {
  return JSON.parse(await readFile(join(dir, 'compliance-results.json'), 'utf8'));
}

/** Every origin a transcript exchange went to. */
function transcriptOrigins(results: any): string[] {
  const origins = new Set<string>();
  JSON.stringify(results.transcripts ?? {}).replace(/"url":"([a-z]+:\/\/[^/"]*)/g, (_match, origin: string) => {
    origins.add(origin);
    return '';
  });
  return [...origins];
}

test('run --tls: the embedded pair and its peers on https, no MUST failure, https requirements passed', async () => {
  test.setTimeout(150_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-tls-'));
  try {
    const outcome = await runCli(['--tls', '--only', 'DISC-,TLS-1,TOK-,SHR-1,NTF-1', '--report-dir', dir], 140_000);
    expect(outcome.code, `${outcome.stdout}\n${outcome.stderr}`).toBe(0);
    const results = await readResults(dir);
    expect(results.summary.must.failed).toBe(0);
    expect(results.target.url).toMatch(/^https:\/\/a\.ocm\.test:\d+$/);
    const outcomes = Object.fromEntries(results.requirements.map((r: any) => [r.id, r.outcome]));
    for (const id of HTTPS_REQUIREMENTS) expect(outcomes[id], id).toBe('passed');
    expect(outcomes['SHR-1']).toBe('passed');
    const origins = transcriptOrigins(results);
    expect(origins.length).toBeGreaterThan(0);
    expect(origins.filter((origin) => !origin.startsWith('https://'))).toEqual([]);
    expect(origins.every((origin) => /^https:\/\/[a-z0-9-]+\.ocm\.test:\d+$/.test(origin))).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('over plain http (allowHttp) TLS-1, TOK-6 and DISC-14 are not applicable, with the reason, never passed', async () => {
  test.setTimeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-plain-'));
  try {
    // DISC-1 as well: a run that judges nothing at all is inconclusive (exit 3), whatever its not-applicable reasons.
    const outcome = await runCli(['--only', [...HTTPS_REQUIREMENTS, 'DISC-1'].join(','), '--report-dir', dir], 110_000);
    const results = await readResults(dir);
    expect(outcome.code, `${outcome.stdout}\n${outcome.stderr}`).toBe(0);
    for (const id of HTTPS_REQUIREMENTS) {
      const requirement = results.requirements.find((r: any) => r.id === id);
      expect(requirement.outcome, id).toBe('not-applicable');
      expect(JSON.stringify(requirement), id).toContain('plain http in a test setup (allowHttp)');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
