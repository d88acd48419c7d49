/**
 * Expectation ledgers: per implementation, the requirements known to fail.
 * File (YAML, or JSON when it ends in .json):
 *
 *   implementation: oCIS 7
 *   expectedFailures:
 *     - SHR-12
 *
 * A declared failure does not fail the run; a declared requirement that
 * passes is reported as an unexpected pass. `--update-expectations` rewrites
 * the ledger from the run: every failed MUST requirement (with `--fail-on
 * should`, every SHOULD not met as well), plus the declared
 * ones this run could not judge (not run), sorted by ID (SHR-2 before
 * SHR-12) so the diff stays small. Comments are not kept.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { compareIds, failsAtThreshold, type ComplianceResults } from '../results/model.ts';

export interface ExpectationLedger {
  implementation?: string;
  expectedFailures: string[];
}

export class LedgerError extends Error {
  constructor(file: string, detail: string) {
    super(`expectation ledger ${file}: ${detail}`);
    this.name = 'LedgerError';
  }
}

/** Reads a ledger; a missing file is an empty ledger (so `--update-expectations` can create it). */
export async function readLedger(file: string, knownIds?: ReadonlySet<string>): Promise<ExpectationLedger> {
  if (!existsSync(file)) return { expectedFailures: [] };
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LedgerError(file, (error as Error).message.split('\n')[0]!);
  }
  if (parsed === null || parsed === undefined) return { expectedFailures: [] };
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new LedgerError(file, 'must be a mapping {implementation, expectedFailures: [requirement IDs]}');
  const raw = parsed as Record<string, unknown>;
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'implementation' && k !== 'expectedFailures');
  if (unknownKeys.length) throw new LedgerError(file, `unknown key ${unknownKeys.join(', ')} (only implementation and expectedFailures)`);
  if (raw.implementation !== undefined && typeof raw.implementation !== 'string')
    throw new LedgerError(file, 'implementation must be a string');
  const list = raw.expectedFailures ?? [];
  if (!Array.isArray(list) || !list.every((id) => typeof id === 'string'))
    throw new LedgerError(file, 'expectedFailures must be a list of requirement IDs');
  const ids = list as string[];
  const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (duplicates.length) throw new LedgerError(file, `${duplicates.join(', ')} listed twice`);
  if (knownIds) {
    const unknown = ids.filter((id) => !knownIds.has(id));
    if (unknown.length) throw new LedgerError(file, `unknown requirement ID ${unknown.join(', ')}`);
  }
  return { ...(typeof raw.implementation === 'string' ? { implementation: raw.implementation } : {}), expectedFailures: ids };
}

/** The ledger a run implies: what fails the run at its threshold, plus declared ones the run could not judge. */
export function ledgerFromResults(results: ComplianceResults, previous: ExpectationLedger): ExpectationLedger {
  const outcome = new Map(results.requirements.map((r) => [r.id, r.outcome]));
  const ids = new Set(results.requirements.filter((r) => failsAtThreshold(r, results.run.failOn)).map((r) => r.id));
  for (const id of previous.expectedFailures) if (outcome.get(id) === 'not-run') ids.add(id);
  return { implementation: previous.implementation ?? results.target.name, expectedFailures: [...ids].sort(compareIds) };
}

export function serializeLedger(ledger: ExpectationLedger, file: string): string {
  const body = { implementation: ledger.implementation ?? '', expectedFailures: [...ledger.expectedFailures].sort(compareIds) };
  if (file.endsWith('.json')) return `${JSON.stringify(body, null, 2)}\n`;
  return [
    '# Expectation ledger of ocm-conformance: requirements known to fail for this implementation.',
    '# A listed failure does not fail the run; a listed requirement that passes is reported as an unexpected pass.',
    '# Rewrite it from a run with: npx ocm-conformance run … --expectations THIS_FILE --update-expectations',
    toYaml(body).trimEnd(),
    '',
  ].join('\n');
}

export async function writeLedger(file: string, ledger: ExpectationLedger): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, serializeLedger(ledger, file));
}
