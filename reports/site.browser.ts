/**
 * The public matrix site in a real browser (project `browser`: Debian's
 * chromium): three submissions made from the shipped runs, the overview,
 * a drill-down to one implementation, and not one request leaving file://.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readResults } from '../results/schema.ts';
import { renderSite } from './site.ts';
import { buildSubmission, type Submission } from './submission.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));
const OUTPUT = fileURLToPath(new URL('./output/browser/site/', import.meta.url));

test.beforeAll(() => {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium is missing at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
});

async function submission(file: string, name: string, version: string): Promise<Submission> {
  const path = join(RUNS, file);
  return buildSubmission(await readResults(path), readFileSync(path), { implementation: name, version, resultsFile: file });
}

test('the matrix site: overview, drill-down, nothing from the network', async ({ page }) => {
  const submissions = [
    await submission('reference-main.json', 'Reference', '0.1.0'),
    await submission('reference-1.1.json', 'Reference', '0.1.0'),
    await submission('reference-body-limit-ledger.json', 'Reference (body limit 700)', '0.1.0'),
  ];
  for (const [path, text] of renderSite(submissions)) {
    await mkdir(dirname(join(OUTPUT, path)), { recursive: true });
    await writeFile(join(OUTPUT, path), text);
  }
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(join(OUTPUT, 'index.html')).href);

  const rows = page.locator('#overview tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(page.locator('#overview thead th')).toContainText(['implementation', 'version', 'profile', 'verdict', 'discovery']);
  await expect(rows.filter({ hasText: 'Reference (body limit 700)' })).toContainText('PASS');
  // Not supported is its own mark, never counted as failed.
  const unsupported = page.locator('#overview td[data-not-supported]:not([data-not-supported="0"])');
  expect(await unsupported.count()).toBeGreaterThan(0);
  for (const cell of await unsupported.all()) await expect(cell).toHaveAttribute('data-failed', '0');
  await page.screenshot({ path: join(OUTPUT, 'overview.png'), fullPage: true });

  // Drill down to the ledger run: its declared failure shows as such, its gated requirements as not supported.
  await rows.filter({ hasText: 'Reference (body limit 700)' }).getByRole('link').first().click();
  await expect(page.locator('h1')).toHaveText('Reference (body limit 700) 0.1.0');
  await expect(page.locator('#requirements tr#SHR-11')).toHaveAttribute('data-status', 'expected-failure');
  await expect(page.locator('#requirements tr[data-status="not-supported"]').first()).toContainText(
    'not supported (capability not advertised)',
  );
  await expect(page.locator('#requirements tr[data-status="failed"]')).toHaveCount(0);
  await page.screenshot({ path: join(OUTPUT, 'implementation.png'), fullPage: true });
  await page.getByText('← all implementations').click();
  await expect(rows).toHaveCount(3);

  expect(errors).toEqual([]);
  expect(requests.length).toBeGreaterThan(1);
  for (const url of requests) expect(url.startsWith('file://'), url).toBe(true);
});
