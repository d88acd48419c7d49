/**
 * EARL (W3C Evaluation and Report Language) in JSON-LD: one earl:Assertion
 * per requirement. Outcomes: passed → earl:passed, failed → earl:failed,
 * warning → earl:cantTell (a SHOULD/MAY not met: not a failure, not a pass),
 * not-applicable → earl:inapplicable, not-run → earl:untested, error (a
 * harness error, ours) → earl:cantTell. Each harness error is also a node of
 * its own (ocm:HarnessError), and the run's verdict is ocm:verdict. The assertor
 * is the tool, the subject the target URL, the test the requirement IRI
 * `urn:ocm-conformance:req:<ID>` with its summary, level and spec section;
 * the checks behind a requirement are its parts (earl:TestCase). Expected
 * failures and unexpected passes are stated in earl:info and as
 * ocm:expectation.
 */
import { harnessErrors, type ComplianceResults, type Outcome, type RequirementResult } from '../results/model.ts';
import { redactDeep } from '../results/redact.ts';

export const EARL_OUTCOME: Record<Outcome, string> = {
  passed: 'earl:passed',
  failed: 'earl:failed',
  warning: 'earl:cantTell',
  'not-applicable': 'earl:inapplicable',
  'not-run': 'earl:untested',
  error: 'earl:cantTell',
};

export const REQUIREMENT_IRI_PREFIX = 'urn:ocm-conformance:req:';

const CONTEXT = {
  earl: 'http://www.w3.org/ns/earl#',
  dct: 'http://purl.org/dc/terms/',
  doap: 'http://usefulinc.com/ns/doap#',
  foaf: 'http://xmlns.com/foaf/0.1/',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  ocm: 'urn:ocm-conformance:vocab#',
  'earl:assertedBy': { '@type': '@id' },
  'earl:subject': { '@type': '@id' },
  'earl:test': { '@type': '@id' },
  'earl:outcome': { '@type': '@id' },
  'earl:mode': { '@type': '@id' },
  'dct:date': { '@type': 'xsd:dateTime' },
};

function info(r: RequirementResult): string {
  const parts = [r.reason ?? ''];
  if (r.unexpectedPass) parts.push('Unexpected pass: declared as an expected failure, yet it passed.');
  else if (r.outcome === 'failed' && r.expectedFailure)
    parts.push('Expected failure: declared in the expectation ledger; it does not fail the run.');
  const failing = r.checks.find((c) => c.expected !== undefined || c.actual !== undefined);
  if (failing) parts.push(`Expected ${failing.expected ?? '?'}; actual ${failing.actual ?? '?'}.`);
  return parts.filter(Boolean).join(' ');
}

export function renderEarl(input: ComplianceResults): string {
  const results = redactDeep(input);
  const toolId = `urn:ocm-conformance:tool:${results.tool.version}`;
  const subjectId = results.target.url;
  const date = results.run.startedAt;
  const graph: unknown[] = [
    {
      '@id': toolId,
      '@type': ['earl:Assertor', 'earl:Software', 'doap:Project'],
      'doap:name': results.tool.name,
      'doap:release': { '@type': 'doap:Version', 'doap:revision': results.tool.version },
      'dct:description': `OCM conformance suites, profile ${results.run.profile}`,
    },
    {
      '@id': subjectId,
      '@type': ['earl:TestSubject', 'doap:Project'],
      'doap:name': results.target.name,
      ...(results.target.apiVersion ? { 'doap:release': { '@type': 'doap:Version', 'doap:revision': results.target.apiVersion } } : {}),
      'ocm:profile': results.run.profile,
    },
  ];
  for (const r of results.requirements) {
    graph.push({
      '@type': 'earl:Assertion',
      'earl:assertedBy': toolId,
      'earl:subject': subjectId,
      'earl:test': {
        '@id': `${REQUIREMENT_IRI_PREFIX}${r.id}`,
        '@type': 'earl:TestRequirement',
        'dct:identifier': r.id,
        'dct:title': r.summary,
        'dct:description': r.section,
        'ocm:level': r.level,
        'ocm:area': r.area,
        ...(r.checks.length
          ? {
              'dct:hasPart': r.checks.map((c) => ({
                '@id': `urn:ocm-conformance:check:${c.id}`,
                '@type': 'earl:TestCase',
                'dct:title': c.title,
                'ocm:status': c.status,
              })),
            }
          : {}),
      },
      'earl:mode': 'earl:automatic',
      'earl:result': {
        '@type': 'earl:TestResult',
        'earl:outcome': EARL_OUTCOME[r.outcome],
        'dct:date': date,
        ...(info(r) ? { 'earl:info': info(r) } : {}),
        ...(r.expectedFailure ? { 'ocm:expectation': r.unexpectedPass ? 'unexpected-pass' : 'expected-failure' } : {}),
      },
    });
  }
  for (const [i, e] of harnessErrors(results).entries())
    graph.push({
      '@id': `urn:ocm-conformance:harness-error:${i + 1}`,
      '@type': 'ocm:HarnessError',
      'dct:title': e.where,
      'dct:description': e.message,
      ...(e.requirements.length ? { 'ocm:requirements': e.requirements } : {}),
    });
  (graph[0] as Record<string, unknown>)['ocm:verdict'] = results.verdict.inconclusive
    ? `inconclusive: ${results.verdict.inconclusive}`
    : results.verdict.pass
      ? 'pass'
      : 'fail';
  return `${JSON.stringify({ '@context': CONTEXT, '@graph': graph }, null, 2)}\n`;
}
