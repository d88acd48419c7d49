/**
 * Checks the tree against the rules of `.dependency-cruiser.cjs` (the
 * architecture map in executable form), in two passes:
 *
 *  - every module, tests included, against the import rules (a test of the
 *    judge may not borrow the defendant's code either);
 *  - production modules only against `no-folder-cycles`: a test sits in the
 *    folder of what it tests and may use helpers of higher rooms
 *    (reference/testing, reference/hardening), which would otherwise read as
 *    cycles between folders that the code itself does not have.
 *
 * Violations listed in `.dependency-cruiser-known-violations.json` are
 * reported apart, as known; the list may only shrink.
 *
 * `node --import tsx selftest/boundaries/boundaries.ts [ROOT]` prints the
 * violations and exits 1 when there is a new one (`npm run boundaries`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Top-level folders of the project whose imports the rules govern. */
const ROOMS = [
  'bin',
  'cli',
  'scripts',
  'openapi',
  'proto',
  'reference',
  'results',
  'suites',
  'selftest',
  'reports',
  'bench',
  'inspector',
  'tls',
];

/** Modules that only tests use; left out of the folder-cycle pass. */
const TEST_ONLY = '(\\.test\\.ts$|\\.browser\\.ts$|^reference/testing/|^reference/hardening/|^bench/|^selftest/)';

const FOLDER_CYCLES = 'no-folder-cycles';

export interface BoundaryReport {
  /** Violations not in the known list: each fails the check. */
  violations: string[];
  /** Violations the known list accepts for now. */
  known: string[];
}

interface KnownViolation {
  rule: { name: string };
  from: string;
  to: string;
}

/** One line per violation: `rule: from → to` (a cycle lists its folders). */
export function describeViolation(v: IViolation): string {
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

/** Checks the tree at `root` (default: this project) against its `.dependency-cruiser.cjs`. */
export async function checkBoundaries(root = PROJECT_ROOT): Promise<BoundaryReport> {
  const configFile = join(root, '.dependency-cruiser.cjs');
  const config = require(configFile) as { forbidden: Array<{ name: string }>; options: Record<string, any> };
  const knownFile = join(root, '.dependency-cruiser-known-violations.json');
  const known: KnownViolation[] = existsSync(knownFile) ? JSON.parse(readFileSync(knownFile, 'utf8')) : [];
  const rooms = ROOMS.filter((room) => existsSync(join(root, room)));
  const previous = process.cwd();
  // dependency-cruiser resolves paths against the working directory.
  process.chdir(root);
  try {
    const pass = async (rules: Array<{ name: string }>, exclude: string): Promise<IViolation[]> => {
      const { output } = await cruise(rooms, {
        ...config.options,
        tsConfig: existsSync(join(root, 'tsconfig.json')) ? { fileName: 'tsconfig.json' } : undefined,
        exclude: { path: exclude },
        ruleSet: { forbidden: rules } as any,
        validate: true,
      });
      return (output as ICruiseResult).summary.violations;
    };
    const baseExclude: string = config.options.exclude?.path ?? '^node_modules/';
    const imports = await pass(
      config.forbidden.filter((r) => r.name !== FOLDER_CYCLES),
      baseExclude,
    );
    const cycles = await pass(
      config.forbidden.filter((r) => r.name === FOLDER_CYCLES),
      `${baseExclude}|${TEST_ONLY}`,
    );
    const isKnown = (v: IViolation) => known.some((k) => k.rule.name === v.rule.name && k.from === v.from && k.to === v.to);
    const all = [...imports, ...cycles];
    return {
      violations: [...new Set(all.filter((v) => !isKnown(v)).map(describeViolation))],
      known: [...new Set(all.filter(isKnown).map(describeViolation))],
    };
  } finally {
    process.chdir(previous);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = await checkBoundaries(process.argv[2] ? resolve(process.argv[2]) : PROJECT_ROOT);
  for (const line of report.known) console.log(`known  ${line}`);
  for (const line of report.violations) console.log(`NEW    ${line}`);
  console.log(`${report.violations.length} new violation(s), ${report.known.length} known`);
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}
