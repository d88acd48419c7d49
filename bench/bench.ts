/**
 * `npm run bench`: the reference server's speed, each figure a ratio
 * measured side by side in one run, printed as a table and written to
 * bench/results/latest.json.
 *
 *  (a) discovery: GET /.well-known/ocm of `serve` versus a bare fastify
 *      route serving the same bytes (bench/bare-server.ts), alternated
 *      (ref, bare, ref, bare, …) so that load drift hits both; target ≥ 0.8.
 *  (b) POST /ocm/shares from a trusted peer with the received-shares store
 *      pre-filled at 1,000, 10,000 and 100,000 shares (through
 *      JsonCollection.put, then a snapshot, as a server that ran for a while
 *      leaves it); every request a unique providerId (autocannon
 *      setupRequest). One server per size, all running, the load alternated
 *      between them round by round (medians). Targets: ≥ 1,000 req/s at
 *      100,000; per-request cost at 100,000 within 2× of that at 1,000.
 *      Also: the time one snapshot of the 100,000-share collection takes
 *      (the store writes it in the background, in chunks, once the journal
 *      holds as many lines as there are records).
 *  (c) memory: resident size of `serve` with 100,000 stored shares: after
 *      start, and its peak (VmHWM) through start and a one-second warm-up
 *      load; target < 300 MB. The peak after (b), whose load adds shares,
 *      is printed with the number stored by then.
 *  (d) the full default conformance run (`ocm-conformance run`): wall time
 *      and checks per second from its compliance-results.json; target < 60 s.
 *  (e) the pull-request run (`ocm-conformance run --preset pr`, the MUST
 *      checks of discovery, receiving shares, notifications and signatures):
 *      wall time, start-up included; target < 10 s.
 *
 *  (f) `serve --inspect`: POST /ocm/shares with and without the inspector,
 *      side by side (bench/inspector.ts); target: at most 15 % slower. And the
 *      inspector's heap after 100,000 exchanges against after 10,000: flat.
 *  (g) a failing target: `ocm-conformance run` against the reference broken
 *      by 75 default-configuration faults at once, against the unfaulted
 *      reference, alternated (bench/failing-target.ts); target: ≤ 1.5×.
 *
 *   npm run bench -- [--skip-run] [--quick] [--only discovery,shares,memory,inspect,run,pr,failing]
 *                    [--duration S] [--connections N] [--sizes 1000,10000,100000]
 *
 * --quick: 3 s runs, two alternations (one for (g)); --skip-run: leave out (d), (e) and (g).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { freePort, providerEntry } from '../reference/pair.ts';
import { prefillReceivedShares } from '../reference/hardening/prefill.ts';
import { startPlainPeer } from '../reference/hardening/world.ts';
import { JsonCollection } from '../reference/stores/json-collection.ts';
import type { ReceivedShareRecord } from '../reference/stores/records.ts';
import { benchFailingTarget } from './failing-target.ts';
import { benchInspect } from './inspector.ts';
import { load, loadAverage, median, memoryOf, runNode, shareBody, spawnNode, startServe, table, type LoadFigures } from './lib.ts';

const { values } = parseArgs({
  options: {
    'skip-run': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '10' },
    sizes: { type: 'string', default: '1000,10000,100000' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench/results/latest.json') },
  },
});

const DURATION = Number(values.duration ?? (values.quick ? 3 : 8));
const ROUNDS = values.quick ? 2 : 3;
const CONNECTIONS = Number(values.connections);
const SIZES = values.sizes!.split(',').map(Number);
const only = new Set((values.only ?? 'discovery,shares,memory,inspect,run,pr,failing').split(','));
if (values['skip-run']) for (const name of ['run', 'pr', 'failing']) only.delete(name);

const HOST = '127.0.0.2';
const PEER_HOST = '127.0.0.3';

interface Verdict {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}

const verdicts: Verdict[] = [];
const results: Record<string, unknown> = {};

async function benchDiscovery(): Promise<void> {
  console.log(`\n(a) discovery GET vs bare fastify: ${ROUNDS} alternations of ${DURATION} s, ${CONNECTIONS} connections`);
  const work = await mkdtemp(join(tmpdir(), 'ocm-bench-disc-'));
  const port = await freePort(HOST);
  const ref = await startServe(['--host', HOST, '--port', String(port), '--data-dir', join(work, 'data'), '--log-level', 'error']);
  let bare: Awaited<ReturnType<typeof spawnNode>> | undefined;
  try {
    const response = await fetch(`${ref.url}/.well-known/ocm`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? 'application/json; charset=utf-8';
    await writeFile(join(work, 'discovery.json'), bytes);
    const barePort = await freePort(HOST);
    bare = await spawnNode(
      ['--import', 'tsx', join(PROJECT_ROOT, 'bench/bare-server.ts'), HOST, String(barePort), join(work, 'discovery.json'), contentType],
      /listening on (http:\/\/\S+)/,
    );
    const bareUrl = bare.match[1]!;
    const check = Buffer.from(await (await fetch(`${bareUrl}/.well-known/ocm`)).arrayBuffer());
    if (!check.equals(bytes)) throw new Error('the bare server does not serve the same bytes');
    // Warm-up (JIT, connection pools) for both.
    await load({ url: `${ref.url}/.well-known/ocm`, duration: 1, connections: CONNECTIONS });
    await load({ url: `${bareUrl}/.well-known/ocm`, duration: 1, connections: CONNECTIONS });
    const refRuns: LoadFigures[] = [];
    const bareRuns: LoadFigures[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      refRuns.push(await load({ url: `${ref.url}/.well-known/ocm`, duration: DURATION, connections: CONNECTIONS }));
      bareRuns.push(await load({ url: `${bareUrl}/.well-known/ocm`, duration: DURATION, connections: CONNECTIONS }));
      console.log(`  round ${i + 1}: reference ${refRuns[i]!.rps} req/s, bare ${bareRuns[i]!.rps} req/s`);
    }
    const refRps = median(refRuns.map((r) => r.rps));
    const bareRps = median(bareRuns.map((r) => r.rps));
    const ratio = refRps / bareRps;
    const bad = [...refRuns, ...bareRuns].reduce((n, r) => n + r.non2xx + r.errors, 0);
    console.log(
      table(
        ['server', 'req/s (median)', 'p50 ms', 'p99 ms', 'non-2xx+errors'],
        [
          [
            'reference /.well-known/ocm',
            refRps,
            median(refRuns.map((r) => r.p50)),
            median(refRuns.map((r) => r.p99)),
            refRuns.reduce((n, r) => n + r.non2xx + r.errors, 0),
          ],
          [
            'bare fastify, same bytes',
            bareRps,
            median(bareRuns.map((r) => r.p50)),
            median(bareRuns.map((r) => r.p99)),
            bareRuns.reduce((n, r) => n + r.non2xx + r.errors, 0),
          ],
        ],
      ),
    );
    console.log(`  ratio reference/bare: ${ratio.toFixed(2)} (target ≥ 0.8); body ${bytes.length} bytes`);
    results.discovery = {
      bodyBytes: bytes.length,
      reference: refRuns,
      bare: bareRuns,
      referenceRps: refRps,
      bareRps,
      ratio,
      failures: bad,
    };
    verdicts.push({
      figure: '(a) discovery throughput, reference / bare fastify',
      value: ratio.toFixed(2),
      target: '≥ 0.80',
      met: ratio >= 0.8 && bad === 0,
    });
  } finally {
    await bare?.stop();
    await ref.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function benchShares(): Promise<void> {
  console.log(
    `\n(b) POST /ocm/shares with the store pre-filled; ${ROUNDS} alternations of ${DURATION} s per size, ${CONNECTIONS} connections; (c) memory of serve`,
  );
  const peerPort = await freePort(PEER_HOST);
  const peerDomain = `${PEER_HOST}:${peerPort}`;
  const peer = await startPlainPeer(PEER_HOST, peerPort);
  const rows: Array<Record<string, unknown>> = [];
  interface SizedServer {
    size: number;
    work: string;
    prefillMs: number;
    server: Awaited<ReturnType<typeof startServe>>;
    idle: { rssMB: number; peakMB: number };
    warm: { rssMB: number; peakMB: number };
    warmTotal: number;
    runs: LoadFigures[];
    request: Record<string, unknown>;
  }
  const servers: SizedServer[] = [];
  let counter = 0;
  try {
    // One server per size, all started first; the load then alternates between them, so drift in the machine's load hits every size alike.
    for (const size of SIZES) {
      const work = await mkdtemp(join(tmpdir(), `ocm-bench-shares-${size}-`));
      const dataDir = join(work, 'data');
      const port = await freePort(HOST);
      const domain = `${HOST}:${port}`;
      const providersFile = join(work, 'ocmproviders.json');
      await writeFile(providersFile, JSON.stringify([providerEntry('peer', `http://${peerDomain}`)], null, 2));
      const t0 = Date.now();
      await prefillReceivedShares(dataDir, size, { domain, senderDomain: peerDomain, snapshot: true });
      const prefillMs = Date.now() - t0;
      const server = await startServe([
        '--host',
        HOST,
        '--port',
        String(port),
        '--data-dir',
        dataDir,
        '--providers',
        providersFile,
        '--log-level',
        'error',
      ]);
      // Listed at once, so that the `finally` stops this server whatever fails during its warm-up.
      servers.push({
        size,
        work,
        prefillMs,
        server,
        idle: { rssMB: 0, peakMB: 0 },
        warm: { rssMB: 0, peakMB: 0 },
        warmTotal: 0,
        runs: [],
        request: {},
      });
      const entry = servers.at(-1)!;
      entry.idle = await memoryOf(server.pid);
      // One share first: the peer's discovery gets cached, as in steady operation.
      const first = await fetch(`${server.url}/ocm/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: shareBody(`warm-${size}`, domain, peerDomain),
      });
      if (first.status !== 201) throw new Error(`warm-up share answered ${first.status}: ${await first.text()}`);
      entry.request = {
        method: 'POST',
        path: '/ocm/shares',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: { body?: string | Buffer }) => ({ ...req, body: shareBody(`bench-${size}-${counter++}`, domain, peerDomain) }),
      };
      entry.warmTotal = (await load({ url: server.url, duration: 1, connections: CONNECTIONS, requests: [entry.request] })).total;
      // Memory with (about) `size` shares: after start and a one-second warm-up; the peak covers both.
      entry.warm = await memoryOf(server.pid);
      console.log(
        `  ${String(size).padStart(6)} stored: prefilled in ${prefillMs} ms, serve started in ${server.startMs} ms, RSS ${entry.idle.rssMB} MB after start, ${entry.warm.rssMB} MB after warm-up (peak ${entry.warm.peakMB} MB)`,
      );
    }
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      for (const entry of servers) {
        const figures = await load({ url: entry.server.url, duration: DURATION, connections: CONNECTIONS, requests: [entry.request] });
        entry.runs.push(figures);
        line.push(`${entry.size}: ${figures.rps} req/s`);
      }
      console.log(`  round ${round + 1}: ${line.join(', ')}`);
    }
    for (const entry of servers) {
      const busy = await memoryOf(entry.server.pid);
      const { runs } = entry;
      const rps = median(runs.map((r) => r.rps));
      rows.push({
        size: entry.size,
        prefillMs: entry.prefillMs,
        startMs: entry.server.startMs,
        rps,
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        max: Math.max(...runs.map((r) => r.max)),
        non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
        errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
        total: runs.reduce((n, r) => n + r.total, 0),
        runs,
        costMs: 1000 / rps,
        rssIdleMB: entry.idle.rssMB,
        rssWarmPeakMB: entry.warm.peakMB,
        rssPeakMB: busy.peakMB,
        storedAfter: entry.size + 1 + entry.warmTotal + runs.reduce((n, r) => n + r.total, 0),
      });
    }
  } finally {
    for (const entry of servers) {
      await entry.server.stop();
      await rm(entry.work, { recursive: true, force: true });
    }
    await peer.close();
  }
  const at = (size: number) =>
    rows.find((r) => r.size === size) as
      | (LoadFigures & {
          size: number;
          costMs: number;
          rssIdleMB: number;
          rssWarmPeakMB: number;
          rssPeakMB: number;
          storedAfter: number;
          startMs: number;
        })
      | undefined;
  console.log(
    table(
      [
        'stored shares',
        'req/s',
        'cost ms/req',
        'p50 ms',
        'p99 ms',
        'max ms',
        'non-2xx',
        'start ms',
        'RSS idle MB',
        'RSS peak MB',
        'stored at end',
        'RSS peak at end MB',
      ],
      rows.map((r) => [
        String(r.size),
        r.rps as number,
        (r.costMs as number).toFixed(3),
        r.p50 as number,
        r.p99 as number,
        r.max as number,
        (r.non2xx as number) + (r.errors as number),
        r.startMs as number,
        r.rssIdleMB as number,
        r.rssWarmPeakMB as number,
        r.storedAfter as number,
        r.rssPeakMB as number,
      ]),
    ),
  );
  const small = at(Math.min(...SIZES));
  const large = at(Math.max(...SIZES));
  let compaction: { records: number; ms: number } | undefined;
  if (SIZES.includes(100_000)) {
    // One snapshot of a 100,000-share collection, timed in this process: the same code the server runs in the background once the journal holds as many lines as there are records.
    const work = await mkdtemp(join(tmpdir(), 'ocm-bench-compact-'));
    try {
      await prefillReceivedShares(work, 100_000, { domain: 'bench.example', senderDomain: peerDomain, snapshot: true });
      const collection = await JsonCollection.open<ReceivedShareRecord>(work, 'received-shares', {
        compactAfter: Number.POSITIVE_INFINITY,
      });
      const t0 = Date.now();
      await collection.compact();
      compaction = { records: collection.size, ms: Date.now() - t0 };
      await collection.close();
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    console.log(
      `  one snapshot of 100,000 shares: ${compaction.ms} ms, written in the background in chunks; at this size one is due every 100,000 writes: ${(compaction.ms / 100_000).toFixed(3)} ms amortised per write`,
    );
  }
  results.shares = { rows, compaction };
  if (large && large.size === 100_000) {
    verdicts.push({
      figure: '(b) POST /ocm/shares at 100,000 stored',
      value: `${large.rps} req/s`,
      target: '≥ 1,000 req/s',
      met: large.rps >= 1000 && large.non2xx + large.errors === 0,
    });
  }
  if (small && large && small !== large) {
    const ratio = large.costMs / small.costMs;
    verdicts.push({
      figure: `(b) cost per request, ${large.size} / ${small.size} stored`,
      value: `${ratio.toFixed(2)}×`,
      target: '≤ 2×',
      met: ratio <= 2,
    });
  }
  if (only.has('memory') && large && large.size === 100_000) {
    results.memory = {
      storedShares: 100_000,
      rssAfterStartMB: large.rssIdleMB,
      rssPeakThroughWarmUpMB: large.rssWarmPeakMB,
      storedAtEnd: large.storedAfter,
      rssPeakAtEndMB: large.rssPeakMB,
    };
    verdicts.push({
      figure: '(c) resident size, 100,000 stored shares (peak through start and warm-up load)',
      value: `${large.rssWarmPeakMB} MB (after start ${large.rssIdleMB} MB; ${large.rssPeakMB} MB after the load grew the store to ${large.storedAfter})`,
      target: '< 300 MB',
      met: large.rssWarmPeakMB < 300,
    });
  }
}

interface RunFigure {
  key: 'run' | 'pr';
  label: string;
  args: string[];
  figure: string;
  targetMs: number;
}

const RUN_FIGURES: RunFigure[] = [
  { key: 'run', label: 'ocm-conformance run (default)', args: [], figure: '(d) full default conformance run, wall time', targetMs: 60_000 },
  {
    key: 'pr',
    label: 'ocm-conformance run --preset pr',
    args: ['--preset', 'pr'],
    figure: '(e) pull-request run (--preset pr), wall time',
    targetMs: 10_000,
  },
];

async function benchRun(spec: RunFigure): Promise<void> {
  console.log(`\n${spec.figure.slice(0, 3)} node bin/ocm-conformance.js run ${spec.args.join(' ')}`);
  const reportDir = await mkdtemp(join(tmpdir(), 'ocm-bench-run-'));
  try {
    const { code, output, wallMs } = await runNode(
      [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'run', ...spec.args, '--report-dir', reportDir],
      600_000,
    );
    const exitText = `exit ${code}${code === 0 ? '' : `: ${output.trim().split('\n').slice(-3).join(' | ')}`}`;
    const compliance = JSON.parse(await readFile(join(reportDir, 'compliance-results.json'), 'utf8')) as {
      run?: { durationMs?: number };
      summary?: { byOutcome?: Record<string, number> };
      verdict?: { pass?: boolean; mustFailures?: string[] };
      requirements?: Array<{ id: string; outcome: string; checks?: unknown[] }>;
    };
    const requirements = compliance.requirements ?? [];
    const checks = requirements.reduce((n, r) => n + (r.checks?.length ?? 0), 0);
    let tests: number | undefined;
    try {
      const pw = JSON.parse(await readFile(join(reportDir, 'test-results.json'), 'utf8')) as {
        stats?: { expected?: number; unexpected?: number; flaky?: number; skipped?: number };
      };
      tests = (pw.stats?.expected ?? 0) + (pw.stats?.unexpected ?? 0) + (pw.stats?.flaky ?? 0);
    } catch {
      tests = undefined;
    }
    const perSecond = checks / (wallMs / 1000);
    console.log(
      table(
        ['run', 'wall s', 'requirements', 'checks', 'tests', 'checks/s', 'verdict'],
        [
          [
            spec.label,
            (wallMs / 1000).toFixed(1),
            requirements.length,
            checks,
            tests ?? '?',
            perSecond.toFixed(1),
            compliance.verdict?.pass ? 'pass' : 'FAIL',
          ],
        ],
      ),
    );
    const failedIds = requirements.filter((r) => r.outcome === 'failed').map((r) => r.id);
    console.log(
      `  outcomes: ${JSON.stringify(compliance.summary?.byOutcome ?? {})}${failedIds.length ? `; failed: ${failedIds.join(', ')}` : ''}; ${exitText}`,
    );
    results[spec.key] = {
      exit: code,
      wallMs,
      reportedDurationMs: compliance.run?.durationMs,
      requirements: requirements.length,
      checks,
      tests,
      checksPerSecond: perSecond,
      outcomes: compliance.summary?.byOutcome,
      failed: failedIds,
      pass: compliance.verdict?.pass,
    };
    verdicts.push({
      figure: spec.figure,
      value: `${(wallMs / 1000).toFixed(1)} s (${checks} checks, ${perSecond.toFixed(1)} checks/s${compliance.verdict?.pass ? '' : `; run verdict FAIL: ${failedIds.join(', ')}`})`,
      target: `< ${spec.targetMs / 1000} s`,
      met: wallMs < spec.targetMs,
    });
    if (code === 0) await rm(reportDir, { recursive: true, force: true });
    else console.log(`  the run's reports are kept for inspection: ${reportDir}`);
  } catch (error) {
    console.log(`  the run's reports are kept for inspection: ${reportDir}`);
    throw error;
  }
}

const startedAt = new Date();
const loadBefore = await loadAverage();
console.log(`bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadBefore.join(' ')}`);
if (loadBefore[0]! > cpus().length)
  console.log(
    `  note: load average ${loadBefore[0]} exceeds ${cpus().length} CPUs: other work shares this machine; ratios are measured side by side for this reason`,
  );
if (only.has('discovery')) await benchDiscovery();
if (only.has('shares') || only.has('memory')) await benchShares();
if (only.has('inspect')) {
  const inspect = await benchInspect({ host: HOST, peerHost: PEER_HOST, duration: DURATION, rounds: ROUNDS, connections: CONNECTIONS });
  verdicts.push(...inspect.verdicts);
  results.inspect = inspect.results;
}
for (const spec of RUN_FIGURES) if (only.has(spec.key)) await benchRun(spec);
if (only.has('failing')) {
  const failing = await benchFailingTarget({ rounds: values.quick ? 1 : 2 });
  verdicts.push(...failing.verdicts);
  results.failing = failing.results;
}
const loadAfter = await loadAverage();

console.log('\nsummary');
console.log(
  table(
    ['figure', 'measured', 'target', 'met'],
    verdicts.map((v) => [v.figure, v.value, v.target, v.met === null ? '-' : v.met ? 'yes' : 'NO']),
  ),
);
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(
  values.out!,
  `${JSON.stringify({ at: startedAt.toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadBefore, loadAfter }, settings: { duration: DURATION, rounds: ROUNDS, connections: CONNECTIONS, sizes: SIZES }, verdicts, ...results }, null, 2)}\n`,
);
console.log(`written: ${values.out}`);
process.exit(verdicts.every((v) => v.met !== false) ? 0 : 1);
