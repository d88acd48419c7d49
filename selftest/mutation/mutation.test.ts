/**
 * The pure parts of the mutation run (plan.ts): baseline configurations,
 * check selection, reading Playwright's report, and when a fault counts as
 * detected. The run itself is `npm run mutation` (and part of `.ci/run`).
 */
import { test, expect } from '@playwright/test';
import { FAULTS } from '../../reference/base/faults.ts';
import { PROJECT_ROOT } from '../../suites/harness/requirements.ts';
import {
  checksOfReport,
  faultTable,
  grepFor,
  judgeDetection,
  readSpecSources,
  specFilesFor,
  summarise,
  variantOf,
  variantsFor,
  type FaultOutcome,
} from './plan.ts';

test('each distinct fault setup gets one baseline configuration, the default first', () => {
  const variants = variantsFor(FAULTS);
  expect(variants[0]).toEqual({ key: 'default', setup: {} });
  expect(variants.map((v) => v.key)).toContain('criteria=must-use-http-sig');
  expect(new Set(variants.map((v) => v.key)).size).toBe(variants.length);
  expect(variantOf({})).toEqual({ key: 'default', setup: {} });
});

test('the grep pattern selects whole requirement IDs only', () => {
  const pattern = new RegExp(grepFor(['SHR-1', 'ERR-1']));
  expect(pattern.test('SHR-1 a well-formed share to an existing local user is answered 201 @must @shares')).toBe(true);
  expect(pattern.test('SHR-7 ERR-1 every error answer of POST /shares is JSON')).toBe(true);
  expect(pattern.test('SHR-10 with the must-exchange-token criterion, a share is refused')).toBe(false);
  expect(pattern.test('SHR-13 a multi share whose webdav lacks uri is refused')).toBe(false);
  expect(pattern.test('XSHR-1 something')).toBe(false);
});

test('a fault is detected only by a declared ID that failed and passed on its baseline', () => {
  expect(judgeDetection(['SHR-1'], ['SHR-1', 'SHR-2'], [])).toEqual({ detected: true, detectedBy: ['SHR-1'] });
  expect(judgeDetection(['SHR-1'], ['SHR-2'], []), 'another ID failing does not count').toEqual({ detected: false, detectedBy: [] });
  expect(judgeDetection(['SHR-1', 'DISC-5'], ['DISC-5'], ['DISC-5']), 'an ID that fails unfaulted proves nothing').toEqual({
    detected: false,
    detectedBy: [],
  });
});

test('checks are read from the Playwright JSON report: failed IDs and counts', () => {
  const test = (status: string, ids: string[], projectName = 'conformance') => ({
    projectName,
    annotations: ids.map((id) => ({ type: 'requirement', description: id })),
    results: [{ status }],
  });
  const report = {
    suites: [
      {
        specs: [{ tests: [test('passed', ['SHR-1']), test('failed', ['SHR-7', 'ERR-1']), test('skipped', ['SHR-2'])] }],
        suites: [{ specs: [{ tests: [test('timedOut', ['DISC-4']), test('failed', ['XX-1'], 'unit')] }] }],
      },
    ],
  };
  expect(checksOfReport(report as never)).toEqual({
    failed: ['DISC-4', 'ERR-1', 'SHR-7'],
    checks: { run: 3, passed: 1, failed: 2, notRun: 1 },
  });
});

test('every fault selects at least one spec file that names one of its IDs', async () => {
  const sources = await readSpecSources(PROJECT_ROOT);
  expect(specFilesFor(['DISC-4'], sources), 'checks defined as data in a sibling module').toEqual(['suites/discovery/discovery.spec.ts']);
  const orphans = FAULTS.filter((f) => specFilesFor(f.requirements, sources).length === 0).map((f) => f.name);
  expect(orphans, 'faults whose requirement IDs no suite checks').toEqual([]);
  expect(
    specFilesFor(
      ['SHR-1'],
      new Map([
        ['a.spec.ts', "check(['SHR-1'], …)"],
        ['b.spec.ts', "check(['SHR-10'], …)"],
      ]),
    ),
  ).toEqual(['a.spec.ts']);
});

test('the summary passes only with every baseline clean and every fault detected; the table has one row per fault', () => {
  const fault = (name: string, status: FaultOutcome['status']): FaultOutcome => ({
    name,
    area: 'shares-receiver',
    description: '',
    expected: ['SHR-1'],
    variant: 'default',
    status,
    detectedBy: status === 'detected' ? ['SHR-1'] : [],
    failed: status === 'detected' ? ['SHR-1'] : [],
    durationMs: 1234,
  });
  const clean = [{ variant: 'default', pass: true, mustFailures: [], warnings: [], durationMs: 1 }];
  expect(summarise(clean, [fault('a', 'detected')]).pass).toBe(true);
  expect(summarise(clean, [fault('a', 'detected'), fault('b', 'undetected')])).toMatchObject({ pass: false, detected: 1, undetected: 1 });
  expect(summarise(clean, [fault('a', 'timed-out')])).toMatchObject({ pass: false, timedOut: 1 });
  expect(
    summarise([{ ...clean[0]!, pass: false, mustFailures: ['SHR-1'] }], [fault('a', 'detected')]).pass,
    'a false alarm fails the run',
  ).toBe(false);
  const table = faultTable([fault('shares-answer-200', 'detected'), fault('b', 'undetected')]).split('\n');
  expect(table[0]).toMatch(/^fault\s+expected\s+detected by\s+time$/);
  expect(table[2]).toMatch(/^shares-answer-200\s+SHR-1\s+SHR-1\s+1\.2 s$/);
  expect(table[3]).toMatch(/UNDETECTED/);
});
