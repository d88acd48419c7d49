/**
 * Target liveness (liveness.ts, decisions/0015): the probe against a local
 * server that answers, then is stopped, then hangs; the run's record
 * (target-down.json, liveness.jsonl); the runner's stop; and how the results
 * file a stop (ROB-10 failed, the checks not run, none passed).
 */
import { test, expect } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isRefused,
  livenessLines,
  markTargetBack,
  markTargetDown,
  networkFailure,
  outages,
  probeTarget,
  readLivenessEvents,
  readTargetDown,
  stopRunWhenTargetStaysDown,
  TARGET_DOWN_FILE,
} from './liveness.ts';
import { buildComplianceResults, type JudgedRequirement, type PlaywrightReport } from '../../results/model.ts';

const QUICK = { tries: 3, timeoutMs: 300, gapMs: 50 };

async function listen(server: Server | TcpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function close(server: Server | TcpServer): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

let dir: string;
test.beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-liveness-'));
});
test.afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test.describe('probeTarget', () => {
  test('any HTTP answer, a 500 included, is "answering"; once the server is stopped the probe says so, within its bounds', async () => {
    let status = 200;
    const server = createServer((_request, response) => {
      response.statusCode = status;
      response.end('{}');
    });
    const origin = await listen(server);
    expect(await probeTarget(`${origin}/.well-known/ocm`, QUICK)).toMatchObject({ answering: true, status: 200 });
    status = 500;
    expect(await probeTarget(`${origin}/.well-known/ocm`, QUICK)).toMatchObject({ answering: true, status: 500 });
    server.closeAllConnections();
    await close(server);
    const started = Date.now();
    const result = await probeTarget(`${origin}/.well-known/ocm`, QUICK);
    expect(result.answering).toBe(false);
    expect(!result.answering && result.reason).toContain('ECONNREFUSED');
    expect(!result.answering && result.reason).toContain('3 tries');
    expect(Date.now() - started).toBeLessThan(QUICK.tries * QUICK.timeoutMs + 2 * QUICK.gapMs + 500);
  });

  test('a server that accepts connections but never answers is "not answering", after tries × timeout at most', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    const origin = await listen(silent);
    const started = Date.now();
    const result = await probeTarget(`${origin}/.well-known/ocm`, QUICK);
    const took = Date.now() - started;
    for (const socket of sockets) socket.destroy();
    await close(silent);
    expect(result.answering).toBe(false);
    expect(!result.answering && result.reason).toContain(`no answer within ${QUICK.timeoutMs} ms`);
    expect(took).toBeGreaterThanOrEqual(QUICK.tries * QUICK.timeoutMs);
    expect(took).toBeLessThan(QUICK.tries * QUICK.timeoutMs + 2 * QUICK.gapMs + 1000);
  });
});

test.describe('networkFailure', () => {
  test('names refused, cut and timed-out requests, and nothing else', async () => {
    const server = createServer((request) => request.socket.destroy());
    const origin = await listen(server);
    const cut = await fetch(origin).catch((error: unknown) => error);
    await close(server);
    const refused = await fetch(origin).catch((error: unknown) => error);
    expect(networkFailure(cut)).toMatch(/^fetch failed/);
    expect(isRefused(cut)).toBe(false);
    expect(networkFailure(refused)).toBe('fetch failed (ECONNREFUSED)');
    expect(isRefused(refused)).toBe(true);
    expect(networkFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBeDefined();
    expect(networkFailure(new Error('POST /shares: no answer within 5000 ms — the target hangs on this input'))).toBeDefined();
    expect(networkFailure(new Error('POST /shares with an empty body: the connection closed without an answer'))).toBeDefined();
    // An assertion about an answer, a bug of ours, a bad URL: not the network.
    expect(networkFailure(new Error('expect(received).toBe(expected)\n\nExpected: 201\nReceived: 400'))).toBeUndefined();
    expect(networkFailure(new TypeError('Invalid URL'))).toBeUndefined();
    expect(networkFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
  });
});

test.describe("the run's liveness record", () => {
  const stop = (during: string, at: string) => ({ during, since: at, at, firstFailedProbeAt: at, reason: 'fetch failed (ECONNREFUSED)' });

  test('one marker: the first worker to record the stop wins; the return retires it and closes the outage', () => {
    expect(markTargetDown(dir, stop('SHR-1 a share', '2026-01-01T00:00:00.000Z'))).toBe(true);
    expect(markTargetDown(dir, stop('SHR-2 another share', '2026-01-01T00:00:01.000Z'))).toBe(false);
    expect(readTargetDown(dir)).toMatchObject({ during: 'SHR-1 a share' });
    expect(outages(dir, Date.parse('2026-01-01T00:00:05.000Z'))).toEqual([
      { since: Date.parse('2026-01-01T00:00:00.000Z'), until: Date.parse('2026-01-01T00:00:05.000Z'), during: 'SHR-1 a share' },
    ]);
    expect(markTargetBack(dir, '2026-01-01T00:00:03.000Z')).toBe(true);
    expect(markTargetBack(dir, '2026-01-01T00:00:04.000Z'), 'retired once').toBe(false);
    expect(existsSync(join(dir, TARGET_DOWN_FILE))).toBe(false);
    expect(outages(dir)[0]).toMatchObject({ until: Date.parse('2026-01-01T00:00:03.000Z') });
    expect(readLivenessEvents(dir).map((e) => e.event)).toEqual(['stopped', 'back']);
    const { lines, stopped } = livenessLines(dir, Date.parse('2026-01-01T00:00:09.000Z'));
    expect(stopped).toBe(true);
    expect(lines[0]).toContain('the target stopped answering during SHR-1 a share (at 2026-01-01T00:00:00.000Z');
    expect(lines[0], 'it came back: the run went on').not.toContain('the run ended');
    expect(lines[1]).toContain('the target answers again (at 2026-01-01T00:00:03.000Z');
  });

  test('the runner stops the run once the target has not answered for 10 s since the first failed probe', async () => {
    const server = createServer((_request, response) => response.end('{}'));
    const origin = await listen(server);
    await close(server);
    const longAgo = new Date(Date.now() - 10_500).toISOString();
    markTargetDown(dir, stop('DISC-1 discovery', longAgo));
    let stopped = 0;
    const unwatch = stopRunWhenTargetStaysDown(dir, origin, () => stopped++);
    await expect.poll(() => stopped, { timeout: 5000 }).toBe(1);
    unwatch();
    expect(readLivenessEvents(dir).map((e) => e.event)).toEqual(['stopped', 'run-stopped']);
    const { lines, downReason } = livenessLines(dir, Date.parse(longAgo) + 12_000);
    expect(downReason).toBe(`the target is down (it stopped answering at ${longAgo})`);
    expect(lines[0]).toContain('the run ended 12.0 s after the first failed probe');
    expect(lines[1]).toMatch(/^the run was stopped at .*: the target did not answer again; the checks left are not run$/);
  });

  test('a target that answers again by then is not stopped: the marker is retired and the run goes on', async () => {
    const server = createServer((_request, response) => response.end('{}'));
    const origin = await listen(server);
    markTargetDown(dir, stop('DISC-1 discovery', new Date(Date.now() - 10_500).toISOString()));
    let stopped = 0;
    const unwatch = stopRunWhenTargetStaysDown(dir, origin, () => stopped++);
    await expect.poll(() => readTargetDown(dir), { timeout: 5000 }).toBeUndefined();
    unwatch();
    await close(server);
    expect(stopped).toBe(0);
    expect(readLivenessEvents(dir).map((e) => e.event)).toEqual(['stopped', 'back']);
    expect(
      readdirSync(dir).some((f) => /^target-down\.\d+\.\d+\.json$/.test(f)),
      'the retired marker is kept',
    ).toBe(true);
  });
});

test.describe('the results of a run whose target stopped answering', () => {
  const requirement = (id: string): JudgedRequirement => ({
    id,
    level: 'MUST',
    strength: 'must',
    area: id.startsWith('ROB') ? 'robustness' : 'shares',
    section: 'spec.yaml § paths',
    summary: `${id} summary for the test`,
    informational: false,
    needsDriver: false,
  });
  const catalogue = ['ROB-10', 'SHR-1', 'SHR-2', 'SHR-3', 'SHR-4'].map(requirement);
  const spec = (id: string, title: string, results: Array<Record<string, unknown>>) => ({
    id,
    title,
    file: 'suites/shares/x.spec.ts',
    tests: [{ projectName: 'conformance', annotations: [{ type: 'requirement', description: title.split(' ')[0] }], results }],
  });
  const sentence = 'the target stopped answering during SHR-1 a share (at 2026-01-01T00:00:00.000Z)';
  const report = {
    stats: { startTime: '2026-01-01T00:00:00.000Z', duration: 1000 },
    suites: [
      {
        file: 'suites/shares/x.spec.ts',
        specs: [
          // The check during which the target stopped: it failed on a cut connection.
          spec('a', 'SHR-1 a share', [
            {
              status: 'failed',
              duration: 10,
              errors: [{ message: 'TypeError: fetch failed' }],
              annotations: [{ type: 'target-stopped', description: sentence }],
            },
          ]),
          // A check in another worker that passed from what it read before the crash.
          spec('b', 'SHR-2 from stored data', [
            {
              status: 'skipped',
              duration: 5,
              annotations: [{ type: 'target-down', description: 'the target is down (it stopped answering at T)' }],
            },
          ]),
          spec('c', 'SHR-3 interrupted', [{ status: 'interrupted', duration: 5 }]),
          spec('d', 'SHR-4 never started', []),
        ],
      },
    ],
  } as unknown as PlaywrightReport;
  const build = (stoppedBecause?: string) =>
    buildComplianceResults(report, {
      catalogue: { requirements: catalogue },
      selected: new Map(catalogue.map((r) => [r.id, r])),
      profile: 'main',
      target: { name: 't', url: 'http://127.0.0.1:1' },
      peers: [],
      expectedFailures: [],
      toolVersion: '0',
      gateReason: () => undefined,
      ...(stoppedBecause ? { stoppedBecause } : {}),
    });

  test('the stop is a failure of ROB-10; the check it happened in and the later ones are not run, never failed or passed', () => {
    const results = build('the target is down (it stopped answering at T)');
    const outcome = (id: string) => results.requirements.find((r) => r.id === id)!;
    expect(outcome('ROB-10')).toMatchObject({ outcome: 'failed', reason: sentence });
    expect(outcome('SHR-1')).toMatchObject({ outcome: 'not-run', reason: 'the target stopped answering during this check' });
    expect(outcome('SHR-1').checks[0]!.error, 'the cut connection is not the finding of SHR-1').toBeUndefined();
    expect(outcome('SHR-2')).toMatchObject({ outcome: 'not-run', reason: 'the target is down (it stopped answering at T)' });
    expect(outcome('SHR-3')).toMatchObject({ outcome: 'not-run', reason: 'the target is down (it stopped answering at T)' });
    expect(outcome('SHR-4')).toMatchObject({ outcome: 'not-run', reason: 'the target is down (it stopped answering at T)' });
    expect(results.verdict).toMatchObject({ pass: false, mustFailures: ['ROB-10'] });
    expect(results.summary.checks.passed).toBe(0);
  });

  test('without a stop of the run, a check that never started stays out of the results', () => {
    const results = build();
    expect(results.requirements.find((r) => r.id === 'SHR-4')!.checks).toEqual([]);
  });
});
