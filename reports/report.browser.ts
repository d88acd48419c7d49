/**
 * The HTML report in a real browser (project `browser`: Debian's chromium,
 * installed by .ci/run). Opens the generated file over file://, checks the
 * verdict, uses the filters, expands a failure down to its transcript and
 * takes screenshots into reports/output/browser/. A missing chromium fails
 * these tests; it never skips them.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readResults } from '../results/schema.ts';
import { PLANTED_MARK, sampleResults } from '../selftest/report-sample.ts';
import { writeReports } from './write.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('./output/browser/', import.meta.url));
const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));

test.beforeAll(() => {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium is missing at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
});

/** Opens a report; every request the page makes must stay on file:// and no script may throw. */
async function open(page: Page, file: string): Promise<{ requests: string[]; errors: string[] }> {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  return { requests, errors };
}

test('the HTML report: verdict, filters, a failure expanded to its transcript', async ({ page }) => {
  const { results, ids } = sampleResults();
  const files = await writeReports(results, join(OUTPUT, 'sample'));
  const seen = await open(page, files.html);

  await expect(page.locator('#verdict')).toHaveText(/^FAIL: 2 MUST requirements failed/);
  await expect(page.locator('#verdict')).toHaveAttribute('data-pass', 'false');
  await expect(page.locator('#must-rate')).toContainText(`MUST ${results.summary.must.passed}/${results.summary.must.tested}`);
  const rows = page.locator('tr.req');
  const visible = page.locator('tr.req:visible');
  await expect(rows).toHaveCount(results.requirements.length);
  await expect(visible).toHaveCount(results.requirements.length);

  // Filter: failures and warnings only.
  await page.click('#show-problems');
  const problems = results.summary.byOutcome.failed + results.summary.byOutcome.warning;
  await expect(visible).toHaveCount(problems);
  await expect(page.locator('#shown-count')).toHaveText(String(problems));
  await expect(page.locator(`#req-${ids.pass}`)).toBeHidden();
  await expect(page.locator(`#req-${ids.warning}`)).toBeVisible();
  // …and no MUST: only the warning is left.
  await page.getByLabel('MUST', { exact: true }).uncheck();
  await expect(visible).toHaveCount(
    results.requirements.filter((r) => (r.outcome === 'failed' || r.outcome === 'warning') && r.level !== 'MUST').length,
  );
  await expect(page.locator(`#req-${ids.fail}`)).toBeHidden();
  // An outcome chip shows only that outcome.
  await page.click('#show-all');
  await page.click('button.chip[data-only="not-applicable"]');
  await expect(visible).toHaveCount(results.summary.byOutcome['not-applicable']);
  await expect(page.locator('section.area:visible')).toHaveCount(
    new Set(results.requirements.filter((r) => r.outcome === 'not-applicable').map((r) => r.area)).size,
  );
  // Text search.
  await page.click('#show-all');
  await page.fill('#search', ids.fail.toLowerCase());
  await expect(page.locator(`#req-${ids.fail}`)).toBeVisible();
  await page.fill('#search', '');
  await expect(visible).toHaveCount(results.requirements.length);

  // Expand the failure: summary, spec anchor, expected versus actual, transcript.
  const row = page.locator(`#req-${ids.fail}`);
  const failure = results.requirements.find((r) => r.id === ids.fail)!;
  await row.locator('details > summary').first().click();
  await expect(row.locator('dd.section')).toHaveText(failure.section);
  await expect(row.locator('pre.expected')).toHaveText('>= 400');
  await expect(row.locator('pre.actual')).toHaveText('201');
  await expect(row.locator('pre.error')).toContainText('the share must be refused');
  const transcript = row.locator('details.transcript');
  await expect(transcript).not.toHaveAttribute('open', '');
  await transcript.locator('summary').click();
  await expect(transcript).toHaveAttribute('open', '');
  await expect(transcript).toContainText('POST http://127.0.0.2:8080/ocm/notifications/[redacted]');
  await expect(transcript).toContainText('"sharedSecret": "[redacted]"');
  await expect(transcript).toContainText('authorization: [redacted]');
  await row.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(OUTPUT, 'report-failure-expanded.png') });

  // With everything expanded, nothing secret is on the page.
  await page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) (d as HTMLDetailsElement).open = true;
  });
  expect(await page.locator('body').innerText()).not.toContain(PLANTED_MARK);
  await page.screenshot({ path: join(OUTPUT, 'report-full.png'), fullPage: true });

  expect(seen.errors).toEqual([]);
  expect(seen.requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
});

test('the HTML report of a stored run: expected failures and unexpected passes, links to rows', async ({ page }) => {
  const results = await readResults(join(RUNS, 'reference-body-limit-ledger.json'));
  const files = await writeReports(results, join(OUTPUT, 'stored'));
  const seen = await open(page, files.html);
  await expect(page.locator('#verdict')).toHaveText('PASS: no MUST requirement failed, 1 expected failure');
  await expect(page.locator('#verdict')).toHaveCSS('background-color', 'rgb(26, 127, 55)');
  await expect(page.locator('#unexpected-passes')).toContainText('DISC-4');
  await expect(page.locator('#expected-failures')).toContainText('SHR-11');
  await page.locator('#unexpected-passes a', { hasText: 'DISC-4' }).click();
  await expect(page.locator('#req-DISC-4 details').first()).toHaveAttribute('open', '');
  await expect(page.locator('#req-DISC-4 .o')).toHaveText('passed (unexpected pass)');
  await page.click('button.chip[data-only="failed"]');
  await expect(page.locator('tr.req:visible')).toHaveCount(1);
  await expect(page.locator('#req-SHR-11 .o')).toHaveText('failed (expected)');
  await page.screenshot({ path: join(OUTPUT, 'report-stored-run.png') });
  expect(seen.errors).toEqual([]);
  expect(seen.requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
});
