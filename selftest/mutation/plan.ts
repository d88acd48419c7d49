/**
 * The pure parts of the mutation run (run.ts): which configurations need an
 * unfaulted baseline, which checks a fault's run selects, when a fault
 * counts as detected, and the printed table.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ComplianceResults, PlaywrightReport } from '../../results/model.ts';
import { CONFORMANCE_PROJECT, LIVENESS_REQUIREMENT, TARGET_DOWN_ANNOTATION, TARGET_STOPPED_ANNOTATION } from '../../results/model.ts';
import type { Fault, FaultSetup } from '../../reference/base/faults.ts';

export const MUTATION_FORMAT = 'ocm-conformance/mutation@1';

/** A configuration of the target instance: the default (no setup) or a fault's `setup`. */
export interface Variant {
  /** `default`, or a short name such as `criteria=must-use-http-sig`. */
  key: string;
  setup: FaultSetup;
}

export function variantOf(setup: FaultSetup | undefined): Variant {
  if (!setup || Object.keys(setup).length === 0) return { key: 'default', setup: {} };
  const key = Object.entries(setup)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(',');
  return { key, setup };
}

/** The distinct configurations the faults need, the default first: each gets one unfaulted baseline. */
export function variantsFor(faults: readonly Fault[]): Variant[] {
  const variants = new Map<string, Variant>([['default', variantOf(undefined)]]);
  for (const fault of faults) {
    const variant = variantOf(fault.setup);
    if (!variants.has(variant.key)) variants.set(variant.key, variant);
  }
  return [...variants.values()];
}

/**
 * A `--grep` pattern selecting the checks of `ids`: a check's title starts
 * with its IDs, so an ID counts only as a whole word (SHR-1 never selects SHR-10).
 */
export function grepFor(ids: readonly string[]): string {
  const escaped = [...new Set(ids)].map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `(?<![\\w-])(?:${escaped.join('|')})(?![\\w-])`;
}

/**
 * The spec files whose source names one of `ids` as a quoted string (every
 * check names its IDs so: `check(['SHR-4'], …)`, or in a table of cases):
 * a fault's run loads only these. `sources` maps file → text.
 */
export function specFilesFor(ids: readonly string[], sources: ReadonlyMap<string, string>): string[] {
  return [...sources]
    .filter(([, text]) => ids.some((id) => text.includes(`'${id}'`) || text.includes(`"${id}"`)))
    .map(([file]) => file)
    .sort();
}

/**
 * Every spec file under `root`/suites (paths relative to `root`) with its
 * source text, followed by the text of the sibling modules it imports
 * (`./discovery-rules.ts`: checks defined as data).
 */
export async function readSpecSources(root: string): Promise<Map<string, string>> {
  const entries = await readdir(join(root, 'suites'), { recursive: true });
  const files = entries.filter((e) => e.endsWith('.spec.ts')).map((e) => join('suites', e));
  const read = async (file: string) => {
    const text = await readFile(join(root, file), 'utf8');
    const siblings = [...text.matchAll(/from '\.\/([^'/]+\.ts)'/g)].map((m) => join(dirname(file), m[1]!));
    const extra = await Promise.all(siblings.map((s) => readFile(join(root, s), 'utf8').catch(() => '')));
    return [file, [text, ...extra].join('\n')] as const;
  };
  return new Map(await Promise.all(files.map(read)));
}

export interface ReportChecks {
  /** Requirement IDs with at least one check that failed (or timed out, or was interrupted). */
  failed: string[];
  checks: { run: number; passed: number; failed: number; notRun: number };
}

interface ReportSuite {
  specs?: Array<{
    tests: Array<{
      projectName?: string;
      annotations?: Array<{ type: string; description?: string }>;
      results: Array<{ status?: string; annotations?: Array<{ type: string; description?: string }> }>;
    }>;
  }>;
  suites?: ReportSuite[];
}

/** What a Playwright JSON report says about the conformance checks: which requirement IDs failed, and counts. */
export function checksOfReport(report: PlaywrightReport): ReportChecks {
  const failed = new Set<string>();
  const checks = { run: 0, passed: 0, failed: 0, notRun: 0 };
  const visit = (suite: ReportSuite) => {
    for (const child of suite.suites ?? []) visit(child);
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        if (test.projectName !== CONFORMANCE_PROJECT) continue;
        const result = test.results.at(-1);
        if (!result) continue;
        const annotations = [...(test.annotations ?? []), ...(result.annotations ?? [])];
        // The target stopped answering (suites/harness/liveness.ts): the check is not run, and the stop is ROB-10's failure.
        if (annotations.some((a) => a.type === TARGET_STOPPED_ANNOTATION)) failed.add(LIVENESS_REQUIREMENT);
        if (annotations.some((a) => a.type === TARGET_STOPPED_ANNOTATION || a.type === TARGET_DOWN_ANNOTATION)) {
          checks.notRun++;
          continue;
        }
        if (result.status === 'skipped') {
          checks.notRun++;
          continue;
        }
        checks.run++;
        if (result.status === 'passed') {
          checks.passed++;
          continue;
        }
        checks.failed++;
        // A harness error (ours) detects nothing: only a failed assertion counts against the target.
        if (annotations.some((a) => a.type === 'error')) continue;
        for (const a of annotations) if (a.type === 'requirement' && a.description) failed.add(a.description);
      }
    }
  };
  for (const suite of (report.suites ?? []) as ReportSuite[]) visit(suite);
  return { failed: [...failed].sort(), checks };
}

/** Requirement IDs with a failing check in a results file (a failed MUST or a warning for SHOULD/MAY). */
export function failedRequirements(results: Pick<ComplianceResults, 'requirements'>): string[] {
  return results.requirements.filter((r) => r.outcome === 'failed' || r.outcome === 'warning').map((r) => r.id);
}

export type FaultStatus = 'detected' | 'undetected' | 'crashed' | 'timed-out';

export interface FaultOutcome {
  name: string;
  area: string;
  description: string;
  /** The declared requirement IDs. */
  expected: string[];
  /** The configuration the faulted target ran with. */
  variant: string;
  status: FaultStatus;
  /** Declared IDs that failed (and passed on the unfaulted baseline of the same configuration). */
  detectedBy: string[];
  /** Every requirement ID that failed in the fault's run. */
  failed: string[];
  checks?: { run: number; passed: number; failed: number; notRun: number };
  durationMs: number;
  /** Why the run crashed or hung. */
  error?: string;
  /** Where the run's reports were kept (runs that did not detect the fault). */
  reportDir?: string;
}

/**
 * Whether a fault's run detected it: one of the declared IDs failed, and did
 * not already fail on the unfaulted baseline of the same configuration.
 */
export function judgeDetection(
  expected: readonly string[],
  failed: readonly string[],
  baselineFailed: readonly string[],
): { detected: boolean; detectedBy: string[] } {
  const detectedBy = expected.filter((id) => failed.includes(id) && !baselineFailed.includes(id));
  return { detected: detectedBy.length > 0, detectedBy };
}

export interface BaselineOutcome {
  variant: string;
  pass: boolean;
  /** MUST requirements that failed (each one a false alarm). */
  mustFailures: string[];
  /** SHOULD/MAY requirements with failing checks (reported; excluded from detection for this configuration). */
  warnings: string[];
  checks?: { run: number; passed: number; failed: number; notRun: number };
  durationMs: number;
  error?: string;
  reportDir?: string;
}

export interface MutationReport {
  format: typeof MUTATION_FORMAT;
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; node: string };
  /** CPU time of the whole mutation run (this process and every child), seconds: the wall time on idle cores is at least this over the core count. */
  cpuSeconds?: number;
  settings: { jobs: number; workersPerRun: number; maxFailuresPerRun: number; runTimeoutSeconds: number; only?: string[] };
  baseline: BaselineOutcome[];
  faults: FaultOutcome[];
  summary: { faults: number; detected: number; undetected: number; crashed: number; timedOut: number; pass: boolean };
}

export function summarise(baseline: readonly BaselineOutcome[], faults: readonly FaultOutcome[]): MutationReport['summary'] {
  const count = (status: FaultStatus) => faults.filter((f) => f.status === status).length;
  const summary = {
    faults: faults.length,
    detected: count('detected'),
    undetected: count('undetected'),
    crashed: count('crashed'),
    timedOut: count('timed-out'),
  };
  return { ...summary, pass: baseline.every((b) => b.pass) && summary.detected === summary.faults };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The printed table: fault, expected IDs, detected by, time. */
export function faultTable(faults: readonly FaultOutcome[]): string {
  const rows = faults.map((f) => [
    f.name,
    f.expected.join(' '),
    f.status === 'detected'
      ? f.detectedBy.join(' ')
      : f.status === 'undetected'
        ? `UNDETECTED${f.failed.length ? ` (failed: ${f.failed.join(' ')})` : ''}`
        : f.status.toUpperCase(),
    `${(f.durationMs / 1000).toFixed(1)} s`,
  ]);
  const header = ['fault', 'expected', 'detected by', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
