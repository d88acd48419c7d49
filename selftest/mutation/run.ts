/**
 * The mutation run (`npm run mutation`): proves that the conformance suites
 * catch broken servers.
 *
 *  1. No false alarms: the unfaulted embedded reference is tested with every
 *     suite (`ocm-conformance run`, whose compliance results tell MUST from
 *     SHOULD); no MUST requirement may fail. A configuration some faults
 *     need (e.g. `criteria: must-use-http-sig`) gets its own unfaulted run of
 *     the checks those faults select.
 *  2. For each fault of reference/base/faults.ts: an embedded pair whose target
 *     (instance A) runs with that fault is tested by Playwright with only the
 *     spec files naming the fault's declared requirement IDs and `--grep` on
 *     those IDs, stopping at the first failed check (`--max-failures`); its
 *     JSON report says which requirement IDs failed. The fault counts as
 *     detected only when one of its declared IDs failed (and did not fail on
 *     the unfaulted run of the same configuration).
 *
 * Runs go side by side (`--jobs`), each pair on its own loopback subnet
 * (127.77.<slot>.x) so their peers never meet, each bounded in time. Prints
 * a table (fault, expected IDs, detected by, time), writes JSON
 * (reports/output/mutation.json) and exits non-zero when a baseline fails,
 * or a fault goes undetected, or a run crashes or hangs.
 *
 * Options: --only NAME[,NAME…] (a subset, for working on one fault; the
 * baseline then runs only the checks those faults select), --jobs N
 * (default 3), --workers N (Playwright workers per fault run, default 1),
 * --max-failures N (per fault run, default 1; 0 runs every selected check,
 * to see every ID a fault trips), --timeout SECONDS (per fault run, default
 * 180; the full baseline gets four times as long), --out FILE,
 * --keep-reports (keep every run's reports, not only those of runs that
 * failed their purpose).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, type ConfigLayer } from '../../reference/base/config.ts';
import { ALLOW_FAULTS, FAULTS, findFault, type Fault } from '../../reference/base/faults.ts';
import type { ComplianceResults, PlaywrightReport } from '../../results/model.ts';
import { startEmbeddedTargets } from '../../suites/harness/global-setup.ts';
import { CA_CERT_FILE, createCertificateAuthority, writeCertificateAuthority, type CertificateAuthority } from '../../certs/ca.ts';
import { embeddedTlsNames } from '../../suites/harness/embedded-tls.ts';
import { PEER_CA_DIR_ENV, PEER_TLS_ENV } from '../../suites/harness/peer-addresses.ts';
import { trustToEnv } from '../../suites/harness/target-trust.ts';
import {
  checksOfReport,
  failedRequirements,
  faultTable,
  grepFor,
  judgeDetection,
  MUTATION_FORMAT,
  readSpecSources,
  specFilesFor,
  summarise,
  variantOf,
  variantsFor,
  type BaselineOutcome,
  type FaultOutcome,
  type MutationReport,
  type ReportChecks,
  type Variant,
} from './plan.ts';

interface Options {
  only: string[] | undefined;
  jobs: number;
  workers: number;
  maxFailures: number;
  timeoutSeconds: number;
  out: string;
  keepReports: boolean;
}

const RUNS_DIR = join(PROJECT_ROOT, 'reports/output/mutation');
const CLI = join(PROJECT_ROOT, 'bin/ocm-conformance.js');
const PLAYWRIGHT_CLI = join(createRequire(import.meta.url).resolve('@playwright/test/package.json'), '..', 'cli.js');

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) === 0)
    throw new Error(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      jobs: { type: 'string' },
      workers: { type: 'string' },
      'max-failures': { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      'keep-reports': { type: 'boolean' },
    },
    strict: true,
  });
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !findFault(name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown fault ${unknown.join(', ')} (see reference/base/faults.ts)`);
  return {
    only,
    jobs: positive('jobs', values.jobs, 3),
    workers: positive('workers', values.workers, 1),
    maxFailures: values['max-failures'] === '0' ? 0 : positive('max-failures', values['max-failures'], 1),
    timeoutSeconds: positive('timeout', values.timeout, 180),
    out: resolve(values.out ?? join(PROJECT_ROOT, 'reports/output/mutation.json')),
    keepReports: values['keep-reports'] ?? false,
  };
}

// ---------------------------------------------------------------- one suite run

interface SuiteRun {
  /** Compliance results (`ocm-conformance run`: the baselines). */
  results?: ComplianceResults;
  /** What the Playwright report says (direct runs: the faults). */
  checks?: ReportChecks;
  error?: string;
  timedOut: boolean;
  durationMs: number;
  reportDir: string;
}

/** Child processes still running (their process groups), ended on SIGINT/SIGTERM. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

interface RunOptions {
  grep?: string;
  timeoutMs: number;
  workers?: number;
  /** Stop after this many failed checks (direct runs; 0: never). */
  maxFailures?: number;
  /**
   * Only these spec files, run by Playwright directly (JSON report only):
   * a fault's run. Without: `ocm-conformance run`, whose compliance results
   * judge MUST against SHOULD (the baselines).
   */
  files?: string[];
  /** The profile the target is judged under (a fault's `setup.era`); default main. */
  profile?: string;
  /** A fault's `setup.tls`: the pair and the peers on https with a run CA, as `run --tls`. */
  tls?: boolean;
}

/**
 * Starts an embedded pair (the target with `layer`), runs the suites against
 * it in a child process (bounded by `timeoutMs`) and reads what failed.
 */
/** The loopback subnet of a slot: 127.77.<slot>, or with OCM_SUBNET=a.b.c (a session's own range) a.b.<c+slot>. */
function slotSubnet(slot: number): string {
  const own = /^(\d+)\.(\d+)\.(\d+)$/.exec(process.env.OCM_SUBNET ?? '');
  return own ? `${own[1]}.${own[2]}.${Number(own[3]) + slot}` : `127.77.${slot}`;
}

async function runSuites(label: string, layer: ConfigLayer, slot: number, options: RunOptions): Promise<SuiteRun> {
  const started = Date.now();
  const reportDir = join(RUNS_DIR, label);
  await rm(reportDir, { recursive: true, force: true });
  await mkdir(reportDir, { recursive: true });
  let embedded;
  // setup.tls: as `run --tls`: a run CA signs the pair's and the peers' certificates; the harness trusts it and pins the names.
  const tlsEnv: NodeJS.ProcessEnv = {};
  let tlsArgs: string[] = [];
  try {
    let ca: CertificateAuthority | undefined;
    if (options.tls) {
      const caDir = join(reportDir, 'ca');
      ca = await createCertificateAuthority({ commonName: `ocm-conformance mutation run (${label})` });
      await writeCertificateAuthority(caDir, ca);
      const trust = { caFile: join(caDir, CA_CERT_FILE), resolve: embeddedTlsNames(slotSubnet(slot)) };
      Object.assign(tlsEnv, trustToEnv(trust), { [PEER_TLS_ENV]: '1', [PEER_CA_DIR_ENV]: caDir });
      tlsArgs = ['--peer-ca', caDir, '--ca-file', trust.caFile];
    }
    embedded = await startEmbeddedTargets(join(reportDir, 'targets'), {
      subnet: slotSubnet(slot),
      configureTarget: layer,
      ...(options.profile ? { profile: options.profile } : {}),
      ...(ca ? { tls: ca } : {}),
    });
  } catch (error) {
    return {
      error: `the embedded pair did not start: ${(error as Error).message}`,
      timedOut: false,
      durationMs: Date.now() - started,
      reportDir,
    };
  }
  const env = { ...process.env, ...tlsEnv };
  for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS']) delete env[name];
  const args = options.files
    ? [PLAYWRIGHT_CLI, 'test', '--project=conformance', ...options.files]
    : [
        CLI,
        'run',
        '--target-config',
        embedded.configFile,
        '--report-dir',
        reportDir,
        '--timeout',
        String(Math.ceil(options.timeoutMs / 1000)),
        ...tlsArgs,
      ];
  if (options.files)
    Object.assign(env, { OCM_TARGET_CONFIG: embedded.configFile, OCM_RUN_DIR: join(reportDir, 'run'), OCM_REPORT_DIR: reportDir });
  if (options.grep) args.push('--grep', options.grep);
  if (options.workers) args.push('--workers', String(options.workers));
  if (options.files && options.maxFailures) args.push('--max-failures', String(options.maxFailures));
  let output = '';
  let timedOut = false;
  const exit = await new Promise<{ code: number | null; error?: string }>((resolveExit) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) running.add(child.pid);
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    // The child bounds its own Playwright run; this is the backstop for a child that hangs anyway.
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, options.timeoutMs + 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolveExit({ code: null, error: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) {
        running.delete(child.pid);
        killGroup(child.pid); // stray grandchildren, if any
      }
      resolveExit({ code });
    });
  });
  await embedded.close().catch(() => undefined);
  await writeFile(join(reportDir, 'run.log'), output);
  const durationMs = Date.now() - started;
  if (/did not finish within/.test(output)) timedOut = true;
  const file = join(reportDir, options.files ? 'test-results.json' : 'compliance-results.json');
  if (timedOut) return { error: `no result within ${Math.round(options.timeoutMs / 1000)} s`, timedOut, durationMs, reportDir };
  if (!existsSync(file)) {
    const last = output.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    return { error: exit.error ?? `the run exited with ${exit.code} and wrote no results: ${last}`, timedOut, durationMs, reportDir };
  }
  const json = JSON.parse(await readFile(file, 'utf8')) as unknown;
  if (!options.files) return { results: json as ComplianceResults, timedOut, durationMs, reportDir };
  const report = json as PlaywrightReport & { errors?: Array<{ message?: string }> };
  // A suite file that does not load, or a global setup that fails, is a crash, not a detection (stopping at --max-failures is neither).
  const errors = (report.errors ?? []).filter((e) => !/stopped early after \d+ maximum allowed failures/.test(e.message ?? ''));
  if (errors.length)
    return { error: `the suites did not load: ${errors[0]?.message?.split('\n')[0] ?? 'unknown error'}`, timedOut, durationMs, reportDir };
  return { checks: checksOfReport(report), timedOut, durationMs, reportDir };
}

function checkCounts(results: ComplianceResults | undefined): FaultOutcome['checks'] {
  if (!results) return undefined;
  const c = results.summary.checks;
  return { run: c.run, passed: c.passed, failed: c.failed, notRun: c.notRun };
}

function layerFor(variant: Variant, fault?: Fault): ConfigLayer {
  const layer: ConfigLayer = {};
  if (variant.setup.criteria) layer.criteria = [...variant.setup.criteria];
  if (variant.setup.era === '1.2') {
    // A 1.2-era server: its apiVersion, and a draft-cavage publicKey so the 1.2 signature checks see a cavage verifier.
    layer.apiVersion = '1.2.2';
    layer.signatures = { legacyCavage: true, legacyPublicKey: true } as ConfigLayer['signatures'];
  }
  if (fault) {
    layer.faults = [fault.name];
    layer[ALLOW_FAULTS] = true;
  }
  return layer;
}

// ---------------------------------------------------------------- scheduling

/** Runs `tasks` at most `jobs` at a time; each gets a slot number (0 … jobs-1) free for its duration. */
async function pool<T>(jobs: number, tasks: Array<(slot: number) => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async (_, slot) => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!(slot);
      }
    }),
  );
  return results;
}

/** CPU seconds of this process and its finished children (Linux /proc; absent elsewhere). */
function cpuSeconds(): { cpuSeconds?: number } {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // After "pid (comm) ": state is field 3; utime 14, stime 15, cutime 16, cstime 17 (1-based).
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return Number.isFinite(ticks) ? { cpuSeconds: Math.round(ticks / 100) } : {};
  } catch {
    return {};
  }
}

function rel(path: string): string {
  return relative(PROJECT_ROOT, path) || '.';
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const selected = options.only ? FAULTS.filter((f) => options.only!.includes(f.name)) : [...FAULTS];
  const variants = variantsFor(selected);
  const sources = await readSpecSources(PROJECT_ROOT);
  await rm(RUNS_DIR, { recursive: true, force: true });
  await mkdir(RUNS_DIR, { recursive: true });
  console.log(
    `mutation run: ${selected.length} faults, ${variants.length} baseline configuration(s), ${options.jobs} at a time, ${cpus().length} CPUs`,
  );

  // 1. No false alarms: the unfaulted reference, once per configuration. The default one gets every
  // suite; another configuration (or a subset, --only) the checks its faults select.
  const baselineTasks = variants.map((variant) => async (slot: number): Promise<{ variant: Variant; run: SuiteRun }> => {
    const full = variant.key === 'default' && !options.only;
    const ids = selected.filter((f) => options.only || variantOf(f.setup).key === variant.key).flatMap((f) => f.requirements);
    const run = await runSuites(`baseline-${variant.key.replace(/[^a-z0-9=+.-]+/gi, '_')}`, layerFor(variant), slot, {
      timeoutMs: options.timeoutSeconds * (full ? 4 : 1) * 1000,
      ...(variant.setup.era ? { profile: variant.setup.era } : {}),
      ...(variant.setup.tls ? { tls: true } : {}),
      ...(full ? {} : { grep: grepFor(ids), workers: options.workers }),
    });
    const verdict = run.results
      ? run.results.verdict.inconclusive
        ? `INCONCLUSIVE: ${run.results.verdict.inconclusive}`
        : run.results.verdict.pass
          ? 'no MUST requirement failed'
          : `MUST requirements failed: ${run.results.verdict.mustFailures.join(', ')}`
      : `CRASHED: ${run.error}`;
    console.log(`baseline (${variant.key}${full ? ', every suite' : ''}): ${verdict} (${(run.durationMs / 1000).toFixed(1)} s)`);
    return { variant, run };
  });

  // 2. Each fault, on its own pair, with the checks of its declared IDs (side by side with the baselines).
  let done = 0;
  const faultTasks = selected.map((fault) => async (slot: number): Promise<{ fault: Fault; run: SuiteRun }> => {
    const files = specFilesFor(fault.requirements, sources);
    const run = await runSuites(fault.name, layerFor(variantOf(fault.setup), fault), slot, {
      grep: grepFor(fault.requirements),
      timeoutMs: options.timeoutSeconds * 1000,
      workers: options.workers,
      maxFailures: options.maxFailures,
      files: files.length > 0 ? files : ['suites'],
      ...(fault.setup && 'era' in fault.setup ? { profile: fault.setup.era } : {}),
      ...(fault.setup && 'tls' in fault.setup ? { tls: true } : {}),
    });
    done++;
    const what = run.checks
      ? `failed ${run.checks.failed.join(', ') || 'nothing'}`
      : `${run.timedOut ? 'TIMED OUT' : 'CRASHED'}: ${run.error}`;
    console.log(`[${done}/${selected.length}] ${fault.name}: ${what} (${(run.durationMs / 1000).toFixed(1)} s)`);
    return { fault, run };
  });

  const runs = await pool<{ variant: Variant; run: SuiteRun } | { fault: Fault; run: SuiteRun }>(options.jobs, [
    ...baselineTasks,
    ...faultTasks,
  ]);
  const baselineRuns = runs.slice(0, baselineTasks.length) as Array<{ variant: Variant; run: SuiteRun }>;
  const faultRuns = runs.slice(baselineTasks.length) as Array<{ fault: Fault; run: SuiteRun }>;

  const baseline: BaselineOutcome[] = [];
  for (const { variant, run } of baselineRuns) {
    const mustFailures = run.results?.verdict.mustFailures ?? [];
    const failed = run.results ? failedRequirements(run.results) : [];
    const outcome: BaselineOutcome = {
      variant: variant.key,
      pass: run.results !== undefined && run.results.verdict.pass,
      mustFailures,
      warnings: failed.filter((id) => !mustFailures.includes(id)),
      ...(run.results ? { checks: checkCounts(run.results)! } : {}),
      durationMs: run.durationMs,
      ...(run.error ? { error: run.error } : {}),
    };
    if (outcome.pass && !options.keepReports) await rm(run.reportDir, { recursive: true, force: true });
    else outcome.reportDir = rel(run.reportDir);
    baseline.push(outcome);
  }
  const baselineFailed = new Map(baseline.map((b) => [b.variant, [...b.mustFailures, ...b.warnings]]));

  const faults: FaultOutcome[] = [];
  for (const { fault, run } of faultRuns) {
    const variant = variantOf(fault.setup);
    const failed = run.checks?.failed ?? [];
    const { detected, detectedBy } = judgeDetection(fault.requirements, failed, baselineFailed.get(variant.key) ?? []);
    const status = run.timedOut ? 'timed-out' : !run.checks ? 'crashed' : detected ? 'detected' : 'undetected';
    const outcome: FaultOutcome = {
      name: fault.name,
      area: fault.area,
      description: fault.description,
      expected: [...fault.requirements],
      variant: variant.key,
      status,
      detectedBy,
      failed,
      ...(run.checks ? { checks: run.checks.checks } : {}),
      durationMs: run.durationMs,
      ...(run.error ? { error: run.error } : {}),
    };
    if (status === 'detected' && !options.keepReports) await rm(run.reportDir, { recursive: true, force: true });
    else outcome.reportDir = rel(run.reportDir);
    faults.push(outcome);
  }

  const summary = summarise(baseline, faults);
  const report: MutationReport = {
    format: MUTATION_FORMAT,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: { cpus: cpus().length, node: process.version },
    ...cpuSeconds(),
    settings: {
      jobs: options.jobs,
      workersPerRun: options.workers,
      maxFailuresPerRun: options.maxFailures,
      runTimeoutSeconds: options.timeoutSeconds,
      ...(options.only ? { only: options.only } : {}),
    },
    baseline,
    faults,
    summary,
  };
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);

  console.log(`\n${faultTable(faults)}\n`);
  for (const b of baseline) {
    console.log(
      `baseline ${b.variant}: ${b.pass ? 'no MUST requirement failed' : b.error ? `crashed: ${b.error}` : `MUST requirements failed: ${b.mustFailures.join(', ')}`} (${(b.durationMs / 1000).toFixed(1)} s)`,
    );
  }
  const problems = [
    ...(summary.undetected ? [`${summary.undetected} undetected`] : []),
    ...(summary.crashed ? [`${summary.crashed} crashed`] : []),
    ...(summary.timedOut ? [`${summary.timedOut} timed out`] : []),
    ...(baseline.some((b) => !b.pass) ? ['a baseline failed'] : []),
  ];
  console.log(
    `mutation run: ${summary.detected}/${summary.faults} faults detected${problems.length ? `; ${problems.join(', ')}` : ''} in ${(report.durationMs / 1000).toFixed(1)} s` +
      `${report.cpuSeconds !== undefined ? ` (${report.cpuSeconds} CPU s)` : ''}; results ${rel(options.out)}`,
  );
  return summary.pass ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    for (const pid of running) killGroup(pid);
    console.error(`mutation run: ${(error as Error).message}`);
    process.exit(2);
  },
);
