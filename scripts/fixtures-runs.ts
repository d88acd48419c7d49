/**
 * `npm run fixtures:runs`: regenerates the stored runs in
 * reports/fixtures/runs/ (see its README) with today's suites, so they never
 * show "no automated check" for requirements that have checks by now:
 *   reference-main.json               `run` (the embedded pair, profile main)
 *   reference-1.1.json                `run --profile 1.1`
 *   reference-body-limit-ledger.json  a `serve --body-limit 700` instance run through a
 *                                     target config, with a ledger declaring SHR-11 and DISC-4
 * Transcripts are trimmed to those of failed checks and three passing ones.
 *   npm run fixtures:runs [-- --only main,1.1,ledger]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { freePort } from '../reference/pair.ts';
import { readResults, writeResults } from '../results/schema.ts';
import type { ComplianceResults } from '../results/model.ts';

const RUNS = join(PROJECT_ROOT, 'reports/fixtures/runs');
const BIN = join(PROJECT_ROOT, 'bin/ocm-conformance.js');
const { values } = parseArgs({ options: { only: { type: 'string', default: 'main,1.1,ledger' } } });
const only = new Set(values.only!.split(','));

function cli(args: string[], timeoutMs = 1_200_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS', 'OCM_ONLY'])
      delete env[name];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

/** Keeps the transcripts of failed checks and of the first three passing ones. */
export function trimTranscripts(results: ComplianceResults): ComplianceResults {
  const keep = new Set<string>();
  let passing = 0;
  for (const r of results.requirements)
    for (const c of r.checks) {
      if (!c.transcript) continue;
      if (c.status !== 'passed') keep.add(c.transcript);
      else if (passing < 3 && !keep.has(c.transcript)) {
        keep.add(c.transcript);
        passing++;
      }
    }
  for (const r of results.requirements) for (const c of r.checks) if (c.transcript && !keep.has(c.transcript)) delete c.transcript;
  results.transcripts = Object.fromEntries(Object.entries(results.transcripts).filter(([key]) => keep.has(key)));
  return results;
}

async function store(reportDir: string, name: string): Promise<void> {
  const results = trimTranscripts(await readResults(join(reportDir, 'compliance-results.json')));
  await writeResults(join(RUNS, name), results);
  console.log(`fixtures:runs: wrote ${join(RUNS, name)} (verdict ${results.verdict.pass ? 'PASS' : 'FAIL'})`);
}

async function embedded(name: string, extra: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-fixture-run-'));
  await cli(['run', '--report-dir', dir, ...extra]);
  await store(dir, name);
  await rm(dir, { recursive: true, force: true });
}

/** A reference with a 700-byte body limit, judged through a target config and a ledger. */
async function ledgerRun(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-fixture-ledger-'));
  const host = '127.0.0.4';
  const [port, peerPort] = [await freePort(host), await freePort('127.0.0.10')];
  const peers = [`127.0.0.10:${peerPort}`, `127.0.0.11:${peerPort}`];
  // The shipped trust list, its first two peers moved to this run's free port.
  const shipped = await readFile(join(PROJECT_ROOT, 'fixtures/targets/reference-trust.json'), 'utf8');
  const trust = (JSON.parse(shipped.replace(/127\.0\.0\.(1[01]):9400/g, `127.0.0.$1:${peerPort}`)) as unknown[]).slice(0, 2);
  await writeFile(join(dir, 'trust.json'), JSON.stringify(trust, null, 2));
  const base = parseYaml(await readFile(join(PROJECT_ROOT, 'fixtures/targets/reference.yaml'), 'utf8')) as Record<string, unknown>;
  const target = { ...base, name: 'reference (body limit 700)', baseUrl: `http://${host}:${port}`, peers: [peers] };
  await writeFile(join(dir, 'target.yaml'), toYaml(target));
  await writeFile(
    join(dir, 'ledger.yaml'),
    toYaml({ implementation: 'reference (body limit 700)', expectedFailures: ['DISC-4', 'SHR-11'] }),
  );
  await mkdir(join(dir, 'data'), { recursive: true });
  const server = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      host,
      '--port',
      String(port),
      '--data-dir',
      join(dir, 'data'),
      '--providers',
      join(dir, 'trust.json'),
      '--body-limit',
      '700',
      '--ready-file',
      join(dir, 'ready'),
    ],
    { cwd: PROJECT_ROOT, stdio: 'inherit' },
  );
  try {
    for (let i = 0; i < 300; i++) {
      if (await readFile(join(dir, 'ready'), 'utf8').catch(() => '')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cli([
      'run',
      '--target-config',
      join(dir, 'target.yaml'),
      '--expectations',
      join(dir, 'ledger.yaml'),
      '--report-dir',
      join(dir, 'reports'),
    ]);
    const results = await readResults(join(dir, 'reports', 'compliance-results.json'));
    // The ledger path is a temporary file: store it as the README names it.
    results.expectations.file = 'ledger.yaml';
    await writeResults(join(dir, 'reports', 'compliance-results.json'), results);
    await store(join(dir, 'reports'), 'reference-body-limit-ledger.json');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

if (only.has('main')) await embedded('reference-main.json', []);
if (only.has('1.1')) await embedded('reference-1.1.json', ['--profile', '1.1']);
if (only.has('ledger')) await ledgerRun();
