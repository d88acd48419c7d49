/**
 * The HTML report: one self-contained file (inline CSS and JS, a Content
 * Security Policy that forbids every network fetch), readable offline.
 * Top: verdict, MUST rate, counts per outcome, expected failures and
 * unexpected passes, run details (peers, discovery as fetched). Then
 * filters (outcome, level, text) and one table per area; every requirement
 * row expands (<details>) to its summary, spec anchor, reason and checks,
 * each check with expected versus actual and its HTTP transcript.
 * Everything from the results is HTML-escaped; the results are redacted
 * before rendering and the page is scrubbed once more when written.
 */
import type { CheckResult, ComplianceResults, Outcome, RequirementResult } from '../results/model.ts';
import { harnessErrors, OUTCOMES } from '../results/model.ts';
import {
  areasOf,
  checkLocation,
  escapeHtml as h,
  formatDuration,
  levelsOf,
  mustRateText,
  OUTCOME_LABEL,
  outcomeText,
  plural,
  prettyMaybeJson,
  verdictText,
} from './format.ts';
import { redactDeep } from '../results/redact.ts';

const CSS = `
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--na:#6e7781;--nr:#8250df;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,nav,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
h1{font-size:22px;margin:18px 0 4px}
h2{font-size:18px;margin:28px 0 8px;display:flex;gap:12px;align-items:baseline}
h2 small{font-weight:normal;color:var(--muted);font-size:13px}
.muted{color:var(--muted)}
.verdict{margin:12px 0;padding:12px 16px;border-radius:6px;font-size:18px;color:#fff}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.chip{border:1px solid var(--line);background:var(--soft);border-radius:16px;padding:3px 12px;cursor:pointer;font:inherit}
.chip b{margin-left:4px}
.notice{border-left:4px solid var(--warn);background:#fff8c5;padding:8px 12px;margin:8px 0}
.notice.info{border-color:var(--nr);background:#fbefff}
nav{position:sticky;top:0;background:var(--bg);border-bottom:1px solid var(--line);padding-top:8px;padding-bottom:8px;z-index:1}
nav form{display:flex;flex-wrap:wrap;gap:12px;align-items:center}
fieldset{border:1px solid var(--line);border-radius:6px;padding:4px 10px;margin:0}
legend{font-size:12px;color:var(--muted)}
fieldset label{margin-right:10px;white-space:nowrap}
input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:6px;min-width:200px}
button{font:inherit}
nav button{border:1px solid var(--line);background:var(--soft);border-radius:6px;padding:4px 10px;cursor:pointer}
table{width:100%;border-collapse:collapse;margin-bottom:8px}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.id{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
td.level{white-space:nowrap}
.o{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;white-space:nowrap}
.o-passed{background:var(--pass)}.o-failed{background:var(--fail)}.o-warning{background:var(--warn)}.o-not-applicable{background:var(--na)}.o-not-run{background:var(--nr)}.o-error{background:#bc4c00}
.o.xfail{background:#bc4c00}.o.xpass{background:#0969da}
details>summary{cursor:pointer}
details[open]>summary{margin-bottom:6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0 8px}
dt{color:var(--muted)}dd{margin:0}
.check{border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:6px 0;background:var(--soft)}
.check h4{margin:0 0 4px;font-size:13px}
pre{background:#fff;border:1px solid var(--line);border-radius:4px;padding:6px 8px;overflow:auto;max-height:420px;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;margin:4px 0}
.ea{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.ea pre.expected{border-color:var(--pass)}.ea pre.actual{border-color:var(--fail)}
.exchange{border-left:3px solid var(--line);padding-left:8px;margin:6px 0}
.exchange .line{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;font-weight:600}
[hidden]{display:none !important}
tr.req{scroll-margin-top:140px}
footer{color:var(--muted);font-size:12px;margin-top:32px;margin-bottom:24px}
`;

const SCRIPT = `
(function(){
  var form=document.getElementById('filters');
  var search=document.getElementById('search');
  var rows=Array.prototype.slice.call(document.querySelectorAll('tr.req'));
  var sections=Array.prototype.slice.call(document.querySelectorAll('section.area'));
  function checked(name){var s={};Array.prototype.forEach.call(form.querySelectorAll('input[name='+name+']:checked'),function(i){s[i.value]=true});return s}
  function apply(){
    var outcomes=checked('outcome'),levels=checked('level'),q=search.value.trim().toLowerCase(),shown=0;
    rows.forEach(function(r){var ok=outcomes[r.dataset.outcome]&&levels[r.dataset.level]&&(!q||r.dataset.text.indexOf(q)>=0);r.hidden=!ok;if(ok)shown++});
    sections.forEach(function(s){s.hidden=!s.querySelector('tr.req:not([hidden])')});
    document.getElementById('shown-count').textContent=String(shown);
  }
  function only(outcomes){Array.prototype.forEach.call(form.querySelectorAll('input[name=outcome]'),function(i){i.checked=outcomes.indexOf(i.value)>=0});apply()}
  form.addEventListener('change',apply);
  search.addEventListener('input',apply);
  document.getElementById('show-problems').addEventListener('click',function(){only(['failed','warning'])});
  document.getElementById('show-all').addEventListener('click',function(){Array.prototype.forEach.call(form.querySelectorAll('input[type=checkbox]'),function(i){i.checked=true});search.value='';apply()});
  Array.prototype.forEach.call(document.querySelectorAll('[data-only]'),function(b){b.addEventListener('click',function(){only([b.getAttribute('data-only')])})});
  function openHash(){var id=decodeURIComponent(location.hash.slice(1));var row=id&&document.getElementById(id);if(!row)return;row.hidden=false;var s=row.closest('section');if(s)s.hidden=false;var d=row.querySelector('details');if(d)d.open=true;row.scrollIntoView()}
  window.addEventListener('hashchange',openHash);
  apply();openHash();
})();
`;

function outcomeBadge(r: RequirementResult): string {
  const extra = r.unexpectedPass ? ' xpass' : r.outcome === 'failed' && r.expectedFailure ? ' xfail' : '';
  return `<span class="o o-${r.outcome}${extra}">${h(outcomeText(r))}</span>`;
}

function pre(text: string, cls = ''): string {
  return `<pre${cls ? ` class="${cls}"` : ''}>${h(text)}</pre>`;
}

function headersText(headers: unknown): string {
  if (!headers || typeof headers !== 'object') return '';
  return Object.entries(headers as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join('\n');
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null || body === '') return '';
  return typeof body === 'string' ? prettyMaybeJson(body) : JSON.stringify(body, null, 2);
}

function renderExchange(e: any): string {
  const req = e?.request ?? {};
  const res = e?.response;
  const parts = [
    `<div class="exchange"><div class="line">→ ${h(req.method ?? '')} ${h(req.url ?? '')} <span class="muted">${h(e?.at ?? '')}${typeof e?.durationMs === 'number' ? ` · ${e.durationMs} ms` : ''}</span></div>`,
  ];
  const reqHeaders = headersText(req.headers);
  if (reqHeaders) parts.push(pre(reqHeaders));
  const reqBody = bodyText(req.body);
  if (reqBody) parts.push(pre(reqBody));
  if (res) {
    parts.push(`<div class="line">← ${h(res.status)}</div>`);
    const resHeaders = headersText(res.headers);
    if (resHeaders) parts.push(pre(resHeaders));
    const resBody = bodyText(res.body);
    if (resBody) parts.push(pre(resBody));
  }
  if (e?.error) parts.push(`<div class="line">✗ ${h(e.error)}</div>`);
  parts.push('</div>');
  return parts.join('');
}

function renderReceived(r: any): string {
  const parts = [
    `<div class="exchange"><div class="line">⇢ ${h(r?.method ?? '')} ${h(r?.url ?? '')} <span class="muted">at ${h(r?.peer ?? '')}${r?.signature ? ` · signature ${h(r.signature)}` : ''}</span>${exchangeLink(r?.exchangeId)}</div>`,
  ];
  const headers = headersText(r?.headers);
  if (headers) parts.push(pre(headers));
  const body = bodyText(r?.body);
  if (body) parts.push(pre(body));
  parts.push('</div>');
  return parts.join('');
}

/** A link to the exchange in the inspector page that `run --inspect` saves next to the reports. */
function exchangeLink(id: unknown): string {
  return typeof id === 'string' ? ` <a class="exchange-link" href="inspector.html#${encodeURIComponent(id)}">exchange ${h(id)}</a>` : '';
}

/** The HTTP transcript of a check: exchanges with the target, then what the simulated peers received (JSON bodies pretty-printed); any other shape as pretty JSON. */
export function renderTranscript(transcript: unknown): string {
  const t = transcript as { sent?: unknown; receivedByPeers?: unknown };
  const parts: string[] = ['<details class="transcript"><summary>HTTP transcript</summary>'];
  if (Array.isArray(t?.sent) && t.sent.length) parts.push(`<h5>Sent to the target (${t.sent.length})</h5>`, ...t.sent.map(renderExchange));
  if (Array.isArray(t?.receivedByPeers) && t.receivedByPeers.length)
    parts.push(`<h5>Received by the simulated peers (${t.receivedByPeers.length})</h5>`, ...t.receivedByPeers.map(renderReceived));
  if (!Array.isArray(t?.sent) && !Array.isArray(t?.receivedByPeers)) parts.push(pre(JSON.stringify(transcript, null, 2)));
  parts.push('</details>');
  return parts.join('');
}

/** Ids of the inspector's exchanges in a transcript (present when the run had --inspect). */
function inspectedExchanges(transcript: unknown): string[] {
  const received = (transcript as { receivedByPeers?: unknown } | undefined)?.receivedByPeers;
  return Array.isArray(received) ? received.map((r) => r?.exchangeId).filter((id): id is string => typeof id === 'string') : [];
}

function renderCheck(c: CheckResult, results: ComplianceResults): string {
  const parts = [`<div class="check" data-status="${h(c.status)}"><h4>${h(c.title)}</h4>`];
  parts.push(
    `<dl><dt>status</dt><dd>${h(c.status)} · ${h(formatDuration(c.durationMs))}</dd><dt>defined at</dt><dd>${h(checkLocation(c))}</dd>`,
  );
  if (c.reason) parts.push(`<dt>not run because</dt><dd>${h(c.reason)}</dd>`);
  if (c.interop) parts.push(`<dt>interop</dt><dd>${h(c.interop.sender)} → ${h(c.interop.receiver)}</dd>`);
  parts.push('</dl>');
  if (c.expected !== undefined || c.actual !== undefined) {
    parts.push(
      `<div class="ea"><div><b>expected</b>${pre(c.expected ?? '', 'expected')}</div><div><b>actual</b>${pre(c.actual ?? '', 'actual')}</div></div>`,
    );
  }
  if (c.error) parts.push(`<b>error</b>${pre(c.error, 'error')}`);
  const exchangeIds = c.status === 'failed' && c.transcript ? inspectedExchanges(results.transcripts[c.transcript]) : [];
  if (exchangeIds.length) parts.push(`<p class="exchanges">In the inspector:${exchangeIds.map(exchangeLink).join('')}</p>`);
  if (c.transcript && results.transcripts[c.transcript] !== undefined) parts.push(renderTranscript(results.transcripts[c.transcript]));
  parts.push('</div>');
  return parts.join('');
}

function renderRow(r: RequirementResult, results: ComplianceResults): string {
  const text = `${r.id} ${r.summary} ${r.section}`.toLowerCase();
  const details = [
    `<details><summary>${h(r.summary)}</summary>`,
    '<dl>',
    `<dt>spec</dt><dd class="section">${h(r.section)}</dd>`,
    `<dt>level</dt><dd>${h(r.level)}${r.informational ? ' (informational)' : ''}</dd>`,
    r.reason ? `<dt>reason</dt><dd class="reason">${h(r.reason)}</dd>` : '',
    r.expectedFailure
      ? `<dt>expectation</dt><dd>${r.unexpectedPass ? 'declared as an expected failure, but it passed: update the ledger' : 'declared as an expected failure'}</dd>`
      : '',
    `<dt>checks</dt><dd>${r.checks.length}</dd>`,
    '</dl>',
    ...r.checks.map((c) => renderCheck(c, results)),
    '</details>',
  ].join('');
  return `<tr class="req" id="req-${h(r.id)}" data-id="${h(r.id)}" data-outcome="${h(r.outcome)}" data-level="${h(r.level)}" data-text="${h(text)}"><td class="id">${h(r.id)}</td><td class="level">${h(r.level)}</td><td>${outcomeBadge(r)}</td><td>${details}</td></tr>`;
}

function countsLine(c: Record<Outcome, number>): string {
  return OUTCOMES.filter((o) => c[o] > 0)
    .map((o) => `${c[o]} ${OUTCOME_LABEL[o]}`)
    .join(' · ');
}

function idLinks(ids: string[]): string {
  return ids.map((id) => `<a href="#req-${h(id)}">${h(id)}</a>`).join(', ');
}

export function renderHtml(input: ComplianceResults): string {
  const results = redactDeep(input);
  const v = results.verdict;
  const m = results.summary.must;
  const total = results.requirements.length;
  const title = `OCM conformance: ${results.target.name} — ${v.inconclusive ? 'INCONCLUSIVE' : v.pass ? 'PASS' : 'FAIL'}`;
  const runBits = [
    `profile <b>${h(results.run.profile)}</b>${results.run.profileReason ? ` (${h(results.run.profileReason)})` : ''}`,
    results.run.failOn === 'should' ? 'fails on <b>SHOULD</b>' : '',
    results.target.apiVersion ? `apiVersion ${h(results.target.apiVersion)}` : '',
    `started ${h(results.run.startedAt)}`,
    `took ${h(formatDuration(results.run.durationMs))}`,
    `${h(results.tool.name)} ${h(results.tool.version)}`,
    results.run.shard ? `<b>shard ${results.run.shard.current}/${results.run.shard.total} only</b>` : '',
    results.run.mergedFrom ? `merged from ${results.run.mergedFrom.length} shards` : '',
    results.run.grep ? `only checks matching <code>${h(results.run.grep)}</code>` : '',
  ].filter(Boolean);
  const notices: string[] = [];
  const errors = harnessErrors(results);
  if (errors.length)
    notices.push(
      `<div class="notice" id="harness-errors"><b>Harness errors (${errors.length})</b>: errors of the conformance tool or its setup, not of the target; the run is inconclusive.<ul>${errors.map((e) => `<li><b>${h(e.where)}</b>${e.requirements.length ? ` (${idLinks(e.requirements)})` : ''}<pre>${h(e.message)}</pre></li>`).join('')}</ul></div>`,
    );
  if (v.mustFailures.length)
    notices.push(`<div class="notice" id="must-failures">Failed MUST requirements: ${idLinks(v.mustFailures)}</div>`);
  if (v.shouldFailures?.length)
    notices.push(
      `<div class="notice" id="should-failures">SHOULD requirements not met (--fail-on should): ${idLinks(v.shouldFailures)}</div>`,
    );
  if (v.expectedFailures.length)
    notices.push(
      `<div class="notice info" id="expected-failures">Expected failures (declared, do not fail the run): ${idLinks(v.expectedFailures)}</div>`,
    );
  if (v.unexpectedPasses.length)
    notices.push(
      `<div class="notice info" id="unexpected-passes">Unexpected passes (declared as expected failures, yet passed; update the ledger): ${idLinks(v.unexpectedPasses)}</div>`,
    );
  if (results.run.profileWarning) notices.push(`<div class="notice">${h(results.run.profileWarning)}</div>`);

  const chips = OUTCOMES.map(
    (o) =>
      `<button type="button" class="chip" data-only="${o}" title="show only ${OUTCOME_LABEL[o]}"><span class="o o-${o}">${h(OUTCOME_LABEL[o])}</span><b class="count" data-outcome="${o}">${results.summary.byOutcome[o] ?? 0}</b></button>`,
  ).join('');

  const runDetails = [
    '<details id="run-details"><summary>Run details: peers, expectations, discovery as fetched</summary><dl>',
    `<dt>target</dt><dd>${h(results.target.name)} · ${h(results.target.url)}${results.target.insecure ? ' · <strong>insecure: certificate not verified</strong>' : ''}</dd>`,
    results.interopWith ? `<dt>interop with</dt><dd>${h(results.interopWith.name)} · ${h(results.interopWith.url)}</dd>` : '',
    `<dt>simulated peers</dt><dd>${h(results.peers.join(', ') || 'none')}</dd>`,
    `<dt>expectation ledger</dt><dd>${h(results.expectations.file ?? 'none')}${results.expectations.declared.length ? ` · declared: ${h(results.expectations.declared.join(', '))}` : ''}</dd>`,
    `<dt>checks</dt><dd>${results.summary.checks.run} run · ${results.summary.checks.passed} passed · ${results.summary.checks.failed} failed · ${results.summary.checks.notRun} not run</dd>`,
    results.target.discoveryFetch
      ? `<dt>discovery fetched</dt><dd>${h(results.target.discoveryFetch.url)} at ${h(results.target.discoveryFetch.fetchedAt)}${results.target.discoveryFetch.status !== undefined ? ` → ${h(results.target.discoveryFetch.status)}` : ''}${results.target.discoveryFetch.error ? ` → ${h(results.target.discoveryFetch.error)}` : ''}</dd>`
      : '',
    '</dl>',
    results.target.discovery !== undefined
      ? `<b>discovery document</b>${pre(JSON.stringify(results.target.discovery, null, 2), 'discovery')}`
      : '<p>The discovery document could not be read.</p>',
    results.interop?.length
      ? `<b>interop</b><table><tr><th>sender</th><th>receiver</th><th>passed</th><th>failed</th><th>not run</th></tr>${results.interop.map((c) => `<tr><td>${h(c.sender)}</td><td>${h(c.receiver)}</td><td>${c.passed}</td><td>${c.failed}</td><td>${c.notRun}</td></tr>`).join('')}</table>`
      : '',
    '</details>',
  ].join('');

  const filters = [
    '<form id="filters" onsubmit="return false">',
    '<fieldset><legend>Outcome</legend>',
    ...OUTCOMES.map(
      (o) =>
        `<label><input type="checkbox" name="outcome" value="${o}" checked> ${h(OUTCOME_LABEL[o])} (${results.summary.byOutcome[o] ?? 0})</label>`,
    ),
    '</fieldset><fieldset><legend>Level</legend>',
    ...levelsOf(results).map((l) => `<label><input type="checkbox" name="level" value="${h(l)}" checked> ${h(l)}</label>`),
    '</fieldset>',
    '<button type="button" id="show-problems">Failures and warnings only</button>',
    '<button type="button" id="show-all">Show all</button>',
    '<input type="search" id="search" placeholder="Filter by ID or text" aria-label="filter by ID or text">',
    `<span id="shown">Showing <b id="shown-count">${total}</b> of ${total} requirements</span>`,
    '</form>',
  ].join('');

  const sections = areasOf(results)
    .map((area) => {
      const rows = results.requirements.filter((r) => r.area === area);
      const counts = results.summary.byArea[area]!;
      return `<section class="area" id="area-${h(area)}" data-area="${h(area)}"><h2>${h(area)} <small>${h(countsLine(counts))}</small></h2><table><thead><tr><th>ID</th><th>Level</th><th>Outcome</th><th>Requirement</th></tr></thead><tbody>${rows.map((r) => renderRow(r, results)).join('')}</tbody></table></section>`;
    })
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>OCM conformance report: ${h(results.target.name)}</h1>
<p class="muted">${h(results.target.url)} · ${runBits.join(' · ')}</p>
<div id="verdict" class="verdict ${v.pass ? 'pass' : 'fail'}" data-pass="${v.pass}">${h(verdictText(results))}</div>
<p id="must-rate"><b>${h(mustRateText(results))}</b> MUST requirements passed of those judged · ${plural(m.notRun, 'MUST requirement')} not run · ${m.notApplicable} not applicable · ${plural(results.summary.checks.run, 'check')} run</p>
<div class="chips">${chips}</div>
${notices.join('\n')}
${runDetails}
</header>
<nav>${filters}</nav>
<main>
${sections}
</main>
<footer>Generated by ${h(results.tool.name)} ${h(results.tool.version)} from ${h(results.format)}. Secrets (shared secrets, tokens, codes, Authorization values) are redacted.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
