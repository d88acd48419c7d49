/**
 * Helpers of the benchmarks: child processes, autocannon runs reduced to
 * the figures we report, resident memory from /proc, and a text table.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { EINSTEIN } from '../reference/testing/harness.ts';

export interface LoadFigures {
  /** Mean requests per second over the run. */
  rps: number;
  total: number;
  /** Latency in milliseconds. */
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
}

export async function load(options: autocannon.Options): Promise<LoadFigures> {
  const result = await autocannon({ connections: 10, pipelining: 1, ...options });
  return {
    rps: Math.round(result.requests.average),
    total: result.requests.total,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
  };
}

export interface Child {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a node process and waits until its stdout matches `ready`. */
export async function spawnNode(args: string[], ready: RegExp, timeoutMs = 60_000): Promise<Child & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited before it was ready:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    match,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(forced);
      }
    },
  };
}

/** `ocm-conformance serve` with these flags; resolves once it prints its URL. */
export async function startServe(flags: string[]): Promise<Child & { url: string; startMs: number }> {
  const t0 = Date.now();
  const started = await spawnNode(
    [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'serve', ...flags],
    /listening on (http:\/\/\S+)/,
    120_000,
  );
  return { ...started, url: started.match[1]!, startMs: Date.now() - t0 };
}

/** Resident set size now and its peak (VmHWM), in MB. */
export async function memoryOf(pid: number): Promise<{ rssMB: number; peakMB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: Math.round(kb('VmRSS') / 1024), peakMB: Math.round(kb('VmHWM') / 1024) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export async function loadAverage(): Promise<number[]> {
  const text = await readFile('/proc/loadavg', 'utf8');
  return text.split(' ').slice(0, 3).map(Number);
}

/** Runs a node process to its end; resolves with its exit code, output and wall time. */
export async function runNode(
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string; wallMs: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, wallMs: Date.now() - t0 };
}

/** A valid share from `peerDomain` to einstein at `domain`, with its own providerId. */
export function shareBody(providerId: string, domain: string, peerDomain: string): string {
  return JSON.stringify({
    shareWith: `${EINSTEIN.id}@${domain}`,
    name: `bench-${providerId}.txt`,
    providerId,
    owner: `owner@${peerDomain}`,
    sender: `sender@${peerDomain}`,
    ownerDisplayName: 'Bench Owner',
    senderDisplayName: 'Bench Sender',
    shareType: 'user',
    resourceType: 'file',
    protocol: {
      name: 'multi',
      webdav: {
        uri: `http://${peerDomain}/dav/ocm/${providerId}`,
        sharedSecret: `bench-secret-${providerId}-0123456789`,
        permissions: ['read'],
      },
    },
  });
}
