/**
 * `ocm-conformance matrix FILES…`: combines the results of several runs
 * (implementations, or one implementation under several profiles or
 * configurations) into an implementations × areas table, an
 * implementations × requirements table and, for interop runs, a sender ×
 * receiver grid; writes matrix.html and matrix.md.
 * A file may be given as LABEL=FILE to name its column.
 *
 * `matrix DIR --site OUT` builds the public matrix instead: a static site
 * from a folder of submissions (`certify`), see reports/site.ts.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { buildMatrix, matrixHtml, matrixMarkdown, type MatrixInput } from '../reports/matrix.ts';
import { scrubText } from '../results/redact.ts';
import { readResults } from '../results/schema.ts';
import { renderSite } from '../reports/site.ts';
import { submissionProblems, type Submission } from '../reports/submission.ts';

/** FILE or LABEL=FILE (a name with "=" that exists as a file is taken as a file). */
export function parseMatrixArgument(arg: string): { label?: string; file: string } {
  const at = arg.indexOf('=');
  if (at > 0 && !existsSync(arg)) return { label: arg.slice(0, at), file: arg.slice(at + 1) };
  return { file: arg };
}

export async function writeMatrix(args: string[], out: string): Promise<{ html: string; markdown: string }> {
  const inputs: MatrixInput[] = [];
  for (const arg of args) {
    const { label, file } = parseMatrixArgument(arg);
    inputs.push({ results: await readResults(resolve(file)), source: file, ...(label ? { label } : {}) });
  }
  const matrix = buildMatrix(inputs);
  await mkdir(out, { recursive: true });
  const files = { html: join(out, 'matrix.html'), markdown: join(out, 'matrix.md') };
  await writeFile(files.html, scrubText(matrixHtml(matrix)));
  await writeFile(files.markdown, scrubText(matrixMarkdown(matrix)));
  return files;
}

/** Reads every `*.json` submission of `dir` (anything else there is refused) and writes the site into `out`. */
export async function writeSite(dir: string, out: string): Promise<{ index: string; files: string[]; submissions: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  if (names.length === 0) throw new Error(`no submission (*.json) in ${dir}: write them with \`ocm-conformance certify\``);
  const submissions: Submission[] = [];
  for (const name of names) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (error) {
      throw new Error(`cannot read submission ${join(dir, name)}: ${(error as Error).message.split('\n')[0]}`);
    }
    const problems = submissionProblems(value);
    if (problems.length) throw new Error(`${join(dir, name)} is not a submission: ${problems.slice(0, 4).join('; ')}`);
    submissions.push(value as Submission);
  }
  const files: string[] = [];
  for (const [path, text] of renderSite(submissions)) {
    const file = join(out, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, scrubText(text));
    files.push(file);
  }
  return { index: join(out, 'index.html'), files, submissions: submissions.length };
}

export function matrixCommand(): Command {
  return new Command('matrix')
    .description(
      'combine several results files into implementations × areas / × requirements tables (and a sender × receiver grid for interop runs)',
    )
    .argument('<files...>', 'compliance results files (LABEL=FILE names a column); with --site: one folder of submissions')
    .option('--out <dir>', 'where matrix.html and matrix.md go (default reports/output/matrix)')
    .option('--site <dir>', 'build the public matrix site from a folder of `certify` submissions into this folder')
    .action(async (args: string[], flags: { out?: string; site?: string }) => {
      if (flags.site) {
        if (args.length !== 1) throw new Error('matrix --site takes one folder of submissions');
        const site = await writeSite(resolve(args[0]!), resolve(flags.site));
        console.log(`matrix site of ${site.submissions} submissions: ${site.index} (${site.files.length} files)`);
        return;
      }
      const out = resolve(flags.out ?? join(PROJECT_ROOT, 'reports/output/matrix'));
      const files = await writeMatrix(args, out);
      console.log(`matrix of ${args.length} runs:\n  HTML      ${files.html}\n  Markdown  ${files.markdown}`);
    });
}
