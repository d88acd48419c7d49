/**
 * The inspector page: one HTML document with its style and script inline,
 * which talks to its own origin only (exchanges.json, then the event
 * stream). Every value reaches the page through textContent, never as HTML.
 */
import type { ExchangeRecord } from './exchange.ts';
import type { RequirementText } from './requirements.ts';

/** The saved page `run --inspect` writes next to the reports. */
export const INSPECTOR_REPORT_FILE = 'inspector.html';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #d0d7de;padding:8px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
h1{font-size:16px;margin:0}
#count{color:#57606a}
.row{background:#fff;border-bottom:1px solid #eaeef2}
.line{display:flex;gap:10px;padding:6px 16px;cursor:pointer;align-items:baseline}
.line:hover{background:#f3f6fa}
.status{display:inline-block;min-width:3.2em;text-align:center;border-radius:4px;color:#fff;font-weight:600}
.s2{background:#1a7f37}.s3{background:#0969da}.s4{background:#bc4c00}.s5{background:#cf222e}.s0{background:#6e7781}
.dir,.peer,.time{color:#57606a;white-space:nowrap}
.verdict{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.problem .verdict{color:#82071e}
.detail{padding:8px 16px 16px 48px;display:none}
.open .detail{display:block}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow:auto;max-height:28em;white-space:pre-wrap;overflow-wrap:anywhere}
.failed{color:#cf222e;font-weight:600}
.req a{margin-right:8px}
button{font:inherit}
`;

const SCRIPT = `
const rows = document.getElementById('rows');
const byId = new Map();
const peers = new Set();
const filters = { peer: document.getElementById('peer'), surface: document.getElementById('surface'), problems: document.getElementById('problems') };
const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child);
  return node;
};
const text = (value) => document.createTextNode(String(value));
function statusClass(status) { return status === undefined ? 's0' : 's' + String(status)[0]; }
function visible(record) {
  if (filters.peer.value && record.peer !== filters.peer.value) return false;
  if (filters.surface.value && record.surface !== filters.surface.value) return false;
  if (filters.problems.checked && !record.problem) return false;
  return true;
}
function applyFilters() {
  let shown = 0;
  for (const [id, node] of byId) { const on = visible(node.record); node.hidden = !on; if (on) shown++; }
  document.getElementById('count').textContent = shown + ' of ' + byId.size + ' exchanges shown';
}
function message(title, part, startLine) {
  if (!part) return el('div', {}, el('h4', { textContent: title }), el('p', { textContent: '(none)' }));
  const lines = [startLine, ...Object.entries(part.headers).map(([k, v]) => k + ': ' + v), '', part.body ?? ''];
  if (part.truncated) lines.push('… cut at 64 KiB of ' + part.bytes + ' bytes');
  return el('div', {}, el('h4', { textContent: title }), el('pre', { className: 'transcript', textContent: lines.join('\\n') }));
}
function schemaBlock(name, verdict) {
  const box = el('div', { className: 'schema' });
  if (verdict.status === 'valid') box.append(text(name + ': ✔ valid against ' + verdict.schema));
  else if (verdict.status === 'not-checked') box.append(text(name + ': not checked (' + verdict.reason + ')'));
  else {
    box.append(text(name + ': ✘ invalid against ' + verdict.schema));
    const list = el('ul');
    for (const v of verdict.violations) list.append(el('li', {}, el('code', { textContent: v.pointer || '(body)' }), text(' ' + v.text + (v.requirements.length ? ' (' + v.requirements.join(', ') + ')' : ''))));
    box.append(list);
  }
  return box;
}
function signatureText(s) {
  if (s.status === 'signed') return 'signed ✔ by ' + (s.signer ?? '?') + ' with ' + s.keyid + (s.scheme ? ' (' + s.scheme + ')' : '');
  if (s.status === 'refused') return 'refused ✘ ' + s.code + ': ' + s.reason + (s.keyid ? ' (keyid ' + s.keyid + ')' : '');
  if (s.status === 'unsigned') return 'unsigned' + (s.detail ? ' (' + s.detail + ')' : '');
  return 'not checked' + (s.reason ? ' (' + s.reason + ')' : '');
}
function detail(record) {
  const reqs = el('p', { className: 'req' }, text('Requirements: '));
  for (const id of record.requirements.touched) {
    const failed = record.requirements.failed.includes(id);
    reqs.append(el('a', { href: '/_inspector/requirements#' + id, target: '_blank', className: failed ? 'failed' : '', textContent: id + (failed ? ' ✘' : '') }));
  }
  if (record.requirements.touched.length === 0) reqs.append(text('none'));
  const curl = el('pre', { className: 'curl', textContent: record.curl });
  const copy = el('button', { type: 'button', className: 'copy', textContent: 'Copy as curl' });
  copy.addEventListener('click', async (event) => {
    event.stopPropagation();
    try { await navigator.clipboard.writeText(record.curl); copy.textContent = 'Copied'; }
    catch { const range = document.createRange(); range.selectNodeContents(curl); getSelection().removeAllRanges(); getSelection().addRange(range); copy.textContent = 'Selected: press Ctrl+C'; }
  });
  const url = new URL(record.url, location.href);
  return el('div', { className: 'detail' },
    el('p', { textContent: record.id + ' · ' + record.at + ' · ' + record.direction + ' · ' + record.surface + ' · ' + record.durationMs + ' ms' + (record.operation ? ' · ' + record.operation : '') }),
    schemaBlock('Request schema', record.schema.request),
    schemaBlock('Response schema', record.schema.response),
    el('p', { className: 'signature', textContent: 'Signature: ' + signatureText(record.signature) }),
    reqs,
    message('Request', record.request, record.method + ' ' + url.pathname + url.search + ' (' + record.url + ')'),
    message('Response', record.response, record.status === undefined ? 'no answer: ' + (record.error ?? '') : 'HTTP ' + record.status),
    el('div', {}, copy, curl));
}
function add(record) {
  if (byId.has(record.id)) return;
  const line = el('div', { className: 'line' },
    el('span', { className: 'status ' + statusClass(record.status), textContent: record.status ?? '—' }),
    el('span', { className: 'time', textContent: record.at.slice(11, 23) }),
    el('span', { className: 'dir', textContent: record.direction === 'inbound' ? '← in' : '→ out' }),
    el('span', { className: 'peer', textContent: record.peer }),
    el('span', { className: 'verdict', textContent: record.verdict }));
  const row = el('div', { className: 'row' + (record.problem ? ' problem' : '') });
  row.dataset.id = record.id;
  row.dataset.status = String(record.status ?? '');
  row.dataset.problem = String(record.problem);
  row.record = record;
  let built = false;
  line.addEventListener('click', () => {
    if (!built) { row.append(detail(record)); built = true; }
    row.classList.toggle('open');
  });
  row.append(line);
  rows.prepend(row);
  byId.set(record.id, row);
  if (!peers.has(record.peer)) { peers.add(record.peer); filters.peer.append(el('option', { value: record.peer, textContent: record.peer })); }
  row.hidden = !visible(record);
  while (byId.size > CAPACITY) { const [oldest, node] = byId.entries().next().value; node.remove(); byId.delete(oldest); }
  applyFilters();
}
let CAPACITY = 1000;
for (const f of Object.values(filters)) f.addEventListener('change', applyFilters);
function openFromHash() {
  const row = byId.get(decodeURIComponent(location.hash.slice(1)));
  if (!row) return;
  if (!row.classList.contains('open')) row.querySelector('.line').click();
  row.scrollIntoView();
}
window.addEventListener('hashchange', openFromHash);
const saved = document.getElementById('saved-exchanges');
if (saved) {
  // A saved copy (run --inspect writes one next to the reports): no server behind it.
  const data = JSON.parse(saved.textContent);
  CAPACITY = Math.max(data.capacity, data.exchanges.length);
  for (const record of data.exchanges.slice().reverse()) add(record);
  document.getElementById('live').textContent = 'saved ' + data.savedAt;
  openFromHash();
} else fetch('/_inspector/exchanges.json').then((r) => r.json()).then((data) => {
  CAPACITY = data.capacity;
  for (const record of data.exchanges.slice().reverse()) add(record);
  openFromHash();
  const events = new EventSource('/_inspector/events');
  events.addEventListener('exchange', (event) => add(JSON.parse(event.data)));
  events.addEventListener('open', () => { document.getElementById('live').textContent = 'live'; });
  events.addEventListener('error', () => { document.getElementById('live').textContent = 'reconnecting…'; });
});
`;

/**
 * The page. With `saved`, a copy that needs no server: the exchanges are
 * embedded (as JSON data, never as markup) and a `#<id>` in the address
 * opens that exchange, so reports can link to it.
 */
export function inspectorPage(title: string, saved?: { exchanges: ExchangeRecord[]; capacity: number }): string {
  const embedded = saved
    ? `<script type="application/json" id="saved-exchanges">${JSON.stringify({ ...saved, savedAt: new Date().toISOString() }).replace(/</g, '\\u003c')}</script>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'">
<style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1><span id="live">connecting…</span><span id="count">0 exchanges</span>
<label>Peer <select id="peer"><option value="">all</option></select></label>
<label>Surface <select id="surface"><option value="">all</option>${['ocm', 'token', 'discovery', 'sciencemesh', 'ocs', 'webdav', 'other'].map((s) => `<option>${s}</option>`).join('')}</select></label>
<label><input type="checkbox" id="problems"> only problems</label></header>
<main id="rows"></main>
${embedded}<script>${SCRIPT}</script>
</body></html>`;
}

export function requirementsPage(texts: RequirementText[]): string {
  const items = texts
    .map(
      (t) =>
        `<dt id="${escapeHtml(t.id)}"><b>${escapeHtml(t.id)}</b> ${escapeHtml(t.level)}</dt><dd>${escapeHtml(t.summary)}<br><small>${escapeHtml(t.section)}</small></dd>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OCM requirements</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:14px/1.4 system-ui,sans-serif;margin:16px}dt{margin-top:10px}dt:target,dt:target+dd{background:#fff8c5}</style></head>
<body><h1>Requirements of the OCM conformance catalogue</h1><dl>
${items}
</dl></body></html>`;
}
