/**
 * `run --peers` for real, against the embedded reference pair: two runs side
 * by side with different peer addresses both pass, and a run whose peer
 * address is taken stops before any check with exit 2 and one line (no
 * target failure, no report).
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { runCli } from './run-child.ts';
import { CA_CERT_FILE, createCertificateAuthority, issueServerCertificate, writeCertificateAuthority } from '../certs/ca.ts';

const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';

test('two runs side by side with different --peers both pass', async () => {
  test.setTimeout(300_000);
  const dirs = [await mkdtemp(join(tmpdir(), 'ocm-peers-a-')), await mkdtemp(join(tmpdir(), 'ocm-peers-b-'))];
  const peerSets = [`${SUBNET}.50:0,${SUBNET}.51:0`, `${SUBNET}.52:0,${SUBNET}.53:0`];
  try {
    const outcomes = await Promise.all(
      dirs.map((dir, i) => runCli(['--only', 'DISC-1,SHR-1', '--peers', peerSets[i]!, '--report-dir', dir], 280_000)),
    );
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
      const results = JSON.parse(await readFile(join(dirs[i]!, 'compliance-results.json'), 'utf8')) as {
        peers: string[];
        summary: { checks: { passed: number; failed: number; notRun: number } };
      };
      // Port 0 resolved before the run: the results name the actual ports.
      expect(results.peers).toHaveLength(2);
      for (const [j, peer] of results.peers.entries())
        expect(peer).toMatch(new RegExp(`^${SUBNET.replaceAll('.', '\\.')}\\.5${i * 2 + j}:[1-9]\\d*$`));
      expect(results.summary.checks.passed).toBeGreaterThan(0);
      expect(results.summary.checks.failed).toBe(0);
      expect(results.summary.checks.notRun).toBe(0);
    }
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});

test('a run whose peer address is taken exits 2 before testing, with one line', async () => {
  test.setTimeout(120_000);
  const holder = createServer();
  await new Promise<void>((done) => holder.listen({ host: `${SUBNET}.54`, port: 0 }, done));
  const taken = `${SUBNET}.54:${(holder.address() as { port: number }).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'ocm-peers-taken-'));
  try {
    const outcome = await runCli(['--only', 'DISC-1', '--peers', `${SUBNET}.55:0,${taken}`, '--report-dir', dir], 100_000);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trim().split('\n')).toEqual([`setup: cannot listen on ${taken}: EADDRINUSE`]);
    expect(existsSync(join(dir, 'compliance-results.json')), 'no check ran, so no results').toBe(false);
  } finally {
    await new Promise<void>((done) => holder.close(() => done()));
    await rm(dir, { recursive: true, force: true });
  }
});

test('a peer that cannot listen inside a worker makes its checks harness errors (ours: the run is inconclusive), never target failures', async () => {
  // The preflight of `run` is bypassed here (Playwright directly, OCM_PEERS set): the address is taken between preflight and worker.
  test.setTimeout(180_000);
  const holder = createServer();
  await new Promise<void>((done) => holder.listen({ host: `${SUBNET}.56`, port: 0 }, done));
  const taken = `${SUBNET}.56:${(holder.address() as { port: number }).port}`;
  const reportDir = await mkdtemp(join(tmpdir(), 'ocm-peers-worker-'));
  const env: NodeJS.ProcessEnv = { ...process.env, OCM_REPORT_DIR: reportDir, OCM_PEERS: JSON.stringify([[`${SUBNET}.57:0`, taken]]) };
  for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS', 'OCM_PEER_TLS']) delete env[name];
  env.OCM_ONLY = 'SHR-1';
  const cli = join(PROJECT_ROOT, 'node_modules/@playwright/test/cli.js');
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [cli, 'test', '--project=conformance', '--workers=1'], {
        cwd: PROJECT_ROOT,
        env,
        stdio: 'ignore',
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), 170_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    // Playwright counts a thrown fixture as a failed test; the results read the `error` annotation and call it ours.
    expect(code, 'the runner saw the fixture throw').toBe(1);
    interface Spec {
      title: string;
      tests: Array<{ annotations: Array<{ type: string; description?: string }>; results: Array<{ status: string }> }>;
    }
    interface Suite {
      specs?: Spec[];
      suites?: Suite[];
    }
    const report = JSON.parse(await readFile(join(reportDir, 'test-results.json'), 'utf8')) as Suite;
    const specs = (function collect(suite: Suite): Spec[] {
      return [...(suite.specs ?? []), ...(suite.suites ?? []).flatMap(collect)];
    })(report);
    expect(specs.length).toBeGreaterThan(0);
    for (const spec of specs) {
      const [run] = spec.tests;
      expect(
        run!.results.map((r) => r.status),
        spec.title,
      ).toEqual(['failed']);
      expect(run!.annotations, spec.title).toContainEqual({
        type: 'error',
        description: `the simulated peers could not start: cannot listen on ${taken}: EADDRINUSE`,
      });
    }
  } finally {
    await new Promise<void>((done) => holder.close(() => done()));
    await rm(reportDir, { recursive: true, force: true });
  }
});

test('https peers: a fresh CA per run saved as peer-ca.pem, or the CA of --peer-ca DIR', async () => {
  test.setTimeout(240_000);
  // An https target (a bare discovery document) whose certificate comes from a CA made by `ca init`.
  const caDir = await mkdtemp(join(tmpdir(), 'ocm-peers-ca-'));
  const authority = await createCertificateAuthority();
  await writeCertificateAuthority(caDir, authority);
  const host = `${SUBNET}.58`;
  const issued = await issueServerCertificate(authority, [host]);
  let origin = '';
  const target = createHttpsServer({ cert: issued.certPem, key: issued.keyPem }, (_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ enabled: true, apiVersion: '1.1.0', endPoint: `${origin}/ocm`, provider: 'stub', resourceTypes: [] }));
  });
  await new Promise<void>((done) => target.listen({ host, port: 0 }, done));
  origin = `https://${host}:${(target.address() as { port: number }).port}`;
  const dirs = [await mkdtemp(join(tmpdir(), 'ocm-peers-fresh-')), await mkdtemp(join(tmpdir(), 'ocm-peers-reuse-'))];
  try {
    const common = ['--target', origin, '--ca-file', join(caDir, CA_CERT_FILE), '--profile', 'main', '--only', 'DISC-1'];
    const [fresh, reused] = await Promise.all([
      runCli([...common, '--peers', `${SUBNET}.59:0,${SUBNET}.60:0`, '--report-dir', dirs[0]!], 200_000),
      runCli([...common, '--peers', `${SUBNET}.61:0,${SUBNET}.62:0`, '--peer-ca', caDir, '--report-dir', dirs[1]!], 200_000),
    ]);
    for (const [i, outcome] of [fresh, reused].entries()) {
      // The stub's document is not a conforming one: what matters is that the run ran its checks with https peers.
      expect([0, 1], outcome.stdout + outcome.stderr).toContain(outcome.code);
      const results = JSON.parse(await readFile(join(dirs[i]!, 'compliance-results.json'), 'utf8')) as {
        peers: string[];
        summary: { checks: { run: number; notRun: number } };
      };
      expect(results.summary.checks.run).toBeGreaterThan(0);
      expect(results.summary.checks.notRun, 'no peer setup failed').toBe(0);
      for (const peer of results.peers) expect(peer).toMatch(/^https:\/\//);
    }
    expect(fresh.stdout).toContain(`peers: https with a fresh CA for this run, ${join(dirs[0]!, 'peer-ca.pem')}`);
    const freshCa = await readFile(join(dirs[0]!, 'peer-ca.pem'), 'utf8');
    expect(freshCa).toContain('-----BEGIN CERTIFICATE-----');
    expect(freshCa).not.toBe(authority.certPem);
    expect(await readFile(join(dirs[1]!, 'peer-ca.pem'), 'utf8')).toBe(authority.certPem);
  } finally {
    await new Promise<void>((done) => target.close(() => done()));
    for (const dir of [caDir, ...dirs]) await rm(dir, { recursive: true, force: true });
  }
});
