/**
 * (g) A run against a failing target costs at most 1.5× a clean run.
 *
 * Two embedded pairs start in this process, side by side on their own
 * loopback subnets: one clean, one whose target runs with the faults of the
 * default configuration at once (reference/base/faults.ts; see
 * FAILING_TARGET_FAULTS for the two left out), so most areas fail. `ocm-conformance run
 * --target-config` judges each in turn, alternated round by round so load
 * drift hits both; the figure is the ratio of the median wall times.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOW_FAULTS, FAULTS } from '../reference/base/faults.ts';
import type { ConfigLayer } from '../reference/embedded.ts';
import { startEmbeddedTargets, type EmbeddedTargets } from '../suites/harness/global-setup.ts';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { median, runNode, table } from './lib.ts';

interface Verdict {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}

/**
 * Faults that need no other configuration and leave the target answering: together they fail most areas.
 * Left out as well: refusing every valid signature, which would make most checks not run (their setup
 * is a signed request) rather than fail, and so a cheaper run than the one this figure is about.
 */
const LEFT_OUT = new Set(['target-stops-answering', 'sig-valid-signature-refused']);
export const FAILING_TARGET_FAULTS = FAULTS.filter((f) => (!f.setup || Object.keys(f.setup).length === 0) && !LEFT_OUT.has(f.name)).map(
  (f) => f.name,
);

const TARGET_RATIO = 1.5;

interface RunFigures {
  wallMs: number;
  checks: number;
  failed: number;
  exit: number | null;
}

async function judge(targets: EmbeddedTargets, subnet: string): Promise<RunFigures> {
  const reportDir = await mkdtemp(join(tmpdir(), 'ocm-bench-failing-'));
  try {
    const { code, wallMs, output } = await runNode(
      [
        join(PROJECT_ROOT, 'bin/ocm-conformance.js'),
        'run',
        '--target-config',
        targets.configFile,
        '--profile',
        'main',
        '--report-dir',
        reportDir,
      ],
      600_000,
      { OCM_SUBNET: subnet },
    );
    let summary: { checks?: { run?: number; failed?: number } } = {};
    try {
      summary = (JSON.parse(await readFile(join(reportDir, 'compliance-results.json'), 'utf8')) as { summary: typeof summary }).summary;
    } catch {
      throw new Error(`the run wrote no results (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    return { wallMs, checks: summary.checks?.run ?? 0, failed: summary.checks?.failed ?? 0, exit: code };
  } finally {
    await rm(reportDir, { recursive: true, force: true });
  }
}

export async function benchFailingTarget(options: { rounds: number }): Promise<{ verdicts: Verdict[]; results: Record<string, unknown> }> {
  console.log(
    `\n(g) a failing target: ocm-conformance run against the reference with ${FAILING_TARGET_FAULTS.length} faults vs unfaulted, ${options.rounds} alternations`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'ocm-bench-pairs-'));
  const faulted: ConfigLayer = { faults: FAILING_TARGET_FAULTS, [ALLOW_FAULTS]: true } as ConfigLayer;
  const clean = await startEmbeddedTargets(join(dir, 'clean'), { subnet: '127.91.0' });
  const failing = await startEmbeddedTargets(join(dir, 'failing'), { subnet: '127.92.0', configureTarget: faulted });
  const runs: { clean: RunFigures[]; failing: RunFigures[] } = { clean: [], failing: [] };
  try {
    for (let round = 0; round < options.rounds; round++) {
      runs.clean.push(await judge(clean, '127.91.0'));
      runs.failing.push(await judge(failing, '127.92.0'));
      const last = (name: 'clean' | 'failing') => runs[name].at(-1)!;
      console.log(
        `  round ${round + 1}: clean ${(last('clean').wallMs / 1000).toFixed(1)} s, failing ${(last('failing').wallMs / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await Promise.allSettled([clean.close(), failing.close()]);
    await rm(dir, { recursive: true, force: true });
  }
  const cleanMs = median(runs.clean.map((r) => r.wallMs));
  const failingMs = median(runs.failing.map((r) => r.wallMs));
  const ratio = failingMs / cleanMs;
  const row = (label: string, r: RunFigures[], ms: number) => [
    label,
    (ms / 1000).toFixed(1),
    r[0]!.checks,
    r[0]!.failed,
    r[0]!.exit ?? '?',
  ];
  console.log(
    table(
      ['target', 'median wall s', 'checks', 'failed', 'exit'],
      [row('reference, unfaulted', runs.clean, cleanMs), row(`reference, ${FAILING_TARGET_FAULTS.length} faults`, runs.failing, failingMs)],
    ),
  );
  const failing0 = runs.failing[0]!;
  return {
    verdicts: [
      {
        figure: '(g) run against a failing target / clean run, wall time',
        value: `${ratio.toFixed(2)} (${(failingMs / 1000).toFixed(1)} s with ${failing0.failed} of ${failing0.checks} checks failed, vs ${(cleanMs / 1000).toFixed(1)} s)`,
        target: `≤ ${TARGET_RATIO}`,
        met: ratio <= TARGET_RATIO,
      },
    ],
    results: { faults: FAILING_TARGET_FAULTS, clean: runs.clean, failing: runs.failing, ratio },
  };
}
