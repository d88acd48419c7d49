/**
 * Figure (f) of `npm run bench`: what `serve --inspect` costs.
 *
 *  - throughput: POST /ocm/shares against two `serve` processes started
 *    alike, one with `--inspect`, the load alternated between them round by
 *    round (medians); the ratio inspect / plain, target ≥ 0.85 (at most 15 %
 *    slower). The inspect server's resident size after that load is printed
 *    with the number of exchanges it captured.
 *  - memory: one Inspector (1,000 kept) fed 100,000 share exchanges in
 *    process; its heap after 100,000 against after 10,000 (both after a full
 *    GC); target: within 10 % (the ring is bounded, so memory stays flat).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Inspector } from '../inspector/inspector.ts';
import { getRegistry } from '../openapi/registry.ts';
import { startPlainPeer } from '../reference/hardening/world.ts';
import { freePort, providerEntry } from '../reference/pair.ts';
import { load, median, memoryOf, shareBody, startServe, type LoadFigures } from './lib.ts';

interface Options {
  host: string;
  peerHost: string;
  duration: number;
  rounds: number;
  connections: number;
}

interface Verdict {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}

export async function benchInspect(options: Options): Promise<{ verdicts: Verdict[]; results: Record<string, unknown> }> {
  console.log(
    `\n(f) serve --inspect: POST /ocm/shares with and without, ${options.rounds} alternations of ${options.duration} s; heap after 100,000 exchanges`,
  );
  const peerPort = await freePort(options.peerHost);
  const peerDomain = `${options.peerHost}:${peerPort}`;
  const peer = await startPlainPeer(options.peerHost, peerPort);
  const work = await mkdtemp(join(tmpdir(), 'ocm-bench-inspect-'));
  const providersFile = join(work, 'ocmproviders.json');
  await writeFile(providersFile, JSON.stringify([providerEntry('peer', `http://${peerDomain}`)], null, 2));
  const servers: Array<{ name: 'plain' | 'inspect'; server: Awaited<ReturnType<typeof startServe>>; domain: string; runs: LoadFigures[] }> =
    [];
  let counter = 0;
  try {
    for (const name of ['plain', 'inspect'] as const) {
      const port = await freePort(options.host);
      const flags = [
        '--host',
        options.host,
        '--port',
        String(port),
        '--data-dir',
        join(work, name),
        '--providers',
        providersFile,
        '--log-level',
        'error',
      ];
      const server = await startServe(name === 'inspect' ? [...flags, '--inspect'] : flags);
      servers.push({ name, server, domain: `${options.host}:${port}`, runs: [] });
      // One share first: the peer's discovery gets cached, as in steady operation.
      const first = await fetch(`${server.url}/ocm/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: shareBody(`warm-${name}`, `${options.host}:${port}`, peerDomain),
      });
      if (first.status !== 201) throw new Error(`warm-up share answered ${first.status}: ${await first.text()}`);
    }
    const request = (entry: (typeof servers)[number]) => ({
      method: 'POST' as const,
      path: '/ocm/shares',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req: { body?: string | Buffer }) => ({
        ...req,
        body: shareBody(`bench-${entry.name}-${counter++}`, entry.domain, peerDomain),
      }),
    });
    for (const entry of servers)
      await load({ url: entry.server.url, duration: 1, connections: options.connections, requests: [request(entry)] });
    for (let round = 0; round < options.rounds; round++) {
      const line: string[] = [];
      for (const entry of round % 2 === 0 ? servers : [...servers].reverse()) {
        const figures = await load({
          url: entry.server.url,
          duration: options.duration,
          connections: options.connections,
          requests: [request(entry)],
        });
        entry.runs.push(figures);
        line.push(`${entry.name}: ${figures.rps} req/s`);
      }
      console.log(`  round ${round + 1}: ${line.join(', ')}`);
    }
    const [plain, inspect] = servers as [(typeof servers)[number], (typeof servers)[number]];
    const plainRps = median(plain.runs.map((r) => r.rps));
    const inspectRps = median(inspect.runs.map((r) => r.rps));
    const ratio = inspectRps / plainRps;
    const captured = ((await (await fetch(`${inspect.server.url}/_inspector/exchanges.json`)).json()) as { total: number }).total;
    const rss = { plain: await memoryOf(plain.server.pid), inspect: await memoryOf(inspect.server.pid) };
    console.log(
      `  plain ${plainRps} req/s, --inspect ${inspectRps} req/s: ratio ${ratio.toFixed(2)}; after ${captured} captured exchanges RSS ${rss.inspect.rssMB} MB with --inspect, ${rss.plain.rssMB} MB without`,
    );
    const heap = inspectorHeap();
    console.log(
      `  Inspector in process: heap ${heap.after10k} MB after 10,000 exchanges, ${heap.after100k} MB after 100,000 (${heap.kept} kept); ${heap.perExchangeUs} µs per exchange recorded, ${heap.perReadUs} µs per record built on first read`,
    );
    return {
      verdicts: [
        {
          figure: '(f) POST /ocm/shares, --inspect / plain',
          value: ratio.toFixed(2),
          target: '≥ 0.85 (≤ 15 % slower)',
          met: ratio >= 0.85,
        },
        {
          figure: '(f) inspector heap, 100,000 / 10,000 exchanges',
          value: `${(heap.after100k / heap.after10k).toFixed(2)} (${heap.after10k} → ${heap.after100k} MB)`,
          target: '≤ 1.10 (flat)',
          met: heap.after100k / heap.after10k <= 1.1,
        },
      ],
      results: { plainRps, inspectRps, ratio, captured, rss, runs: Object.fromEntries(servers.map((s) => [s.name, s.runs])), heap },
    };
  } finally {
    for (const entry of servers) await entry.server.stop();
    await peer.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Heap used by one Inspector (1,000 kept) after 10,000 and after 100,000 recorded share exchanges, after a full GC. */
function inspectorHeap(): { after10k: number; after100k: number; kept: number; perExchangeUs: number; perReadUs: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const inspector = new Inspector({ registry: getRegistry() });
  const heapMB = () => {
    gc();
    gc();
    return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
  };
  const feed = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      inspector.capture({
        direction: 'inbound',
        peer: '127.0.0.3:9999',
        method: 'POST',
        url: 'http://127.0.0.2:8080/ocm/shares',
        startedAt: Date.now(),
        durationMs: 1,
        requestHeaders: { 'content-type': 'application/json', 'signature-input': 'ocm=("@method");keyid="k#1"', signature: 'ocm=:AAAA:' },
        requestBody: shareBody(`heap-${i}`, '127.0.0.2:8080', '127.0.0.3:9999'),
        status: 201,
        responseHeaders: { 'content-type': 'application/json; charset=utf-8' },
        responseBody: '{"recipientDisplayName":"Albert Einstein"}',
        operation: { doc: 'ocm', id: 'createShare' },
        signature: { status: 'signed', signer: '127.0.0.3:9999', keyid: '127.0.0.3:9999#key-1', scheme: 'rfc9421' },
      });
    }
  };
  // Capture is what the request path pays; records are built when first read, so the heap is taken
  // after reading every kept exchange (the worst case: all 1,000 built).
  feed(0, 10_000);
  inspector.list();
  const after10k = heapMB();
  const t0 = performance.now();
  feed(10_000, 100_000);
  const perExchangeUs = Math.round(((performance.now() - t0) * 1000) / 90_000);
  const t1 = performance.now();
  const kept = inspector.list().length;
  const perReadUs = Math.round(((performance.now() - t1) * 1000) / kept);
  const after100k = heapMB();
  return { after10k, after100k, kept, perExchangeUs, perReadUs };
}
