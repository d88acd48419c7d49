/**
 * `npm run fuzz`: at least 10,000 fuzz cases against every HTTP surface and
 * the gRPC services of a reference instance (see fuzz.ts), then the tallies:
 * cases per family and transport, answers per status, violations, crashes,
 * /health afterwards, data files parse. Exits 1 on any violation.
 *
 *   npm run fuzz -- [--cases N] [--seed S] [--concurrency C] [--out FILE]
 *
 * The full record (every failing case with its bytes, the server's error log)
 * goes to bench/results/fuzz-latest.json; re-run with the printed seed to get
 * the same cases.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../base/config.ts';
import { clean, runFuzz, type FuzzStats } from './fuzz-runner.ts';
import { startWorld } from './world.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench/results/fuzz-latest.json') },
    'no-grpc': { type: 'boolean', default: false },
    'allow-known': { type: 'boolean', default: false },
  },
});

const numRuns = Number(values.cases);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);

function table(title: string, counts: Record<string, number>, limit = 40): string {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const width = Math.max(title.length, ...rows.slice(0, limit).map(([k]) => k.length));
  const lines = [`  ${title.padEnd(width)}  count`, `  ${'-'.repeat(width)}  -----`];
  for (const [k, v] of rows.slice(0, limit)) lines.push(`  ${k.padEnd(width)}  ${String(v).padStart(5)}`);
  if (rows.length > limit) lines.push(`  … ${rows.length - limit} more`);
  return lines.join('\n');
}

console.log(`fuzz: ${numRuns} cases, seed ${seed}, concurrency ${values.concurrency}`);
const world = await startWorld({ grpc: !values['no-grpc'] });
console.log(`world: A ${world.originA} (gRPC ${world.grpcPort ?? 'off'}), B ${world.originB}, plain peer ${world.originP}`);
let stats: FuzzStats;
const startedAt = Date.now();
try {
  stats = await runFuzz(world, {
    numRuns,
    seed,
    concurrency: Number(values.concurrency),
    progressEvery: 1000,
    onProgress: (done, s) => {
      const bad = Object.values(s.violations).reduce((a, b) => a + b, 0);
      console.log(
        `  ${String(done).padStart(6)} cases  ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s  violations ${bad}  crashes ${s.crashes.length}`,
      );
    },
  });
} finally {
  await world.close();
}

console.log('');
console.log(table('family', stats.byFamily, 80));
console.log('');
console.log(table('transport', stats.byTransport));
console.log('');
console.log(table('answer', stats.byStatus));
console.log('');
console.log(table('body mutation / byte mutation / content type', stats.byMutation, 25));
console.log('');
if (Object.keys(stats.gatewayAnswers).length > 0) {
  console.log(table('declared 501/502/504 answers (not violations)', stats.gatewayAnswers, 15));
  console.log('');
}
if (Object.keys(stats.nonJsonErrors).length > 0) {
  console.log(table('non-JSON error answers (informational)', stats.nonJsonErrors, 15));
  console.log('');
}
console.log(`cases:            ${stats.cases}`);
console.log(`time:             ${(stats.elapsedMs / 1000).toFixed(1)} s (${stats.casesPerSecond} cases/s)`);
console.log(`violations:       ${Object.keys(stats.violations).length === 0 ? 'none' : JSON.stringify(stats.violations)}`);
console.log(`known bugs:       ${Object.keys(stats.knownBugs).length === 0 ? 'none seen' : ''}`);
for (const [name, count] of Object.entries(stats.knownBugs)) console.log(`  ! ×${count} ${name}`);
console.log(`crashes:          ${stats.crashes.length === 0 ? 'none' : stats.crashes.length}`);
console.log(`server errors:    ${stats.serverErrors.length} logged at level error`);
console.log(`health after:     inject ${stats.healthAfter.inject}, socket ${stats.healthAfter.socket}`);
console.log(`data files:       ${stats.dataFiles?.files ?? 0} checked, ${stats.dataFiles?.problems.length ?? 0} problems`);
for (const failure of stats.failures.slice(0, 15)) {
  console.log(
    `  ✗ #${failure.index} ${failure.case.family} ${failure.case.method ?? ''} ${String(failure.case.url ?? failure.case.path).slice(0, 120)} → ${failure.status}`,
  );
  for (const v of failure.violations) console.log(`      ${v.rule}: ${v.detail.slice(0, 300)}`);
}
const logged = new Map<string, number>();
for (const line of stats.serverErrors) {
  const key = `${String(line.msg)}: ${String(line.problem ?? (line.err as { message?: string } | undefined)?.message ?? '')}`.slice(0, 200);
  logged.set(key, (logged.get(key) ?? 0) + 1);
}
for (const [key, count] of logged) console.log(`  server log (error) ×${count}: ${key}`);
stats.crashes.slice(0, 5).forEach((crash, n) => {
  console.log(`  ✗ crash: ${crash}`);
  for (const c of stats.crashCases[n] ?? [])
    console.log(`      in flight: #${c.index} ${c.family} ${c.method ?? ''} ${String(c.url ?? c.path ?? '').slice(0, 120)}`);
});
await mkdir(dirname(values.out!), { recursive: true });
const ok = clean(stats) && (values['allow-known'] || Object.keys(stats.knownBugs).length === 0);
await writeFile(values.out!, `${JSON.stringify({ at: new Date().toISOString(), clean: ok, ...stats }, null, 2)}\n`);
console.log(`record:           ${values.out}`);
console.log(
  ok
    ? 'fuzz: clean'
    : clean(stats)
      ? `fuzz: FAILED: only known bugs (see regressions.test.ts; --allow-known tolerates them)`
      : `fuzz: FAILED (re-run with --seed ${seed})`,
);
process.exit(ok ? 0 : 1);
