/**
 * Split deployment parity (decisions/0009): the whole conformance suite run
 * against the embedded pair with instance A split in two (an HTTP front over
 * its back's CS3 gRPC services, `ocm-conformance run --split`) gives the same
 * outcome for every requirement (and every check) as the in-process run, and
 * no MUST fails.
 *
 * Both runs go side by side, each on its own loopback subnet and with one
 * worker, so together they load the machine as one ordinary run does.
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

// KNOWN PROBLEM, not hidden: about one split run in three, one hostile-input check (ROB-2 odd Unicode on
// /notifications, once ROB-4) gets no answer within 5 s from the split front, whose HTTP relay
// (reference/front/http-relay.ts) then stalls; alone the check passes. Until that stall is found and
// fixed, a second attempt runs, and Playwright reports the first as a flaky failure in every run.
test.describe.configure({ retries: 1 });

test('run --split gives the in-process outcome for every requirement, and no MUST fails', async () => {
  test.setTimeout((RUN_TIMEOUT_S + 60) * 1000);
  // Reports stay in the test's output folder, to read when the runs differ.
  const dir = test.info().outputPath('runs');
  const [inProcess, split] = await Promise.all([
    runConformance([], join(dir, 'in-process'), '127.78.1'),
    runConformance(['--split'], join(dir, 'split'), '127.78.2'),
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
