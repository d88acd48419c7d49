/**
 * The Markdown summary, sized for a CI job summary ($GITHUB_STEP_SUMMARY):
 * verdict, MUST rate, the per-area table, failed MUSTs, expected failures,
 * unexpected passes, warnings and the not-run counts by reason. Long lists
 * are capped; the HTML report has everything.
 */
import { harnessErrors, type ComplianceResults, type RequirementResult } from '../results/model.ts';
import { areasOf, formatDuration, mustRateText, verdictText } from './format.ts';
import { redactDeep } from '../results/redact.ts';

const MAX_ROWS = 40;

/** A table cell: one line, pipes escaped, HTML neutralised (GitHub renders inline HTML). */
export function mdCell(value: unknown): string {
  return String(value ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'")
    .trim();
}

function requirementTable(rows: RequirementResult[], withReason = true): string[] {
  const out = [
    withReason ? '| ID | level | requirement | reason |' : '| ID | level | requirement |',
    withReason ? '|---|---|---|---|' : '|---|---|---|',
  ];
  for (const r of rows.slice(0, MAX_ROWS))
    out.push(`| ${mdCell(r.id)} | ${mdCell(r.level)} | ${mdCell(r.summary)} |${withReason ? ` ${mdCell(r.reason ?? '')} |` : ''}`);
  if (rows.length > MAX_ROWS) out.push('', `…and ${rows.length - MAX_ROWS} more (see report.html).`);
  return out;
}

export function renderMarkdown(input: ComplianceResults): string {
  const results = redactDeep(input);
  const v = results.verdict;
  const m = results.summary.must;
  const total = results.summary.byOutcome;
  const out: string[] = [];
  const headline = v.inconclusive
    ? '⚠️ OCM conformance: INCONCLUSIVE'
    : `${v.pass ? '✅' : '❌'} OCM conformance: ${v.pass ? 'PASS' : 'FAIL'}`;
  out.push(`## ${headline} — ${mdCell(results.target.name)}`, '');
  out.push(`**${mdCell(verdictText(results))}**`, '');
  const meta = [
    `target \`${results.target.url.replace(/`/g, '')}\``,
    results.target.insecure ? '**insecure: the target certificate was not verified**' : '',
    `profile **${results.run.profile}**${results.run.profileReason ? ` (${mdCell(results.run.profileReason)})` : ''}`,
    results.run.failOn === 'should' ? 'fails on **SHOULD**' : '',
    results.target.apiVersion ? `apiVersion ${mdCell(results.target.apiVersion)}` : '',
    `${results.run.startedAt}`,
    formatDuration(results.run.durationMs),
    `${results.tool.name} ${results.tool.version}`,
    results.run.shard ? `**shard ${results.run.shard.current}/${results.run.shard.total} only**` : '',
    results.run.mergedFrom ? `merged from ${results.run.mergedFrom.length} shards` : '',
    results.run.grep ? `only checks matching \`${results.run.grep.replace(/`/g, '')}\`` : '',
  ].filter(Boolean);
  out.push(meta.join(' · '), '');
  out.push(
    `**${mustRateText(results)}** MUST requirements passed of those judged (${m.failed} failed${m.expectedFailures ? `, ${m.expectedFailures} of them expected` : ''}, ${m.notRun} not run, ${m.notApplicable} not applicable) · ${results.summary.checks.run} checks run (${results.summary.checks.passed} passed, ${results.summary.checks.failed} failed, ${results.summary.checks.notRun} not run)`,
    '',
  );
  out.push('| area | passed | failed | warning | n/a | not run | error |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const area of areasOf(results)) {
    const c = results.summary.byArea[area]!;
    out.push(`| ${mdCell(area)} | ${c.passed} | ${c.failed} | ${c.warning} | ${c['not-applicable']} | ${c['not-run']} | ${c.error ?? 0} |`);
  }
  out.push(
    `| **total** | **${total.passed}** | **${total.failed}** | **${total.warning}** | **${total['not-applicable']}** | **${total['not-run']}** | **${total.error ?? 0}** |`,
    '',
  );
  const errors = harnessErrors(results);
  if (errors.length) {
    out.push(
      `### ⚠️ Harness errors (${errors.length})`,
      '',
      'Errors of the conformance tool or its setup, not of the target: the run is inconclusive until they are fixed.',
      '',
      '| where | requirements | error |',
      '|---|---|---|',
    );
    for (const e of errors.slice(0, MAX_ROWS))
      out.push(`| ${mdCell(e.where)} | ${mdCell(e.requirements.join(', '))} | ${mdCell(e.message)} |`);
    if (errors.length > MAX_ROWS) out.push('', `…and ${errors.length - MAX_ROWS} more (see report.html).`);
    out.push('');
  }

  const byId = new Map(results.requirements.map((r) => [r.id, r]));
  const pick = (ids: string[]) => ids.map((id) => byId.get(id)).filter((r): r is RequirementResult => r !== undefined);
  if (v.mustFailures.length)
    out.push(`### ❌ Failed MUST requirements (${v.mustFailures.length})`, '', ...requirementTable(pick(v.mustFailures)), '');
  if (v.shouldFailures?.length)
    out.push(
      `### ❌ SHOULD requirements not met, failing the run with --fail-on should (${v.shouldFailures.length})`,
      '',
      ...requirementTable(pick(v.shouldFailures)),
      '',
    );
  if (v.unexpectedPasses.length) {
    out.push(
      `### ⚠️ Unexpected passes (${v.unexpectedPasses.length})`,
      '',
      'Declared as expected failures, yet they passed: remove them from the expectation ledger (`--update-expectations`).',
      '',
      ...requirementTable(pick(v.unexpectedPasses), false),
      '',
    );
  }
  if (v.expectedFailures.length)
    out.push(
      `### Expected failures (${v.expectedFailures.length}, declared; they do not fail the run)`,
      '',
      ...requirementTable(pick(v.expectedFailures)),
      '',
    );
  const warnings = results.requirements.filter((r) => r.outcome === 'warning');
  if (warnings.length)
    out.push(`### Warnings (${warnings.length}: SHOULD, MAY or informational requirements not met)`, '', ...requirementTable(warnings), '');

  const notRun = results.requirements.filter((r) => r.outcome === 'not-run');
  if (notRun.length) {
    const reasons = new Map<string, number>();
    for (const r of notRun) reasons.set(r.reason ?? 'unknown', (reasons.get(r.reason ?? 'unknown') ?? 0) + 1);
    out.push(`### Not run (${notRun.length})`, '', '| reason | requirements |', '|---|---:|');
    const sorted = [...reasons.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    for (const [reason, n] of sorted.slice(0, MAX_ROWS)) out.push(`| ${mdCell(reason)} | ${n} |`);
    if (sorted.length > MAX_ROWS) out.push('', `…and ${sorted.length - MAX_ROWS} more reasons (see report.html).`);
    out.push('');
  }
  if (results.interop?.length) {
    out.push('### Interop', '', '| sender | receiver | passed | failed | not run |', '|---|---|---:|---:|---:|');
    for (const c of results.interop) out.push(`| ${mdCell(c.sender)} | ${mdCell(c.receiver)} | ${c.passed} | ${c.failed} | ${c.notRun} |`);
    out.push('');
  }
  out.push('Reports: `report.html` (transcripts), `junit.xml`, `results.earl.jsonld`, `compliance-results.json`, `badge.svg`.', '');
  return out.join('\n');
}
