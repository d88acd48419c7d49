import { test, expect } from '@playwright/test';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMatrixArgument, writeMatrix } from '../cli/matrix.ts';
import { areaText, buildMatrix, matrixHtml, matrixMarkdown, requirementSymbol, CELL_SYMBOL } from './matrix.ts';
import { readResults } from '../results/schema.ts';
import { sampleResults } from '../selftest/report-sample.ts';

const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));
const FILES = ['reference-main.json', 'reference-1.1.json', 'reference-body-limit-ledger.json'].map((f) => join(RUNS, f));

async function stored() {
  return Promise.all(FILES.map(async (file) => ({ results: await readResults(file), source: file })));
}

test.describe('matrix over three stored runs', () => {
  test("implementations × areas and × requirements hold each run's figures", async () => {
    const inputs = await stored();
    const m = buildMatrix(inputs);
    // Two runs of the same target are told apart by their profile.
    expect(m.implementations.map((i) => i.label)).toEqual([
      'reference A (embedded) (profile main)',
      'reference A (embedded) (profile 1.1)',
      'reference (body limit 700)',
    ]);
    inputs.forEach(({ results }, n) => {
      const label = m.implementations[n]!.label;
      expect(m.implementations[n]!.must).toEqual({ passed: results.summary.must.passed, tested: results.summary.must.tested });
      for (const [area, c] of Object.entries(results.summary.byArea)) {
        const xfail = results.requirements.filter((r) => r.area === area && r.outcome === 'failed' && r.expectedFailure).length;
        expect(m.byArea[label]![area], `${label} ${area}`).toEqual({
          passed: c.passed,
          judged: c.passed + c.failed + c.warning,
          failed: c.failed,
          expectedFailures: xfail,
          warning: c.warning,
          notRun: c['not-run'],
          notApplicable: c['not-applicable'],
        });
      }
      for (const r of results.requirements) {
        const row = m.requirements.find((x) => x.id === r.id)!;
        expect(row.cells[label]!.outcome, `${label} ${r.id}`).toBe(r.outcome);
      }
    });
    // Known cells: the profile 1.1 run leaves 1.4-only requirements not applicable; the ledger run has an expected failure and an unexpected pass.
    const [main, p11, ledger] = m.implementations.map((i) => i.label) as [string, string, string];
    const row = (id: string) => m.requirements.find((r) => r.id === id)!;
    expect(requirementSymbol(row('SHR-11').cells[ledger])).toBe(CELL_SYMBOL.expectedFailure);
    expect(requirementSymbol(row('SHR-11').cells[main])).toBe(CELL_SYMBOL.passed);
    expect(requirementSymbol(row('DISC-4').cells[ledger])).toBe(CELL_SYMBOL.unexpectedPass);
    expect(m.byArea[p11]!['token']).toMatchObject({ judged: 0, notApplicable: 9 });
    expect(areaText(m.byArea[p11]!['token']!)).toBe('–');
    expect(m.byArea[ledger]!['shares']).toMatchObject({ failed: 1, expectedFailures: 1 });
    expect(m.interop).toBeUndefined();
  });

  test('Markdown and HTML show the same table', async () => {
    const m = buildMatrix(await stored());
    const md = matrixMarkdown(m);
    const areasBlock = md.slice(md.indexOf('## Implementations × areas'), md.indexOf('## Implementations × requirements'));
    const lines = areasBlock.split('\n').filter((l) => l.startsWith('| '));
    const header = lines[0]!
      .split('|')
      .slice(2, -1)
      .map((s) => s.trim());
    expect(header).toEqual(m.areas);
    for (const impl of m.implementations) {
      const line = lines.find((l) => l.startsWith(`| ${impl.label} |`))!;
      const cells = line
        .split('|')
        .slice(2, -1)
        .map((s) => s.trim().replace(/ (❌|⚠|✘ₓ)$/, ''));
      expect(cells).toEqual(m.areas.map((a) => areaText(m.byArea[impl.label]![a]!)));
    }
    const reqLines = md
      .slice(md.indexOf('## Implementations × requirements'))
      .split('\n')
      .filter((l) => /^\| [A-Z0-9]+-\d+ \|/.test(l));
    expect(reqLines.length).toBe(m.requirements.length);
    const html = matrixHtml(m);
    for (const impl of m.implementations) {
      for (const a of m.areas) {
        const cell = new RegExp(`data-impl="${impl.label.replace(/[()]/g, '\\$&')}" data-area="${a}"[^>]*>([^<]*)<`).exec(html);
        expect(cell?.[1], `${impl.label} ${a}`).toBe(areaText(m.byArea[impl.label]![a]!));
      }
    }
    expect(html.match(/data-req="/g)).toHaveLength(m.requirements.length * m.implementations.length);
    expect(html).toContain('data-req="SHR-11" data-outcome="failed" title="failed (expected)"');
    expect(md).toContain('| reference (body limit 700) | 18/18 | 21/22 ✘ₓ |');
  });

  test('the matrix command writes HTML and Markdown, with LABEL=FILE names', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ocm-matrix-'));
    const files = await writeMatrix([`main=${FILES[0]}`, `v1.1=${FILES[1]}`, FILES[2]!], out);
    const md = await readFile(files.markdown, 'utf8');
    expect(md).toContain('| main | main | ✅ pass |');
    expect(md).toContain('| v1.1 | 1.1 | ✅ pass |');
    expect(md).toContain('| reference (body limit 700) | main | ✅ pass | 58/59 |');
    expect(await readFile(files.html, 'utf8')).toContain('<th>v1.1</th>');
    expect(parseMatrixArgument('a=b.json')).toEqual({ label: 'a', file: 'b.json' });
    expect(parseMatrixArgument(FILES[0]!)).toEqual({ file: FILES[0] });
    await expect(writeMatrix([join(RUNS, 'README.md')], out)).rejects.toThrow(/cannot read results file/);
  });
});

test('interop runs give a sender × receiver grid', () => {
  const { results } = sampleResults();
  const m = buildMatrix([{ results, source: 'sample' }]);
  const target = results.target.name;
  expect(m.interop!.parties).toEqual(['Partner Cloud', target].sort((a, b) => a.localeCompare(b)));
  expect(m.interop!.cells[target]!['Partner Cloud']).toEqual({ checks: 1, passed: 1, failed: 0, notRun: 0 });
  expect(m.interop!.cells['Partner Cloud']![target]).toEqual({ checks: 1, passed: 0, failed: 1, notRun: 0 });
  expect(m.interop!.cells[target]![target]).toBeUndefined();
  // Warnings count as judged.
  const warned = results.requirements.find((r) => r.outcome === 'warning')!;
  const c = results.summary.byArea[warned.area]!;
  expect(m.byArea[target]![warned.area]).toMatchObject({
    passed: c.passed,
    judged: c.passed + c.failed + c.warning,
    failed: c.failed,
    warning: c.warning,
    notRun: c['not-run'],
    notApplicable: c['not-applicable'],
  });
  expect(m.byArea[target]![warned.area]!.warning).toBe(1);
  const md = matrixMarkdown(m);
  expect(md).toContain('## Interop: sender × receiver');
  expect(md).toContain('| Partner Cloud |  | 0/1 ❌ |');
  const html = matrixHtml(m);
  expect(html).toContain('data-sender="Partner Cloud" data-receiver="Sample &lt;Cloud&gt; &amp; &quot;Co&quot;">0/1<');
});
