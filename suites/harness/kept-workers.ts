/**
 * Findings that keep the worker (decisions/0024-findings-keep-the-worker.md).
 *
 * Playwright ends a worker after every unexpected failure and starts a new
 * one: a fresh process, the suite modules loaded again, the simulated peers
 * bound again, about 1.5 s each on this machine kind. Against a target that
 * fails half the checks, those restarts were two thirds of the run.
 *
 * A finding (the target broke a rule) leaves nothing of ours in a bad state:
 * the peers are reset before every check and the target is shared anyway.
 * So when `ocm-conformance run` runs the suites, which judges the results
 * itself from each check's own status, a finding marks its check as failing
 * *as expected* for Playwright, and the worker goes on. A harness error, a
 * timeout or a failed setup still ends the worker as before. A plain
 * `playwright test` (npm test) never sets this: there a finding stays an
 * unexpected failure and fails the test run.
 */

/** Set by `ocm-conformance run` for the Playwright run it starts. */
export const KEEP_WORKERS_ENV = 'OCM_KEEP_WORKERS';

/** Whether a finding should keep this worker (only under `ocm-conformance run`). */
export function findingsKeepWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[KEEP_WORKERS_ENV] === '1';
}

/** The note on a kept finding, so a reader of Playwright's own output sees why it is "expected". */
export const KEPT_FINDING_NOTE = 'a finding about the target: judged by ocm-conformance run; the worker is kept';
