/**
 * `run`'s profile and threshold, as a user meets them:
 *  - a target without a profile is judged under `auto`, and the first line
 *    says which profile and why (a non-release apiVersion such as
 *    "1.0-proposal1" gives 1.1);
 *  - an unknown profile (flag or config) and a run with nothing to judge
 *    stop with one line and exit 2, before Playwright starts;
 *  - `--fail-on should` fails the run on a SHOULD not met (exit 1), records
 *    the threshold, and JUnit follows it; `report --fail-on must` re-judges.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readResults } from '../results/schema.ts';
import { ocmConformance, runCli } from './run-child.ts';

const HOST = `${process.env.OCM_SUBNET ?? '127.0.0'}.41`;

/** A discovery-only stub target: serves one document at /.well-known/ocm with the given content type. */
async function stubTarget(apiVersion: string, contentType: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const origin = `http://${request.headers.host}`;
    if (request.url === '/.well-known/ocm' || request.url === '/ocm-provider') {
      response.writeHead(200, { 'content-type': contentType });
      response.end(
        JSON.stringify({
          enabled: true,
          apiVersion,
          endPoint: `${origin}/ocm`,
          provider: 'stub',
          resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/' } }],
          capabilities: [],
        }),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"message":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return { url: `http://${HOST}:${(server.address() as { port: number }).port}`, server };
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

test('--profile 9.9 is refused with one line and exit 2, before Playwright starts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-profile-'));
  const run = await runCli(['--profile', '9.9', '--report-dir', dir], 60_000);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^--profile: unknown profile "9\.9": use auto, /)]);
  expect(run.stdout).not.toContain('Running');
  expect(existsSync(join(dir, 'test-results.json'))).toBe(false);
});

test('a bad profile in the target config is refused the same way, naming the config', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-profile-'));
  const config = join(dir, 'target.yaml');
  await writeFile(config, 'baseUrl: http://127.0.0.1:9\nprofile: "9.9"\n');
  const run = await runCli(['--target-config', config, '--report-dir', dir], 60_000);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^the target config: unknown profile "9\.9"/)]);
  expect(existsSync(join(dir, 'test-results.json'))).toBe(false);
});

test('a run with nothing to judge under its profile exits 2 with one line, before Playwright starts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocm-run-profile-'));
  const run = await runCli(['--profile', '1.0', '--only', 'DISC-', '--report-dir', dir], 60_000);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stdout.trim()).toBe('profile 1.0 (--profile 1.0)');
  expect(run.stderr.trim()).toBe('nothing to judge under profile 1.0: none of the selected requirements (--only DISC-) is part of it');
  expect(existsSync(join(dir, 'test-results.json'))).toBe(false);
});

test('a target announcing "1.0-proposal1" is judged under 1.1, and the first line says why', async () => {
  const { url, server } = await stubTarget('1.0-proposal1', 'application/json');
  try {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-run-profile-'));
    // DISC-2 is not part of 1.1: the run stops right after naming the profile.
    const run = await runCli(['--target', url, '--only', 'DISC-2', '--report-dir', dir], 60_000);
    expect(run.stdout.split('\n')[0]).toBe(
      'profile 1.1 (from apiVersion "1.0-proposal1": not a release number; judged as 1.1, the first version that defines discovery)',
    );
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(/^nothing to judge under profile 1\.1: /);
  } finally {
    await closeServer(server);
  }
});

test('--fail-on should: a SHOULD not met fails the run, the results record it, JUnit makes it a failure', async () => {
  test.setTimeout(180_000);
  // DISC-5 (SHOULD): discovery served as text/plain instead of application/json.
  const { url, server } = await stubTarget('1.2.0', 'text/plain');
  try {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-run-fail-on-'));
    const run = await runCli(['--target', url, '--only', 'DISC-5', '--fail-on', 'should', '--report-dir', dir], 160_000);
    expect(run.stdout.split('\n')[0]).toBe('profile 1.2 (from apiVersion "1.2.0")');
    expect(run.code, run.stdout.slice(-3000) + run.stderr).toBe(1);
    expect(run.stdout).toContain('verdict: FAIL: 1 SHOULD requirement not met (DISC-5) (--fail-on should)');
    const results = await readResults(join(dir, 'compliance-results.json'));
    expect(results.run).toMatchObject({ profile: '1.2', profileReason: 'from apiVersion "1.2.0"', failOn: 'should' });
    expect(results.requirements.find((r) => r.id === 'DISC-5')?.outcome).toBe('warning');
    expect(results.verdict).toMatchObject({ pass: false, mustFailures: [], shouldFailures: ['DISC-5'] });
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(/<testcase [^>]*classname="ocm\.discovery\.DISC-5"[\s\S]*?<\/testcase>/.exec(junit)?.[0]).toContain('<failure type="SHOULD"');

    // The same results judged at must: the run passes, and the SHOULD is a passing JUnit case with a warning.
    const rebuilt = await ocmConformance(
      ['report', '--results', join(dir, 'compliance-results.json'), '--out', join(dir, 'must'), '--fail-on', 'must'],
      60_000,
    );
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toContain('verdict: PASS: no MUST requirement failed');
    const atMust = /<testcase [^>]*classname="ocm\.discovery\.DISC-5"[\s\S]*?<\/testcase>/.exec(
      readFileSync(join(dir, 'must', 'junit.xml'), 'utf8'),
    )?.[0];
    expect(atMust).not.toContain('<failure');
    expect(atMust).toContain('<property name="warning" value="');
    expect(atMust).toContain('<system-out>WARNING (SHOULD not met)');
    // The old flag still works, and --fail-on takes only must or should.
    const old = await ocmConformance(
      ['report', '--results', join(dir, 'compliance-results.json'), '--out', join(dir, 'old'), '--fail-on-must'],
      60_000,
    );
    expect(old.code, old.stdout + old.stderr).toBe(0);
    const bad = await runCli(['--target', url, '--fail-on', 'may', '--report-dir', join(dir, 'bad')], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('--fail-on may: use one of must, should');
  } finally {
    await closeServer(server);
  }
});
