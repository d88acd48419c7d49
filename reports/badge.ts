/**
 * An SVG badge in the usual flat two-part style: the profile on the left
 * ("OCM main"), the MUST pass rate on the right ("MUST 42/43": MUST
 * requirements passed of those judged, i.e. passed or failed). Colour: green
 * when the verdict passes with nothing failed, amber when it passes only
 * thanks to declared expected failures or nothing was judged, red when it
 * fails. The <title> says what was not run.
 *
 * `badge.json` carries the same text and colour in the shields.io endpoint
 * format (https://shields.io/badges/endpoint-badge), so a vendor can publish
 * the file and embed `https://img.shields.io/endpoint?url=<its URL>`.
 */
import type { ComplianceResults } from '../results/model.ts';
import { escapeXml as x, mustRateText } from './format.ts';

export const BADGE_COLOURS = { pass: '#2e8b2e', partial: '#b07d00', fail: '#cf222e' } as const;

/** Rough width of Verdana 11px text (what badge renderers assume). */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[il.:|/ ]/.test(ch) ? 3.6 : /[mwMW]/.test(ch) ? 9.6 : /[A-Z0-9]/.test(ch) ? 7.6 : 6.6;
  return Math.ceil(w);
}

/** The colour from the verdict and the MUST figures (also used for submissions, which carry only those). */
export function badgeColourFor(figures: { pass: boolean; mustFailed: number; mustTested: number }): string {
  if (!figures.pass) return BADGE_COLOURS.fail;
  return figures.mustFailed > 0 || figures.mustTested === 0 ? BADGE_COLOURS.partial : BADGE_COLOURS.pass;
}

export function badgeColour(results: ComplianceResults): string {
  const m = results.summary.must;
  return badgeColourFor({ pass: results.verdict.pass, mustFailed: m.failed, mustTested: m.tested });
}

export function renderBadge(results: ComplianceResults): string {
  const left = `OCM ${results.run.profile}`;
  const right = mustRateText(results);
  const m = results.summary.must;
  const title = `${results.target.name}: ${right} (OCM profile ${results.run.profile}; ${m.failed} failed${m.expectedFailures ? `, ${m.expectedFailures} expected` : ''}, ${m.notRun} not run, ${m.notApplicable} not applicable) — ${results.verdict.inconclusive ? 'INCONCLUSIVE' : results.verdict.pass ? 'PASS' : 'FAIL'}`;
  const lw = textWidth(left) + 12;
  const rw = textWidth(right) + 12;
  const w = lw + rw;
  const colour = badgeColour(results);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${x(`${left}: ${right}`)}">
<title>${x(title)}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${rw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="15" fill="#010101" fill-opacity=".3">${x(left)}</text><text id="label" x="${lw / 2}" y="14">${x(left)}</text>
<text x="${lw + rw / 2}" y="15" fill="#010101" fill-opacity=".3">${x(right)}</text><text id="value" x="${lw + rw / 2}" y="14">${x(right)}</text>
</g>
</svg>
`;
}

/** The shields.io endpoint document: `schemaVersion` 1, `label`, `message`, `color` (hex without `#`). */
export interface ShieldsEndpoint {
  schemaVersion: 1;
  label: string;
  message: string;
  color: string;
  cacheSeconds?: number;
}

export function badgeEndpoint(results: ComplianceResults): ShieldsEndpoint {
  return {
    schemaVersion: 1,
    label: `OCM ${results.run.profile}`,
    message: mustRateText(results),
    color: badgeColour(results).replace(/^#/, ''),
    cacheSeconds: 3600,
  };
}

export function renderBadgeEndpoint(results: ComplianceResults): string {
  return `${JSON.stringify(badgeEndpoint(results), null, 2)}\n`;
}
