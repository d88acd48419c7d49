/**
 * Harness errors and INCONCLUSIVE verdicts in the results and in every
 * report format; reasons that are findings (whole, not escaped as HTML in
 * plain text).
 */
import { test, expect } from '@playwright/test';
import {
  buildComplianceResults,
  closingTable,
  findingOf,
  resultsExitCode,
  type ComplianceResults,
  type PlaywrightReport,
} from '../results/model.ts';
import { resultsProblems } from '../results/schema.ts';
import { sampleCatalogue, sampleResults } from '../selftest/report-sample.ts';
import { renderCtrf } from './ctrf.ts';
import { renderEarl } from './earl.ts';
import { verdictText } from './format.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { githubAnnotations } from './annotations.ts';
import { runnerErrors } from '../cli/run.ts';

const { catalogue, selectedList, selected } = sampleCatalogue();
const musts = selectedList.filter((r) => r.strength === 'must' && !r.informational && !r.capability && !r.criterion).map((r) => r.id);

function build(report: PlaywrightReport, extra: { runErrors?: Parameters<typeof runnerErrors>[0] } = {}): ComplianceResults {
  return buildComplianceResults(report, {
    catalogue,
    selected,
    profile: 'main',
    target: { name: 'probe', url: 'http://127.0.0.2:8080' },
    peers: [],
    expectedFailures: [],
    toolVersion: '0.0.0',
    gateReason: () => undefined,
    ...(extra.runErrors !== undefined ? { runErrors: runnerErrors(extra.runErrors, report) } : {}),
  });
}

function check(id: string, title: string, status: string, annotations: Array<{ type: string; description: string }>, error?: string) {
  return {
    id: `probe-${id}-${title.length}`,
    title: `${id} ${title}`,
    file: 'suites/harness/fixtures.ts',
    tests: [
      {
        projectName: 'conformance',
        annotations: [{ type: 'requirement', description: id }, ...annotations],
        results: [{ status, duration: 5, errors: error ? [{ message: error }] : [], annotations: [] }],
      },
    ],
  };
}

const [PASSING, ERRORED, STEP] = musts as [string, string, string];
const TYPE_ERROR = 'TypeError: Invalid URL (at suites/token/token-endpoint.spec.ts:40:11)';

function reportWithHarnessError(): PlaywrightReport {
  return {
    stats: { startTime: '2026-12-06T10:00:00.000Z', duration: 100, unexpected: 1 },
    suites: [
      {
        file: 'suites/probe.spec.ts',
        specs: [
          check(PASSING, 'passes', 'passed', []),
          check(ERRORED, 'passes <first> & then throws', 'passed', []),
          check(ERRORED, 'throws a TypeError', 'failed', [{ type: 'error', description: TYPE_ERROR }], 'TypeError: Invalid URL\n    at x'),
          check(STEP, 'cannot get ready', 'skipped', [{ type: 'not-run', description: 'setup failed: driver generateInvite: 409 exists' }]),
        ],
      },
    ],
  };
}

test.describe('harness errors and inconclusive runs', () => {
  test('a check with a harness error gives outcome error, never passed, even next to a passing check; the run is INCONCLUSIVE, exit 3', () => {
    const results = build(reportWithHarnessError(), { runErrors: 1 });
    const byId = new Map(results.requirements.map((r) => [r.id, r]));
    expect(byId.get(PASSING)!.outcome).toBe('passed');
    expect(byId.get(ERRORED)).toMatchObject({ outcome: 'error', reason: `harness error: ${TYPE_ERROR}` });
    expect(byId.get(STEP)).toMatchObject({ outcome: 'not-run', reason: 'setup failed: driver generateInvite: 409 exists' });
    expect(results.summary.byOutcome.error).toBe(1);
    expect(results.summary.checks.errors).toBe(1);
    expect(results.run.errors).toBeUndefined(); // Playwright's exit 1 came from the failed (errored) check
    expect(results.verdict).toMatchObject({ pass: false, mustFailures: [], inconclusive: '1 harness error' });
    expect(verdictText(results)).toBe('INCONCLUSIVE: 1 harness error');
    expect(resultsExitCode(results)).toBe(3);
    expect(resultsProblems(results)).toEqual([]);
  });

  test('every report format has a section for harness errors and none says PASS', () => {
    const results = build(reportWithHarnessError());
    const table = closingTable(results);
    expect(table).toContain('Harness errors');
    expect(table).toContain(TYPE_ERROR);
    const markdown = renderMarkdown(results);
    expect(markdown).toContain('### ⚠️ Harness errors (1)');
    expect(markdown).toContain('INCONCLUSIVE');
    expect(markdown).not.toContain('PASS');
    const html = renderHtml(results);
    expect(html).toContain('id="harness-errors"');
    expect(html).toContain('INCONCLUSIVE: 1 harness error');
    expect(html).not.toMatch(/— PASS|>PASS/);
    const junit = renderJunit(results);
    expect(junit).toMatch(/<testsuites [^>]*errors="1"/);
    expect(junit).toContain('<error type="harness" message="harness error: TypeError: Invalid URL');
    expect(junit).toContain('name="verdict" value="inconclusive"');
    const ctrf = JSON.parse(renderCtrf(results));
    expect(ctrf.results.tests.filter((t: { rawStatus: string }) => t.rawStatus === 'error')).toHaveLength(1);
    expect(ctrf.results.environment.extra.verdict).toBe('inconclusive');
    const earl = JSON.parse(renderEarl(results));
    expect(earl['@graph'].filter((n: { '@type': unknown }) => n['@type'] === 'ocm:HarnessError')).toHaveLength(1);
    expect(earl['@graph'][0]['ocm:verdict']).toBe('inconclusive: 1 harness error');
    expect(githubAnnotations(results).some((line) => line.startsWith('::error title=harness error'))).toBe(true);
  });

  test('a suite file that fails to load makes the run INCONCLUSIVE, reported in every format', () => {
    const report = reportWithHarnessError();
    report.suites![0]!.specs = report.suites![0]!.specs!.filter((s) => !s.title.includes('throws'));
    report.errors = [
      {
        message:
          'UnknownRequirement: suites/x/y.spec.ts:3:1 names requirement NOPE-1, which is not in the catalogue\n\n   at suites/harness/fixtures.ts:207',
        location: { file: '/repo/suites/x/y.spec.ts', line: 3, column: 1 },
      },
    ];
    report.stats!.unexpected = 0;
    const results = build(report, { runErrors: 1 });
    expect(results.run.errors).toEqual([
      {
        kind: 'load',
        message: 'UnknownRequirement: suites/x/y.spec.ts:3:1 names requirement NOPE-1, which is not in the catalogue',
        location: 'suites/x/y.spec.ts:3',
      },
    ]);
    expect(verdictText(results)).toBe('INCONCLUSIVE: 1 harness error');
    expect(resultsExitCode(results)).toBe(3);
    expect(resultsProblems(results)).toEqual([]);
    expect(renderMarkdown(results)).toContain('suite file did not load: suites/x/y.spec.ts:3');
    expect(renderJunit(results)).toContain('<testsuite name="harness" tests="1" failures="0" errors="1"');
    expect(closingTable(results)).toContain('NOPE-1');
  });

  test("Playwright's non-zero exit without a failed check, or a run that judged nothing, is INCONCLUSIVE", () => {
    const quiet: PlaywrightReport = { stats: { startTime: '2026-12-06T10:00:00.000Z', duration: 1, unexpected: 0 }, suites: [] };
    const crashed = build(quiet, { runErrors: 130 });
    expect(crashed.run.errors?.[0]).toMatchObject({ kind: 'runner' });
    expect(verdictText(crashed)).toBe('INCONCLUSIVE: 1 harness error');
    const nothing = build(quiet, { runErrors: 0 });
    expect(nothing.verdict).toMatchObject({ pass: false, inconclusive: 'no requirement was judged' });
    expect(resultsExitCode(nothing)).toBe(3);
    // A MUST failure found next to harness errors is named, but the run stays inconclusive.
    const both = reportWithHarnessError();
    both.suites![0]!.specs!.push(
      check(PASSING, 'fails', 'failed', [], 'Error: the target answered 201\n\nexpect(received).toBe(expected)'),
    );
    const mixed = build(both);
    expect(verdictText(mixed)).toBe(`INCONCLUSIVE: 1 harness error (and 1 MUST requirement failed: ${PASSING})`);
    expect(resultsExitCode(mixed)).toBe(3);
  });

  test('a run without harness errors is judged as before', () => {
    const { results } = sampleResults();
    expect(results.verdict.inconclusive).toBeUndefined();
    expect(verdictText(results)).toMatch(/^FAIL/);
    expect(resultsExitCode(results)).toBe(1);
  });
});

test.describe('reasons are findings', () => {
  test("the assertion's message with what was received, multi-line messages whole, stack and source excerpt left out", () => {
    const multiLine = [
      'Error: resourceTypes is an object, not an array: {',
      '  "name": "file"',
      '}',
      '',
      'expect(received).toBe(expected) // Object.is equality',
      '',
      'Expected: true',
      'Received: false',
      '',
      '  39 |   const verdict = rule(document);',
      '> 41 |   expect(verdict === undefined, verdict).toBe(true);',
      '    at suites/discovery/discovery.spec.ts:41:5',
    ].join('\n');
    expect(findingOf({ status: 'failed', error: multiLine, expected: 'true', actual: 'false' })).toBe(
      'resourceTypes is an object, not an array: {\n  "name": "file"\n}',
    );
    // A label alone is not a finding: what was received is added.
    const labelled =
      'Error: the discovery document complies\n\nexpect(received).toEqual(expected)\n\nExpected: []\nReceived: ["endPoint is missing"]';
    expect(findingOf({ status: 'failed', error: labelled, expected: '[]', actual: '["endPoint is missing"]' })).toBe(
      'the discovery document complies (expected [], received ["endPoint is missing"])',
    );
    // No message of its own: expected versus received.
    const bare = 'Error: expect(received).toBe(expected)\n\nExpected: 400\nReceived: 201';
    expect(findingOf({ status: 'failed', error: bare, expected: '400', actual: '201' })).toBe('expected 400, received 201');
    expect(findingOf({ status: 'timed-out' })).toBe('the check timed out');
  });

  test('a failed requirement carries the finding; plain-text formats keep < and & as they are', () => {
    const error =
      'Error: answered 201 to {"name":"<b>x</b> & y"}\nsecond line\n\nexpect(received).toBe(expected)\n\nExpected: 400\nReceived: 201';
    const results = build({
      stats: { startTime: '2026-12-06T10:00:00.000Z', duration: 1, unexpected: 1 },
      suites: [{ file: 'suites/probe.spec.ts', specs: [check(PASSING, 'refuses', 'failed', [], error)] }],
    });
    const reason = results.requirements.find((r) => r.id === PASSING)!.reason!;
    // The message already names what was received (201), so nothing is added.
    expect(reason).toBe('answered 201 to {"name":"<b>x</b> & y"}\nsecond line');
    expect(closingTable(results)).toContain('answered 201 to {"name":"<b>x</b> & y"}');
    expect(githubAnnotations(results).join('\n')).toContain('answered 201 to {"name":"<b>x</b> & y"}%0Asecond line');
  });
});
