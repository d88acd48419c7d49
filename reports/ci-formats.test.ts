/**
 * The formats CI systems consume: CTRF (validated with the `ctrf` package),
 * the shields.io endpoint badge (against the endpoint schema), GitHub
 * workflow annotations (escaping, one per requirement not met), and the
 * `$schema` URL each results file carries.
 */
import { test, expect } from '@playwright/test';
import { Ajv } from 'ajv';
import { validate as validateCtrf, SUPPORTED_SPEC_VERSIONS } from 'ctrf';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_SCHEMA_URL, type ComplianceResults } from '../results/model.ts';
import { annotationMode, escapeData, escapeProperty, githubAnnotations } from './annotations.ts';
import { badgeEndpoint } from './badge.ts';
import { CTRF_SPEC_VERSION, renderCtrf } from './ctrf.ts';
import { junitCases } from './junit.ts';
import { RESULTS_SCHEMA_FILE, readResults } from '../results/schema.ts';
import { sampleResults } from '../selftest/report-sample.ts';
import { writeReports } from './write.ts';

const RUNS = fileURLToPath(new URL('./fixtures/runs/', import.meta.url));

async function allResults(): Promise<Array<[string, ComplianceResults]>> {
  return [
    ['sample', sampleResults().results],
    ...(await Promise.all(
      ['reference-main.json', 'reference-1.1.json', 'reference-body-limit-ledger.json'].map(
        async (f) => [f, await readResults(join(RUNS, f))] as [string, ComplianceResults],
      ),
    )),
  ];
}

/** The shields.io endpoint response schema (https://shields.io/badges/endpoint-badge), as JSON Schema. */
const SHIELDS_ENDPOINT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'label', 'message'],
  properties: {
    schemaVersion: { const: 1 },
    label: { type: 'string' },
    message: { type: 'string', minLength: 1 },
    color: { type: 'string', minLength: 1 },
    labelColor: { type: 'string' },
    isError: { type: 'boolean' },
    namedLogo: { type: 'string' },
    logoSvg: { type: 'string' },
    logoColor: { type: 'string' },
    logoWidth: { type: 'number' },
    style: { enum: ['plastic', 'flat', 'flat-square', 'for-the-badge', 'social'] },
    cacheSeconds: { type: 'integer', minimum: 300 },
  },
};

test.describe('CTRF', () => {
  test('validates with the ctrf package, and its counts agree with the JUnit cases', async () => {
    expect(SUPPORTED_SPEC_VERSIONS).toContain(CTRF_SPEC_VERSION);
    for (const [name, results] of await allResults()) {
      const report = JSON.parse(renderCtrf(results));
      const validation = validateCtrf(report);
      expect(validation.errors, name).toEqual([]);
      expect(validation.valid, name).toBe(true);
      const cases = junitCases(results);
      expect(report.results.summary.tests, name).toBe(cases.length);
      expect(report.results.summary.failed, name).toBe(cases.filter((c) => c.kind === 'failure').length);
      // A failed CTRF test is exactly a check of a MUST that fails the run.
      const failedIds = new Set(report.results.tests.filter((t: any) => t.status === 'failed').map((t: any) => t.labels.requirement));
      expect([...failedIds].sort(), name).toEqual(
        results.requirements
          .filter((r) => r.outcome === 'failed' && !r.expectedFailure)
          .map((r) => r.id)
          .sort(),
      );
    }
  });

  test('each check names its suite file and line', () => {
    const { results } = sampleResults();
    const withLine = results.requirements.flatMap((r) => r.checks).find((c) => c.line);
    const report = JSON.parse(renderCtrf(results));
    for (const t of report.results.tests.filter((x: any) => x.filePath)) expect(t.filePath).toMatch(/^suites\/.+\.spec\.ts$/);
    if (withLine) expect(report.results.tests.some((t: any) => t.line === withLine.line)).toBe(true);
  });
});

test.describe('badge.json', () => {
  test('matches the shields.io endpoint schema and says what badge.svg says', async () => {
    const check = new Ajv({ strict: false }).compile(SHIELDS_ENDPOINT_SCHEMA);
    for (const [name, results] of await allResults()) {
      const badge = badgeEndpoint(results);
      expect(check(badge), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
      expect(badge.message).toMatch(/^MUST \d+\/\d+$/);
      expect(badge.color).toMatch(/^[0-9a-f]{6}$/);
    }
  });

  test('every report folder has badge.json and ctrf-report.json, and the results name their schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-ci-formats-'));
    const files = await writeReports(sampleResults().results, dir);
    expect(JSON.parse(await readFile(files.badgeEndpoint, 'utf8')).schemaVersion).toBe(1);
    expect(JSON.parse(await readFile(files.ctrf, 'utf8')).reportFormat).toBe('CTRF');
    const written = JSON.parse(await readFile(files.results, 'utf8'));
    expect(written.$schema).toBe(RESULTS_SCHEMA_URL);
    // The URL is the shipped schema's own id.
    expect(JSON.parse(await readFile(RESULTS_SCHEMA_FILE, 'utf8')).$id).toBe(RESULTS_SCHEMA_URL);
  });
});

test.describe('GitHub workflow annotations', () => {
  test('escape data and properties by the workflow-command rules', () => {
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext');
    expect(escapeProperty('a: b, c%\n')).toBe('a%3A b%2C c%25%0A');
  });

  test('one ::error per failed MUST, ::warning per SHOULD not met, each on one line', async () => {
    for (const [name, results] of await allResults()) {
      const lines = githubAnnotations(results);
      for (const line of lines) expect(line, name).not.toMatch(/[\r\n]/);
      const errors = lines.filter((l) => l.startsWith('::error '));
      expect(errors.map((l) => /^::error title=(\S+) \(MUST\)::/.exec(l)?.[1]).sort(), name).toEqual(
        [...results.verdict.mustFailures].sort(),
      );
      const warnings = lines.filter((l) => l.startsWith('::warning '));
      expect(warnings.length, name).toBe(results.requirements.filter((r) => r.outcome === 'warning').length);
    }
  });

  test('on in GitHub Actions, off elsewhere, and --annotations overrides', () => {
    expect(annotationMode(undefined, { GITHUB_ACTIONS: 'true' })).toBe('github');
    expect(annotationMode(undefined, {})).toBe('none');
    expect(annotationMode('github', {})).toBe('github');
    expect(annotationMode('none', { GITHUB_ACTIONS: 'true' })).toBe('none');
    expect(() => annotationMode('gitlab', {})).toThrow(/--annotations gitlab: use one of github, none/);
  });
});
