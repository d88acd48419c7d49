import { test, expect } from '@playwright/test';
import { XMLParser } from 'fast-xml-parser';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComplianceResults, Outcome } from '../results/model.ts';
import { writeMatrix } from '../cli/matrix.ts';
import { BADGE_COLOURS, renderBadge } from './badge.ts';
import { EARL_OUTCOME, renderEarl } from './earl.ts';
import { renderHtml } from './html.ts';
import { junitCases, renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { redactDeep, scrubText } from '../results/redact.ts';
import { readResults, writeResults } from '../results/schema.ts';
import { PLANTED, PLANTED_MARK, sampleResults } from '../selftest/report-sample.ts';
import { REPORT_FILES, writeReports } from './write.ts';

const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
});
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The sample plus the three stored runs: every format is checked on each. */
async function allResults(): Promise<Array<[string, ComplianceResults]>> {
  return [
    ['sample', sampleResults().results],
    ...(await Promise.all(
      ['reference-main.json', 'reference-1.1.json', 'reference-body-limit-ledger.json'].map(
        async (f) => [f, await readResults(join(RUNS, f))] as [string, ComplianceResults],
      ),
    )),
  ];
}

test.describe('JUnit XML', () => {
  test("parses, and its counts are the results' (one testcase per requirement check)", async () => {
    for (const [name, results] of await allResults()) {
      const doc = xml.parse(renderJunit(results));
      const root = doc.testsuites;
      const suites = asArray<any>(root.testsuite);
      const cases = suites.flatMap((s) => asArray<any>(s.testcase));
      const expectedTests = results.requirements.reduce((n, r) => n + Math.max(1, r.checks.length), 0);
      const failedChecks = results.requirements
        .filter((r) => r.outcome === 'failed' && !r.expectedFailure)
        .reduce((n, r) => n + r.checks.filter((c) => c.status === 'failed' || c.status === 'timed-out').length, 0);
      const skipped =
        results.requirements.filter((r) => r.checks.length === 0).length +
        results.requirements.reduce((n, r) => n + r.checks.filter((c) => c.status === 'not-run' || c.status === 'interrupted').length, 0) +
        results.requirements
          .filter((r) => r.outcome === 'failed' && r.expectedFailure)
          .reduce((n, r) => n + r.checks.filter((c) => c.status === 'failed' || c.status === 'timed-out').length, 0);
      expect(cases.length, name).toBe(expectedTests);
      expect(Number(root['@_tests']), name).toBe(expectedTests);
      expect(Number(root['@_failures']), name).toBe(failedChecks);
      expect(cases.filter((c) => c.failure !== undefined).length, name).toBe(failedChecks);
      expect(Number(root['@_skipped']), name).toBe(skipped);
      expect(cases.filter((c) => c.skipped !== undefined).length, name).toBe(skipped);
      expect(suites.map((s) => s['@_name']).sort(), name).toEqual(Object.keys(results.summary.byArea).sort());
      for (const s of suites) expect(Number(s['@_tests']), name).toBe(asArray(s.testcase).length);
      // Level and ID as properties of each testcase.
      for (const c of cases) {
        const props = Object.fromEntries(asArray<any>(c.properties?.property).map((p) => [p['@_name'], p['@_value']]));
        const requirement = results.requirements.find((r) => r.id === props.requirement);
        expect(requirement, `${name}: ${c['@_name']}`).toBeDefined();
        expect(props.level).toBe(requirement!.level);
        expect(props.outcome).toBe(requirement!.outcome);
      }
      expect(junitCases(results).length).toBe(expectedTests);
    }
  });

  test('unexpected passes and expected failures are marked', () => {
    const { results, ids } = sampleResults();
    const cases = xml.parse(renderJunit(results)).testsuites.testsuite.flatMap((s: any) => asArray<any>(s.testcase));
    const props = (c: any) => Object.fromEntries(asArray<any>(c.properties.property).map((p) => [p['@_name'], p['@_value']]));
    const xpass = cases.find((c: any) => props(c).requirement === ids.xpass);
    expect(props(xpass).expectation).toBe('unexpected-pass');
    expect(xpass['system-out']).toContain('UNEXPECTED PASS');
    const xfail = cases.find((c: any) => props(c).requirement === ids.xfail);
    expect(xfail.skipped['@_message']).toMatch(/^expected failure/);
    const failed = cases.find((c: any) => props(c).requirement === ids.fail);
    expect(failed.failure['#text']).toContain('expected: >= 400');
    expect(failed.failure['#text']).toContain('actual:   201');
  });
});

test.describe('EARL', () => {
  test('one earl:Assertion per requirement, outcomes counted as in the results', async () => {
    for (const [name, results] of await allResults()) {
      const doc = JSON.parse(renderEarl(results));
      expect(doc['@context'].earl).toBe('http://www.w3.org/ns/earl#');
      const graph = doc['@graph'] as any[];
      const assertions = graph.filter((n) => n['@type'] === 'earl:Assertion');
      expect(assertions.length, name).toBe(results.requirements.length);
      for (const outcome of Object.keys(EARL_OUTCOME) as Outcome[]) {
        // Outcomes that share an EARL outcome (warning and error are both earl:cantTell) are counted together.
        const sharing = (Object.keys(EARL_OUTCOME) as Outcome[]).filter((o) => EARL_OUTCOME[o] === EARL_OUTCOME[outcome]);
        expect(assertions.filter((a) => a['earl:result']['earl:outcome'] === EARL_OUTCOME[outcome]).length, `${name} ${outcome}`).toBe(
          sharing.reduce((sum, o) => sum + (results.summary.byOutcome[o] ?? 0), 0),
        );
      }
      const tool = graph.find((n) => asArray(n['@type']).includes('earl:Assertor'));
      const subject = graph.find((n) => asArray(n['@type']).includes('earl:TestSubject'));
      expect(subject['@id']).toBe(results.target.url);
      for (const a of assertions) {
        expect(a['earl:assertedBy']).toBe(tool['@id']);
        expect(a['earl:subject']).toBe(results.target.url);
        expect(a['earl:mode']).toBe('earl:automatic');
        expect(a['earl:test']['@id']).toMatch(/^urn:ocm-conformance:req:[A-Z0-9]+-\d+$/);
        const requirement = results.requirements.find((r) => `urn:ocm-conformance:req:${r.id}` === a['earl:test']['@id'])!;
        expect(a['earl:test']['dct:description']).toBe(requirement.section);
        expect(a['earl:result']['earl:outcome']).toBe(EARL_OUTCOME[requirement.outcome]);
      }
    }
  });

  test('warning is cantTell, and an unexpected pass says so', () => {
    const { results, ids } = sampleResults();
    const assertions = (JSON.parse(renderEarl(results))['@graph'] as any[]).filter((n) => n['@type'] === 'earl:Assertion');
    const of = (id: string) => assertions.find((a) => a['earl:test']['dct:identifier'] === id);
    expect(of(ids.warning)['earl:result']['earl:outcome']).toBe('earl:cantTell');
    expect(of(ids.notApplicable)['earl:result']['earl:outcome']).toBe('earl:inapplicable');
    expect(of(ids.notRun)['earl:result']['earl:outcome']).toBe('earl:untested');
    expect(of(ids.xpass)['earl:result']['ocm:expectation']).toBe('unexpected-pass');
    expect(of(ids.xpass)['earl:result']['earl:info']).toContain('Unexpected pass');
    expect(of(ids.xfail)['earl:result']['ocm:expectation']).toBe('expected-failure');
  });
});

test.describe('Markdown summary', () => {
  test('verdict, MUST rate and the per-area table match the results', async () => {
    for (const [name, results] of await allResults()) {
      const md = renderMarkdown(results);
      expect(md.split('\n')[0], name).toBe(
        `## ${results.verdict.pass ? '✅' : '❌'} OCM conformance: ${results.verdict.pass ? 'PASS' : 'FAIL'} — ${results.target.name
          .replace(/</g, '&lt;')
          .replace(/>/g, '&gt;')
          .replace(/&(?!lt;|gt;)/g, '&amp;')}`,
      );
      expect(md).toContain(`**MUST ${results.summary.must.passed}/${results.summary.must.tested}**`);
      const rows = md.split('\n').filter((l) => /^\| [a-z0-9-]+ \| \d+ \|/.test(l));
      const parsed = Object.fromEntries(
        rows.map((l) => {
          const c = l.split('|').map((s) => s.trim());
          return [c[1], c.slice(2, 7).map(Number)];
        }),
      );
      const expected = Object.fromEntries(
        Object.entries(results.summary.byArea).map(([a, c]) => [a, [c.passed, c.failed, c.warning, c['not-applicable'], c['not-run']]]),
      );
      expect(parsed, name).toEqual(expected);
      const t = results.summary.byOutcome;
      expect(md).toContain(
        `| **total** | **${t.passed}** | **${t.failed}** | **${t.warning}** | **${t['not-applicable']}** | **${t['not-run']}** |`,
      );
      if (t['not-run']) expect(md).toContain(`### Not run (${t['not-run']})`);
    }
  });

  test('failed MUSTs, expected failures and unexpected passes are listed', () => {
    const { results, ids } = sampleResults();
    const md = renderMarkdown(results);
    const section = (title: string) => md.slice(md.indexOf(title), md.indexOf('###', md.indexOf(title) + 4));
    expect(section('### ❌ Failed MUST requirements (2)')).toContain(`| ${ids.fail} |`);
    expect(section('### ⚠️ Unexpected passes (1)')).toContain(`| ${ids.xpass} |`);
    expect(section('### Expected failures (1')).toContain(`| ${ids.xfail} |`);
    expect(section('### Warnings (1')).toContain(`| ${ids.warning} |`);
    expect(md).not.toContain('<Cloud>');
  });
});

test.describe('badge', () => {
  const parseBadge = (svg: string) => {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(svg);
    const texts = asArray<any>(doc.svg.g[1].text);
    const rects = asArray<any>(doc.svg.g[0].rect);
    return {
      label: texts.find((t) => t['@_id'] === 'label')['#text'],
      value: texts.find((t) => t['@_id'] === 'value')['#text'],
      colour: rects[1]['@_fill'],
      title: doc.svg.title,
    };
  };

  test('profile, MUST pass rate and colour follow the results', async () => {
    for (const [name, results] of await allResults()) {
      const badge = parseBadge(renderBadge(results));
      expect(badge.label, name).toBe(`OCM ${results.run.profile}`);
      expect(badge.value, name).toBe(`MUST ${results.summary.must.passed}/${results.summary.must.tested}`);
      const colour = !results.verdict.pass
        ? BADGE_COLOURS.fail
        : results.summary.must.failed > 0
          ? BADGE_COLOURS.partial
          : BADGE_COLOURS.pass;
      expect(badge.colour, name).toBe(colour);
    }
    const runs = Object.fromEntries(await allResults());
    expect(parseBadge(renderBadge(runs['sample']!)).colour).toBe(BADGE_COLOURS.fail);
    expect(parseBadge(renderBadge(runs['reference-main.json']!)).colour).toBe(BADGE_COLOURS.pass);
    expect(parseBadge(renderBadge(runs['reference-body-limit-ledger.json']!)).colour).toBe(BADGE_COLOURS.partial);
    expect(parseBadge(renderBadge(runs['reference-1.1.json']!)).label).toBe('OCM 1.1');
  });
});

test.describe('HTML report', () => {
  test('is self-contained and escapes what it shows', () => {
    const { results } = sampleResults();
    const html = renderHtml(results);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Sample &lt;Cloud&gt; &amp; &quot;Co&quot;');
    expect(html).toContain('Marie &lt;b&gt;Curie&lt;/b&gt;');
    expect(html).not.toContain('Marie <b>Curie</b>');
    expect(html).toContain('the target answers &lt;ok&gt; &amp; &quot;quoted&quot;');
  });

  test('has the verdict, a table per area, filters and a row per requirement', () => {
    const { results, ids } = sampleResults();
    const html = renderHtml(results);
    expect(html).toContain('id="verdict" class="verdict fail" data-pass="false"');
    for (const area of Object.keys(results.summary.byArea)) expect(html).toContain(`<section class="area" id="area-${area}"`);
    expect(html.match(/<tr class="req" /g)).toHaveLength(results.requirements.length);
    for (const o of ['passed', 'failed', 'warning', 'not-applicable', 'not-run']) expect(html).toContain(`name="outcome" value="${o}"`);
    expect(html).toContain('name="level" value="MUST"');
    expect(html).toContain(`id="req-${ids.fail}"`);
    expect(html).toContain('passed (unexpected pass)');
    expect(html).toContain('failed (expected)');
  });
});

test.describe('secrets', () => {
  test('no planted secret survives into any output', async () => {
    const { results } = sampleResults();
    // The raw inputs did carry them (the fixture plants them where real transcripts would).
    expect(JSON.stringify(sampleResults().report)).toContain(PLANTED_MARK);
    const dir = await mkdtemp(join(tmpdir(), 'ocm-secrets-'));
    const files = await writeReports(results, dir);
    await writeMatrix([join(RUNS, 'reference-main.json'), `sample=${files.results}`], join(dir, 'matrix'));
    const outputs = [
      ...(await readdir(dir)).map((f) => join(dir, f)),
      join(dir, 'matrix/matrix.html'),
      join(dir, 'matrix/matrix.md'),
    ].filter((f) => !f.endsWith('matrix'));
    expect(outputs.map((f) => f.slice(dir.length + 1)).sort()).toEqual(
      [...Object.values(REPORT_FILES), 'matrix/matrix.html', 'matrix/matrix.md'].sort(),
    );
    for (const file of outputs) {
      const text = await readFile(file, 'utf8');
      for (const secret of Object.values(PLANTED)) expect(text.includes(secret), `${secret} in ${file}`).toBe(false);
      expect(text, file).not.toContain(PLANTED_MARK);
    }
    // …while the transcripts themselves are still there.
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('/ocm/shares');
    expect(html).toContain('[redacted]');
    expect(html).toContain('authorization: [redacted]');
  });

  test('a results file with secrets from elsewhere is redacted when read and when written', async () => {
    const { results } = sampleResults();
    const dirty = JSON.parse(JSON.stringify(results)) as ComplianceResults;
    dirty.transcripts['x'] = {
      sent: [{ request: { headers: { Authorization: `Bearer ${PLANTED.bearer}` }, body: `{"sharedSecret":"${PLANTED.shared}"}` } }],
      note: `code=${PLANTED.code}`,
    };
    dirty.requirements[0]!.reason = `the target answered {"token":"${PLANTED.token}"}`;
    const dir = await mkdtemp(join(tmpdir(), 'ocm-secrets-'));
    await writeResults(join(dir, 'r.json'), dirty);
    expect(await readFile(join(dir, 'r.json'), 'utf8')).not.toContain(PLANTED_MARK);
    expect(JSON.stringify(redactDeep(dirty))).not.toContain(PLANTED_MARK);
    // Placeholders in prose are not secrets and stay readable.
    expect(scrubText('forwards to <dialog>?token=<token>&providerDomain=<domain>')).toBe(
      'forwards to <dialog>?token=<token>&providerDomain=<domain>',
    );
    expect(scrubText('?token=abcdef123456&x=1')).toBe('?token=[redacted]&x=1');
  });
});
