import { defineConfig } from '@playwright/test';

// One runner for everything: unit tests of the reference (`*.test.ts`, next to
// the code) and the conformance suites (`suites/**/*.spec.ts`). API tests need
// no browser. Results land in reports/output/ where `.ci/run` reads them.
export default defineConfig({
  testDir: '.',
  testIgnore: ['**/node_modules/**'],
  timeout: 60_000,
  fullyParallel: true,
  workers: process.env.CI ? 2 : undefined,
  forbidOnly: true,
  reporter: [
    ['list'],
    ['json', { outputFile: 'reports/output/test-results.json' }],
  ],
  projects: [
    {
      name: 'unit',
      testMatch: ['reference/**/*.test.ts', 'openapi/**/*.test.ts', 'cli/**/*.test.ts', 'suites/**/*.test.ts'],
    },
  ],
});
