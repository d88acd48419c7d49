/**
 * The compliance results of a run: one outcome per requirement of the
 * catalogue, built from Playwright's JSON report, the catalogue, the profile
 * and the target's discovery document. The model is documented as a JSON
 * Schema in results/schema.json (validated on write and on read, see
 * results/schema.ts); every report format (reports/*.ts) is derived from it.
 * The suites write it, the reports read it; this module imports nothing of
 * theirs, nor of the reference.
 *
 * Outcomes:
 *  - `passed`          every check of the requirement that ran passed;
 *  - `failed`          a check failed and the requirement is a MUST (not informational);
 *  - `warning`         a check failed and the requirement is a SHOULD, a MAY or informational;
 *  - `not-applicable`  the requirement is outside the profile, or gated by a
 *                      capability or criterion the target does not advertise;
 *  - `not-run`         no check could run: a driver step is missing, a step
 *                      failed ("setup failed: <step>: <status> <message>"), no
 *                      automated check exists, or (in a shard) its checks ran
 *                      in another shard; each with a reason;
 *  - `error`           no check failed, but one threw an error of the harness
 *                      (our code, not the target: a TypeError, a bind failure).
 * The verdict passes when no MUST failed, minus declared expected failures;
 * with the threshold `run.failOn: should` (`run --fail-on should`), a SHOULD
 * not met (a `warning` of a SHOULD requirement, not informational) fails it
 * too. A declared expected failure that passed is an "unexpected pass"
 * (reported, not failing). A run with a harness error, a suite file that
 * failed to load, a test runner that failed for another reason than failed
 * checks, or no requirement judged at all is INCONCLUSIVE: it never passes
 * (exit 3).
 *
 * Outcomes, summary and verdict are a pure function of the requirements'
 * metadata, their checks and the declared expectations (`finalizeResults`),
 * so merged shards are recomputed exactly like a single run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { redactDeep } from './redact.ts';

/** An OCM version profile ('1.0' … 'main'; suites/harness/requirements.ts lists them). */
type Profile = string;

/** What the results need of a catalogue requirement (suites/harness/requirements.ts loads the full entries). */
export interface JudgedRequirement {
  id: string;
  level: string;
  strength: string;
  area: string;
  section: string;
  summary: string;
  informational: boolean;
  needsDriver: boolean;
}

export const RESULTS_FORMAT = 'ocm-conformance/results@1';
/** The stable URL of the results schema (its `$id`); each results file names it in `$schema`. */
export const RESULTS_SCHEMA_URL = 'https://ocm-conformance.github.io/schemas/results-1.json';

export type Outcome = 'passed' | 'failed' | 'warning' | 'not-applicable' | 'not-run' | 'error';
export const OUTCOMES: readonly Outcome[] = ['passed', 'failed', 'warning', 'not-applicable', 'not-run', 'error'];

/** Which failures fail the run: a failed MUST (default), or a SHOULD not met as well. */
export type FailOn = 'must' | 'should';
export const FAIL_ON_LEVELS: readonly FailOn[] = ['must', 'should'];

/**
 * Whether a requirement's outcome fails the run at threshold `failOn`
 * (before declared expected failures are taken off): a failed MUST always;
 * with `should`, also a SHOULD requirement (not informational) not met.
 */
export function failsAtThreshold(
  requirement: Pick<RequirementResult, 'outcome' | 'strength' | 'informational'>,
  failOn: FailOn = 'must',
): boolean {
  if (requirement.outcome === 'failed') return true;
  return failOn === 'should' && requirement.outcome === 'warning' && requirement.strength === 'should' && !requirement.informational;
}

/** `error`: the check threw an error of the harness (see suites/harness/step.ts), not an assertion. */
export type CheckStatus = 'passed' | 'failed' | 'not-run' | 'timed-out' | 'interrupted' | 'error';

/** A problem of the run itself, outside any check: a suite file that did not load (or no test found), a test runner that failed. */
export interface RunError {
  kind: 'load' | 'runner';
  message: string;
  /** file:line of a load error, when known. */
  location?: string;
}

export interface CheckResult {
  /** Playwright's test id: stable for one check across shards and reruns of the same code. */
  id: string;
  title: string;
  /** The suite file that defines the check. */
  file: string;
  /** The line of `file` where the check is defined (its `check(...)` call). */
  line?: number;
  status: CheckStatus;
  durationMs: number;
  /** The failure message up to its stack trace (ANSI stripped); for status `error`, the harness error. */
  error?: string;
  /** Expected value of the failing assertion, when Playwright's message states it. */
  expected?: string;
  /** Actual (received) value of the failing assertion, when Playwright's message states it. */
  actual?: string;
  /** Why the check did not run. */
  reason?: string;
  /** What the check noted while running: a clause it skipped and why, a value it had to resolve (its `note` annotations). */
  notes?: string[];
  /** Key of this check's HTTP transcript in `ComplianceResults.transcripts`. */
  transcript?: string;
  /** For interop checks: which party sent and which received (names, see `interopAnnotation`). */
  interop?: { sender: string; receiver: string };
}

export interface RequirementResult {
  id: string;
  level: string;
  strength: string;
  area: string;
  /** Spec anchor: "<doc> § <section path>". */
  section: string;
  summary: string;
  /** Informational requirements never fail the run (a failed check is a warning). */
  informational: boolean;
  /** The target must be made to act (share, invite…) for a check to run. */
  needsDriver: boolean;
  /** Why the requirement does not apply to this run (profile, capability, criterion); absent when it applies. */
  notApplicable?: string;
  outcome: Outcome;
  reason?: string;
  /** Declared in the expectation ledger or the target config as a known failure. */
  expectedFailure?: boolean;
  /** Declared as an expected failure, yet it passed. */
  unexpectedPass?: boolean;
  checks: CheckResult[];
}

export type OutcomeCounts = Record<Outcome, number>;

export interface MustSummary {
  /** MUST / MUST NOT requirements (not informational) with a judged outcome (passed or failed). */
  tested: number;
  passed: number;
  failed: number;
  /** Failed, but declared as expected failures. */
  expectedFailures: number;
  notRun: number;
  notApplicable: number;
}

export interface InteropCell {
  sender: string;
  receiver: string;
  checks: number;
  passed: number;
  failed: number;
  notRun: number;
}

export interface ComplianceResults {
  /** Set when the file is written (results/schema.ts). */
  $schema?: typeof RESULTS_SCHEMA_URL;
  format: typeof RESULTS_FORMAT;
  tool: { name: string; version: string };
  run: {
    startedAt: string;
    durationMs: number;
    profile: Profile;
    /** Why this profile: `from apiVersion "1.2.0"`, `--profile 1.3`, … */
    profileReason?: string;
    profileWarning?: string;
    /** Which failures fail the run (`run --fail-on`); absent: must. */
    failOn?: FailOn;
    /** Only this shard of the suites ran (`run --shard i/n`). */
    shard?: { current: number; total: number };
    /** The shard results this file was merged from (`report --merge`). */
    mergedFrom?: Array<{ startedAt: string; durationMs: number; shard?: { current: number; total: number }; targetUrl: string }>;
    /** The `--grep` filter, when only some checks ran. */
    grep?: string;
    /** Only the checks of these requirement IDs ran (`--only`, `--preset`). */
    only?: string[];
    /** How `only` was chosen, e.g. `--preset pr`. */
    selectedBy?: string;
    /** Problems of the run outside any check (a suite file that did not load...): the verdict is then inconclusive. */
    errors?: RunError[];
  };
  target: {
    name: string;
    url: string;
    apiVersion?: string;
    /** The discovery document as fetched at the start of the run. */
    discovery?: unknown;
    /** The target's certificate was not verified (`run --insecure`). */
    insecure?: boolean;
    /** How the discovery document was fetched. */
    discoveryFetch?: { url: string; fetchedAt: string; status?: number; contentType?: string | null; error?: string };
  };
  /** The second target of an interop run. */
  interopWith?: { name: string; url: string };
  peers: string[];
  expectations: {
    /** The expectation ledger file (`--expectations`), as given. */
    file?: string;
    /** The implementation the ledger is for. */
    implementation?: string;
    /** Every requirement declared as an expected failure (ledger and target config), sorted. */
    declared: string[];
  };
  summary: {
    byOutcome: OutcomeCounts;
    byLevel: Record<string, OutcomeCounts>;
    byArea: Record<string, OutcomeCounts>;
    checks: { run: number; passed: number; failed: number; notRun: number; errors?: number };
    must: MustSummary;
  };
  verdict: {
    pass: boolean;
    mustFailures: string[];
    /** With `run.failOn: should`: SHOULD requirements not met (not declared); they fail the run. */
    shouldFailures?: string[];
    expectedFailures: string[];
    unexpectedPasses: string[];
    /** Why the run cannot be judged (harness errors, load errors, nothing judged); the run then does not pass. */
    inconclusive?: string;
  };
  requirements: RequirementResult[];
  /** HTTP transcripts (secrets redacted), keyed by `CheckResult.transcript`. */
  transcripts: Record<string, unknown>;
  /** Sender × receiver cells of interop checks, when the run had any. */
  interop?: InteropCell[];
}

/** The parts of Playwright's JSON report read here. */
interface PwAttachment {
  name: string;
  contentType?: string;
  path?: string;
  body?: string;
}
interface PwTestResult {
  status: string;
  duration: number;
  errors?: Array<{ message?: string }>;
  error?: { message?: string };
  annotations?: Array<{ type: string; description?: string }>;
  attachments?: PwAttachment[];
}
interface PwSpec {
  id?: string;
  title: string;
  file: string;
  tests: Array<{ projectName: string; annotations?: Array<{ type: string; description?: string }>; results: PwTestResult[] }>;
}
interface PwSuite {
  title?: string;
  file?: string;
  specs?: PwSpec[];
  suites?: PwSuite[];
}
export interface PlaywrightReport {
  stats?: { startTime?: string; duration?: number; expected?: number; unexpected?: number; flaky?: number; skipped?: number };
  suites?: PwSuite[];
  /** Errors outside any test: a spec file that failed to load, a global setup that threw. */
  errors?: Array<{ message?: string; stack?: string; location?: { file?: string; line?: number; column?: number } }>;
}

export interface BuildOptions {
  catalogue: { requirements: readonly JudgedRequirement[] };
  selected: ReadonlyMap<string, JudgedRequirement>;
  profile: Profile;
  profileReason?: string;
  profileWarning?: string;
  failOn?: FailOn;
  target: {
    name: string;
    url: string;
    discovery?: Record<string, any>;
    discoveryFetch?: ComplianceResults['target']['discoveryFetch'];
    insecure?: boolean;
  };
  interopWith?: { name: string; url: string };
  peers: string[];
  expectedFailures: string[];
  expectations?: { file?: string; implementation?: string };
  shard?: { current: number; total: number };
  grep?: string;
  /** The requirement IDs selected by `--only`/`--preset`, and how. */
  selection?: { only: string[]; selectedBy: string };
  toolVersion: string;
  /** Why a selected requirement does not apply to this target (capability/criterion gates). */
  gateReason(requirement: JudgedRequirement): string | undefined;
  /** Folder that relative attachment paths are resolved against (Playwright writes absolute ones). */
  attachmentsRoot?: string;
  /** Problems of the run the caller saw (the test runner's exit code...), on top of the report's own errors. */
  runErrors?: RunError[];
  /** The run was stopped because the target stopped answering: checks without a result are not run, for this reason. */
  stoppedBecause?: string;
}

/** Playwright project whose tests are conformance checks. */
export const CONFORMANCE_PROJECT = 'conformance';

/**
 * Target liveness (suites/harness/liveness.ts, decisions/0015): a check during
 * which the target stopped answering carries `target-stopped` (the sentence
 * filed as a failure of LIVENESS_REQUIREMENT); a check skipped or overlapped
 * by the outage carries `target-down` (its not-run reason); `target-back` says
 * the target answers again. Such a check is never passed nor failed.
 */
export const TARGET_STOPPED_ANNOTATION = 'target-stopped';
export const TARGET_DOWN_ANNOTATION = 'target-down';
export const TARGET_BACK_ANNOTATION = 'target-back';
export const LIVENESS_REQUIREMENT = 'ROB-10';

export function emptyCounts(): OutcomeCounts {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as OutcomeCounts;
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Requirement IDs sort by prefix, then number: SHR-2 before SHR-12. */
export function compareIds(a: string, b: string): number {
  const pa = /^(.*?)(\d+)$/.exec(a);
  const pb = /^(.*?)(\d+)$/.exec(b);
  if (pa && pb && pa[1] === pb[1]) return Number(pa[2]) - Number(pb[2]);
  return a.localeCompare(b);
}

/**
 * An annotation that marks a check as an interop check between two parties:
 * `test.info().annotations.push(interopAnnotation('target', 'partner'))`.
 * `target` and `partner` stand for the run's target and its `interopWith`;
 * any other name is taken as is.
 */
export function interopAnnotation(sender: string, receiver: string): { type: 'interop'; description: string } {
  return { type: 'interop', description: `${sender} -> ${receiver}` };
}

/** Expected and actual values of a failed assertion, from Playwright's message. */
export function expectedActual(message: string): { expected?: string; actual?: string } {
  const expected = /^\s*Expected(?: [a-z ]+)?:\s?(.*)$/m.exec(message)?.[1]?.trim();
  const actual = /^\s*Received(?: [a-z ]+)?:\s?(.*)$/m.exec(message)?.[1]?.trim();
  if (expected !== undefined || actual !== undefined)
    return { ...(expected !== undefined ? { expected } : {}), ...(actual !== undefined ? { actual } : {}) };
  // A diff: "- Expected  - n / + Received  + n" followed by -/+ lines.
  const header = /^- Expected.*\n\+ Received.*$/m.exec(message);
  if (!header) return {};
  const body = message
    .slice(header.index + header[0].length)
    .split('\n')
    .filter((line) => !/^\s+at /.test(line));
  const minus = body.filter((l) => l.startsWith('-')).map((l) => l.slice(1));
  const plus = body.filter((l) => l.startsWith('+')).map((l) => l.slice(1));
  return { ...(minus.length ? { expected: minus.join('\n').trim() } : {}), ...(plus.length ? { actual: plus.join('\n').trim() } : {}) };
}

function readAttachment(attachment: PwAttachment, root: string | undefined): unknown {
  let text: string | undefined;
  if (attachment.body !== undefined) text = Buffer.from(attachment.body, 'base64').toString('utf8');
  else if (attachment.path) {
    const file = isAbsolute(attachment.path) || !root ? attachment.path : join(root, attachment.path);
    if (existsSync(file)) text = readFileSync(file, 'utf8');
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

interface Collected {
  byRequirement: Map<string, CheckResult[]>;
  transcripts: Record<string, unknown>;
}

function collectChecks(
  report: PlaywrightReport,
  names: { target: string; partner?: string },
  root: string | undefined,
  stoppedBecause?: string,
): Collected {
  const byRequirement = new Map<string, CheckResult[]>();
  const transcripts: Record<string, unknown> = {};
  const party = (name: string) => (name === 'target' ? names.target : name === 'partner' ? (names.partner ?? 'partner') : name);
  const visit = (suite: PwSuite, file: string | undefined) => {
    const suiteFile = file ?? suite.file;
    for (const child of suite.suites ?? []) visit(child, suiteFile);
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        if (test.projectName !== CONFORMANCE_PROJECT) continue;
        // A run the liveness watch stopped: the check in flight was interrupted, the checks after it never started.
        const unfinished = stoppedBecause && (!test.results.at(-1) || test.results.at(-1)!.status === 'interrupted');
        const result = unfinished
          ? {
              status: 'skipped',
              duration: 0,
              ...test.results.at(-1),
              annotations: [{ type: TARGET_DOWN_ANNOTATION, description: stoppedBecause }],
            }
          : test.results.at(-1);
        if (!result) continue;
        const annotations = [...(test.annotations ?? []), ...(result.annotations ?? [])];
        const ids = [...new Set(annotations.filter((a) => a.type === 'requirement').map((a) => a.description ?? ''))];
        const notRun = annotations.find((a) => a.type === 'not-run');
        const harnessError = annotations.find((a) => a.type === 'error');
        const notes = [...new Set(annotations.filter((a) => a.type === 'note' && a.description).map((a) => a.description!))];
        // `check()` records where it was called (suite file:line:column); Playwright only knows the harness line.
        const source = /^(.+?)(?::(\d+):\d+)?$/.exec(annotations.find((a) => a.type === 'source')?.description ?? '');
        const interop = /^\s*(.+?)\s*->\s*(.+?)\s*$/.exec(annotations.find((a) => a.type === 'interop')?.description ?? '');
        const message = stripAnsi(result.errors?.[0]?.message ?? result.error?.message ?? '');
        const id =
          spec.id ??
          createHash('sha256')
            .update(`${suiteFile ?? spec.file}\n${spec.title}`)
            .digest('hex')
            .slice(0, 20);
        const attachment = result.attachments?.find((a) => a.name === 'transcript');
        const transcript = attachment ? readAttachment(attachment, root) : undefined;
        if (transcript !== undefined) transcripts[id] = transcript;
        const stopped = [
          ...new Set(annotations.filter((a) => a.type === TARGET_STOPPED_ANNOTATION && a.description).map((a) => a.description!)),
        ];
        const down = annotations.find((a) => a.type === TARGET_DOWN_ANNOTATION)?.description;
        const outage = stopped.length > 0 ? 'the target stopped answering during this check' : down;
        for (const back of annotations.filter((a) => a.type === TARGET_BACK_ANNOTATION && a.description))
          if (!notes.includes(back.description!)) notes.push(back.description!);
        // A crash of the target outranks everything a check saw (liveness.ts): not run, never failed, passed or ours.
        const status: CheckStatus = outage
          ? 'not-run'
          : harnessError
            ? 'error'
            : result.status === 'passed'
              ? 'passed'
              : result.status === 'skipped'
                ? 'not-run'
                : result.status === 'timedOut'
                  ? 'timed-out'
                  : result.status === 'interrupted'
                    ? 'interrupted'
                    : 'failed';
        const check: CheckResult = {
          id,
          title: spec.title,
          file: source?.[1] ?? suiteFile ?? spec.file,
          ...(source?.[2] ? { line: Number(source[2]) } : {}),
          status,
          durationMs: Math.round(result.duration),
          ...(outage
            ? {}
            : harnessError?.description
              ? { error: `harness error: ${harnessError.description}` }
              : message
                ? { error: messageWithoutStack(message) }
                : {}),
          ...(message && !harnessError && !outage ? expectedActual(message) : {}),
          ...(outage
            ? { reason: outage }
            : notRun?.description
              ? { reason: notRun.description }
              : status === 'not-run'
                ? { reason: 'the check was skipped' }
                : {}),
          ...(notes.length ? { notes } : {}),
          ...(transcript !== undefined ? { transcript: id } : {}),
          ...(interop ? { interop: { sender: party(interop[1]!), receiver: party(interop[2]!) } } : {}),
        };
        for (const requirementId of ids) {
          const list = byRequirement.get(requirementId) ?? [];
          list.push(check);
          byRequirement.set(requirementId, list);
        }
        // The target stopped answering during this check: that is the liveness requirement's failure, not this check's.
        for (const [i, sentence] of stopped.entries()) {
          const list = byRequirement.get(LIVENESS_REQUIREMENT) ?? [];
          list.push({
            id: `${id}-stopped-${i + 1}`,
            title: `${LIVENESS_REQUIREMENT} the target keeps answering (watched during: ${spec.title})`,
            file: check.file,
            ...(check.line ? { line: check.line } : {}),
            status: 'failed',
            durationMs: 0,
            error: sentence,
            ...(transcript !== undefined ? { transcript: id } : {}),
          });
          byRequirement.set(LIVENESS_REQUIREMENT, list);
        }
      }
    }
  };
  for (const suite of report.suites ?? []) visit(suite, undefined);
  return { byRequirement, transcripts };
}

const MESSAGE_CHARS = 4000;

/** A failure message without its stack trace and source excerpt (Playwright appends both), whole otherwise. */
export function messageWithoutStack(message: string): string {
  const lines = message.split('\n');
  const stack = lines.findIndex((line) => /^\s+at .+/.test(line) || /^\s*>?\s*\d+ \|/.test(line));
  const kept = (stack === -1 ? lines : lines.slice(0, stack)).join('\n').trim();
  return kept.length > MESSAGE_CHARS ? `${kept.slice(0, MESSAGE_CHARS)}…` : kept;
}

const VALUE_CHARS = 600;

function bounded(value: string): string {
  const flat = value.trim();
  return flat.length > VALUE_CHARS ? `${flat.slice(0, VALUE_CHARS)}…` : flat;
}

/**
 * The finding a failed check states, as a requirement's reason: the message
 * its assertion was given (which names the problem), followed by what was
 * received when that says more than the message itself (not for a bare
 * true/false). Never cut at the first line: a multi-line message (a JSON
 * body) is kept whole (bounded).
 */
export function findingOf(check: Pick<CheckResult, 'error' | 'expected' | 'actual' | 'status'>): string | undefined {
  if (!check.error) return check.status === 'timed-out' ? 'the check timed out' : undefined;
  let text = messageWithoutStack(check.error).replace(/^(?:Error|AssertionError): /, '');
  // Playwright's "expect(received).toBe(expected)" block follows the custom message after a blank line.
  const matcher = /(?:^|\n)\s*(?:\n\s*)?expect\((?:received|locator|page)\)[^\n]*(?:\n|$)/.exec(text);
  const custom = matcher ? text.slice(0, matcher.index).trim() : '';
  if (matcher) text = custom || text.slice(matcher.index).trim();
  const { expected, actual } = check;
  const trivial = (value: string | undefined) => value === undefined || /^(true|false|undefined)$/.test(value.trim());
  if (custom && !trivial(actual) && !custom.includes(actual!.trim()))
    return `${custom} (expected ${bounded(expected ?? '?')}, received ${bounded(actual!)})`;
  if (!custom && matcher && (expected !== undefined || actual !== undefined))
    return `expected ${bounded(expected ?? '?')}, received ${bounded(actual ?? '?')}`;
  return text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS)}…` : text;
}

/** The outcome of one requirement from its metadata and checks. */
export function requirementOutcome(
  requirement: Pick<RequirementResult, 'strength' | 'informational' | 'needsDriver' | 'notApplicable'>,
  checks: readonly CheckResult[],
  shard?: { current: number; total: number },
): { outcome: Outcome; reason?: string } {
  if (checks.length === 0) {
    if (requirement.notApplicable) return { outcome: 'not-applicable', reason: requirement.notApplicable };
    if (shard) return { outcome: 'not-run', reason: `no check of it ran in shard ${shard.current}/${shard.total}` };
    return {
      outcome: 'not-run',
      reason: requirement.needsDriver
        ? 'no automated check ran (it needs a driver step this run did not do)'
        : 'no automated check exists yet',
    };
  }
  if (checks.some((c) => c.status === 'failed' || c.status === 'timed-out')) {
    const failing =
      checks.find((c) => (c.status === 'failed' || c.status === 'timed-out') && c.error) ??
      checks.find((c) => c.status === 'failed' || c.status === 'timed-out');
    const reason = (failing ? findingOf(failing) : undefined) ?? 'a check failed';
    return { outcome: requirement.strength === 'must' && !requirement.informational ? 'failed' : 'warning', reason };
  }
  // A harness error leaves the requirement unjudged, whatever its other checks did: no pass on a partial run.
  const errored = checks.find((c) => c.status === 'error');
  if (errored) return { outcome: 'error', reason: errored.error ?? 'harness error' };
  if (checks.every((c) => c.status === 'not-run' || c.status === 'interrupted')) {
    return { outcome: 'not-run', reason: checks.find((c) => c.reason)?.reason ?? 'the check did not run' };
  }
  return { outcome: 'passed' };
}

/** The MUST figures behind the badge and the headline: passed / (passed + failed) of MUST requirements. */
export function mustSummary(requirements: readonly RequirementResult[]): MustSummary {
  const must = requirements.filter((r) => r.strength === 'must' && !r.informational);
  const failed = must.filter((r) => r.outcome === 'failed');
  return {
    tested: must.filter((r) => r.outcome === 'passed' || r.outcome === 'failed').length,
    passed: must.filter((r) => r.outcome === 'passed').length,
    failed: failed.length,
    expectedFailures: failed.filter((r) => r.expectedFailure).length,
    notRun: must.filter((r) => r.outcome === 'not-run').length,
    notApplicable: must.filter((r) => r.outcome === 'not-applicable').length,
  };
}

/**
 * Recomputes every derived part of the results in place: each requirement's
 * outcome, reason and expectation flags, the summary, the verdict and the
 * interop cells. Used after building a run and after merging shards.
 */
export function finalizeResults(results: ComplianceResults): ComplianceResults {
  const declared = new Set(results.expectations.declared);
  results.expectations.declared = [...declared].sort(compareIds);
  for (const r of results.requirements) {
    const deselected = results.run.only && r.checks.length === 0 && !results.run.only.includes(r.id);
    const { outcome, reason } = deselected
      ? { outcome: 'not-run' as const, reason: `not selected (${results.run.selectedBy ?? '--only'})` }
      : requirementOutcome(r, r.checks, results.run.shard);
    r.outcome = outcome;
    if (reason) r.reason = reason;
    else delete r.reason;
    delete r.expectedFailure;
    delete r.unexpectedPass;
    if (declared.has(r.id)) {
      r.expectedFailure = true;
      if (outcome === 'passed') r.unexpectedPass = true;
    }
  }
  const byOutcome = emptyCounts();
  const byLevel: Record<string, OutcomeCounts> = {};
  const byArea: Record<string, OutcomeCounts> = {};
  for (const r of results.requirements) {
    byOutcome[r.outcome]++;
    (byLevel[r.level] ??= emptyCounts())[r.outcome]++;
    (byArea[r.area] ??= emptyCounts())[r.outcome]++;
  }
  const allChecks = new Map<string, CheckResult>();
  for (const r of results.requirements) for (const c of r.checks) allChecks.set(c.id, c);
  const checkList = [...allChecks.values()];
  results.summary = {
    byOutcome,
    byLevel,
    byArea,
    checks: {
      run: checkList.filter((c) => c.status !== 'not-run' && c.status !== 'interrupted').length,
      passed: checkList.filter((c) => c.status === 'passed').length,
      failed: checkList.filter((c) => c.status === 'failed' || c.status === 'timed-out').length,
      notRun: checkList.filter((c) => c.status === 'not-run' || c.status === 'interrupted').length,
      ...(checkList.some((c) => c.status === 'error') ? { errors: checkList.filter((c) => c.status === 'error').length } : {}),
    },
    must: mustSummary(results.requirements),
  };
  const failOn = results.run.failOn ?? 'must';
  const failed = results.requirements.filter((r) => failsAtThreshold(r, failOn));
  const inconclusive = inconclusiveReason(results, checkList);
  results.verdict = {
    pass: failed.every((r) => declared.has(r.id)) && inconclusive === undefined,
    mustFailures: failed.filter((r) => r.outcome === 'failed' && !declared.has(r.id)).map((r) => r.id),
    ...(failOn === 'should'
      ? { shouldFailures: failed.filter((r) => r.outcome === 'warning' && !declared.has(r.id)).map((r) => r.id) }
      : {}),
    expectedFailures: failed.filter((r) => declared.has(r.id)).map((r) => r.id),
    unexpectedPasses: results.requirements.filter((r) => r.unexpectedPass).map((r) => r.id),
    ...(inconclusive ? { inconclusive } : {}),
  };
  const cells = new Map<string, InteropCell>();
  for (const c of checkList) {
    if (!c.interop) continue;
    const key = `${c.interop.sender}\u0000${c.interop.receiver}`;
    const cell = cells.get(key) ?? { sender: c.interop.sender, receiver: c.interop.receiver, checks: 0, passed: 0, failed: 0, notRun: 0 };
    cell.checks++;
    if (c.status === 'passed') cell.passed++;
    else if (c.status === 'failed' || c.status === 'timed-out') cell.failed++;
    else cell.notRun++;
    cells.set(key, cell);
  }
  if (cells.size) results.interop = [...cells.values()];
  else delete results.interop;
  return results;
}

/**
 * Why the run cannot be judged, or undefined: harness errors (checks whose
 * outcome is `error`, suite files that did not load, a test runner that
 * failed), or no requirement judged at all (passed, failed or warning).
 */
function inconclusiveReason(results: ComplianceResults, checks: readonly CheckResult[]): string | undefined {
  const errors = checks.filter((c) => c.status === 'error').length + (results.run.errors?.length ?? 0);
  if (errors > 0) return `${errors} harness error${errors === 1 ? '' : 's'}`;
  // A shard may hold nothing of a selection; the merged results are judged as a whole.
  if (results.run.shard) return undefined;
  const judged = results.requirements.some((r) => r.outcome === 'passed' || r.outcome === 'failed' || r.outcome === 'warning');
  return judged ? undefined : 'no requirement was judged';
}

/** The errors of Playwright's report outside any test: spec files that failed to load, a global setup that threw. */
export function reportRunErrors(report: PlaywrightReport): RunError[] {
  // Stopping at --max-failures is Playwright's own report of failed checks, not an error of the run.
  const errors = (report.errors ?? []).filter((e) => !/stopped early after \d+ maximum allowed failures/.test(e.message ?? ''));
  return errors.map((e) => {
    const location = e.location?.file
      ? `${e.location.file.replace(/^.*?\/(suites|results|reports|cli)\//, '$1/')}${e.location.line ? `:${e.location.line}` : ''}`
      : undefined;
    return {
      kind: 'load' as const,
      message: messageWithoutStack(stripAnsi(e.message ?? e.stack ?? 'an error outside any check')),
      ...(location ? { location } : {}),
    };
  });
}

/** The process exit code for a run's results: 0 pass, 1 a MUST failed, 3 inconclusive (never a pass). */
export function resultsExitCode(results: ComplianceResults): 0 | 1 | 3 {
  if (results.verdict.inconclusive) return 3;
  return results.verdict.pass ? 0 : 1;
}

export function buildComplianceResults(report: PlaywrightReport, options: BuildOptions): ComplianceResults {
  const { byRequirement, transcripts } = collectChecks(
    report,
    { target: options.target.name, ...(options.interopWith ? { partner: options.interopWith.name } : {}) },
    options.attachmentsRoot,
    options.stoppedBecause,
  );
  const requirements: RequirementResult[] = [];
  for (const base of options.catalogue.requirements) {
    const requirement = options.selected.get(base.id) ?? base;
    const gate = options.selected.has(base.id) ? options.gateReason(requirement) : `not part of profile ${options.profile}`;
    requirements.push({
      id: base.id,
      level: requirement.level,
      strength: requirement.strength,
      area: base.area,
      section: base.section,
      summary: base.summary,
      informational: requirement.informational,
      needsDriver: base.needsDriver,
      ...(gate ? { notApplicable: gate } : {}),
      outcome: 'not-run',
      checks: byRequirement.get(base.id) ?? [],
    });
  }
  const started = report.stats?.startTime ?? new Date().toISOString();
  const discovery = options.target.discovery;
  const runErrors = [...reportRunErrors(report), ...(options.runErrors ?? [])];
  const results: ComplianceResults = {
    format: RESULTS_FORMAT,
    tool: { name: 'ocm-conformance', version: options.toolVersion },
    run: {
      startedAt: started,
      durationMs: Math.round(report.stats?.duration ?? 0),
      profile: options.profile,
      ...(options.profileReason ? { profileReason: options.profileReason } : {}),
      ...(options.profileWarning ? { profileWarning: options.profileWarning } : {}),
      ...(options.failOn ? { failOn: options.failOn } : {}),
      ...(options.shard ? { shard: options.shard } : {}),
      ...(options.grep ? { grep: options.grep } : {}),
      ...(options.selection ? { only: options.selection.only, selectedBy: options.selection.selectedBy } : {}),
      ...(runErrors.length ? { errors: runErrors } : {}),
    },
    target: {
      name: options.target.name,
      url: options.target.url,
      ...(typeof discovery?.apiVersion === 'string' ? { apiVersion: discovery.apiVersion } : {}),
      ...(discovery ? { discovery } : {}),
      ...(options.target.discoveryFetch ? { discoveryFetch: options.target.discoveryFetch } : {}),
      ...(options.target.insecure ? { insecure: true } : {}),
    },
    ...(options.interopWith ? { interopWith: options.interopWith } : {}),
    peers: options.peers,
    expectations: {
      ...(options.expectations?.file ? { file: options.expectations.file } : {}),
      ...(options.expectations?.implementation ? { implementation: options.expectations.implementation } : {}),
      declared: options.expectedFailures,
    },
    summary: undefined as never,
    verdict: undefined as never,
    requirements,
    transcripts,
  };
  // Secrets never leave the run: every string of the results is redacted once more.
  return redactDeep(finalizeResults(results));
}

/** The closing table: per area passed, failed, warnings, not applicable, not run; then each failed MUST. */
export function closingTable(results: ComplianceResults): string {
  const rows = Object.entries(results.summary.byArea).sort(([a], [b]) => a.localeCompare(b));
  const header = ['area', 'passed', 'failed', 'warning', 'n/a', 'not run', 'error'];
  const body = rows.map(([area, c]) => [area, c.passed, c.failed, c.warning, c['not-applicable'], c['not-run'], c.error ?? 0].map(String));
  const total = results.summary.byOutcome;
  body.push(['TOTAL', total.passed, total.failed, total.warning, total['not-applicable'], total['not-run'], total.error ?? 0].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const failed = results.requirements.filter((r) => r.outcome === 'failed');
  if (failed.length) {
    out.push('', 'Failed MUST requirements:');
    for (const r of failed) out.push(`  ${r.id}${r.expectedFailure ? ' (expected)' : ''}  ${r.summary}\n      ${r.reason ?? ''}`);
  }
  const failedShould = results.requirements.filter((r) => r.outcome === 'warning' && failsAtThreshold(r, results.run.failOn));
  if (failedShould.length) {
    out.push('', 'Failed SHOULD requirements (--fail-on should):');
    for (const r of failedShould) out.push(`  ${r.id}${r.expectedFailure ? ' (expected)' : ''}  ${r.summary}\n      ${r.reason ?? ''}`);
  }
  for (const id of results.verdict.unexpectedPasses) out.push(`  unexpected pass: ${id} (declared as an expected failure)`);
  const errors = harnessErrors(results);
  if (errors.length) {
    out.push('', "Harness errors (ours, not the target's; the run is inconclusive):");
    for (const e of errors) out.push(`  ${e.where}\n      ${e.message.replace(/\n/g, '\n      ')}`);
  }
  return out.join('\n');
}

/** Every harness error of a run, for the reports' own section: errors of the run, then checks whose status is `error`. */
export function harnessErrors(results: ComplianceResults): Array<{ where: string; message: string; requirements: string[] }> {
  const out: Array<{ where: string; message: string; requirements: string[] }> = [];
  for (const e of results.run.errors ?? [])
    out.push({
      where: e.kind === 'runner' ? 'test runner' : e.location ? `suite file did not load: ${e.location}` : 'outside any check',
      message: e.message,
      requirements: [],
    });
  const seen = new Map<string, { where: string; message: string; requirements: string[] }>();
  for (const r of results.requirements)
    for (const c of r.checks) {
      if (c.status !== 'error') continue;
      const entry = seen.get(c.id) ?? {
        where: `${c.title} (${c.line ? `${c.file}:${c.line}` : c.file})`,
        message: c.error ?? 'harness error',
        requirements: [],
      };
      entry.requirements.push(r.id);
      seen.set(c.id, entry);
    }
  return [...out, ...seen.values()];
}
