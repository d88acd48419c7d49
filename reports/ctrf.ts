/**
 * CTRF (Common Test Report Format, https://ctrf.io) JSON: the same cases as
 * the JUnit report (one per requirement and check; a requirement without
 * checks gets one of its own), so the many CTRF consumers (CI summaries,
 * dashboards) agree with the verdict:
 *  - passed                                  → passed
 *  - failed MUST (not an expected failure)   → failed, with message and the spec section as trace
 *  - expected failure, not run, not applicable → skipped (rawStatus says which)
 *  - SHOULD/MAY not met (a warning)          → other (rawStatus warning); a SHOULD under `--fail-on should`: failed
 *  - harness error (ours, not the target's)  → other (rawStatus error); errors of the run
 *    itself (a suite file that did not load) are tests of their own, suite ["harness"]
 * Each test names its requirement, level and area as labels, its suite file
 * and line, and `suite` is [area, requirement ID].
 */
import { createHash } from 'node:crypto';
import { harnessErrors, type ComplianceResults } from '../results/model.ts';
import { junitCases, verdictWord, type JunitCase } from './junit.ts';
import { redactDeep } from '../results/redact.ts';

export const CTRF_SPEC_VERSION = '0.0.0';

type CtrfStatus = 'passed' | 'failed' | 'skipped' | 'pending' | 'other';

function statusOf(c: JunitCase): { status: CtrfStatus; rawStatus: string } {
  const r = c.requirement;
  if (c.kind === 'failure') return { status: 'failed', rawStatus: 'failed' };
  if (c.kind === 'error') return { status: 'other', rawStatus: 'error' };
  if (c.kind === 'skipped')
    return {
      status: 'skipped',
      rawStatus:
        r.expectedFailure && (r.outcome === 'failed' || c.message?.startsWith('expected failure:'))
          ? 'expected-failure'
          : c.check
            ? 'not-run'
            : r.outcome,
    };
  if (c.check && c.check.status !== 'passed') return { status: 'other', rawStatus: 'warning' };
  return { status: 'passed', rawStatus: r.unexpectedPass ? 'unexpected-pass' : 'passed' };
}

export function renderCtrf(input: ComplianceResults): string {
  const results = redactDeep(input);
  const start = Date.parse(results.run.startedAt);
  const tests = junitCases(results).map((c) => {
    const r = c.requirement;
    const { status, rawStatus } = statusOf(c);
    const name = c.check ? c.check.title : `${r.id} ${r.summary}`;
    const message = c.message ?? c.note;
    return {
      testId: createHash('sha256')
        .update(`${r.id}\n${c.check?.id ?? ''}`)
        .digest('hex')
        .slice(0, 32),
      name,
      status,
      rawStatus,
      duration: c.check?.durationMs ?? 0,
      suite: [r.area, r.id],
      tags: [`@${r.strength}`, `@${r.area}`],
      labels: { requirement: r.id, level: r.level, area: r.area, section: r.section, outcome: r.outcome },
      ...(c.check ? { filePath: c.check.file, ...(c.check.line ? { line: c.check.line } : {}) } : {}),
      ...(message ? { message } : {}),
      ...(c.kind === 'failure' ? { trace: [c.check?.error ?? '', `spec: ${r.section}`].filter(Boolean).join('\n') } : {}),
    };
  });
  for (const e of harnessErrors(results).filter((error) => error.requirements.length === 0))
    tests.push({
      testId: createHash('sha256').update(`harness\n${e.where}\n${e.message}`).digest('hex').slice(0, 32),
      name: e.where,
      status: 'other',
      rawStatus: 'error',
      duration: 0,
      suite: ['harness', 'harness'],
      tags: ['@harness'],
      labels: { requirement: '', level: '', area: 'harness', section: '', outcome: 'error' },
      message: e.message,
    });
  const count = (s: CtrfStatus) => tests.filter((t) => t.status === s).length;
  const report = {
    reportFormat: 'CTRF',
    specVersion: CTRF_SPEC_VERSION,
    timestamp: results.run.startedAt,
    generatedBy: `${results.tool.name} ${results.tool.version}`,
    results: {
      tool: { name: results.tool.name, version: results.tool.version },
      summary: {
        tests: tests.length,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
        pending: count('pending'),
        other: count('other'),
        suites: new Set(tests.map((t) => t.suite[0])).size,
        start,
        stop: start + results.run.durationMs,
        duration: results.run.durationMs,
      },
      tests,
      environment: {
        reportName: `OCM conformance: ${results.target.name} (profile ${results.run.profile})`,
        appName: results.target.name,
        ...(results.target.apiVersion ? { appVersion: results.target.apiVersion } : {}),
        extra: { targetUrl: results.target.url, profile: results.run.profile, verdict: verdictWord(results) },
      },
    },
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
