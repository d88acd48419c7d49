/**
 * `peers trust-list`: the trust entries a target needs for the simulated
 * peers, from its target config. The shipped reference-trust.json is exactly
 * what it prints for reference.yaml, the reference's provider reader accepts
 * the output, and https peers (peerTls) get https endpoints.
 */
import { test, expect } from '@playwright/test';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { TrustedProviders, type ProviderInfo } from '../reference/providers/trusted-providers.ts';

const BIN = join(PROJECT_ROOT, 'bin/ocm-conformance.js');

function trustList(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [BIN, 'peers', 'trust-list', ...args], { cwd: PROJECT_ROOT }, (_error, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr }),
    );
  });
}

test('for reference.yaml it prints the shipped reference-trust.json, which the reference reads', async () => {
  const { code, stdout } = await trustList('--target-config', 'fixtures/targets/reference.yaml');
  expect(code).toBe(0);
  const printed = JSON.parse(stdout) as ProviderInfo[];
  expect(printed).toEqual(JSON.parse(readFileSync(join(PROJECT_ROOT, 'fixtures/targets/reference-trust.json'), 'utf8')));
  const trusted = new TrustedProviders(printed, 'trust-list');
  expect(trusted).toBeDefined();
});

test('https peers with public names: the endpoints are https URLs under those names; --format json is a plain list', async () => {
  const { code, stdout } = await trustList('--target-config', 'examples/compose/target.yaml', '--format', 'json');
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual([
    { name: 'peer-1', bind: '0.0.0.0:9400', origin: 'https://peer-a:9400', domain: 'peer-a:9400', endPoint: 'https://peer-a:9400/ocm' },
    { name: 'peer-2', bind: '0.0.0.0:9401', origin: 'https://peer-b:9401', domain: 'peer-b:9401', endPoint: 'https://peer-b:9401/ocm' },
  ]);
  const providers = JSON.parse((await trustList('--target-config', 'examples/compose/target.yaml')).stdout) as ProviderInfo[];
  expect(providers.map((p) => [p.domain, p.services[0]!.endpoint.path])).toEqual([
    ['peer-a:9400', 'https://peer-a:9400/ocm/'],
    ['peer-b:9401', 'https://peer-b:9401/ocm/'],
  ]);
});

test('a peer on port 0 cannot be listed, and a bad format is refused', async () => {
  const config = join(await mkdtemp(join(tmpdir(), 'ocm-trust-list-')), 'target.yaml');
  await writeFile(config, 'baseUrl: http://127.0.0.2:8080\npeers: ["127.0.0.10:0", "127.0.0.11:9400"]\n');
  const portZero = await trustList('--target-config', config);
  expect(portZero.code).toBe(1);
  expect(portZero.stderr.trim()).toMatch(/^ocm-conformance: peer 127\.0\.0\.10:0 picks a free port at run time/);
  const badFormat = await trustList('--target-config', config, '--format', 'xml');
  expect(badFormat.code).not.toBe(0);
  expect(badFormat.stderr).toContain('must be ocmproviders or json');
});
