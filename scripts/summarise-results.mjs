// Prints the CI closing line, `N passed, N failed` (`, N skipped` when any),
// from a Playwright JSON report, plus EXTRA_FAILED (steps outside the report
// that failed, such as lint). Exits 1 when the report is missing or anything failed.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'reports/output/test-results.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`0 passed, ${1 + (Number(process.env.EXTRA_FAILED ?? 0) || 0)} failed`);
  console.error(`no test results at ${file}: ${error.message}`);
  process.exit(1);
}
const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = report.stats ?? {};
const errors = Array.isArray(report.errors) ? report.errors.length : 0;
const extra = Number(process.env.EXTRA_FAILED ?? 0) || 0;
const failed = unexpected + errors + extra;
console.log(`${expected + flaky} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
