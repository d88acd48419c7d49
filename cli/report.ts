/**
 * `ocm-conformance report`: rebuilds every report format from a stored
 * results file, or merges the results of a run split across machines
 * (`run --shard i/n` on each) into one results file and its reports.
 */
import { Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { closingTable, FAIL_ON_LEVELS, finalizeResults, type FailOn } from '../results/model.ts';
import { mergeResults } from '../reports/merge.ts';
import { readResults } from '../results/schema.ts';
import { describeReportFiles, REPORT_FILES, writeReports } from '../reports/write.ts';
import { verdictText } from '../reports/format.ts';

interface ReportFlags {
  results?: string;
  out?: string;
  merge?: string[];
  failOnMust?: boolean;
  failOn?: string;
}

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'rebuild every report format (HTML, JUnit, Markdown, EARL, CTRF, badges) from a stored results file, or merge shard results into one report',
    )
    .option('--results <file>', 'the compliance results file (default reports/output/compliance-results.json)')
    .option('--out <dir>', "where the reports go (default: the results file's folder; with --merge, reports/output/merged)")
    .option('--merge <files...>', 'merge these shard results files (from `run --shard i/n`) into one results file and its reports')
    .option('--fail-on <level>', 're-judge at this threshold (must or should, recorded in the reports) and exit 1 when the verdict fails')
    .option('--fail-on-must', 'exit 1 when the verdict fails (a MUST requirement failed, minus expected failures); same as --fail-on must')
    .addHelpText('after', `\nWrites ${Object.values(REPORT_FILES).join(', ')}.`)
    .action(async (flags: ReportFlags) => {
      if (flags.merge && flags.results) throw new Error('give --results or --merge, not both');
      const failOn = flags.failOn ?? (flags.failOnMust ? 'must' : undefined);
      if (flags.failOn && flags.failOnMust && flags.failOn !== 'must')
        throw new Error(`give --fail-on ${flags.failOn} or --fail-on-must, not both`);
      if (failOn !== undefined && !(FAIL_ON_LEVELS as readonly string[]).includes(failOn))
        throw new Error(`--fail-on ${failOn}: use one of ${FAIL_ON_LEVELS.join(', ')}`);
      let results;
      let out: string;
      if (flags.merge) {
        const parts = await Promise.all(flags.merge.map((file) => readResults(resolve(file))));
        results = mergeResults(parts);
        out = resolve(flags.out ?? join(PROJECT_ROOT, 'reports/output/merged'));
        console.log(`merged ${parts.length} results files${results.run.mergedFrom ? ` (${results.run.mergedFrom.length} shards)` : ''}`);
      } else {
        const file = resolve(flags.results ?? join(PROJECT_ROOT, 'reports/output/compliance-results.json'));
        results = await readResults(file);
        out = resolve(flags.out ?? dirname(file));
      }
      if (failOn !== undefined && (results.run.failOn ?? 'must') !== failOn) {
        results.run.failOn = failOn as FailOn;
        finalizeResults(results); // the verdict and every format follow the new threshold
      }
      const files = await writeReports(results, out);
      console.log(`ocm-conformance: ${results.target.name} (${results.target.url}), profile ${results.run.profile}`);
      console.log(closingTable(results));
      console.log(`verdict: ${verdictText(results)}`);
      console.log(`reports in ${out}:\n${describeReportFiles(files)}`);
      if (failOn !== undefined && !results.verdict.pass) process.exitCode = 1;
    });
}
