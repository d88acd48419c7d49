/**
 * The real thing: `ocm-conformance run` against the embedded reference pair
 * writes every format, and no secret the reference stored during the run
 * (shared secrets, invite tokens, codes, keys) appears in any output file;
 * a run split in two shards merges (`report --merge`) into the results of
 * both halves; `report` rebuilds the formats from a stored file.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findStoredSecrets } from '../results/redact.ts';
import { readResults } from '../results/schema.ts';
import { REPORT_FILES } from './write.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function cli(args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS']) delete env[name];
    const child = spawn(process.execPath, [join(ROOT, 'bin/ocm-conformance.js'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

function filesUnder(dir: string, skip: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (skip(path)) continue;
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, skip));
    else out.push(path);
  }
  return out;
}

test('run writes every format, and no secret of the run appears in any output', async () => {
  test.setTimeout(400_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-reports-'));
  // Shares both ways and invitations: the reference stores shared secrets and invite tokens.
  const { code, out } = await cli(['run', '--report-dir', dir, '--grep', 'SHR-|INV-|TOK-'], 380_000);
  expect(existsSync(join(dir, REPORT_FILES.results)), out.slice(-3000)).toBe(true);
  const results = await readResults(join(dir, REPORT_FILES.results)); // validates against the schema
  expect(code, out.slice(-3000)).toBe(results.verdict.pass ? 0 : 1);
  for (const name of Object.values(REPORT_FILES)) {
    expect(existsSync(join(dir, name)), name).toBe(true);
    expect(out).toContain(join(dir, name));
  }
  expect(results.summary.checks.run).toBeGreaterThan(0);
  expect(results.run.grep).toBe('SHR-|INV-|TOK-');
  expect(results.target.discoveryFetch?.status).toBe(200);

  const secrets = [...findStoredSecrets(join(dir, 'run'))].filter((s) => s.length >= 8);
  const sharedSecrets = new Set<string>();
  for (const file of filesUnder(join(dir, 'run'), () => false).filter((f) => /sent-shares.*\.jsonl?$/.test(f))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/"sharedSecret":"([^"]+)"/g)) sharedSecrets.add(m[1]!);
  }
  expect(sharedSecrets.size, 'the run made the target send shares').toBeGreaterThan(0);
  for (const s of sharedSecrets) expect(secrets).toContain(s);
  // Every output: ours, Playwright's reports and artifacts; not the target's own data folder.
  const outputs = filesUnder(dir, (p) => p === join(dir, 'run'));
  expect(outputs.length).toBeGreaterThan(6);
  for (const file of outputs) {
    const text = readFileSync(file).toString('latin1');
    for (const secret of secrets) expect(text.includes(secret), `a stored secret appears in ${relative(dir, file)}`).toBe(false);
  }
});

test('a run in two shards merges into one report', async () => {
  test.setTimeout(300_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-shards-'));
  const shards = [];
  for (const n of [1, 2]) {
    const { out } = await cli(['run', '--report-dir', join(dir, `shard-${n}`), '--grep', 'DISC-', '--shard', `${n}/2`], 140_000);
    const file = join(dir, `shard-${n}`, `compliance-results.shard-${n}-of-2.json`);
    expect(existsSync(file), out.slice(-2000)).toBe(true);
    expect(existsSync(join(dir, `shard-${n}`, REPORT_FILES.html))).toBe(false);
    shards.push(await readResults(file));
  }
  const merged = await cli(
    [
      'report',
      '--merge',
      ...shards.map((_, i) => join(dir, `shard-${i + 1}`, `compliance-results.shard-${i + 1}-of-2.json`)),
      '--out',
      join(dir, 'merged'),
    ],
    60_000,
  );
  expect(merged.code, merged.out).toBe(0);
  const results = await readResults(join(dir, 'merged', REPORT_FILES.results));
  for (const name of Object.values(REPORT_FILES)) expect(existsSync(join(dir, 'merged', name)), name).toBe(true);
  expect(results.run.mergedFrom?.map((p) => p.shard?.current)).toEqual([1, 2]);
  expect(results.summary.checks.run).toBe(shards[0]!.summary.checks.run + shards[1]!.summary.checks.run);
  for (const r of results.requirements.filter((x) => x.area === 'discovery')) {
    const inShards = shards.map((s) => s.requirements.find((x) => x.id === r.id)!);
    expect(r.checks.length, r.id).toBe(inShards[0]!.checks.length + inShards[1]!.checks.length);
    expect(r.reason ?? '', r.id).not.toContain('in shard');
  }
  // `report` rebuilds every format from the stored file.
  const rebuilt = await cli(['report', '--results', join(dir, 'merged', REPORT_FILES.results), '--out', join(dir, 'rebuilt')], 60_000);
  expect(rebuilt.code, rebuilt.out).toBe(0);
  for (const name of Object.values(REPORT_FILES)) expect(existsSync(join(dir, 'rebuilt', name)), name).toBe(true);
  expect(readFileSync(join(dir, 'rebuilt', REPORT_FILES.markdown), 'utf8')).toBe(
    readFileSync(join(dir, 'merged', REPORT_FILES.markdown), 'utf8'),
  );
  // A missing shard is refused.
  const partial = await cli(
    ['report', '--merge', join(dir, 'shard-1', 'compliance-results.shard-1-of-2.json'), '--out', join(dir, 'partial')],
    60_000,
  );
  expect(partial.code).toBe(1);
  expect(partial.out).toContain('shard 2 of 2 missing');
});

test('a target nothing answers at stops the run in seconds with one line, before any check', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-closed-'));
  // A port nothing listens on: bind one, note it, close it.
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.9', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const started = Date.now();
  const { code, out } = await cli(['run', '--target', `http://127.0.0.9:${port}`, '--report-dir', dir], 60_000);
  expect(code).toBe(1);
  expect(out.trim()).toBe(`ocm-conformance: the target cannot be reached at http://127.0.0.9:${port} (ECONNREFUSED); nothing was tested`);
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(existsSync(join(dir, REPORT_FILES.results))).toBe(false);
});
