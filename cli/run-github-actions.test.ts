/**
 * `run` inside GitHub Actions: against the reference broken by one fault
 * (POST /shares answers 200 instead of 201, which fails SHR-1), with
 * GITHUB_ACTIONS=true and a step-summary file, the run prints exactly one
 * `::error title=<ID> (MUST)::` line per failed MUST requirement, appends
 * summary.md to the step summary (keeping what earlier steps wrote), and
 * exits 1.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_FAULTS } from '../reference/base/faults.ts';
import { startEmbeddedTargets } from '../suites/harness/global-setup.ts';
import { readResults } from '../results/schema.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const clean = { ...process.env, ...env };
    for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS', 'OCM_ONLY'])
      delete clean[name];
    const child = spawn(process.execPath, [join(ROOT, 'bin/ocm-conformance.js'), 'run', ...args], {
      cwd: ROOT,
      env: clean,
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

test('in GitHub Actions, run annotates each failed MUST once and appends the summary', async () => {
  test.setTimeout(240_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-gha-'));
  const pair = await startEmbeddedTargets(join(dir, 'targets'), {
    subnet: '127.78.16',
    configureTarget: { [ALLOW_FAULTS]: true, faults: ['shares-answer-200'] },
  });
  try {
    const summary = join(dir, 'step-summary.md');
    await writeFile(summary, '## an earlier step\n');
    const { code, out } = await run(
      ['--target-config', pair.configFile, '--only', 'SHR-1,SHR-2,SHR-4,DISC-', '--report-dir', join(dir, 'reports')],
      { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
      220_000,
    );
    const results = await readResults(join(dir, 'reports', 'compliance-results.json'));
    const failedMust = results.requirements.filter((r) => r.outcome === 'failed').map((r) => r.id);
    expect(failedMust, out.slice(-3000)).toContain('SHR-1');
    expect(code).toBe(1);
    const errors = out.split('\n').filter((line) => line.startsWith('::error '));
    for (const id of failedMust)
      expect(
        errors.filter((line) => line.startsWith(`::error title=${id} (MUST)::`)),
        id,
      ).toHaveLength(1);
    expect(errors).toHaveLength(failedMust.length);
    // Only the selected requirements ran.
    const ran = results.requirements.filter((r) => r.checks.length > 0).map((r) => r.id);
    for (const id of ran) expect(id === 'SHR-1' || id === 'SHR-2' || id === 'SHR-4' || id.startsWith('DISC-'), id).toBe(true);
    const written = await readFile(summary, 'utf8');
    expect(written.startsWith('## an earlier step\n')).toBe(true);
    expect(written).toContain(await readFile(join(dir, 'reports', 'summary.md'), 'utf8'));
  } finally {
    await pair.close();
  }
});
