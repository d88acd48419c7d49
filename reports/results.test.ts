import { test, expect } from '@playwright/test';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareIds, expectedActual, finalizeResults, RESULTS_SCHEMA_URL, type ComplianceResults } from '../results/model.ts';
import { mergeResults } from './merge.ts';
import { readResults, resultsProblems, ResultsFileError, writeResults } from '../results/schema.ts';
import { sampleResults } from '../selftest/report-sample.ts';

const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));
const storedRuns = readdirSync(RUNS).filter((f) => f.endsWith('.json'));

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

test.describe('the results model', () => {
  test('built results, stored runs and a written-then-read file validate against the schema', async () => {
    const { results } = sampleResults();
    expect(resultsProblems(results)).toEqual([]);
    expect(storedRuns.length).toBeGreaterThanOrEqual(3);
    for (const file of storedRuns) expect(resultsProblems(JSON.parse(await readFile(join(RUNS, file), 'utf8'))), file).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'ocm-results-'));
    await writeResults(join(dir, 'r.json'), results);
    expect(await readResults(join(dir, 'r.json'))).toEqual({ $schema: RESULTS_SCHEMA_URL, ...results });
  });

  test('the schema refuses what is not results', async () => {
    const { results } = sampleResults();
    const noVerdict = clone(results) as Partial<ComplianceResults>;
    delete noVerdict.verdict;
    expect(resultsProblems(noVerdict).join('\n')).toContain("must have required property 'verdict'");
    const badOutcome = clone(results);
    (badOutcome.requirements[0] as { outcome: string }).outcome = 'skipped';
    expect(resultsProblems(badOutcome).join('\n')).toContain('/requirements/0/outcome');
    const extra = clone(results) as ComplianceResults & { extra?: number };
    extra.extra = 1;
    expect(resultsProblems(extra).join('\n')).toContain('additional properties');
    const dangling = clone(results);
    const withTranscript = dangling.requirements.find((r) => r.checks.some((c) => c.transcript))!;
    dangling.transcripts = {};
    expect(resultsProblems(dangling).join('\n')).toContain(`${withTranscript.id}: check`);
    const dir = await mkdtemp(join(tmpdir(), 'ocm-results-'));
    await writeFile(join(dir, 'bad.json'), JSON.stringify(noVerdict));
    await expect(readResults(join(dir, 'bad.json'))).rejects.toBeInstanceOf(ResultsFileError);
    await expect(writeResults(join(dir, 'never.json'), noVerdict as ComplianceResults)).rejects.toThrow(
      /not a valid compliance results file/,
    );
  });

  test('every outcome, the expectations and the verdict come out as the checks say', () => {
    const { results, ids } = sampleResults();
    const byId = new Map(results.requirements.map((r) => [r.id, r]));
    expect(byId.get(ids.pass)!.outcome).toBe('passed');
    expect(byId.get(ids.fail)!.outcome).toBe('failed');
    expect(byId.get(ids.xfail)).toMatchObject({ outcome: 'failed', expectedFailure: true });
    expect(byId.get(ids.xpass)).toMatchObject({ outcome: 'passed', expectedFailure: true, unexpectedPass: true });
    expect(byId.get(ids.warning)!.outcome).toBe('warning');
    expect(byId.get(ids.notRun)).toMatchObject({ outcome: 'not-run', reason: 'the none driver cannot share' });
    expect(byId.get(ids.notApplicable)).toMatchObject({
      outcome: 'not-applicable',
      reason: 'the target does not advertise the sample capability',
    });
    expect(byId.get(ids.multiA)!.checks[0]!.id).toBe(byId.get(ids.multiB)!.checks[0]!.id);
    expect(byId.get(ids.interop)!.outcome).toBe('failed'); // one of its two checks timed out
    expect(results.verdict).toEqual({
      pass: false,
      mustFailures: [ids.fail, ids.interop].sort(
        (a, b) => results.requirements.findIndex((r) => r.id === a) - results.requirements.findIndex((r) => r.id === b),
      ),
      expectedFailures: [ids.xfail],
      unexpectedPasses: [ids.xpass],
    });
    // Counts add up.
    const sum = Object.values(results.summary.byOutcome).reduce((a, b) => a + b, 0);
    expect(sum).toBe(results.requirements.length);
    for (const [area, counts] of Object.entries(results.summary.byArea)) {
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(results.requirements.filter((r) => r.area === area).length);
    }
    const must = results.requirements.filter((r) => r.strength === 'must' && !r.informational);
    expect(results.summary.must).toEqual({
      tested: must.filter((r) => r.outcome === 'passed' || r.outcome === 'failed').length,
      passed: must.filter((r) => r.outcome === 'passed').length,
      failed: must.filter((r) => r.outcome === 'failed').length,
      expectedFailures: 1,
      notRun: must.filter((r) => r.outcome === 'not-run').length,
      notApplicable: must.filter((r) => r.outcome === 'not-applicable').length,
    });
    // Only the conformance project's tests are checks: 9 sample checks, one of them not run.
    expect(results.summary.checks).toEqual({ run: 8, passed: 4, failed: 4, notRun: 1 });
    expect(results.interop).toEqual([
      { sender: 'Sample <Cloud> & "Co"', receiver: 'Partner Cloud', checks: 1, passed: 1, failed: 0, notRun: 0 },
      { sender: 'Partner Cloud', receiver: 'Sample <Cloud> & "Co"', checks: 1, passed: 0, failed: 1, notRun: 0 },
    ]);
  });

  test('expected versus actual, and transcripts from inline bodies and from files', () => {
    const { results, ids } = sampleResults();
    const byId = new Map(results.requirements.map((r) => [r.id, r]));
    const failed = byId.get(ids.fail)!.checks[0]!;
    expect(failed).toMatchObject({ expected: '>= 400', actual: '201', status: 'failed', file: 'suites/sample/sample.spec.ts' });
    expect(failed.error).not.toContain('\u001b');
    expect(byId.get(ids.warning)!.checks[0]).toMatchObject({ expected: '"a": 1,', actual: '"a": 2,' });
    expect(expectedActual('no assertion here')).toEqual({});
    const fromFile = results.transcripts[failed.transcript!] as { sent: Array<{ request: { url: string } }> };
    expect(fromFile.sent[1]!.request.url).toContain('/ocm/notifications/');
    const inline = results.transcripts[byId.get(ids.pass)!.checks[0]!.transcript!] as { sent: Array<{ request: { url: string } }> };
    expect(inline.sent[1]!.request.url).toContain('/ocm/shares/');
  });

  test('merging shards gives the results of the whole run', () => {
    const { results } = sampleResults();
    // Split the sample's checks into two shards, each rebuilt as that shard would be.
    const checkIds = [...new Set(results.requirements.flatMap((r) => r.checks.map((c) => c.id)))];
    const shard = (n: 1 | 2): ComplianceResults => {
      const part = clone(results);
      part.run.shard = { current: n, total: 2 };
      part.run.startedAt = n === 1 ? '2026-11-29T10:00:00.000Z' : '2026-11-29T10:00:05.000Z';
      part.run.durationMs = n === 1 ? 10_000 : 2_000;
      for (const r of part.requirements) r.checks = r.checks.filter((c) => checkIds.indexOf(c.id) % 2 === n - 1);
      return finalizeResults(part);
    };
    const [one, two] = [shard(1), shard(2)];
    expect(resultsProblems(one)).toEqual([]);
    expect(one.verdict).not.toEqual(results.verdict);
    expect(one.requirements.some((r) => r.reason === 'no check of it ran in shard 1/2')).toBe(true);
    const merged = mergeResults([two, one]);
    expect(resultsProblems(merged)).toEqual([]);
    expect(merged.verdict).toEqual(results.verdict);
    expect(merged.summary).toEqual(results.summary);
    expect(merged.requirements.map((r) => [r.id, r.outcome, r.reason])).toEqual(
      results.requirements.map((r) => [r.id, r.outcome, r.reason]),
    );
    expect(merged.run.mergedFrom!.map((p) => p.shard!.current)).toEqual([1, 2]);
    expect(merged.run.shard).toBeUndefined();
    expect(merged.run.durationMs).toBe(10_000);
    expect(() => mergeResults([one])).toThrow(/shard 2 of 2 missing/);
    expect(() => mergeResults([one, one, two])).toThrow(/given twice/);
    // A check present in two parts (a retried shard): the failing record wins, whichever comes first.
    const passedTwice = results.requirements.find((r) => r.outcome === 'passed' && r.checks.length === 1 && !r.unexpectedPass)!;
    const [a, b] = [shard(1), shard(2)];
    const [ra, rb] = [a, b].map((p) => p.requirements.find((r) => r.id === passedTwice.id)!);
    ra!.checks = [{ ...passedTwice.checks[0]! }];
    rb!.checks = [{ ...passedTwice.checks[0]!, status: 'failed', error: 'Error: flaky' }];
    for (const parts of [
      [a, b],
      [b, a],
    ]) {
      const m = mergeResults(parts.map((p) => finalizeResults(clone(p))));
      expect(m.requirements.find((r) => r.id === passedTwice.id)!.checks).toEqual([
        { ...passedTwice.checks[0]!, status: 'failed', error: 'Error: flaky' },
      ]);
    }
    const other = clone(two);
    other.target.name = 'another';
    expect(() => mergeResults([one, other])).toThrow(/different targets/);
  });

  test('requirement IDs sort by number within a prefix', () => {
    expect(['SHR-12', 'DISC-3', 'SHR-2', 'DISC-10'].sort(compareIds)).toEqual(['DISC-3', 'DISC-10', 'SHR-2', 'SHR-12']);
  });
});
