/**
 * Honest outcomes, end to end through Playwright: probe suite files written
 * to a scratch folder are run (or loaded) by a child Playwright with the
 * conformance project, and the results are built from its JSON report as
 * `ocm-conformance run` builds them.
 *  - a step that fails gives not-run ("setup failed: ..."), never failed;
 *  - a TypeError thrown by a check gives the outcome `error`, an
 *    INCONCLUSIVE verdict and exit code 3; so does a simulated peer that
 *    cannot bind its address;
 *  - a suite file that names a requirement ID not in the catalogue fails at
 *    load, naming the file and the ID, and the run is INCONCLUSIVE;
 *  - every real suite file loads (`--list`);
 *  - under `ocm-conformance run` a finding still fails its requirement but
 *    keeps the worker (kept-workers.ts), and the check reporter counts it as
 *    failed; a plain Playwright run restarts the worker as before.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildComplianceResults, resultsExitCode, type PlaywrightReport } from '../../results/model.ts';
import { verdictText } from '../../reports/format.ts';
import { loadCatalogue, PROJECT_ROOT, selectRequirements } from './requirements.ts';
import { KEEP_WORKERS_ENV } from './kept-workers.ts';

const PLAYWRIGHT_CLI = join(createRequire(import.meta.url).resolve('@playwright/test/package.json'), '..', 'cli.js');
const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';
// The probes need requirement IDs that apply to a target without discovery: ROB-* (robustness) are never gated.
const STEP_ID = 'ROB-1';
const ERROR_ID = 'ROB-2';

function runPlaywright(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLAYWRIGHT_CLI, 'test', ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

const scratchDirs: string[] = [];

interface Scratch {
  dir: string;
  env: NodeJS.ProcessEnv;
  reportFile: string;
}

/** A scratch project: a target config nobody serves, a Playwright config for the probe specs, their folder. */
async function scratch(name: string, specs: Record<string, string>): Promise<Scratch> {
  // Outside the project, so that no other run of the suites ever picks the probes up.
  const dir = await mkdtemp(join(tmpdir(), `ocm-honest-outcomes-${name}-`));
  scratchDirs.push(dir);
  await mkdir(join(dir, 'suites/probe'), { recursive: true });
  await writeFile(
    join(dir, 'target.yaml'),
    `name: probe\nbaseUrl: http://${SUBNET}.250:9\nprofile: main\npeers:\n  - ["${SUBNET}.60:9400", "${SUBNET}.61:9400"]\n`,
  );
  // Like the project, an ES module package (else Playwright would load the harness as CommonJS).
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  const reportFile = join(dir, 'test-results.json');
  await writeFile(
    join(dir, 'playwright.config.ts'),
    `export default {
  testDir: '.',
  timeout: 30_000,
  workers: 1,
  reporter: [['json', { outputFile: ${JSON.stringify(reportFile)} }]],
  outputDir: ${JSON.stringify(join(dir, 'artifacts'))},
  projects: [{ name: 'conformance', testMatch: ['suites/**/*.spec.ts'] }],
};
`,
  );
  const fixtures = JSON.stringify(join(PROJECT_ROOT, 'suites/harness/fixtures.ts'));
  const step = JSON.stringify(join(PROJECT_ROOT, 'suites/harness/step.ts'));
  for (const [file, body] of Object.entries(specs))
    await writeFile(join(dir, 'suites/probe', file), `import { check } from ${fixtures};\nimport { stepRequest } from ${step};\n${body}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, OCM_TARGET_CONFIG: join(dir, 'target.yaml'), OCM_RUN_DIR: join(dir, 'run') };
  delete env.OCM_ONLY;
  delete env.OCM_PROFILE;
  return { dir, env, reportFile };
}

async function resultsOf(s: Scratch, exitCode: number) {
  expect(existsSync(s.reportFile), 'Playwright wrote its JSON report').toBe(true);
  const report = JSON.parse(await readFile(s.reportFile, 'utf8')) as PlaywrightReport;
  const catalogue = loadCatalogue();
  const selected = new Map(selectRequirements(catalogue, { profile: 'main' }).map((r) => [r.id, r] as const));
  const { runnerErrors } = await import('../../cli/run.ts');
  return buildComplianceResults(report, {
    catalogue,
    selected,
    profile: 'main',
    target: { name: 'probe', url: `http://${SUBNET}.250:9` },
    peers: [],
    expectedFailures: [],
    toolVersion: '0.0.0',
    gateReason: () => undefined,
    runErrors: runnerErrors(exitCode, report),
  });
}

test.describe('honest outcomes through Playwright', () => {
  test.describe.configure({ mode: 'serial' });
  test.afterAll(async () => {
    for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
  });

  test('a failing step gives not-run (setup failed); a thrown TypeError gives error, INCONCLUSIVE and exit 3', async () => {
    const s = await scratch('run', {
      'step.spec.ts': `check([${JSON.stringify(STEP_ID)}], 'a check whose setup step is refused', async () => {
  await stepRequest('become a contact (invite acceptance)', async () => ({ status: 409, text: 'token already used' }));
  throw new Error('never reached: the assertion under test');
});`,
      'type-error.spec.ts': `check([${JSON.stringify(ERROR_ID)}], 'a check with a bug of ours', async () => {
  new URL('/token'); // a relative URL: TypeError: Invalid URL
});`,
    });
    const { code } = await runPlaywright(['--config', join(s.dir, 'playwright.config.ts'), '--project=conformance'], s.env);
    const results = await resultsOf(s, code);
    const byId = new Map(results.requirements.map((r) => [r.id, r]));
    expect(byId.get(STEP_ID)).toMatchObject({
      outcome: 'not-run',
      reason: 'setup failed: become a contact (invite acceptance): 409 token already used',
    });
    expect(byId.get(ERROR_ID)!.outcome).toBe('error');
    expect(byId.get(ERROR_ID)!.reason).toMatch(/^harness error: TypeError: Invalid URL/);
    expect(byId.get(ERROR_ID)!.checks[0]!.status).toBe('error');
    expect(results.verdict.pass).toBe(false);
    expect(results.verdict.inconclusive).toBe('1 harness error');
    expect(verdictText(results)).toBe('INCONCLUSIVE: 1 harness error');
    expect(resultsExitCode(results)).toBe(3);
    // Playwright's exit 1 is the failed (errored) check, not a runner problem.
    expect(code).toBe(1);
    expect(results.run.errors).toBeUndefined();
  });

  test('a simulated peer that cannot bind its address (EADDRINUSE) gives error, never failed', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(9400, `${SUBNET}.60`, resolve));
    try {
      const s = await scratch('bind', {
        'shares.spec.ts': `check([${JSON.stringify(STEP_ID)}], 'a check that needs the peers', async ({ peer }) => {
  if (!peer) throw new Error('no peer');
});`,
      });
      const { code } = await runPlaywright(['--config', join(s.dir, 'playwright.config.ts'), '--project=conformance'], s.env);
      const results = await resultsOf(s, code);
      const requirement = results.requirements.find((r) => r.id === STEP_ID)!;
      expect(requirement.outcome).toBe('error');
      expect(requirement.reason).toMatch(/^harness error: the simulated peers could not start: .*EADDRINUSE/);
      expect(resultsExitCode(results)).toBe(3);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  test('a requirement ID not in the catalogue fails the file at load, naming file and ID; the run is INCONCLUSIVE', async () => {
    const s = await scratch('unknown', {
      'unknown-id.spec.ts': `check(['NOPE-999'], 'a check with a typo in its ID', async () => {});`,
      'fine.spec.ts': `check([${JSON.stringify(STEP_ID)}], 'a check that passes', async () => {});`,
    });
    const { code, output } = await runPlaywright(['--config', join(s.dir, 'playwright.config.ts'), '--project=conformance'], s.env);
    expect(code).not.toBe(0);
    expect(output).toMatch(/suites\/probe\/unknown-id\.spec\.ts:\d+:\d+ names requirement NOPE-999, which is not in the catalogue/);
    const results = await resultsOf(s, code);
    expect(results.run.errors?.[0]).toMatchObject({ kind: 'load' });
    expect(results.run.errors?.[0]?.message).toContain('NOPE-999');
    expect(results.verdict.pass).toBe(false);
    expect(verdictText(results)).toMatch(/^INCONCLUSIVE: 1 harness error/);
    expect(resultsExitCode(results)).toBe(3);
  });

  test('a finding under ocm-conformance run fails its requirement and keeps the worker; a plain run restarts it', async () => {
    const s = await scratch('kept', {
      'findings.spec.ts': `check(['ROB-1'], 'a finding', async () => {
  throw new Error('answered 201 to {}');
});
check(['ROB-2'], 'a pass after the finding', async () => {});
check(['ROB-1'], 'a second finding', async () => {
  throw new Error('answered 500 to a truncated object');
});`,
    });
    const reporter = join(PROJECT_ROOT, 'suites/harness/check-reporter.ts');
    const workersOf = async () => {
      const report = JSON.parse(await readFile(s.reportFile, 'utf8')) as {
        suites: Array<{ specs: Array<{ title: string; tests: Array<{ results: Array<{ workerIndex: number }> }> }> }>;
      };
      const specs = report.suites.flatMap(function all(suite: any): any[] {
        return [...(suite.specs ?? []), ...(suite.suites ?? []).flatMap(all)];
      });
      return specs.map((spec) => spec.tests[0].results[0].workerIndex as number);
    };
    const kept = await runPlaywright(
      ['--config', join(s.dir, 'playwright.config.ts'), '--project=conformance', `--reporter=${reporter},json`],
      {
        ...s.env,
        [KEEP_WORKERS_ENV]: '1',
        PLAYWRIGHT_JSON_OUTPUT_NAME: s.reportFile,
      },
    );
    const keptResults = await resultsOf(s, kept.code);
    const outcomes = (results: typeof keptResults) =>
      Object.fromEntries(results.requirements.filter((r) => /^ROB-[12]$/.test(r.id)).map((r) => [r.id, r.outcome]));
    expect(outcomes(keptResults)).toEqual({ 'ROB-1': 'failed', 'ROB-2': 'passed' });
    expect(keptResults.requirements.find((r) => r.id === 'ROB-1')!.reason).toBe('answered 201 to {}');
    expect(resultsExitCode(keptResults)).toBe(1);
    // For Playwright the findings were expected: no restart, exit 0; the run's verdict comes from the results.
    expect(kept.code).toBe(0);
    expect(new Set(await workersOf()).size).toBe(1);
    expect(kept.output).toMatch(/✘ 1\/3 ROB-1 a finding .* failed/);
    expect(kept.output).toContain('3 checks ended: 2 failed, 1 passed');

    const plain = await runPlaywright(['--config', join(s.dir, 'playwright.config.ts'), '--project=conformance'], s.env);
    const plainResults = await resultsOf(s, plain.code);
    expect(outcomes(plainResults)).toEqual(outcomes(keptResults));
    expect(plain.code).toBe(1);
    // A new worker after the first finding (the last check's failure ends the run anyway).
    expect(new Set(await workersOf()).size).toBe(2);
  });

  test('every suite file loads: no unknown requirement ID, no load error', async () => {
    const s = await scratch('list', {});
    const { code, output } = await runPlaywright(['--list', '--project=conformance'], s.env);
    expect(output).not.toMatch(/not in the catalogue|Error:/);
    expect(code, output.slice(-2000)).toBe(0);
    expect(output).toMatch(/Total: \d+ tests? in/);
  });
});
