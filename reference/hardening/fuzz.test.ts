/**
 * The short form of `npm run fuzz`: a few hundred fuzz cases (fuzz.ts)
 * against every HTTP surface and the gRPC services of a reference instance
 * with real peers. Fixed seed, so CI sees the same cases every time; set
 * FUZZ_SEED / FUZZ_CASES to explore. Violations explained by an open known
 * bug (fuzz-runner.ts KNOWN_BUGS, regressions.test.ts) are annotated, not
 * failed.
 */
import { test, expect } from '@playwright/test';
import { clean, runFuzz } from './fuzz-runner.ts';
import { startWorld } from './world.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_129);
const CASES = Number(process.env.FUZZ_CASES ?? 500);

test(`${CASES} fuzz cases: no 5xx, no crash, answers match the API description, /health after`, async () => {
  test.setTimeout(60_000);
  const world = await startWorld();
  try {
    const stats = await runFuzz(world, { numRuns: CASES, seed: SEED, concurrency: 4 });
    test.info().annotations.push({
      type: 'fuzz',
      description: `${stats.cases} cases in ${stats.elapsedMs} ms (seed ${SEED}): ${JSON.stringify(stats.byTransport)}`,
    });
    for (const [name, count] of Object.entries(stats.knownBugs))
      test.info().annotations.push({ type: 'known bug seen', description: `×${count} ${name}` });
    const summary = {
      violations: stats.violations,
      crashes: stats.crashes,
      healthAfter: stats.healthAfter,
      dataFiles: stats.dataFiles,
      failures: stats.failures.slice(0, 5),
      serverErrors: stats.serverErrors.slice(0, 5),
    };
    expect(stats.cases).toBe(CASES);
    expect(clean(stats), JSON.stringify(summary, null, 2)).toBe(true);
  } finally {
    await world.close();
  }
});
