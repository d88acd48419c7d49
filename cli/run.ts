/**
 * `ocm-conformance run`: runs the conformance suites (Playwright, project
 * `conformance`) against a target, then turns Playwright's JSON report into
 * the compliance results and prints the closing table. With no target it
 * tests the two embedded reference instances. Exit 0 only when no MUST
 * requirement failed (with `--fail-on should`, no SHOULD either), minus
 * declared expected failures; 1 when one did; exit 2 when the run cannot
 * start (an unknown profile, nothing to judge under the profile, an untrusted
 * certificate, a peer address taken); 3 when the run is inconclusive (a
 * harness error, a suite file that did not load, a test runner that failed
 * for another reason than failed checks, nothing judged).
 */
import { Command, InvalidArgumentError } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
// --inspect and https peers only: their modules (fastify, ajv, x509) are loaded when asked for, not at every start.
import type { InspectorServer } from '../inspector/server.ts';
import { INSPECT_URL_ENV } from '../suites/harness/inspect.ts';
import { KEEP_WORKERS_ENV } from '../suites/harness/kept-workers.ts';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import {
  buildComplianceResults,
  closingTable,
  FAIL_ON_LEVELS,
  resultsExitCode,
  type ComplianceResults,
  type FailOn,
  type PlaywrightReport,
  type RunError,
} from '../results/model.ts';
import {
  EMBEDDED_BY_RUN_ENV,
  notApplicableReason,
  recordedGateReason,
  suiteContext,
  TARGET_DISCOVERY_FILE,
} from '../suites/harness/context.ts';
import { targetDispatcher, tlsFailureHint, trustFromEnv, trustToEnv, undici, type TargetTrust } from '../suites/harness/target-trust.ts';
import { loadTargetConfig, validateTargetConfig, type TargetConfig } from '../suites/harness/target.ts';
import {
  describePeer,
  parsePeerTlsMode,
  PEER_CA_DIR_ENV,
  PEER_TLS_ENV,
  PeerAddressError,
  PeerBindError,
  peerOrigin,
  peerPairsFromFlags,
  PEERS_ENV,
  peersUseTls,
  preflightPeerPairs,
  type PeerPair,
  type PeerTlsMode,
} from '../suites/harness/peer-addresses.ts';
import { EMBEDDED_TLS_ENV, embeddedTlsNames } from '../suites/harness/embedded-tls.ts';
import { loadCatalogue, selectRequirements, type Catalogue } from '../suites/harness/requirements.ts';
import { profileFromApiVersion, profileLine, type JudgedProfile } from '../suites/harness/profile.ts';
import { ONLY_ENV, PRESETS, resolveSelection } from '../suites/harness/selection.ts';
import { annotationMode, githubAnnotations } from '../reports/annotations.ts';
import { ledgerFromResults, readLedger, writeLedger, type ExpectationLedger } from '../reports/expectations.ts';
import { verdictText } from '../reports/format.ts';
import { collectRunSecrets } from '../results/redact.ts';
import { livenessLines } from '../suites/harness/liveness.ts';
import type { ReportFiles } from '../reports/write.ts';

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
  /** Embedded pair and peers on https with a run CA and DNS names (`run --tls`). */
  tls?: boolean;
  inspect?: boolean;
  only?: string;
  preset?: string;
  annotations?: string;
  /** PEM bundle trusted for the target's certificate (config `targetCa`). */
  caFile?: string;
  /** Skip verification of the target's certificate (config `insecure`). */
  insecure?: boolean;
  /** Which failures fail the run: `must` (default) or `should` (a failed SHOULD too). */
  failOn?: string;
  /** Peer bind addresses `host:port`, comma-separated, taken two by two (config `peers`). */
  peers?: string;
  /** The peers' public URLs, one per `--peers` address. */
  peerPublicUrl?: string;
  /** auto, on or off (config `peerTls`). */
  peerTls?: string;
  /** A CA made by `ca init` that signs the peers' certificates (default: a fresh one per run, saved as peer-ca.pem). */
  peerCa?: string;
}

/** The CA certificate of a run's https peers, in the report directory (what the target must trust). */
export const PEER_CA_REPORT_FILE = 'peer-ca.pem';

const require = createRequire(import.meta.url);

/** Runs Playwright for the conformance project; resolves with its exit code (bounded by `timeoutMs`). */
function runPlaywright(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  const cli = join(require.resolve('@playwright/test/package.json'), '..', 'cli.js');
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [cli, 'test', '--project=conformance', ...args], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new InconclusiveRun(`the conformance run did not finish within ${Math.round(timeoutMs / 1000)} s; nothing was judged`));
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
  const failOn = parseFailOn(flags.failOn);
  const catalogue = loadCatalogue();
  const only = resolveSelection(flags, catalogue); // refuses unknown IDs before anything starts
  // The profile asked for, and where from: --profile (or OCM_PROFILE), else the target config; auto for a target without one.
  const targetConfig = flags.targetConfig ? loadTargetConfig(resolve(flags.targetConfig)) : undefined; // fails early with a clear line
  const profileFlag = flags.profile || process.env.OCM_PROFILE || undefined; // the suites read OCM_PROFILE the same way
  const profileSource = profileFlag ? '--profile' : 'target config:';
  const requestedProfile = profileFlag ?? targetConfig?.profile ?? (flags.target ? 'auto' : 'main');
  checkProfile(requestedProfile, profileSource); // one line and exit 2 before anything starts
  const runDir = join(reportDir, 'run');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  let targetConfigFile: string | undefined;
  let conflicts: TargetConfig['conflicts'] = {};
  let probe: TargetProbe | undefined;
  // OCM_TARGET_RESOLVE (name=address pins, set by the mutation run's TLS setup) is kept for the probe and the suites.
  const pinned = trustFromEnv().resolve;
  let trust: TargetTrust = {
    ...(flags.caFile ? { caFile: resolve(flags.caFile) } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(pinned ? { resolve: pinned } : {}),
  };
  if (flags.peerPublicUrl && !flags.peers) throw new Error('--peer-public-url needs --peers (the addresses the peers listen on)');
  // `--peers` overrides the config's peers; undefined = the embedded pair's own defaults.
  let peerPairs: PeerPair[] | undefined = flags.peers
    ? peerConfigStep(() => peerPairsFromFlags(flags.peers!, flags.peerPublicUrl))
    : undefined;
  let peerTlsMode: PeerTlsMode = flags.peerTls ? peerConfigStep(() => parsePeerTlsMode(flags.peerTls, '--peer-tls')) : 'auto';
  let targetBaseUrl: string | undefined;
  if (flags.targetConfig && targetConfig) {
    targetConfigFile = resolve(flags.targetConfig);
    const target = targetConfig;
    conflicts = target.conflicts;
    peerPairs ??= target.peers;
    if (!flags.peerTls) peerTlsMode = target.peerTls;
    targetBaseUrl = target.baseUrl;
    trust = {
      ...(trust.caFile || target.targetCa ? { caFile: trust.caFile ?? resolve(target.targetCa!) } : {}),
      ...(trust.insecure || target.insecure ? { insecure: true } : {}),
      ...(trust.resolve ? { resolve: trust.resolve } : {}),
    };
  } else if (flags.target) {
    const generated = validateTargetConfig(
      { name: new URL(flags.target).host, baseUrl: flags.target, profile: requestedProfile },
      '--target',
    );
    peerPairs ??= generated.peers;
    targetBaseUrl = generated.baseUrl;
    if (trust.insecure) generated.insecure = true;
    targetConfigFile = join(runDir, 'target.yaml');
    await writeFile(
      targetConfigFile,
      `# Written by ocm-conformance run --target: black-box checks only (no driver).\n${toYaml(generated)}`,
    );
  }
  // auto: https peers for an https target. The embedded pair speaks plain HTTP unless --tls puts it and its peers on https.
  if (flags.tls && flags.peerTls === 'off') throw new Error('--tls puts the peers on https: it cannot be given with --peer-tls off');
  const peerTls = targetBaseUrl ? peersUseTls(peerTlsMode, targetBaseUrl) : flags.tls === true || peerTlsMode === 'on';
  if (peerTls && !targetBaseUrl && !flags.tls)
    throw new Error('--peer-tls on needs --target or --target-config, or --tls (the embedded pair on https too)');
  if (peerPairs) {
    const pairs = peerPairs;
    peerConfigStep(() => {
      for (const address of pairs.flat()) peerOrigin(address, peerTls);
    });
    // A peer address that is taken stops the run here, before any check (exit 2, one line).
    try {
      peerPairs = await preflightPeerPairs(peerPairs);
    } catch (error) {
      if (error instanceof PeerBindError) throw new SetupStop(error.message);
      throw error;
    }
  }
  if (targetBaseUrl) probe = await assertReachable(targetBaseUrl, trust);
  // The embedded pair cannot be asked before it starts: with auto, its profile is printed with the results.
  const judged =
    !targetConfigFile && !profileFlag
      ? { profile: 'main' as const, reason: EMBEDDED_PROFILE_REASON }
      : targetConfigFile || requestedProfile.trim() !== 'auto'
        ? profileFromApiVersion(requestedProfile, probe?.apiVersion, profileSource)
        : undefined;
  if (judged) {
    console.log(profileLine(judged));
    assertSomethingToJudge(catalogue, judged, { conflicts, only, selectedBy: selectionLabel(flags), discovery: probe?.document });
  }
  const env: NodeJS.ProcessEnv = { ...process.env, OCM_RUN_DIR: runDir, OCM_REPORT_DIR: reportDir, [KEEP_WORKERS_ENV]: '1' };
  const peerCa = peerTls ? await runPeerCa(flags.peerCa, reportDir) : undefined;
  if (flags.tls) {
    // The embedded pair on https under DNS names: the harness trusts the run CA and pins the names, as the pair does.
    trust = { caFile: peerCa!.certFile, resolve: embeddedTlsNames(process.env.OCM_SUBNET ?? '127.0.0') };
    env[EMBEDDED_TLS_ENV] = '1';
  } else delete env[EMBEDDED_TLS_ENV];
  Object.assign(env, trustToEnv(trust));
  if (trust.insecure) process.env.OCM_TARGET_INSECURE = '1'; // read back when the results are built
  if (targetConfigFile) env.OCM_TARGET_CONFIG = targetConfigFile;
  else delete env.OCM_TARGET_CONFIG;
  if (peerPairs) env[PEERS_ENV] = process.env[PEERS_ENV] = JSON.stringify(peerPairs);
  else delete env[PEERS_ENV];
  env[PEER_TLS_ENV] = peerTls ? '1' : '0';
  if (peerCa) env[PEER_CA_DIR_ENV] = peerCa.dir;
  else delete env[PEER_CA_DIR_ENV];
  if (flags.split) env.OCM_SPLIT = '1';
  else delete env.OCM_SPLIT;
  if (flags.profile) env.OCM_PROFILE = flags.profile;
  if (only) env[ONLY_ENV] = only.join(',');
  else delete env[ONLY_ENV];
  const args: string[] = [];
  if (flags.grep) args.push('--grep', flags.grep);
  // Each parallel worker needs its own pair of simulated peers: never more workers than pairs (2 by default).
  const workers = peerPairs ? Math.min(flags.workers ?? 2, peerPairs.length) : flags.workers;
  if (peerPairs && flags.workers && flags.workers > peerPairs.length)
    console.log(`--workers ${flags.workers}: ${peerPairs.length} peer pair(s) given, so ${peerPairs.length} worker(s)`);
  if (workers) args.push('--workers', String(workers));
  if (flags.shard) args.push('--shard', flags.shard);
  const inspector = flags.inspect ? await startRunInspector(env) : undefined;
  const started = Date.now();
  const reportFile = join(reportDir, 'test-results.json');
  await rm(reportFile, { force: true }); // a report left by an earlier run must not stand in for this one
  let playwrightExit: number;
  delete env[EMBEDDED_BY_RUN_ENV];
  const embedded = targetConfigFile ? undefined : startEmbeddedForSuites(runDir, env);
  const reporting = reportingWhileSuitesRun();
  try {
    playwrightExit = await runPlaywright(args, env, (flags.timeout ?? 1800) * 1000);
  } finally {
    await (await embedded)?.close();
    if (inspector) await saveRunInspector(inspector, reportDir);
    await peerCa?.dispose();
  }

  if (!existsSync(reportFile))
    throw new InconclusiveRun(`the suites wrote no report at ${reportFile} (Playwright exited with ${playwrightExit}); nothing was judged`);
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
    profileReason: judged?.reason === EMBEDDED_PROFILE_REASON ? judged.reason : context.profileReason,
    ...(context.profileWarning ? { profileWarning: context.profileWarning } : {}),
    failOn,
    target: {
      name: context.target.name,
      url: context.target.baseUrl,
      ...(context.discovery ? { discovery: context.discovery } : {}),
      ...(discoveryFetch ? { discoveryFetch } : {}),
      ...(process.env.OCM_TARGET_INSECURE === '1' || context.target.insecure ? { insecure: true } : {}),
    },
    ...(interop ? { interopWith: { name: interop.name, url: interop.baseUrl } } : {}),
    peers: context.target.peers.flat().map((address) => describePeer(address, peerTls)),
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
    // Stopped by the liveness watch (the target died): the runner's interrupted exit is the target's doing, not ours.
    runErrors: liveness.stopped ? [] : runnerErrors(playwrightExit, report),
    ...(liveness.downReason ? { stoppedBecause: liveness.downReason } : {}),
  });
  results.run.durationMs = Date.now() - started;
  const { writeReports, writeResults } = await reporting();
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

/**
 * The embedded pair, started in this process while Playwright starts up (the CLI only waits for Playwright
 * otherwise): the suites' global setup waits for its ready marker (EMBEDDED_BY_RUN_ENV). A pair that cannot
 * start is marked so, and the global setup fails with the reason, as when it starts the pair itself.
 */
function startEmbeddedForSuites(runDir: string, env: NodeJS.ProcessEnv): Promise<{ close(): Promise<void> } | undefined> {
  env[EMBEDDED_BY_RUN_ENV] = '1';
  return import('../suites/harness/global-setup.ts').then(async (setup) => {
    try {
      const pair = await setup.startEmbeddedFromEnv(runDir, env);
      await setup.markEmbeddedPair(runDir, { configFile: pair.configFile });
      return pair;
    } catch (error) {
      await setup.markEmbeddedPair(runDir, { failure: (error as Error).message });
      return undefined;
    }
  });
}

interface ReportWriters {
  writeReports: typeof import('../reports/write.ts').writeReports;
  writeResults: typeof import('../results/schema.ts').writeResults;
}

/**
 * The report writers, loaded and the results schema compiled while the suites run (the CLI only waits
 * then): a few hundred milliseconds less between the last check and the verdict. Started a moment after
 * Playwright, so it does not compete with the workers' own start-up for the CPU.
 */
function reportingWhileSuitesRun(delayMs = 3000): () => Promise<ReportWriters> {
  let loading: Promise<ReportWriters> | undefined;
  const load = () =>
    (loading ??= Promise.all([import('../reports/write.ts'), import('../results/schema.ts')]).then(([write, schema]) => {
      schema.prepareResultsValidator();
      return { writeReports: write.writeReports, writeResults: schema.writeResults };
    }));
  // Its failure surfaces where the writers are awaited, never as an unhandled rejection.
  const timer = setTimeout(() => load().catch(() => {}), delayMs);
  timer.unref();
  return () => {
    clearTimeout(timer);
    return load();
  };
}

/** A run that judged nothing (no report at all): exit 3, never a pass. */
export class InconclusiveRun extends Error {
  readonly exitCode = 3;
}

/**
 * Playwright's exit code, read: 0, or 1 with failed checks in its report, is
 * the run's normal end. Any other end (a crash, a signal, 1 with no failed
 * check and no load error to explain it) is an error of the run itself.
 */
export function runnerErrors(exitCode: number, report: PlaywrightReport): RunError[] {
  if (exitCode === 0) return [];
  const failedChecks = (report.stats?.unexpected ?? 0) + (report.stats?.flaky ?? 0);
  if (exitCode === 1 && (failedChecks > 0 || (report.errors?.length ?? 0) > 0)) return [];
  return [
    {
      kind: 'runner',
      message: `Playwright exited with ${exitCode}${failedChecks === 0 ? ' without a failed check' : ''}: the run did not end normally`,
    },
  ];
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

/** A bad peer setting (`--peers`, `--peer-public-url`, `--peer-tls`, config `peers`) as one plain error. */
function peerConfigStep<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof PeerAddressError) throw new Error(error.message);
    throw error;
  }
}

/**
 * The CA that signs the https peers' certificates: `--peer-ca DIR` (made by
 * `ca init`, already in the target's trust store), else a fresh one for this
 * run whose key lives in a temporary folder until the run ends. Either way its
 * certificate is copied to the report directory as peer-ca.pem.
 */
async function runPeerCa(
  peerCaDir: string | undefined,
  reportDir: string,
): Promise<{ dir: string; certFile: string; dispose(): Promise<void> }> {
  const { CA_CERT_FILE, createCertificateAuthority, readCertificateAuthority, writeCertificateAuthority } = await import('../certs/ca.ts');
  await mkdir(reportDir, { recursive: true });
  if (peerCaDir) {
    const dir = resolve(peerCaDir);
    const authority = await readCertificateAuthority(dir);
    await writeFile(join(reportDir, PEER_CA_REPORT_FILE), authority.certPem);
    return { dir, certFile: join(dir, CA_CERT_FILE), dispose: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'ocm-peer-ca-'));
  const authority = await createCertificateAuthority({ commonName: 'ocm-conformance peers (one run)' });
  await writeCertificateAuthority(dir, authority);
  await writeFile(join(reportDir, PEER_CA_REPORT_FILE), authority.certPem);
  console.log(`peers: https with a fresh CA for this run, ${join(reportDir, PEER_CA_REPORT_FILE)} (pass --peer-ca DIR to reuse one)`);
  return { dir, certFile: join(dir, CA_CERT_FILE), dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * `run --inspect`: the inspector page for the simulated peers' side, served
 * while the suites run (the peers forward their exchanges to it; suites/harness/inspect.ts).
 */
async function startRunInspector(env: NodeJS.ProcessEnv): Promise<InspectorServer> {
  const [{ startInspectorServer }, { getRegistry }] = await Promise.all([
    import('../inspector/server.ts'),
    import('../openapi/registry.ts'),
  ]);
  const server = await startInspectorServer({ registry: getRegistry(), capacity: 10_000, title: 'OCM inspector · simulated peers' });
  env[INSPECT_URL_ENV] = server.ingestUrl;
  console.log(`inspector: ${server.pageUrl} (what the target sends to the simulated peers, live)`);
  return server;
}

/** Saves the page with the run's exchanges next to the reports (inspector.html; transcripts link to it by id) and stops it. */
async function saveRunInspector(server: InspectorServer, reportDir: string): Promise<void> {
  const { INSPECTOR_REPORT_FILE, inspectorPage } = await import('../inspector/page.ts');
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

/** What the reachability probe read at the target's discovery URL (the suites fetch it again for themselves). */
interface TargetProbe {
  document?: Record<string, unknown>;
  apiVersion?: unknown;
}

async function assertReachable(baseUrl: string, trust: TargetTrust): Promise<TargetProbe> {
  const url = new URL('/.well-known/ocm', baseUrl);
  const dispatcher = targetDispatcher(trust);
  try {
    const init = { redirect: 'manual', signal: AbortSignal.timeout(10_000) } as const;
    // A dispatcher and its fetch come from the same undici (target-trust.ts); the defaults need neither.
    const response = dispatcher ? await undici().fetch(url, { ...init, dispatcher }) : await fetch(url, init);
    if (response.status !== 200) {
      await response.body?.cancel();
      return {};
    }
    const text = await response.text().catch(() => '');
    try {
      const document = JSON.parse(text) as unknown;
      if (!document || typeof document !== 'object' || Array.isArray(document)) return {};
      return { document: document as Record<string, unknown>, apiVersion: (document as Record<string, unknown>).apiVersion };
    } catch {
      return {}; // not JSON: the discovery checks say so; the profile is then a guess
    }
  } catch (error) {
    const hint = tlsFailureHint(error);
    if (hint) throw new SetupStop(hint);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError' ? 'no answer in 10 s' : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Error(`the target cannot be reached at ${url.origin} (${reason}); nothing was tested`);
  }
}

/** Why the embedded pair is judged under main: the reference implements the newest text. */
const EMBEDDED_PROFILE_REASON = 'the embedded reference pair implements main, the newest';

/** Refuses an unknown profile (flag, OCM_PROFILE or target config) with one line, before Playwright starts. */
function checkProfile(requested: string, source: string): void {
  try {
    profileFromApiVersion(requested, undefined, source);
  } catch (error) {
    throw new SetupStop(`${source === '--profile' ? '--profile' : 'the target config'}: ${(error as Error).message}`);
  }
}

/**
 * Stops the run (one line, exit 2) when no requirement could be judged: none
 * is part of the profile, or none of the selected ones (`--only`, `--preset`)
 * is, or every one is gated by a capability or criterion the target's
 * discovery document does not advertise.
 */
function assertSomethingToJudge(
  catalogue: Catalogue,
  judged: JudgedProfile,
  options: { conflicts: TargetConfig['conflicts']; only: string[] | undefined; selectedBy: string; discovery?: Record<string, unknown> },
): void {
  const inProfile = selectRequirements(catalogue, {
    profile: judged.profile,
    conflicts: options.conflicts as never,
    ...(judged.release ? { release: judged.release } : {}),
  });
  const chosen = options.only ? inProfile.filter((r) => options.only!.includes(r.id)) : inProfile;
  const listed = (key: string) => (Array.isArray(options.discovery?.[key]) ? (options.discovery[key] as unknown[]) : []);
  const applicable = options.discovery
    ? chosen.filter(
        (r) =>
          (!r.capability || listed('capabilities').includes(r.capability)) && (!r.criterion || listed('criteria').includes(r.criterion)),
      )
    : chosen;
  if (applicable.length > 0) return;
  const why = options.only
    ? chosen.length === 0
      ? `none of the selected requirements (${options.selectedBy || '--only'}) is part of it`
      : `the target advertises none of the capabilities or criteria the selected requirements (${options.selectedBy || '--only'}) need`
    : 'no requirement of the catalogue is part of it';
  throw new SetupStop(`nothing to judge under profile ${judged.profile}: ${why}`);
}

/** `--fail-on must|should`. */
function parseFailOn(value: string | undefined): FailOn {
  if (value === undefined) return 'must';
  if (!(FAIL_ON_LEVELS as readonly string[]).includes(value))
    throw new SetupStop(`--fail-on ${value}: use one of ${FAIL_ON_LEVELS.join(', ')}`);
  return value as FailOn;
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
    .option(
      '--profile <profile>',
      "OCM version profile: 1.0, 1.1, 1.2, 1.3, 1.4, main or auto (default: the config's; else auto for a target, main for the embedded pair)",
    )
    .option(
      '--fail-on <level>',
      'which failures fail the run (exit 1): must (default: a failed MUST) or should (a failed SHOULD too); recorded in the results and JUnit',
    )
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
    .option('--workers <n>', 'parallel workers (default 2; each needs a peer pair of its own, so at most one per pair)', positiveInt)
    .option(
      '--peers <binds>',
      'addresses the simulated peers listen on, host:port comma-separated, two per worker (config peers); port 0 picks a free port',
    )
    .option('--peer-public-url <urls>', "the peers' public URLs (how the target reaches them), one per --peers address, comma-separated")
    .option('--peer-tls <mode>', "peers on https: auto (when the target's baseUrl is https), on or off (config peerTls)")
    .option(
      '--peer-ca <dir>',
      "CA made by `ca init` that signs the https peers' certificates (default: a fresh CA per run, saved as peer-ca.pem)",
    )
    .option(
      '--shard <i/n>',
      'run one shard of the suites (Playwright sharding); writes compliance-results.shard-i-of-n.json, merge with `report --merge`',
    )
    .option('--timeout <seconds>', 'give up on the whole run after this long (default 1800)', positiveInt)
    .option('--split', "embedded pair only: run instance A as an HTTP front over its back's CS3 gRPC services (the oCIS split)")
    .option('--ca-file <file>', "PEM bundle to trust for the target's certificate (config targetCa), on top of the public roots")
    .option('--insecure', "skip verification of the target's certificate (config insecure: true); printed in every report")
    .option(
      '--tls',
      'embedded pair only: the pair and every peer on https with a fresh run CA (or --peer-ca), DNS names pinned like serve --resolve, allowHttp off',
    )
    .option('--inspect', "serve the OCM inspector for the simulated peers' side while the suites run (its URL is printed at the start)")
    .action(async (flags: RunFlags) => {
      if (flags.target && flags.targetConfig) throw new Error('give --target or --target-config, not both');
      if (flags.split && (flags.target || flags.targetConfig))
        throw new Error('--split starts the embedded pair split in two; it cannot be given with --target or --target-config');
      if (flags.tls && (flags.target || flags.targetConfig))
        throw new Error('--tls starts the embedded pair on https; for another server use its https baseUrl with --ca-file');
      if (flags.target) {
        try {
          new URL(flags.target);
        } catch {
          throw new Error(`--target ${flags.target} is not an absolute URL`);
        }
      }
      annotationMode(flags.annotations); // refuse a bad mode before the run
      parseFailOn(flags.failOn); // and a bad threshold
      const outcome = await runConformance(flags);
      const { results, resultsFile, reports, ledgerFile } = outcome;
      console.log(
        `\nocm-conformance: ${results.target.name} (${results.target.url})${results.target.insecure ? ', INSECURE: certificate not verified' : ''}, profile ${results.run.profile}${results.run.profileReason ? ` (${results.run.profileReason})` : ''}${results.run.shard ? `, shard ${results.run.shard.current}/${results.run.shard.total}` : ''}`,
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
      if (results.verdict.inconclusive)
        console.log('The run is inconclusive: harness errors are ours, not the target\'s (see "Outcomes and exit codes" in the README).');
      if (results.verdict.unexpectedPasses.length)
        console.log(
          `unexpected passes (declared as expected failures): ${results.verdict.unexpectedPasses.join(', ')}; update the ledger with --update-expectations`,
        );
      if (reports) console.log(`reports:\n${(await import('../reports/write.ts')).describeReportFiles(reports)}`);
      else console.log(`shard results: ${resultsFile}\nmerge every shard's file with: npx ocm-conformance report --merge FILES… --out DIR`);
      if (ledgerFile) console.log(`expectation ledger written: ${ledgerFile}`);
      await publishToCi(flags, outcome);
      process.exitCode = targetDied ? 1 : resultsExitCode(results);
    });
}
