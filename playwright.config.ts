import { defineConfig } from '@playwright/test';
import { findingsKeepWorker } from './suites/harness/kept-workers.ts';

// One runner for everything: unit tests of the reference (`*.test.ts`, next to
// the code) and the conformance suites (`suites/**/*.spec.ts`) against the
// target named by OCM_TARGET_CONFIG, or the embedded reference pair that the
// global setup starts when none is named. API tests need no browser.
// Results land in reports/output/ where `.ci/run` and `ocm-conformance run` read them.
const outputDir = process.env.OCM_REPORT_DIR ?? 'reports/output';

export default defineConfig({
  testDir: '.',
  testIgnore: ['**/node_modules/**'],
  timeout: 60_000,
  fullyParallel: true,
  // This machine kind has two cores; API tests are I/O-bound, so two workers halve the wall time.
  workers: 2,
  forbidOnly: true,
  globalSetup: './suites/harness/global-setup.ts',
  outputDir: `${outputDir}/test-artifacts`,
  // Under `ocm-conformance run` (which judges the results itself, and writes its own HTML and JUnit) a finding
  // keeps its worker (suites/harness/kept-workers.ts); `list` would tally those findings as passes, so the
  // check reporter prints the progress instead. A plain `playwright test` keeps Playwright's list.
  reporter: [
    findingsKeepWorker() ? ['./suites/harness/check-reporter.ts'] : ['list'],
    ['json', { outputFile: `${outputDir}/test-results.json` }],
  ],
  projects: [
    {
      name: 'unit',
      testMatch: [
        'reference/**/*.test.ts',
        'openapi/**/*.test.ts',
        'inspector/**/*.test.ts',
        'cli/**/*.test.ts',
        'suites/**/*.test.ts',
        'reports/**/*.test.ts',
        'selftest/**/*.test.ts',
      ],
    },
    {
      // The HTML report in a real browser: Debian's chromium (.ci/run installs it; no download).
      name: 'browser',
      testMatch: ['reports/**/*.browser.ts', 'reference/**/*.browser.ts'],
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: ['--disable-background-networking', '--disable-component-update', '--disable-sync'],
        },
      },
    },
    {
      name: 'conformance',
      testMatch: ['suites/**/*.spec.ts'],
    },
  ],
});
