/**
 * A conformance submission (`ocm-conformance certify`): the small file an
 * implementer publishes, or sends to a public matrix, instead of the whole
 * results. It names the implementation and version, the profile, the run's
 * date, the tool version, the verdict and each requirement's outcome (with
 * the declared expected failures), and is bound to the full results by their
 * SHA-256: anyone holding the results file can check that the submission
 * was made from it and from nothing else.
 *
 * Statuses keep apart what a matrix must not mix up:
 *  - `failed` (a MUST not met) and `warning` (a SHOULD/MAY not met);
 *  - `expected-failure` (failed, but declared as known);
 *  - `not-supported`: gated by a capability or criterion the implementation
 *    does not advertise (a choice, not a fault);
 *  - `not-applicable`: outside the profile;
 *  - `not-run`: no check could run (no driver step, no check yet);
 *  - `error`: a check hit an error of the harness, not of the implementation.
 */
import { createHash } from 'node:crypto';
import type { ComplianceResults, RequirementResult } from '../results/model.ts';

export const SUBMISSION_FORMAT = 'ocm-conformance/submission@1';

export const SUBMISSION_STATUSES = [
  'passed',
  'failed',
  'expected-failure',
  'warning',
  'not-supported',
  'not-applicable',
  'not-run',
  'error',
] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];

export interface SubmissionRequirement {
  id: string;
  level: string;
  area: string;
  status: SubmissionStatus;
  /** Why it failed, is not supported, or did not run (one line). */
  reason?: string;
  unexpectedPass?: boolean;
}

export interface Submission {
  format: typeof SUBMISSION_FORMAT;
  implementation: { name: string; version: string; url?: string };
  profile: string;
  /** When the run started. */
  date: string;
  tool: { name: string; version: string };
  target: { name: string; url: string; apiVersion?: string };
  verdict: ComplianceResults['verdict'];
  must: ComplianceResults['summary']['must'];
  requirements: SubmissionRequirement[];
  /** The full results this submission was made from: file name and SHA-256 of its bytes. */
  results: { file: string; sha256: string };
}

export function submissionStatus(r: RequirementResult): SubmissionStatus {
  if (r.outcome === 'failed') return r.expectedFailure ? 'expected-failure' : 'failed';
  if (r.outcome === 'not-applicable')
    return /does not advertise/.test(r.notApplicable ?? r.reason ?? '') ? 'not-supported' : 'not-applicable';
  return r.outcome;
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface CertifyOptions {
  implementation: string;
  version: string;
  url?: string;
  /** Name of the results file (as published beside the submission). */
  resultsFile: string;
}

/**
 * The submission for `results`, whose file bytes are `resultsBytes`. A shard
 * or a run of a selection (`--only`, `--preset`, `--grep`) is refused: a
 * submission speaks for the whole profile.
 */
export function buildSubmission(results: ComplianceResults, resultsBytes: Buffer, options: CertifyOptions): Submission {
  if (results.run.shard)
    throw new Error(
      `the results are shard ${results.run.shard.current}/${results.run.shard.total} only: merge the shards first (report --merge)`,
    );
  const partial = results.run.selectedBy ?? (results.run.grep ? `--grep ${results.run.grep}` : undefined);
  if (partial) throw new Error(`the results come from a partial run (${partial}): certify needs a run of every check`);
  if (!options.implementation.trim()) throw new Error('--implementation must name the implementation');
  if (!options.version.trim()) throw new Error('--impl-version must give its version');
  return {
    format: SUBMISSION_FORMAT,
    implementation: { name: options.implementation, version: options.version, ...(options.url ? { url: options.url } : {}) },
    profile: results.run.profile,
    date: results.run.startedAt,
    tool: results.tool,
    target: {
      name: results.target.name,
      url: results.target.url,
      ...(results.target.apiVersion ? { apiVersion: results.target.apiVersion } : {}),
    },
    verdict: results.verdict,
    must: results.summary.must,
    requirements: results.requirements.map((r) => {
      const status = submissionStatus(r);
      const reason = status === 'passed' ? undefined : (r.reason ?? r.notApplicable)?.split('\n')[0];
      return {
        id: r.id,
        level: r.level,
        area: r.area,
        status,
        ...(reason ? { reason } : {}),
        ...(r.unexpectedPass ? { unexpectedPass: true } : {}),
      };
    }),
    results: { file: options.resultsFile, sha256: sha256(resultsBytes) },
  };
}

/** Problems of `value` as a submission; empty when it is one. */
export function submissionProblems(value: unknown): string[] {
  const s = value as Partial<Submission> | null;
  if (!s || typeof s !== 'object') return ['not a JSON object'];
  const problems: string[] = [];
  if (s.format !== SUBMISSION_FORMAT) problems.push(`format is not ${SUBMISSION_FORMAT}`);
  if (typeof s.implementation?.name !== 'string' || typeof s.implementation?.version !== 'string')
    problems.push('implementation needs name and version');
  if (typeof s.profile !== 'string') problems.push('profile is missing');
  if (!Array.isArray(s.requirements)) problems.push('requirements is not a list');
  else
    for (const r of s.requirements)
      if (!(SUBMISSION_STATUSES as readonly string[]).includes(r?.status))
        problems.push(`requirement ${r?.id}: unknown status ${r?.status}`);
  if (!/^[0-9a-f]{64}$/.test(s.results?.sha256 ?? '')) problems.push('results.sha256 is not a SHA-256');
  return problems;
}
