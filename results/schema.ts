/**
 * The results file on disk: validated against results/schema.json
 * (JSON Schema draft-07) when written and when read, plus what a schema
 * cannot say (IDs unique, transcript references resolve). Reading also
 * redacts once more, so a results file from elsewhere cannot carry a secret
 * into a report.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_SCHEMA_URL, type ComplianceResults } from './model.ts';
import { redactDeep, scrubText } from './redact.ts';

export const RESULTS_SCHEMA_FILE = fileURLToPath(new URL('./schema.json', import.meta.url));

const addFormats = ajvFormats.default as unknown as (ajv: Ajv) => Ajv;
let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  validator = ajv.compile(JSON.parse(readFileSync(RESULTS_SCHEMA_FILE, 'utf8')));
  return validator;
}

/** Compiles the results schema now (about 0.2 s), e.g. while the suites run, so writing the results later does not wait for it. */
export function prepareResultsValidator(): void {
  compiled();
}

function describeErrors(errors: ErrorObject[]): string[] {
  return errors.map(
    (e) =>
      `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
  );
}

/** Problems of `value` as compliance results; empty when valid. */
export function resultsProblems(value: unknown): string[] {
  const validate = compiled();
  if (!validate(value)) return describeErrors(validate.errors ?? []);
  const results = value as ComplianceResults;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of results.requirements) {
    if (seen.has(r.id)) problems.push(`/requirements: ${r.id} appears twice`);
    seen.add(r.id);
    for (const c of r.checks) {
      if (c.transcript !== undefined && !(c.transcript in results.transcripts))
        problems.push(`/requirements ${r.id}: check "${c.title}" names transcript ${c.transcript}, which is missing`);
    }
  }
  return problems;
}

export class ResultsFileError extends Error {
  constructor(source: string, problems: string[]) {
    const shown = problems.slice(0, 8);
    super(
      `${source} is not a valid compliance results file: ${shown.join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}`,
    );
    this.name = 'ResultsFileError';
  }
}

export function assertValidResults(value: unknown, source: string): asserts value is ComplianceResults {
  const problems = resultsProblems(value);
  if (problems.length) throw new ResultsFileError(source, problems);
}

/** Reads, redacts and validates a results file. */
export async function readResults(file: string): Promise<ComplianceResults> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read results file ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const results = redactDeep(parsed);
  assertValidResults(results, file);
  return results;
}

/** Redacts and validates, then writes the results file (pretty JSON, scrubbed). */
export async function writeResults(file: string, input: ComplianceResults): Promise<void> {
  const { $schema: _, ...rest } = redactDeep(input);
  const results: ComplianceResults = { $schema: RESULTS_SCHEMA_URL, ...rest };
  assertValidResults(results, 'the results to write');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, scrubText(`${JSON.stringify(results, null, 2)}\n`));
}
