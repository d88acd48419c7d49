/**
 * `run --inspect` for real, against the embedded reference pair: it prints
 * the page's URL at the start, the page fills while the suites run (with
 * what the target sends to the simulated peers), the run saves it as
 * inspector.html with no secret of the run in it, and the HTML report links
 * failed and passed checks' peer exchanges to it by id.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { findStoredSecrets } from '../results/redact.ts';

test('run --inspect prints the page URL, fills it while the suites run, and saves it next to the reports', async () => {
  test.setTimeout(300_000);
  const reportDir = await mkdtemp(join(tmpdir(), 'ocm-run-inspect-'));
  const env = { ...process.env };
  for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS', 'OCM_INSPECT_URL'])
    delete env[name];
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'run', '--inspect', '--grep', 'SHR-16|SHR-26', '--report-dir', reportDir],
    { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
  try {
    // The URL comes first, before any check runs.
    let pageUrl: string | undefined;
    for (let i = 0; i < 600 && !pageUrl; i++) {
      pageUrl = /^inspector: (http:\/\/\S+\/_inspector) /m.exec(out)?.[1];
      if (!pageUrl) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pageUrl, out).toBeDefined();
    // …and the page fills while the run is still going.
    let live = 0;
    let running = true;
    void exited.then(() => (running = false));
    while (running && live === 0) {
      try {
        const data = (await (await fetch(`${pageUrl}/exchanges.json`, { signal: AbortSignal.timeout(2000) })).json()) as { total: number };
        live = data.total;
      } catch {
        // the run may just have ended
      }
      if (live === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(live, 'exchanges seen on the page while the run was going').toBeGreaterThan(0);
    expect(await exited, out).toBe(0);

    const saved = readFileSync(join(reportDir, 'inspector.html'), 'utf8');
    expect(saved).toContain('id="saved-exchanges"');
    expect(saved).toContain('POST /ocm/shares');
    for (const secret of findStoredSecrets(join(reportDir, 'run'))) if (secret.length >= 8) expect(saved).not.toContain(secret);
    const report = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(report).toMatch(/href="inspector\.html#w\d+-\d+"/);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(reportDir, { recursive: true, force: true });
  }
});
