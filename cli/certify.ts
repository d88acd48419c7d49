/**
 * `ocm-conformance certify --results FILE --implementation NAME --impl-version V
 * [--url URL] --out FILE`: turns a full results file into a submission
 * (reports/submission.ts): small, publishable, bound to the results by
 * their SHA-256. `matrix DIR --site OUT` builds the public matrix from a
 * folder of them.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { readResults } from '../results/schema.ts';
import { buildSubmission, type Submission } from '../reports/submission.ts';
import { writeJson } from '../reports/write.ts';

export interface CertifyFlags {
  results: string;
  implementation: string;
  implVersion: string;
  url?: string;
  out: string;
}

export async function certify(flags: CertifyFlags): Promise<Submission> {
  const file = resolve(flags.results);
  const results = await readResults(file); // validated and redacted
  const submission = buildSubmission(results, await readFile(file), {
    implementation: flags.implementation,
    version: flags.implVersion,
    ...(flags.url ? { url: flags.url } : {}),
    resultsFile: basename(file),
  });
  await writeJson(resolve(flags.out), submission);
  return submission;
}

export function certifyCommand(): Command {
  return new Command('certify')
    .description(
      'write a submission for the public matrix from a full results file: outcomes per requirement plus the SHA-256 of the results',
    )
    .requiredOption('--results <file>', 'compliance-results.json of a full run (not a shard, not --only/--preset/--grep)')
    .requiredOption('--implementation <name>', 'the implementation, e.g. "Nextcloud"')
    .requiredOption('--impl-version <version>', 'its version, e.g. 31.0.2')
    .option('--url <url>', 'where the full reports are published (linked from the matrix)')
    .requiredOption('--out <file>', 'the submission file to write')
    .action(async (flags: CertifyFlags) => {
      const s = await certify(flags);
      console.log(
        `submission written: ${resolve(flags.out)}\n  ${s.implementation.name} ${s.implementation.version}, profile ${s.profile}: ${s.verdict.pass ? 'PASS' : 'FAIL'}, MUST ${s.must.passed}/${s.must.tested}\n  results ${s.results.file} sha256 ${s.results.sha256}`,
      );
    });
}
