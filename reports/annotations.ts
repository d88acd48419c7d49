/**
 * GitHub Actions workflow annotations from the results: one
 * `::error title=SHR-4 (MUST)::<finding>` per failed MUST requirement that
 * fails the run, `::warning` per SHOULD/MAY requirement not met, `::notice`
 * per declared expected failure and unexpected pass. `run` prints them when
 * `GITHUB_ACTIONS=true` or with `--annotations github`; any CI that reads
 * workflow commands can use the flag. No `file=`: the suite files are ours,
 * not part of the repository the workflow runs in.
 *
 * Escaping follows the workflow-command rules: in the message `%`, CR and LF
 * become `%25`, `%0D`, `%0A`; in a property value also `:` and `,` become
 * `%3A` and `%2C`.
 */
import { harnessErrors, type ComplianceResults, type RequirementResult } from '../results/model.ts';

export type AnnotationMode = 'github' | 'none';
export const ANNOTATION_MODES: readonly AnnotationMode[] = ['github', 'none'];

export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function command(kind: 'error' | 'warning' | 'notice', title: string, message: string): string {
  return `::${kind} title=${escapeProperty(title)}::${escapeData(message)}`;
}

/** The finding of one requirement: its summary, then the first line of why it failed. */
function finding(r: RequirementResult): string {
  return r.reason ? `${r.summary}\n${r.reason}` : r.summary;
}

const label = (r: RequirementResult) => `${r.id} (${r.level})`;

export function githubAnnotations(results: ComplianceResults): string[] {
  const failing = new Set(results.verdict.mustFailures);
  const failingShould = new Set(results.verdict.shouldFailures ?? []);
  const lines: string[] = [];
  for (const r of results.requirements) {
    if (r.outcome === 'failed' && failing.has(r.id)) lines.push(command('error', `${r.id} (MUST)`, finding(r)));
    else if (r.outcome === 'failed') lines.push(command('notice', `${label(r)} expected failure`, finding(r)));
    else if (r.outcome === 'warning' && failingShould.has(r.id)) lines.push(command('error', `${r.id} (SHOULD)`, finding(r)));
    else if (r.outcome === 'warning') lines.push(command('warning', `${r.id} (${r.strength.toUpperCase()})`, finding(r)));
    else if (r.unexpectedPass)
      lines.push(command('notice', `${r.id} unexpected pass`, `${r.summary}\ndeclared as an expected failure, yet it passed`));
  }
  // Ours, not the target's: the run is inconclusive until they are fixed.
  for (const e of harnessErrors(results)) lines.push(command('error', `harness error: ${e.where}`, e.message));
  return lines;
}

/** `github` when running in GitHub Actions, else `none`; `--annotations` overrides. */
export function annotationMode(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): AnnotationMode {
  if (flag === undefined) return env.GITHUB_ACTIONS === 'true' ? 'github' : 'none';
  if (!(ANNOTATION_MODES as readonly string[]).includes(flag))
    throw new Error(`--annotations ${flag}: use one of ${ANNOTATION_MODES.join(', ')}`);
  return flag as AnnotationMode;
}
