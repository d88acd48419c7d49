import { defineConfig } from '@playwright/test';

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
  reporter: [
    ['list'],
    ['json', { outputFile: `${outputDir}/test-results.json` }],
    // `ocm-conformance run` asks for Playwright's HTML and JUnit reports too.
    ...(process.env.OCM_FULL_REPORTS
      ? ([
          ['html', { outputFolder: `${outputDir}/playwright-html`, open: 'never' }],
          ['junit', { outputFile: `${outputDir}/playwright-junit.xml` }],
        ] as const)
      : []),
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
