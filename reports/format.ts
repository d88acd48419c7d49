/** Small helpers shared by the report formats. */
import type { CheckResult, ComplianceResults, Outcome, RequirementResult } from '../results/model.ts';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** XML text and attribute values; control characters XML 1.0 forbids are dropped. */
export function escapeXml(value: unknown): string {
  return (
    escapeHtml(value)
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/\n/g, '&#10;')
  );
}

/** Text content of an XML element (newlines kept). */
export function escapeXmlText(value: unknown): string {
  return escapeXml(value).replace(/&#10;/g, '\n');
}

/** Where a check is defined: `suites/<area>/<file>.spec.ts:<line>` (the file alone in older results). */
export function checkLocation(check: Pick<CheckResult, 'file' | 'line'>): string {
  return check.line ? `${check.file}:${check.line}` : check.file;
}

export const OUTCOME_LABEL: Record<Outcome, string> = {
  passed: 'passed',
  failed: 'failed',
  warning: 'warning',
  'not-applicable': 'not applicable',
  'not-run': 'not run',
  error: 'harness error',
};

/** The outcome as shown to people, with the expectation when one applies. */
export function outcomeText(r: RequirementResult): string {
  if (r.unexpectedPass) return 'passed (unexpected pass)';
  if (r.outcome === 'failed' && r.expectedFailure) return 'failed (expected)';
  return OUTCOME_LABEL[r.outcome];
}

/** "MUST 42/43": MUST requirements passed of those judged. */
export function mustRateText(results: ComplianceResults): string {
  const m = results.summary.must;
  return `MUST ${m.passed}/${m.tested}`;
}

export function verdictText(results: ComplianceResults): string {
  const v = results.verdict;
  const should = results.run.failOn === 'should';
  const threshold = should ? ' (--fail-on should)' : '';
  // Never PASS when the run could not be judged; MUST failures found anyway are named too.
  if (v.inconclusive)
    return `INCONCLUSIVE: ${v.inconclusive}${v.mustFailures.length ? ` (and ${v.mustFailures.length} MUST requirement${v.mustFailures.length === 1 ? '' : 's'} failed: ${v.mustFailures.join(', ')})` : ''}`;
  if (!v.pass) {
    const parts = [
      v.mustFailures.length
        ? `${v.mustFailures.length} MUST requirement${v.mustFailures.length === 1 ? '' : 's'} failed (${v.mustFailures.join(', ')})`
        : '',
      v.shouldFailures?.length
        ? `${v.shouldFailures.length} SHOULD requirement${v.shouldFailures.length === 1 ? '' : 's'} not met (${v.shouldFailures.join(', ')})`
        : '',
    ].filter(Boolean);
    return `FAIL: ${parts.join(', ')}${threshold}`;
  }
  const extra = v.expectedFailures.length
    ? `, ${v.expectedFailures.length} expected failure${v.expectedFailures.length === 1 ? '' : 's'}`
    : '';
  return `PASS: no MUST requirement failed${should ? ' and no SHOULD requirement unmet' : ''}${extra}${threshold}`;
}

/** A JSON-looking string pretty-printed; anything else as is. */
export function prettyMaybeJson(text: string): string {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Areas in the catalogue's order of first appearance. */
export function areasOf(results: ComplianceResults): string[] {
  return [...new Set(results.requirements.map((r) => r.area))];
}

export function levelsOf(results: ComplianceResults): string[] {
  const order = ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY'];
  return [...new Set(results.requirements.map((r) => r.level))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
