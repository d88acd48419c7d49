/**
 * JUnit XML: one <testsuite> per area, one <testcase> per (requirement,
 * check) pair — a requirement without checks gets one testcase of its own —
 * with the requirement ID, level, area, spec section, outcome and check
 * status as <properties>. Mapping, chosen so that a CI reading only JUnit
 * agrees with the verdict:
 *  - check passed                              → passed (an unexpected pass adds property expectation=unexpected-pass and a <system-out> line)
 *  - check failed, requirement failed          → <failure type="MUST"> with expected versus actual and the error
 *  - check failed, requirement expected failure → <skipped message="expected failure: …"> (like pytest's xfail)
 *  - check failed, requirement warning         → below the run's threshold (`run.failOn`, default must): passed, properties
 *                                                outcome=warning and warning=<finding>, and a <system-out> WARNING line;
 *                                                a SHOULD under `--fail-on should`: <failure type="SHOULD"> (skipped when expected)
 *  - check not run / requirement without checks (not run, not applicable) → <skipped message="reason">
 *  - check with a harness error (ours, not the target's) → <error type="harness">
 * Harness errors of the run itself (a suite file that did not load, the
 * test runner) are testcases of their own in a `harness` testsuite, each an <error>.
 */
import {
  failsAtThreshold,
  findingOf,
  harnessErrors,
  type CheckResult,
  type ComplianceResults,
  type RequirementResult,
} from '../results/model.ts';
import { areasOf, checkLocation, escapeXml as x, escapeXmlText as xt, outcomeText } from './format.ts';
import { redactDeep } from '../results/redact.ts';

export interface JunitCase {
  requirement: RequirementResult;
  check?: CheckResult;
  kind: 'passed' | 'failure' | 'skipped' | 'error';
  message?: string;
  note?: string;
}

/** The testcases of the JUnit report, in order (also used by the tests to count). */
export function junitCases(results: ComplianceResults): JunitCase[] {
  const cases: JunitCase[] = [];
  for (const r of results.requirements) {
    const failsRun = failsAtThreshold(r, results.run.failOn);
    if (r.checks.length === 0) {
      cases.push({
        requirement: r,
        kind: 'skipped',
        message: `${r.outcome === 'not-applicable' ? 'not applicable' : 'not run'}: ${r.reason ?? ''}`.trim(),
      });
      continue;
    }
    for (const c of r.checks) {
      if (c.status === 'passed') {
        cases.push({
          requirement: r,
          check: c,
          kind: 'passed',
          ...(r.unexpectedPass
            ? { note: `UNEXPECTED PASS: ${r.id} is declared as an expected failure but passed; update the expectation ledger.` }
            : {}),
        });
      } else if (c.status === 'error') {
        cases.push({ requirement: r, check: c, kind: 'error', message: c.error ?? 'harness error' });
      } else if (c.status === 'not-run' || c.status === 'interrupted') {
        cases.push({ requirement: r, check: c, kind: 'skipped', message: `not run: ${c.reason ?? c.status}` });
      } else if (failsRun && r.expectedFailure) {
        cases.push({ requirement: r, check: c, kind: 'skipped', message: `expected failure: ${findingOf(c) ?? c.status}` });
      } else if (failsRun) {
        cases.push({ requirement: r, check: c, kind: 'failure', message: findingOf(c) ?? c.status });
      } else {
        cases.push({
          requirement: r,
          check: c,
          kind: 'passed',
          note: `WARNING (${r.level} not met): ${findingOf(c) ?? c.status}`,
        });
      }
    }
  }
  return cases;
}

function property(name: string, value: unknown): string {
  return `<property name="${x(name)}" value="${x(value)}"/>`;
}

function renderCase(c: JunitCase): string {
  const r = c.requirement;
  const name = c.check
    ? `${r.id} ${c.check.title.startsWith(r.id) ? c.check.title.slice(r.id.length).trim() : c.check.title}`
    : `${r.id} ${r.summary}`;
  const time = ((c.check?.durationMs ?? 0) / 1000).toFixed(3);
  const props = [
    property('requirement', r.id),
    property('level', r.level),
    property('area', r.area),
    property('section', r.section),
    property('outcome', r.outcome),
    property('outcome-text', outcomeText(r)),
    ...(c.check ? [property('check', c.check.id), property('check-status', c.check.status), property('file', checkLocation(c.check))] : []),
    ...(r.expectedFailure ? [property('expectation', r.unexpectedPass ? 'unexpected-pass' : 'expected-failure')] : []),
    ...(c.kind === 'passed' && r.outcome === 'warning' && c.check && c.check.status !== 'passed'
      ? [property('warning', findingOf(c.check) ?? c.check.status)]
      : []),
    ...(c.check?.transcript ? [property('transcript', c.check.transcript)] : []),
  ];
  const body: string[] = [`<properties>${props.join('')}</properties>`];
  if (c.kind === 'failure') {
    const detail = [
      c.check?.expected !== undefined ? `expected: ${c.check.expected}` : '',
      c.check?.actual !== undefined ? `actual:   ${c.check.actual}` : '',
      c.check?.error ?? '',
      `spec: ${r.section}`,
    ]
      .filter(Boolean)
      .join('\n');
    body.push(`<failure type="${x(r.level)}" message="${x(c.message)}">${xt(detail)}</failure>`);
  } else if (c.kind === 'error') {
    body.push(`<error type="harness" message="${x(c.message?.split('\n')[0])}">${xt(c.message)}</error>`);
  } else if (c.kind === 'skipped') {
    body.push(`<skipped message="${x(c.message)}"/>`);
  }
  if (c.note) body.push(`<system-out>${xt(c.note)}</system-out>`);
  const where = c.check ? ` file="${x(c.check.file)}"${c.check.line ? ` line="${c.check.line}"` : ''}` : '';
  return `    <testcase name="${x(name)}" classname="${x(`ocm.${r.area}.${r.id}`)}"${where} time="${time}">${body.join('')}</testcase>`;
}

export function renderJunit(input: ComplianceResults): string {
  const results = redactDeep(input);
  const cases = junitCases(results);
  const count = (list: JunitCase[]) => ({
    tests: list.length,
    failures: list.filter((c) => c.kind === 'failure').length,
    skipped: list.filter((c) => c.kind === 'skipped').length,
    errors: list.filter((c) => c.kind === 'error').length,
    time: (list.reduce((sum, c) => sum + (c.check?.durationMs ?? 0), 0) / 1000).toFixed(3),
  });
  const all = count(cases);
  const suites = areasOf(results).map((area) => {
    const list = cases.filter((c) => c.requirement.area === area);
    const n = count(list);
    const props = [
      property('target', results.target.name),
      property('target-url', results.target.url),
      property('profile', results.run.profile),
      property('verdict', verdictWord(results)),
      property('fail-on', results.run.failOn ?? 'must'),
    ];
    return [
      `  <testsuite name="${x(area)}" tests="${n.tests}" failures="${n.failures}" errors="${n.errors}" skipped="${n.skipped}" time="${n.time}" timestamp="${x(results.run.startedAt.replace(/Z$/, ''))}">`,
      `    <properties>${props.join('')}</properties>`,
      ...list.map(renderCase),
      '  </testsuite>',
    ].join('\n');
  });
  // Errors of the run itself (not of one check): their own testsuite, one <error> each.
  const runErrors = harnessErrors(results).filter((e) => e.requirements.length === 0);
  if (runErrors.length)
    suites.push(
      [
        `  <testsuite name="harness" tests="${runErrors.length}" failures="0" errors="${runErrors.length}" skipped="0" time="0.000" timestamp="${x(results.run.startedAt.replace(/Z$/, ''))}">`,
        ...runErrors.map(
          (e) =>
            `    <testcase name="${x(e.where)}" classname="ocm.harness" time="0.000"><error type="harness" message="${x(e.message.split('\n')[0])}">${xt(e.message)}</error></testcase>`,
        ),
        '  </testsuite>',
      ].join('\n'),
    );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${x(`ocm-conformance: ${results.target.name} (profile ${results.run.profile})`)}" tests="${all.tests + runErrors.length}" failures="${all.failures}" errors="${all.errors + runErrors.length}" skipped="${all.skipped}" time="${(results.run.durationMs / 1000).toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

/** pass, fail or inconclusive (harness errors: never a pass). */
export function verdictWord(results: ComplianceResults): 'pass' | 'fail' | 'inconclusive' {
  return results.verdict.inconclusive ? 'inconclusive' : results.verdict.pass ? 'pass' : 'fail';
}
