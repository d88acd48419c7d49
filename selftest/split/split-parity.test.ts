/**
 * Split deployment parity (decisions/0009): the whole conformance suite run
 * against the embedded pair with instance A split in two (an HTTP front over
 * its back's CS3 gRPC services, `ocm-conformance run --split`) gives the same
 * outcome for every requirement (and every check) as the in-process run, and
 * no MUST fails.
 *
 * Both runs go side by side, each on its own loopback subnet (127.78.1 and
 * 127.78.2, or the two of OCM_PARITY_SUBNETS) and with one worker, so
 * together they load the machine as one ordinary run does.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../suites/harness/requirements.ts';

const RUN_TIMEOUT_S = 900;

interface RunResults {
  requirements: Array<{ id: string; level: string; outcome: string; checks: Array<{ title: string; file: string; status: string }> }>;
  verdict: { pass: boolean; mustFailures: string[] };
  summary: { checks: { run: number } };
}

interface Finished {
  code: number | null;
  output: string;
  results: RunResults | undefined;
}

/** `ocm-conformance run` into `reportDir`; resolves with its exit code, its output and the results it wrote. */
function runConformance(args: string[], reportDir: string, subnet: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, OCM_SUBNET: subnet };
    // The child's Playwright sets up its own run; nothing of this test run may leak into it.
    for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_SPLIT', 'TEST_WORKER_INDEX', 'TEST_PARALLEL_INDEX'])
      delete env[name];
    const child = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin/ocm-conformance.js'),
        'run',
        ...args,
        '--report-dir',
        reportDir,
        '--workers',
        '1',
        '--timeout',
        String(RUN_TIMEOUT_S),
      ],
      { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', async (code) => {
      const text = await readFile(join(reportDir, 'compliance-results.json'), 'utf8').catch(() => undefined);
      resolve({ code, output, results: text === undefined ? undefined : (JSON.parse(text) as RunResults) });
    });
  });
}

function outcomes(results: RunResults): Record<string, string> {
  return Object.fromEntries(results.requirements.map((r) => [r.id, r.outcome]));
}

/** Each check's outcome: a check that runs in one mode and not in the other is a gap too, even when the requirement's outcome agrees. */
function checkOutcomes(results: RunResults): Record<string, string[]> {
  const byCheck: Record<string, string[]> = {};
  for (const requirement of results.requirements)
    for (const check of requirement.checks) (byCheck[`${requirement.id} ${check.file}: ${check.title}`] ??= []).push(check.status);
  for (const statuses of Object.values(byCheck)) statuses.sort();
  return byCheck;
}

/**
 * The two runs' loopback subnets: OCM_PARITY_SUBNETS (two, comma-separated) so that this test can run beside
 * other runs on one machine, else 127.78.1 and 127.78.2.
 */
function paritySubnets(): [string, string] {
  const given = (process.env.OCM_PARITY_SUBNETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (given.length === 0) return ['127.78.1', '127.78.2'];
  if (given.length !== 2 || new Set(given).size !== 2 || !given.every((s) => /^127\.\d{1,3}\.\d{1,3}$/.test(s)))
    throw new Error(
      `OCM_PARITY_SUBNETS must name two different loopback subnets such as 127.62.0,127.63.0, not ${JSON.stringify(process.env.OCM_PARITY_SUBNETS)}`,
    );
  return given as [string, string];
}

test('run --split gives the in-process outcome for every requirement, and no MUST fails', async () => {
  test.setTimeout((RUN_TIMEOUT_S + 60) * 1000);
  // Reports stay in the test's output folder, to read when the runs differ.
  const dir = test.info().outputPath('runs');
  const [inProcessSubnet, splitSubnet] = paritySubnets();
  const [inProcess, split] = await Promise.all([
    runConformance([], join(dir, 'in-process'), inProcessSubnet),
    runConformance(['--split'], join(dir, 'split'), splitSubnet),
  ]);
  const tail = (run: Finished) => run.output.slice(-3000);
  expect(inProcess.results, `the in-process run wrote no results:\n${tail(inProcess)}`).toBeDefined();
  expect(split.results, `the split run wrote no results:\n${tail(split)}`).toBeDefined();
  expect(outcomes(split.results!), 'per-requirement outcomes, split against in-process').toEqual(outcomes(inProcess.results!));
  expect(checkOutcomes(split.results!), 'per-check outcomes, split against in-process').toEqual(checkOutcomes(inProcess.results!));
  expect(split.results!.verdict.mustFailures, `MUST failures in the split run:\n${tail(split)}`).toEqual([]);
  expect(split.code, tail(split)).toBe(0);
  expect(inProcess.code, tail(inProcess)).toBe(0);
});
