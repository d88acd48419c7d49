import { test, expect } from '@playwright/test';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { finalizeResults } from '../results/model.ts';
import { ledgerFromResults, readLedger, serializeLedger, writeLedger, LedgerError } from './expectations.ts';
import { sampleResults } from '../selftest/report-sample.ts';

const SAMPLE_LEDGER = fileURLToPath(new URL('../fixtures/expectations/reference.yaml', import.meta.url));

test.describe('expectation ledgers', () => {
  test('the sample ledger of the reference is valid and empty', async () => {
    expect(await readLedger(SAMPLE_LEDGER, new Set(['DISC-1']))).toEqual({
      implementation: 'reference A (embedded)',
      expectedFailures: [],
    });
  });

  test('YAML and JSON are read; mistakes are refused with the file named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-ledger-'));
    const known = new Set(['SHR-2', 'SHR-12', 'DISC-1']);
    const file = (name: string, text: string) => writeFile(join(dir, name), text).then(() => join(dir, name));
    expect(await readLedger(await file('a.yaml', 'implementation: X\nexpectedFailures: [SHR-12, DISC-1]\n'), known)).toEqual({
      implementation: 'X',
      expectedFailures: ['SHR-12', 'DISC-1'],
    });
    expect(await readLedger(await file('b.json', '{"expectedFailures":["SHR-2"]}'), known)).toEqual({ expectedFailures: ['SHR-2'] });
    expect(await readLedger(join(dir, 'missing.yaml'), known)).toEqual({ expectedFailures: [] });
    await expect(readLedger(await file('c.yaml', 'expectedFailures: [SHR-99]\n'), known)).rejects.toThrow(
      /c\.yaml: unknown requirement ID SHR-99/,
    );
    await expect(readLedger(await file('d.yaml', 'expectedFailures: [SHR-2, SHR-2]\n'), known)).rejects.toThrow(/SHR-2 listed twice/);
    await expect(readLedger(await file('e.yaml', 'expected: [SHR-2]\n'), known)).rejects.toThrow(/unknown key expected/);
    await expect(readLedger(await file('f.yaml', 'expectedFailures: SHR-2\n'), known)).rejects.toBeInstanceOf(LedgerError);
  });

  test('--update-expectations writes the failing MUSTs, keeps what the run could not judge, sorted', async () => {
    const { results, ids } = sampleResults();
    const ledger = ledgerFromResults(results, { implementation: 'Sample', expectedFailures: [ids.notRun, ids.xpass] });
    const expected = [ids.fail, ids.xfail, ids.interop, ids.notRun].sort((a, b) => {
      const [pa, na] = [a.replace(/-\d+$/, ''), Number(a.split('-').pop())];
      const [pb, nb] = [b.replace(/-\d+$/, ''), Number(b.split('-').pop())];
      return pa === pb ? na - nb : pa.localeCompare(pb);
    });
    // The unexpected pass leaves the ledger; the not-run declaration stays.
    expect(ledger).toEqual({ implementation: 'Sample', expectedFailures: expected });
    const dir = await mkdtemp(join(tmpdir(), 'ocm-ledger-'));
    await writeLedger(join(dir, 'l.yaml'), { expectedFailures: ['SHR-12', 'DISC-3', 'SHR-2'], implementation: 'X' });
    const text = await readFile(join(dir, 'l.yaml'), 'utf8');
    expect(parseYaml(text)).toEqual({ implementation: 'X', expectedFailures: ['DISC-3', 'SHR-2', 'SHR-12'] });
    expect(text.startsWith('# Expectation ledger')).toBe(true);
    // Stable: writing what was read gives the same bytes.
    expect(serializeLedger(await readLedger(join(dir, 'l.yaml')), 'l.yaml')).toBe(text);
    expect(JSON.parse(serializeLedger({ expectedFailures: ['SHR-12', 'SHR-2'] }, 'l.json'))).toEqual({
      implementation: '',
      expectedFailures: ['SHR-2', 'SHR-12'],
    });
  });

  test('a declared failure does not fail the verdict; an undeclared one does', () => {
    const { results, ids } = sampleResults();
    expect(results.verdict.pass).toBe(false);
    results.expectations.declared.push(ids.fail, ids.interop);
    finalizeResults(results);
    expect(results.verdict).toMatchObject({ pass: true, mustFailures: [] });
    expect(results.verdict.expectedFailures.sort()).toEqual([ids.fail, ids.interop, ids.xfail].sort());
    results.expectations.declared = [];
    finalizeResults(results);
    expect(results.verdict.pass).toBe(false);
    expect(results.verdict.unexpectedPasses).toEqual([]);
    expect(results.requirements.some((r) => r.expectedFailure || r.unexpectedPass)).toBe(false);
  });
});
