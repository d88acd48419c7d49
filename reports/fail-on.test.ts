/**
 * The run's threshold (`run --fail-on must|should`, results `run.failOn`):
 * with `should`, a SHOULD not met fails the verdict, the verdict line says
 * so, and JUnit (and CTRF, annotations, HTML, Markdown, the ledger) follow it; below the
 * threshold a SHOULD failure stays a passing JUnit testcase with a `warning`
 * property and a WARNING line.
 */
import { test, expect } from '@playwright/test';
import { failsAtThreshold, finalizeResults, type ComplianceResults, type FailOn } from '../results/model.ts';
import { resultsProblems } from '../results/schema.ts';
import { sampleResults } from '../selftest/report-sample.ts';
import { githubAnnotations } from './annotations.ts';
import { renderCtrf } from './ctrf.ts';
import { ledgerFromResults } from './expectations.ts';
import { verdictText } from './format.ts';
import { renderHtml } from './html.ts';
import { junitCases, renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';

/** The sample run with every failed MUST declared as expected, so only its SHOULD warning is left to decide. */
function onlyAShouldFails(failOn: FailOn | undefined): { results: ComplianceResults; warningId: string } {
  const { results, ids } = sampleResults();
  const failedMust = results.requirements.filter((r) => r.outcome === 'failed').map((r) => r.id);
  results.expectations.declared = [...new Set([...results.expectations.declared, ...failedMust])];
  if (failOn) results.run.failOn = failOn;
  finalizeResults(results);
  return { results, warningId: ids.warning };
}

/** The JUnit testcase element of a requirement's first check. */
function testcaseOf(xml: string, id: string): string {
  const match = new RegExp(`<testcase [^>]*classname="ocm\\.[^"]*\\.${id}"[\\s\\S]*?</testcase>`).exec(xml);
  expect(match, `testcase of ${id}`).not.toBeNull();
  return match![0];
}

test('at the default threshold a SHOULD not met passes the run, and JUnit keeps it a passing case with a warning', () => {
  for (const failOn of [undefined, 'must'] as const) {
    const { results, warningId } = onlyAShouldFails(failOn);
    expect(results.verdict.pass).toBe(true);
    expect(results.verdict.shouldFailures).toBeUndefined();
    expect(verdictText(results)).not.toContain('--fail-on');
    const junit = renderJunit(results);
    const testcase = testcaseOf(junit, warningId);
    expect(testcase).not.toContain('<failure');
    expect(testcase).toContain('<property name="outcome" value="warning"/>');
    expect(testcase).toMatch(/<property name="warning" value="[^"]+"\/>/);
    expect(testcase).toMatch(/<system-out>WARNING \(SHOULD not met\): /);
    expect(resultsProblems(results)).toEqual([]);
  }
});

test('with --fail-on should a SHOULD not met fails the run; the verdict, JUnit, CTRF and annotations say so', () => {
  const { results, warningId } = onlyAShouldFails('should');
  expect(results.run.failOn).toBe('should');
  expect(results.verdict).toMatchObject({ pass: false, mustFailures: [], shouldFailures: [warningId] });
  expect(verdictText(results)).toBe(`FAIL: 1 SHOULD requirement not met (${warningId}) (--fail-on should)`);
  const junit = renderJunit(results);
  const testcase = testcaseOf(junit, warningId);
  expect(testcase).toContain('<failure type="SHOULD"');
  expect(testcase).not.toContain('<system-out>WARNING');
  expect(junit).toContain('<property name="fail-on" value="should"/>');
  expect(
    junitCases(results)
      .filter((c) => c.kind === 'failure')
      .map((c) => c.requirement.id),
  ).toEqual([warningId]);
  const ctrf = JSON.parse(renderCtrf(results)) as { results: { tests: Array<{ status: string; labels: { requirement: string } }> } };
  expect(ctrf.results.tests.filter((t) => t.status === 'failed').map((t) => t.labels.requirement)).toEqual([warningId]);
  expect(githubAnnotations(results).filter((l) => l.startsWith('::error '))).toEqual([
    expect.stringMatching(new RegExp(`^::error title=${warningId} \\(SHOULD\\)::`)),
  ]);
  expect(ledgerFromResults(results, { expectedFailures: [] }).expectedFailures).toContain(warningId);
  expect(renderMarkdown(results)).toContain('SHOULD requirements not met, failing the run with --fail-on should (1)');
  expect(renderHtml(results)).toContain('id="should-failures"');
  expect(resultsProblems(results)).toEqual([]);
});

test('a declared SHOULD failure does not fail the run at should; MAY and informational requirements never do', () => {
  const { results, warningId } = onlyAShouldFails('should');
  results.expectations.declared.push(warningId);
  finalizeResults(results);
  expect(results.verdict.pass).toBe(true);
  expect(results.verdict.expectedFailures).toContain(warningId);
  expect(verdictText(results)).toMatch(/^PASS: no MUST requirement failed and no SHOULD requirement unmet, .*\(--fail-on should\)$/);
  expect(testcaseOf(renderJunit(results), warningId)).toContain('<skipped message="expected failure: ');
  expect(failsAtThreshold({ outcome: 'warning', strength: 'may', informational: false }, 'should')).toBe(false);
  expect(failsAtThreshold({ outcome: 'warning', strength: 'should', informational: true }, 'should')).toBe(false);
  expect(failsAtThreshold({ outcome: 'warning', strength: 'should', informational: false }, 'must')).toBe(false);
  expect(failsAtThreshold({ outcome: 'failed', strength: 'must', informational: false }, 'must')).toBe(true);
});
