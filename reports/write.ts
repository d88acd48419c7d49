/**
 * Writes every report format of one results object into a folder:
 *   compliance-results.json  the results (schema: results/schema.json)
 *   report.html              self-contained HTML with transcripts
 *   junit.xml                JUnit XML for CI test views
 *   summary.md               Markdown for CI job summaries
 *   results.earl.jsonld      EARL assertions in JSON-LD
 *   badge.svg                profile and MUST pass rate
 *   badge.json               the same badge as a shields.io endpoint document
 *   ctrf-report.json         CTRF (Common Test Report Format) JSON
 * Each file is scrubbed of secrets (results/redact.ts) as it is written.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ComplianceResults } from '../results/model.ts';
import { renderBadge, renderBadgeEndpoint } from './badge.ts';
import { renderCtrf } from './ctrf.ts';
import { renderEarl } from './earl.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { redactDeep, scrubText } from '../results/redact.ts';
import { writeResults } from '../results/schema.ts';

export const REPORT_FILES = {
  results: 'compliance-results.json',
  html: 'report.html',
  junit: 'junit.xml',
  markdown: 'summary.md',
  earl: 'results.earl.jsonld',
  badge: 'badge.svg',
  badgeEndpoint: 'badge.json',
  ctrf: 'ctrf-report.json',
} as const;

export type ReportFiles = Record<keyof typeof REPORT_FILES, string>;

export async function writeReports(input: ComplianceResults, dir: string, options: { resultsFile?: string } = {}): Promise<ReportFiles> {
  const results = redactDeep(input);
  await mkdir(dir, { recursive: true });
  const files = Object.fromEntries(Object.entries(REPORT_FILES).map(([k, name]) => [k, join(dir, name)])) as ReportFiles;
  if (options.resultsFile) files.results = options.resultsFile;
  await writeResults(files.results, results);
  const rendered: Array<[string, string]> = [
    [files.html, renderHtml(results)],
    [files.junit, renderJunit(results)],
    [files.markdown, renderMarkdown(results)],
    [files.earl, renderEarl(results)],
    [files.badge, renderBadge(results)],
    [files.badgeEndpoint, renderBadgeEndpoint(results)],
    [files.ctrf, renderCtrf(results)],
  ];
  await Promise.all(rendered.map(([file, text]) => writeFile(file, scrubText(text))));
  return files;
}

/** Pretty JSON, scrubbed of secrets, into a file whose folder is made if missing. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, scrubText(`${JSON.stringify(value, null, 2)}\n`));
}

export function describeReportFiles(files: ReportFiles): string {
  const label: Record<keyof typeof REPORT_FILES, string> = {
    results: 'results (JSON)',
    html: 'HTML report',
    junit: 'JUnit XML',
    markdown: 'Markdown summary',
    earl: 'EARL (JSON-LD)',
    badge: 'badge (SVG)',
    badgeEndpoint: 'badge (shields)',
    ctrf: 'CTRF (JSON)',
  };
  return (Object.keys(REPORT_FILES) as Array<keyof typeof REPORT_FILES>).map((k) => `  ${label[k].padEnd(17)} ${files[k]}`).join('\n');
}
