/**
 * `ocm-conformance run`: runs the conformance suites (Playwright, project
 * `conformance`) against a target, then turns Playwright's JSON report into
 * the compliance results and prints the closing table. With no target it
 * tests the two embedded reference instances. Exit 0 only when no MUST
 * requirement failed (minus declared expected failures).
 */
import { Command, InvalidArgumentError } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { INSPECTOR_REPORT_FILE, inspectorPage } from '../inspector/page.ts';
import { startInspectorServer, type InspectorServer } from '../inspector/server.ts';
import { getRegistry } from '../openapi/registry.ts';
import { INSPECT_URL_ENV } from '../suites/harness/inspect.ts';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { buildComplianceResults, closingTable, type ComplianceResults, type PlaywrightReport } from '../results/model.ts';
import { notApplicableReason, recordedGateReason, suiteContext, TARGET_DISCOVERY_FILE } from '../suites/harness/context.ts';
import { targetDispatcher, tlsFailureHint, trustToEnv, type TargetTrust } from '../suites/harness/target-trust.ts';
import { fetch as undiciFetch } from 'undici';
import { loadTargetConfig, validateTargetConfig, type TargetConfig } from '../suites/harness/target.ts';
import { loadCatalogue } from '../suites/harness/requirements.ts';
import { ONLY_ENV, PRESETS, resolveSelection } from '../suites/harness/selection.ts';
import { annotationMode, githubAnnotations } from '../reports/annotations.ts';
import { ledgerFromResults, readLedger, writeLedger, type ExpectationLedger } from '../reports/expectations.ts';
import { verdictText } from '../reports/format.ts';
import { collectRunSecrets } from '../results/redact.ts';
import { writeResults } from '../results/schema.ts';
import { livenessLines } from '../suites/harness/liveness.ts';
import { describeReportFiles, writeReports, type ReportFiles } from '../reports/write.ts';

export interface RunFlags {
  target?: string;
  targetConfig?: string;
  profile?: string;
  reportDir?: string;
  grep?: string;
  expectations?: string;
  updateExpectations?: boolean;
  workers?: number;
  shard?: string;
  timeout?: number;
  /** Embedded pair only: instance A as an HTTP front over its back's gRPC services (decisions/0009). */
  split?: boolean;
  inspect?: boolean;
  only?: string;
  preset?: string;
  annotations?: string;
  /** PEM bundle trusted for the target's certificate (config `targetCa`). */
  caFile?: string;
  /** Skip verification of the target's certificate (config `insecure`). */
  insecure?: boolean;
}

const require = createRequire(import.meta.url);

/** Runs Playwright for the conformance project; resolves with its exit code (bounded by `timeoutMs`). */
function runPlaywright(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  const cli = join(require.resolve('@playwright/test/package.json'), '..', 'cli.js');
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [cli, 'test', '--project=conformance', ...args], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the conformance run did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit(code ?? 1);
    });
  });
}

export interface RunOutcome {
  results: ComplianceResults;
  resultsFile: string;
  /** Every format written (absent for a shard: only its results file is written, merge them with `report --merge`). */
  reports?: ReportFiles;
  reportDir: string;
  /** The ledger written by --update-expectations. */
  ledgerFile?: string;
  /** What the liveness watch saw: the target stopped answering (and came back). */
  liveness: { lines: string[]; stopped: boolean };
}

/** `i/n` with 1 <= i <= n. */
export function parseShard(value: string): { current: number; total: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const current = Number(match?.[1]);
  const total = Number(match?.[2]);
  if (!match || current < 1 || total < 1 || current > total) throw new Error(`--shard ${value} must be i/n with 1 <= i <= n, e.g. 2/3`);
  return { current, total };
}

function driverUsers(target: TargetConfig | undefined): Array<{ username: string; password: string }> {
  if (!target) return [];
  const own = 'users' in target.driver ? target.driver.users : [];
  return [...own, ...driverUsers(target.interopWith)];
}

async function readDiscoveryFetch(runDir: string): Promise<ComplianceResults['target']['discoveryFetch']> {
  const file = join(runDir, TARGET_DISCOVERY_FILE);
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (typeof record.url !== 'string' || typeof record.fetchedAt !== 'string') return undefined;
  return {
    url: record.url,
    fetchedAt: record.fetchedAt,
    ...(typeof record.status === 'number' ? { status: record.status } : {}),
    ...(typeof record.contentType === 'string' || record.contentType === null ? { contentType: record.contentType as string | null } : {}),
    ...(typeof record.error === 'string' ? { error: record.error } : {}),
  };
}

export async function runConformance(flags: RunFlags): Promise<RunOutcome> {
  const reportDir = resolve(flags.reportDir ?? join(PROJECT_ROOT, 'reports/output'));
  const shard = flags.shard ? parseShard(flags.shard) : undefined;
  if (flags.updateExpectations && !flags.expectations)
    throw new Error('--update-expectations needs --expectations FILE (the ledger to write)');
  if (flags.updateExpectations && shard)
    throw new Error('--update-expectations needs the whole run: merge the shards first, or run without --shard');
  const only = resolveSelection(flags, loadCatalogue()); // refuses unknown IDs before anything starts
  const runDir = join(reportDir, 'run');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  let targetConfigFile: string | undefined;
  let peerSlots: number | undefined;
  let trust: TargetTrust = { ...(flags.caFile ? { caFile: resolve(flags.caFile) } : {}), ...(flags.insecure ? { insecure: true } : {}) };
  if (flags.targetConfig) {
    targetConfigFile = resolve(flags.targetConfig);
    const target = loadTargetConfig(targetConfigFile); // and fail early with a clear line
    peerSlots = target.peers.length;
    trust = {
      ...(trust.caFile || target.targetCa ? { caFile: trust.caFile ?? resolve(target.targetCa!) } : {}),
      ...(trust.insecure || target.insecure ? { insecure: true } : {}),
    };
    await assertReachable(target.baseUrl, trust);
  } else if (flags.target) {
    const generated = validateTargetConfig(
      { name: new URL(flags.target).host, baseUrl: flags.target, profile: flags.profile ?? 'main' },
      '--target',
    );
    peerSlots = generated.peers.length;
    await assertReachable(generated.baseUrl, trust);
    if (trust.insecure) generated.insecure = true;
    targetConfigFile = join(runDir, 'target.yaml');
    await writeFile(
      targetConfigFile,
      `# Written by ocm-conformance run --target: black-box checks only (no driver).\n${toYaml(generated)}`,
    );
  }
  const env: NodeJS.ProcessEnv = { ...process.env, OCM_RUN_DIR: runDir, OCM_REPORT_DIR: reportDir, OCM_FULL_REPORTS: '1' };
  Object.assign(env, trustToEnv(trust));
  if (trust.insecure) process.env.OCM_TARGET_INSECURE = '1'; // read back when the results are built
  if (targetConfigFile) env.OCM_TARGET_CONFIG = targetConfigFile;
  else delete env.OCM_TARGET_CONFIG;
  if (flags.split) env.OCM_SPLIT = '1';
  else delete env.OCM_SPLIT;
  if (flags.profile) env.OCM_PROFILE = flags.profile;
  if (only) env[ONLY_ENV] = only.join(',');
  else delete env[ONLY_ENV];
  const args: string[] = [];
  if (flags.grep) args.push('--grep', flags.grep);
  // Each parallel worker needs its own pair of simulated peer addresses.
  if (flags.workers) args.push('--workers', String(flags.workers));
  else if (peerSlots !== undefined && peerSlots < 2) args.push('--workers', String(peerSlots));
  if (flags.shard) args.push('--shard', flags.shard);
  const inspector = flags.inspect ? await startRunInspector(env) : undefined;
  const started = Date.now();
  try {
    await runPlaywright(args, env, (flags.timeout ?? 1800) * 1000);
  } finally {
    if (inspector) await saveRunInspector(inspector, reportDir);
  }

  const reportFile = join(reportDir, 'test-results.json');
  if (!existsSync(reportFile)) throw new Error(`the suites wrote no report at ${reportFile}`);
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as PlaywrightReport;
  process.env.OCM_TARGET_CONFIG = targetConfigFile ?? join(runDir, 'embedded-target.yaml');
  process.env.OCM_RUN_DIR = runDir;
  if (flags.profile) process.env.OCM_PROFILE = flags.profile;
  const context = suiteContext();
  // The run's secrets (what the embedded reference stored, the users' passwords) are scrubbed from every report.
  collectRunSecrets(runDir, driverUsers(context.target));
  const ledger: ExpectationLedger = flags.expectations
    ? await readLedger(resolve(flags.expectations), new Set(context.catalogue.byId.keys()))
    : { expectedFailures: [] };
  const expectedFailures = [...new Set([...context.target.expectedFailures, ...ledger.expectedFailures])];
  const discoveryFetch = await readDiscoveryFetch(runDir);
  const liveness = livenessLines(runDir);
  const interop = context.target.interopWith;
  const results = buildComplianceResults(report, {
    catalogue: context.catalogue,
    selected: context.selected,
    profile: context.profile,
    ...(context.profileWarning ? { profileWarning: context.profileWarning } : {}),
    target: {
      name: context.target.name,
      url: context.target.baseUrl,
      ...(context.discovery ? { discovery: context.discovery } : {}),
      ...(discoveryFetch ? { discoveryFetch } : {}),
      ...(process.env.OCM_TARGET_INSECURE === '1' || context.target.insecure ? { insecure: true } : {}),
    },
    ...(interop ? { interopWith: { name: interop.name, url: interop.baseUrl } } : {}),
    peers: context.target.peers.flat(),
    expectedFailures,
    ...(flags.expectations
      ? { expectations: { file: flags.expectations, ...(ledger.implementation ? { implementation: ledger.implementation } : {}) } }
      : {}),
    ...(shard ? { shard } : {}),
    ...(flags.grep ? { grep: flags.grep } : {}),
    ...(only ? { selection: { only, selectedBy: selectionLabel(flags) } } : {}),
    toolVersion: JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')).version,
    gateReason: (requirement) => notApplicableReason(requirement.id) ?? recordedGateReason(requirement.id),
    attachmentsRoot: PROJECT_ROOT,
    ...(liveness.downReason ? { stoppedBecause: liveness.downReason } : {}),
  });
  results.run.durationMs = Date.now() - started;
  if (shard) {
    const resultsFile = join(reportDir, `compliance-results.shard-${shard.current}-of-${shard.total}.json`);
    await writeResults(resultsFile, results);
    return { results, resultsFile, reportDir, liveness };
  }
  const reports = await writeReports(results, reportDir);
  const outcome: RunOutcome = { results, resultsFile: reports.results, reports, reportDir, liveness };
  if (flags.updateExpectations && flags.expectations) {
    outcome.ledgerFile = resolve(flags.expectations);
    await writeLedger(outcome.ledgerFile, ledgerFromResults(results, ledger));
  }
  return outcome;
}

function selectionLabel(flags: RunFlags): string {
  return [flags.only !== undefined ? `--only ${flags.only}` : '', flags.preset ? `--preset ${flags.preset}` : ''].filter(Boolean).join(' ');
}

/**
 * In GitHub Actions (or with `--annotations github`): one workflow annotation
 * per requirement not met, and the Markdown summary appended to the job's
 * step summary (`$GITHUB_STEP_SUMMARY`), so a plain `run` step needs nothing else.
 */
async function publishToCi(flags: RunFlags, outcome: RunOutcome): Promise<void> {
  if (annotationMode(flags.annotations) !== 'github') return;
  for (const line of githubAnnotations(outcome.results)) console.log(line);
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  if (summaryFile && outcome.reports) await appendFile(summaryFile, `${await readFile(outcome.reports.markdown, 'utf8')}\n`);
}

/**
 * `run --inspect`: the inspector page for the simulated peers' side, served
 * while the suites run (the peers forward their exchanges to it; suites/harness/inspect.ts).
 */
async function startRunInspector(env: NodeJS.ProcessEnv): Promise<InspectorServer> {
  const server = await startInspectorServer({ registry: getRegistry(), capacity: 10_000, title: 'OCM inspector · simulated peers' });
  env[INSPECT_URL_ENV] = server.ingestUrl;
  console.log(`inspector: ${server.pageUrl} (what the target sends to the simulated peers, live)`);
  return server;
}

/** Saves the page with the run's exchanges next to the reports (inspector.html; transcripts link to it by id) and stops it. */
async function saveRunInspector(server: InspectorServer, reportDir: string): Promise<void> {
  await mkdir(reportDir, { recursive: true });
  const exchanges = server.inspector.list();
  await writeFile(
    join(reportDir, INSPECTOR_REPORT_FILE),
    inspectorPage('OCM inspector · simulated peers (saved)', { exchanges, capacity: server.inspector.capacity }),
  );
  await server.close();
  console.log(`inspector: ${exchanges.length} exchanges saved to ${join(reportDir, INSPECTOR_REPORT_FILE)}`);
}

/**
 * Stops the run in seconds, not minutes, when nothing answers at the target's
 * address (refused, unknown host, no answer in 10 s): every check would fail
 * the same way. Any HTTP answer, an error status included, lets the run go on.
 */
/** A setup failure that stops the run before any check: one line, exit 2. */
export class SetupStop extends Error {
  readonly exitCode = 2;
}

async function assertReachable(baseUrl: string, trust: TargetTrust): Promise<void> {
  const url = new URL('/.well-known/ocm', baseUrl);
  const dispatcher = targetDispatcher(trust);
  try {
    const response = await undiciFetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
      ...(dispatcher ? { dispatcher } : {}),
    });
    await response.body?.cancel();
  } catch (error) {
    const hint = tlsFailureHint(error);
    if (hint) throw new SetupStop(hint);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError' ? 'no answer in 10 s' : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Error(`the target cannot be reached at ${url.origin} (${reason}); nothing was tested`);
  }
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

export function runCommand(): Command {
  return new Command('run')
    .description('run the conformance suites; with no target, against the two embedded reference instances')
    .option('--target <url>', 'origin of the OCM server to test (black-box checks only; use --target-config for drivers)')
    .option('--target-config <file>', 'YAML target config: URL, profile, driver, users, trusted peer addresses, expected failures')
    .option('--profile <profile>', "OCM version profile: 1.0, 1.1, 1.2, 1.3, 1.4, main or auto (default: the config's, else main)")
    .option('--report-dir <dir>', 'where reports go (default reports/output)')
    .option('--grep <pattern>', "only checks whose title matches (Playwright's --grep: a regular expression, case-insensitive)")
    .option('--only <ids>', 'only the checks of these requirement IDs and prefixes, exact and case-sensitive: SHR-4,SHR-6 or DISC-,SIG-')
    .option(
      '--preset <name>',
      `a named selection: ${Object.entries(PRESETS)
        .map(([name, p]) => `${name} (${p.description})`)
        .join('; ')}`,
    )
    .option(
      '--annotations <mode>',
      'github: print a workflow annotation per requirement not met and append summary.md to $GITHUB_STEP_SUMMARY (default when GITHUB_ACTIONS=true); none',
    )
    .option(
      '--expectations <file>',
      'expectation ledger (YAML or JSON): {implementation, expectedFailures: [IDs]}; listed failures do not fail the run',
    )
    .option('--update-expectations', 'rewrite the --expectations ledger from this run (its failing MUST requirements), sorted')
    .option('--workers <n>', 'parallel workers (each needs a trusted peer address pair)', positiveInt)
    .option(
      '--shard <i/n>',
      'run one shard of the suites (Playwright sharding); writes compliance-results.shard-i-of-n.json, merge with `report --merge`',
    )
    .option('--timeout <seconds>', 'give up on the whole run after this long (default 1800)', positiveInt)
    .option('--split', "embedded pair only: run instance A as an HTTP front over its back's CS3 gRPC services (the oCIS split)")
    .option('--ca-file <file>', "PEM bundle to trust for the target's certificate (config targetCa), on top of the public roots")
    .option('--insecure', "skip verification of the target's certificate (config insecure: true); printed in every report")
    .option('--inspect', "serve the OCM inspector for the simulated peers' side while the suites run (its URL is printed at the start)")
    .action(async (flags: RunFlags) => {
      if (flags.target && flags.targetConfig) throw new Error('give --target or --target-config, not both');
      if (flags.split && (flags.target || flags.targetConfig))
        throw new Error('--split starts the embedded pair split in two; it cannot be given with --target or --target-config');
      if (flags.target) {
        try {
          new URL(flags.target);
        } catch {
          throw new Error(`--target ${flags.target} is not an absolute URL`);
        }
      }
      annotationMode(flags.annotations); // refuse a bad mode before the run
      const outcome = await runConformance(flags);
      const { results, resultsFile, reports, ledgerFile } = outcome;
      console.log(
        `\nocm-conformance: ${results.target.name} (${results.target.url})${results.target.insecure ? ', INSECURE: certificate not verified' : ''}, profile ${results.run.profile}${results.run.shard ? `, shard ${results.run.shard.current}/${results.run.shard.total}` : ''}`,
      );
      console.log(closingTable(results));
      const c = results.summary.checks;
      console.log(
        `\n${c.run} checks run (${c.passed} passed, ${c.failed} failed, ${c.notRun} not run) in ${(results.run.durationMs / 1000).toFixed(1)} s`,
      );
      for (const line of outcome.liveness.lines) console.log(`liveness: ${line}`);
      // A target that stopped answering is never a PASS, even with ROB-10 declared as an expected failure.
      const targetDied = outcome.liveness.stopped && results.verdict.pass;
      console.log(`verdict: ${targetDied ? 'FAIL: the target stopped answering during the run' : verdictText(results)}`);
      if (results.verdict.unexpectedPasses.length)
        console.log(
          `unexpected passes (declared as expected failures): ${results.verdict.unexpectedPasses.join(', ')}; update the ledger with --update-expectations`,
        );
      if (reports) console.log(`reports:\n${describeReportFiles(reports)}`);
      else console.log(`shard results: ${resultsFile}\nmerge every shard's file with: npx ocm-conformance report --merge FILES… --out DIR`);
      if (ledgerFile) console.log(`expectation ledger written: ${ledgerFile}`);
      await publishToCi(flags, outcome);
      process.exitCode = results.verdict.pass && !targetDied ? 0 : 1;
    });
}
