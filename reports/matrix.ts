/**
 * The matrix over several runs (`ocm-conformance matrix FILES…`), in HTML
 * and Markdown:
 *  - implementations × areas: per cell passed/judged (judged = passed +
 *    failed + warning), with failures, warnings and not-run counts;
 *  - implementations × requirements: the outcome of every requirement per
 *    run (✔ passed, ✘ failed, ✘ₓ expected failure, ✔! unexpected pass,
 *    ⚠ warning, · not run, – not applicable);
 *  - for interop runs, a sender × receiver grid.
 *
 * An implementation is one results file. Its label is `LABEL=FILE` when
 * given so, else the target's name, with the profile and then a number
 * added when labels would collide.
 *
 * Interop: a results file contributes grid cells through its `interop`
 * section — checks annotated `interop: <sender> -> <receiver>`, where
 * `target` and `partner` stand for the run's target and its `interopWith`
 * (see results/model.ts, `interopAnnotation`). Cells of the same
 * sender and receiver from several files are added up. Without interop
 * checks the grid is left out.
 */
import type { ComplianceResults, Outcome, OutcomeCounts, RequirementResult } from '../results/model.ts';
import { escapeHtml as h, OUTCOME_LABEL } from './format.ts';
import { mdCell } from './markdown.ts';
import { redactDeep } from '../results/redact.ts';

export interface MatrixInput {
  results: ComplianceResults;
  /** Where the results came from (shown in the footnote). */
  source: string;
  label?: string;
}

export interface MatrixImplementation {
  label: string;
  source: string;
  target: string;
  url: string;
  profile: string;
  pass: boolean;
  must: { passed: number; tested: number };
}

export interface AreaCell {
  passed: number;
  judged: number;
  /** Failed, including declared expected failures. */
  failed: number;
  expectedFailures: number;
  warning: number;
  notRun: number;
  notApplicable: number;
}

export type RequirementCell = { outcome: Outcome; expectedFailure: boolean; unexpectedPass: boolean } | undefined;

export interface InteropGridCell {
  checks: number;
  passed: number;
  failed: number;
  notRun: number;
}

export interface Matrix {
  implementations: MatrixImplementation[];
  areas: string[];
  /** byArea[implementation label][area] */
  byArea: Record<string, Record<string, AreaCell>>;
  requirements: Array<{ id: string; level: string; area: string; summary: string; cells: Record<string, RequirementCell> }>;
  interop?: { parties: string[]; cells: Record<string, Record<string, InteropGridCell>> };
}

function labelsFor(inputs: MatrixInput[]): string[] {
  const base = inputs.map((i) => i.label ?? i.results.target.name);
  const withProfile = base.map((label, i) =>
    inputs[i]!.label === undefined && base.filter((b) => b === label).length > 1
      ? `${label} (profile ${inputs[i]!.results.run.profile})`
      : label,
  );
  return withProfile.map((label, i) =>
    withProfile.filter((b) => b === label).length > 1
      ? `${label} #${withProfile.slice(0, i + 1).filter((b) => b === label).length}`
      : label,
  );
}

function areaCell(c: OutcomeCounts | undefined, expectedFailures: number): AreaCell {
  const z = c ?? { passed: 0, failed: 0, warning: 0, 'not-applicable': 0, 'not-run': 0, error: 0 };
  return {
    passed: z.passed,
    judged: z.passed + z.failed + z.warning,
    failed: z.failed,
    expectedFailures,
    warning: z.warning,
    notRun: z['not-run'],
    notApplicable: z['not-applicable'],
  };
}

/** ❌ when a failure counts, ✘ₓ when every failure is declared, ⚠ for warnings. */
function areaMark(c: AreaCell): string {
  return c.failed > c.expectedFailures ? ' ❌' : c.failed ? ' ✘ₓ' : c.warning ? ' ⚠' : '';
}

export function buildMatrix(inputs: MatrixInput[]): Matrix {
  if (inputs.length === 0) throw new Error('matrix needs at least one results file');
  const runs = inputs.map((i) => ({ ...i, results: redactDeep(i.results) }));
  const labels = labelsFor(runs);
  const implementations = runs.map((i, n) => ({
    label: labels[n]!,
    source: i.source,
    target: i.results.target.name,
    url: i.results.target.url,
    profile: i.results.run.profile,
    pass: i.results.verdict.pass,
    must: { passed: i.results.summary.must.passed, tested: i.results.summary.must.tested },
  }));
  const areas = [...new Set(runs.flatMap((i) => i.results.requirements.map((r) => r.area)))];
  const byArea: Matrix['byArea'] = {};
  runs.forEach((i, n) => {
    const xfail = (a: string) => i.results.requirements.filter((r) => r.area === a && r.outcome === 'failed' && r.expectedFailure).length;
    byArea[labels[n]!] = Object.fromEntries(areas.map((a) => [a, areaCell(i.results.summary.byArea[a], xfail(a))]));
  });
  const meta = new Map<string, RequirementResult>();
  for (const i of runs) for (const r of i.results.requirements) if (!meta.has(r.id)) meta.set(r.id, r);
  const order = [...meta.keys()];
  const requirements = order.map((id) => {
    const r = meta.get(id)!;
    const cells: Record<string, RequirementCell> = {};
    runs.forEach((i, n) => {
      const own = i.results.requirements.find((x) => x.id === id);
      cells[labels[n]!] = own
        ? { outcome: own.outcome, expectedFailure: own.expectedFailure === true, unexpectedPass: own.unexpectedPass === true }
        : undefined;
    });
    return { id, level: r.level, area: r.area, summary: r.summary, cells };
  });
  const matrix: Matrix = { implementations, areas, byArea, requirements };
  const interop = runs.flatMap((i) => i.results.interop ?? []);
  if (interop.length) {
    const parties = [...new Set(interop.flatMap((c) => [c.sender, c.receiver]))].sort((a, b) => a.localeCompare(b));
    const cells: Record<string, Record<string, InteropGridCell>> = {};
    for (const c of interop) {
      const row = (cells[c.sender] ??= {});
      const cell = (row[c.receiver] ??= { checks: 0, passed: 0, failed: 0, notRun: 0 });
      cell.checks += c.checks;
      cell.passed += c.passed;
      cell.failed += c.failed;
      cell.notRun += c.notRun;
    }
    matrix.interop = { parties, cells };
  }
  return matrix;
}

export const CELL_SYMBOL = {
  passed: '✔',
  unexpectedPass: '✔!',
  failed: '✘',
  expectedFailure: '✘ₓ',
  warning: '⚠',
  'not-run': '·',
  'not-applicable': '–',
  error: '!',
  absent: ' ',
} as const;

export function requirementSymbol(cell: RequirementCell): string {
  if (!cell) return CELL_SYMBOL.absent;
  if (cell.unexpectedPass) return CELL_SYMBOL.unexpectedPass;
  if (cell.outcome === 'failed' && cell.expectedFailure) return CELL_SYMBOL.expectedFailure;
  return CELL_SYMBOL[cell.outcome];
}

/** "12/14" (passed of judged), "–" when nothing was judged. */
export function areaText(cell: AreaCell): string {
  return cell.judged ? `${cell.passed}/${cell.judged}` : '–';
}

function areaNote(cell: AreaCell): string {
  return [
    cell.failed ? `${cell.failed} failed${cell.expectedFailures ? ` (${cell.expectedFailures} expected)` : ''}` : '',
    cell.warning ? `${cell.warning} warning` : '',
    cell.notRun ? `${cell.notRun} not run` : '',
    cell.notApplicable ? `${cell.notApplicable} n/a` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function interopText(cell: InteropGridCell | undefined): string {
  return cell ? `${cell.passed}/${cell.checks}` : '';
}

const LEGEND = `${CELL_SYMBOL.passed} passed · ${CELL_SYMBOL.failed} failed · ${CELL_SYMBOL.expectedFailure} expected failure · ${CELL_SYMBOL.unexpectedPass} unexpected pass · ${CELL_SYMBOL.warning} warning · ${CELL_SYMBOL['not-run']} not run · ${CELL_SYMBOL['not-applicable']} not applicable`;

export function matrixMarkdown(m: Matrix): string {
  const labels = m.implementations.map((i) => i.label);
  const out: string[] = ['# OCM conformance matrix', ''];
  out.push('| implementation | profile | verdict | MUST | source |', '|---|---|---|---:|---|');
  for (const i of m.implementations)
    out.push(
      `| ${mdCell(i.label)} | ${mdCell(i.profile)} | ${i.pass ? '✅ pass' : '❌ fail'} | ${i.must.passed}/${i.must.tested} | ${mdCell(i.source)} |`,
    );
  out.push(
    '',
    '## Implementations × areas',
    '',
    'Cells: requirements passed / judged (passed + failed + warning); ❌ a failure, ✘ₓ only declared expected failures, ⚠ warnings.',
    '',
  );
  out.push(`| implementation | ${m.areas.map(mdCell).join(' | ')} |`, `|---|${m.areas.map(() => '---:').join('|')}|`);
  for (const label of labels) {
    out.push(
      `| ${mdCell(label)} | ${m.areas.map((a) => `${areaText(m.byArea[label]![a]!)}${areaMark(m.byArea[label]![a]!)}`).join(' | ')} |`,
    );
  }
  out.push('', '## Implementations × requirements', '', LEGEND, '');
  out.push(`| requirement | level | ${labels.map(mdCell).join(' | ')} |`, `|---|---|${labels.map(() => ':---:').join('|')}|`);
  for (const r of m.requirements)
    out.push(`| ${mdCell(r.id)} | ${mdCell(r.level)} | ${labels.map((l) => requirementSymbol(r.cells[l])).join(' | ')} |`);
  if (m.interop) {
    out.push(
      '',
      '## Interop: sender × receiver',
      '',
      'Cells: interop checks passed / run between the sender (row) and the receiver (column).',
      '',
    );
    out.push(
      `| sender ↓ receiver → | ${m.interop.parties.map(mdCell).join(' | ')} |`,
      `|---|${m.interop.parties.map(() => ':---:').join('|')}|`,
    );
    for (const s of m.interop.parties) {
      out.push(
        `| ${mdCell(s)} | ${m.interop.parties
          .map((r) => {
            const c = m.interop!.cells[s]?.[r];
            return c ? `${interopText(c)}${c.failed ? ' ❌' : ' ✅'}` : '';
          })
          .join(' | ')} |`,
      );
    }
  }
  out.push('');
  return out.join('\n');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 24px}
th,td{border:1px solid #d1d9e0;padding:4px 8px;text-align:center}
th{background:#f6f8fa}
td.l,th.l{text-align:left}
.pass{background:#dafbe1}.fail{background:#ffebe9}.warn{background:#fff8c5}.none{color:#6e7781}
.c-passed{background:#dafbe1}.c-failed{background:#ffebe9}.c-xfail{background:#ffe7d1}.c-xpass{background:#ddf4ff}.c-warning{background:#fff8c5}.c-not-run,.c-not-applicable{color:#6e7781}
small{color:#59636e}
`;

export function matrixHtml(m: Matrix): string {
  const labels = m.implementations.map((i) => i.label);
  const head = (cells: string[]) => `<tr>${cells.join('')}</tr>`;
  const impl = m.implementations
    .map(
      (i) =>
        `<tr><td class="l">${h(i.label)}</td><td>${h(i.profile)}</td><td class="${i.pass ? 'pass' : 'fail'}">${i.pass ? 'pass' : 'fail'}</td><td>${i.must.passed}/${i.must.tested}</td><td class="l"><small>${h(i.target)} · ${h(i.url)} · ${h(i.source)}</small></td></tr>`,
    )
    .join('');
  const areaRows = labels
    .map((label) => {
      const cells = m.areas.map((a) => {
        const c = m.byArea[label]![a]!;
        const cls = c.failed > c.expectedFailures ? 'fail' : c.failed || c.warning ? 'warn' : c.judged ? 'pass' : 'none';
        return `<td class="${cls}" data-impl="${h(label)}" data-area="${h(a)}" title="${h(areaNote(c))}">${h(areaText(c))}</td>`;
      });
      return `<tr><th class="l">${h(label)}</th>${cells.join('')}</tr>`;
    })
    .join('');
  const reqRows = m.requirements
    .map((r) => {
      const cells = labels.map((l) => {
        const cell = r.cells[l];
        const cls = !cell
          ? ''
          : cell.unexpectedPass
            ? 'c-xpass'
            : cell.outcome === 'failed' && cell.expectedFailure
              ? 'c-xfail'
              : `c-${cell.outcome}`;
        const title = cell
          ? `${OUTCOME_LABEL[cell.outcome]}${cell.expectedFailure ? (cell.unexpectedPass ? ' (unexpected pass)' : ' (expected)') : ''}`
          : 'absent';
        return `<td class="${cls}" data-impl="${h(l)}" data-req="${h(r.id)}" data-outcome="${h(cell?.outcome ?? 'absent')}" title="${h(title)}">${h(requirementSymbol(cell))}</td>`;
      });
      return `<tr><th class="l" title="${h(r.summary)}">${h(r.id)}</th><td>${h(r.level)}</td><td class="l"><small>${h(r.area)}</small></td>${cells.join('')}</tr>`;
    })
    .join('');
  const interop = m.interop
    ? `<h2>Interop: sender × receiver</h2><p>Interop checks passed / run, sender in the row, receiver in the column.</p><table id="interop">${head(
        ['<th class="l">sender ↓ receiver →</th>', ...m.interop.parties.map((p) => `<th>${h(p)}</th>`)],
      )}${m.interop.parties
        .map(
          (s) =>
            `<tr><th class="l">${h(s)}</th>${m
              .interop!.parties.map((r) => {
                const c = m.interop!.cells[s]?.[r];
                return `<td class="${c ? (c.failed ? 'fail' : 'pass') : 'none'}" data-sender="${h(s)}" data-receiver="${h(r)}">${h(interopText(c))}</td>`;
              })
              .join('')}</tr>`,
        )
        .join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>OCM conformance matrix</title><style>${CSS}</style></head>
<body>
<h1>OCM conformance matrix</h1>
<table id="implementations">${head(['<th class="l">implementation</th>', '<th>profile</th>', '<th>verdict</th>', '<th>MUST</th>', '<th class="l">target · source</th>'])}${impl}</table>
<h2>Implementations × areas</h2><p>Requirements passed / judged (passed + failed + warning); hover for failed, warning, not-run counts.</p>
<table id="areas">${head(['<th class="l">implementation</th>', ...m.areas.map((a) => `<th>${h(a)}</th>`)])}${areaRows}</table>
${interop}
<h2>Implementations × requirements</h2><p>${h(LEGEND)}</p>
<table id="requirements">${head(['<th class="l">requirement</th>', '<th>level</th>', '<th class="l">area</th>', ...labels.map((l) => `<th>${h(l)}</th>`)])}${reqRows}</table>
</body></html>
`;
}
