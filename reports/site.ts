/**
 * The public matrix as a static site (`ocm-conformance matrix DIR --site OUT`),
 * built from a folder of submissions (reports/submission.ts):
 *   index.html              implementations × areas: MUST rate, verdict, and per
 *                           area passed/judged with failed, warnings and not
 *                           supported counted apart
 *   impl/<slug>.html        one implementation: every requirement's status and
 *                           reason, the link to its full reports, the results hash
 *   badges/<slug>.json      its shields.io endpoint badge
 * "Not supported (capability not advertised)" is a status of its own, never
 * shown as failed. Pages are plain HTML with inline CSS, and their
 * Content-Security-Policy forbids loading anything from anywhere.
 */
import { badgeColourFor } from './badge.ts';
import { escapeHtml as h } from './format.ts';
import { SUBMISSION_STATUSES, type Submission, type SubmissionStatus } from './submission.ts';

export interface SiteEntry {
  submission: Submission;
  slug: string;
}

export const STATUS_LABEL: Record<SubmissionStatus, string> = {
  passed: 'passed',
  failed: 'failed',
  'expected-failure': 'failed (expected)',
  warning: 'warning',
  'not-supported': 'not supported (capability not advertised)',
  'not-applicable': 'not applicable',
  'not-run': 'not run',
  error: 'harness error (not judged)',
};

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.pass{color:#1a7f37}.fail{color:#cf222e}.status-failed{background:#ffebe9}.status-expected-failure{background:#fff8c5}.status-warning{background:#fff8c5}
.status-not-supported{background:#eef1f4;color:#57606a;font-style:italic}.status-not-applicable,.status-not-run{color:#57606a}.small{font-size:12px;color:#57606a}code{font-size:12px}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
}

/** A file-name-safe slug of name, version and profile, unique among `taken`. */
export function slugFor(s: Submission, taken: Set<string>): string {
  const base =
    `${s.implementation.name}-${s.implementation.version}-${s.profile}`
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'implementation';
  let slug = base;
  for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
  taken.add(slug);
  return slug;
}

export function siteEntries(submissions: Submission[]): SiteEntry[] {
  const taken = new Set<string>();
  return [...submissions]
    .sort(
      (a, b) =>
        a.implementation.name.localeCompare(b.implementation.name) ||
        a.implementation.version.localeCompare(b.implementation.version) ||
        a.profile.localeCompare(b.profile),
    )
    .map((submission) => ({ submission, slug: slugFor(submission, taken) }));
}

type Counts = Record<SubmissionStatus, number>;
function countsOf(requirements: Submission['requirements']): Counts {
  const counts = Object.fromEntries(SUBMISSION_STATUSES.map((s) => [s, 0])) as Counts;
  for (const r of requirements) counts[r.status]++;
  return counts;
}

function areaCell(counts: Counts): string {
  const judged = counts.passed + counts.failed + counts['expected-failure'] + counts.warning;
  const parts = [`${counts.passed}/${judged}`];
  if (counts.failed) parts.push(`<span class="fail">${counts.failed} failed</span>`);
  if (counts['expected-failure']) parts.push(`${counts['expected-failure']} expected`);
  if (counts.warning) parts.push(`${counts.warning} warning`);
  if (counts['not-supported']) parts.push(`<span class="status-not-supported">${counts['not-supported']} not supported</span>`);
  const cls = counts.failed ? 'status-failed' : judged === 0 && counts['not-supported'] ? 'status-not-supported' : '';
  return `<td class="${cls}" data-failed="${counts.failed}" data-not-supported="${counts['not-supported']}">${parts.join('<br>')}</td>`;
}

const mustRate = (s: Submission) => `MUST ${s.must.passed}/${s.must.tested}`;
const verdict = (s: Submission) => `<span class="${s.verdict.pass ? 'pass' : 'fail'}">${s.verdict.pass ? 'PASS' : 'FAIL'}</span>`;

export function renderIndex(entries: SiteEntry[]): string {
  const areas = [...new Set(entries.flatMap((e) => e.submission.requirements.map((r) => r.area)))].sort();
  const rows = entries.map(({ submission: s, slug }) => {
    const cells = areas.map((area) => areaCell(countsOf(s.requirements.filter((r) => r.area === area))));
    return `<tr id="impl-${h(slug)}"><th><a href="impl/${h(slug)}.html">${h(s.implementation.name)}</a></th><td>${h(s.implementation.version)}</td><td>${h(s.profile)}</td><td>${verdict(s)} · ${h(mustRate(s))}</td>${cells.join('')}<td><a href="badges/${h(slug)}.json">badge.json</a></td></tr>`;
  });
  return page(
    'OCM conformance matrix',
    `<h1>OCM conformance matrix</h1>
<p>${entries.length} submission${entries.length === 1 ? '' : 's'}. Each area cell: requirements passed of those judged; failures, warnings and requirements <em>not supported</em> (a capability the implementation does not advertise) are counted apart.</p>
<table id="overview"><thead><tr><th>implementation</th><th>version</th><th>profile</th><th>verdict</th>${areas.map((a) => `<th>${h(a)}</th>`).join('')}<th>badge</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`,
  );
}

export function renderImplementation({ submission: s, slug }: SiteEntry): string {
  const counts = countsOf(s.requirements);
  const rows = s.requirements.map(
    (r) =>
      `<tr class="status-${r.status}" id="${h(r.id)}" data-status="${r.status}"><td>${h(r.id)}</td><td>${h(r.level)}</td><td>${h(r.area)}</td><td>${h(STATUS_LABEL[r.status])}${r.unexpectedPass ? ' (unexpected pass)' : ''}</td><td>${h(r.reason ?? '')}</td></tr>`,
  );
  const reports = s.implementation.url
    ? `<a href="${h(s.implementation.url)}" rel="noopener">full reports</a>`
    : 'full reports not published';
  return page(
    `${s.implementation.name} ${s.implementation.version}: OCM conformance`,
    `<p><a href="../index.html">← all implementations</a></p>
<h1>${h(s.implementation.name)} ${h(s.implementation.version)}</h1>
<p id="verdict">${verdict(s)} · ${h(mustRate(s))} · profile ${h(s.profile)} · run ${h(s.date)} · ${h(s.tool.name)} ${h(s.tool.version)}</p>
<p>${reports} · results <code>${h(s.results.file)}</code> SHA-256 <code>${h(s.results.sha256)}</code> · <a href="../badges/${h(slug)}.json">badge.json</a></p>
<p class="small">${SUBMISSION_STATUSES.map((st) => `${h(STATUS_LABEL[st])}: ${counts[st]}`).join(' · ')}</p>
<table id="requirements"><thead><tr><th>requirement</th><th>level</th><th>area</th><th>status</th><th>reason</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`,
  );
}

export function renderSiteBadge(s: Submission): string {
  const colour = badgeColourFor({ pass: s.verdict.pass, mustFailed: s.must.failed, mustTested: s.must.tested });
  return `${JSON.stringify({ schemaVersion: 1, label: `OCM ${s.profile}`, message: mustRate(s), color: colour.replace(/^#/, '') }, null, 2)}\n`;
}

/** Every file of the site, by path relative to its root. */
export function renderSite(submissions: Submission[]): Map<string, string> {
  const entries = siteEntries(submissions);
  const files = new Map<string, string>([['index.html', renderIndex(entries)]]);
  for (const entry of entries) {
    files.set(`impl/${entry.slug}.html`, renderImplementation(entry));
    files.set(`badges/${entry.slug}.json`, renderSiteBadge(entry.submission));
  }
  return files;
}
