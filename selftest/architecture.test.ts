/**
 * The map of docs/architecture.md is the code's: regenerated in memory with
 * dependency-cruiser (scripts/architecture.ts), it must equal the committed
 * one; and every file the document names exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { ARCHITECTURE_DOC, architectureBlock, committedBlock, PROJECT_ROOT } from '../scripts/architecture.ts';

const FIXTURE = fileURLToPath(new URL('./boundaries/fixture', import.meta.url));

const documentText = () => readFileSync(join(PROJECT_ROOT, ARCHITECTURE_DOC), 'utf8');

/** The lines of `actual` that differ from `expected`, for a message that says what moved. */
function changedLines(expected: string, actual: string): string {
  const before = new Set(expected.split('\n'));
  const after = new Set(actual.split('\n'));
  const removed = [...before].filter((l) => !after.has(l)).map((l) => `- ${l.trim()}`);
  const added = [...after].filter((l) => !before.has(l)).map((l) => `+ ${l.trim()}`);
  return [...removed, ...added].join('\n');
}

test('the committed map equals the one generated from the code', async () => {
  test.setTimeout(120_000);
  const committed = committedBlock(documentText());
  expect(committed, `${ARCHITECTURE_DOC} has lost the markers of its generated block`).toBeDefined();
  const fresh = await architectureBlock();
  expect(
    committed === fresh,
    `${ARCHITECTURE_DOC} shows another map than the code has: run \`npm run architecture\` and commit the result.\n` +
      `Changes (- committed, + code):\n${changedLines(committed!, fresh)}`,
  ).toBe(true);
});

test('the map follows the imports: a fixture tree gives its own edges, and a different map', async () => {
  test.setTimeout(120_000);
  // selftest/boundaries/fixture: a suite imports reference/ (the entry and the signer) and openapi/, a report imports a suite.
  const fixture = await architectureBlock(FIXTURE);
  for (const edge of ['reports --> suites', 'suites --> openapi', 'suites --> reference'])
    expect(fixture.split('\n').map((l) => l.trim())).toContain(edge);
  expect(fixture).not.toContain('reports --> results');
  expect(fixture).not.toEqual(committedBlock(documentText()));
});

test('every file and folder the document names exists', () => {
  const named = new Set(
    [
      ...documentText().matchAll(
        /`((?:bin|cli|scripts|reference|suites|results|reports|selftest|inspector|bench|openapi|proto|certs)\/[^`\s]*)`/g,
      ),
    ]
      .map((m) => m[1]!)
      .filter((path) => !path.includes('*')),
  );
  expect(named.size).toBeGreaterThan(20);
  const missing = [...named].filter((path) => !existsSync(join(PROJECT_ROOT, path)));
  expect(missing, `${ARCHITECTURE_DOC} names paths that do not exist`).toEqual([]);
});
