/**
 * The console reporter of `ocm-conformance run`: one line per check as it
 * ends, marked by what the check's own status says.
 *
 * Playwright's `list` reporter counts a finding that kept its worker
 * (kept-workers.ts) among the passes in its closing tally; this one reads
 * the status and the harness's annotations instead, so a failed check is
 * never summed up as passed. The verdict itself is printed by `run` from the
 * results (results/model.ts); this is progress, not the judgement.
 */
import type { FullConfig, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';

type Mark = 'passed' | 'failed' | 'not run' | 'error' | 'timed out' | 'interrupted';

const SYMBOL: Record<Mark, string> = {
  passed: '✓',
  failed: '✘',
  'not run': '-',
  error: '!',
  'timed out': '✘',
  interrupted: '-',
};

/** What a finished check is, as the results will call it (before the liveness watch's corrections). */
export function checkMark(test: Pick<TestCase, 'annotations'>, result: Pick<TestResult, 'status' | 'annotations'>): Mark {
  const annotations = [...test.annotations, ...result.annotations];
  if (annotations.some((a) => a.type === 'error')) return 'error';
  switch (result.status) {
    case 'passed':
      return 'passed';
    case 'skipped':
      return 'not run';
    case 'timedOut':
      return 'timed out';
    case 'interrupted':
      return 'interrupted';
    default:
      return 'failed';
  }
}

export default class CheckReporter implements Reporter {
  private total = 0;
  private done = 0;
  private readonly tally = new Map<Mark, number>();

  printsToStdio(): boolean {
    return true;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.total = suite.allTests().length;
    console.log(`Running ${this.total} checks using ${config.workers} worker${config.workers === 1 ? '' : 's'}`);
  }

  onStdOut(chunk: string | Buffer): void {
    process.stdout.write(chunk);
  }

  onStdErr(chunk: string | Buffer): void {
    process.stderr.write(chunk);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    const mark = checkMark(test, result);
    this.done++;
    this.tally.set(mark, (this.tally.get(mark) ?? 0) + 1);
    const why = result.annotations.find((a) => a.type === 'not-run')?.description;
    const detail = mark === 'not run' && why ? ` (${why})` : mark === 'passed' ? '' : ` ${mark}`;
    console.log(`  ${SYMBOL[mark]} ${this.done}/${this.total} ${test.title} (${Math.round(result.duration)} ms)${detail}`);
  }

  onError(error: TestError): void {
    // A suite file that fails to load, a global setup that throws: shown whole; the run calls it inconclusive.
    console.error(
      `error: ${error.message ?? error.value ?? 'unknown error'}${error.location ? ` (${error.location.file}:${error.location.line})` : ''}`,
    );
  }

  onEnd(): void {
    const parts = [...this.tally].map(([mark, n]) => `${n} ${mark}`);
    console.log(`${this.done} checks ended${parts.length ? `: ${parts.join(', ')}` : ''}`);
  }
}
