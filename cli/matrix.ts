/**
 * `ocm-conformance matrix FILES…`: combines the results of several runs
 * (implementations, or one implementation under several profiles or
 * configurations) into an implementations × areas table, an
 * implementations × requirements table and, for interop runs, a sender ×
 * receiver grid; writes matrix.html and matrix.md.
 * A file may be given as LABEL=FILE to name its column.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { buildMatrix, matrixHtml, matrixMarkdown, type MatrixInput } from '../reports/matrix.ts';
import { scrubText } from '../reports/redact.ts';
import { readResults } from '../reports/schema.ts';

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

export function matrixCommand(): Command {
  return new Command('matrix')
    .description(
      'combine several results files into implementations × areas / × requirements tables (and a sender × receiver grid for interop runs)',
    )
    .argument('<files...>', 'compliance results files; LABEL=FILE names a column')
    .option('--out <dir>', 'where matrix.html and matrix.md go (default reports/output/matrix)')
    .action(async (args: string[], flags: { out?: string }) => {
      const out = resolve(flags.out ?? join(PROJECT_ROOT, 'reports/output/matrix'));
      const files = await writeMatrix(args, out);
      console.log(`matrix of ${args.length} runs:\n  HTML      ${files.html}\n  Markdown  ${files.markdown}`);
    });
}
