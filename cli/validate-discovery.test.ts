/**
 * `validate-discovery` files each finding under the requirement it breaks:
 * a 1.0-proposal1 document is judged under 1.1 (and says so); resourceTypes
 * as an object is DISC-4's finding, with its JSON pointer, not "empty"; a
 * relative tokenEndPoint is DISC-17's finding and throws nothing; checks that
 * need a live server are not applicable for a file.
 */
import { test, expect } from '@playwright/test';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validateDiscovery, type Finding } from './validate-discovery.ts';
import { resolveDiscoveryUrl } from '../suites/harness/discovery-urls.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/discovery/', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/ocm-conformance.js', import.meta.url));
const NEXTCLOUD = join(FIXTURES, 'nextcloud-1.0-proposal1.json');
const OBJECT_TYPES = join(FIXTURES, 'resource-types-object-1.0-proposal1.json');

const finding = (findings: Finding[], id: string) => findings.find((f) => f.ids.includes(id));

async function documentFile(document: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'ocm-validate-')), 'ocm.json');
  await writeFile(file, JSON.stringify(document));
  return file;
}

test('a 1.0-proposal1 document is judged under 1.1, and the profile says why', async () => {
  const { profile, mustFailures, findings } = await validateDiscovery(NEXTCLOUD, { profile: 'auto' });
  expect(profile.profile).toBe('1.1');
  expect(profile.reason).toContain('"1.0-proposal1"');
  expect(mustFailures, JSON.stringify(findings.filter((f) => f.outcome === 'fail'))).toBe(0);
  expect(finding(findings, 'DISC-4')?.outcome).toBe('pass');
});

test('resourceTypes as an object is a DISC-4 finding with its pointer; the rules over the list have nothing to judge', async () => {
  const { mustFailures, findings } = await validateDiscovery(OBJECT_TYPES, { profile: 'auto' });
  expect(mustFailures).toBe(1);
  expect(finding(findings, 'DISC-4')).toMatchObject({ outcome: 'fail', problem: '/resourceTypes is an object, not an array' });
  expect(finding(findings, 'DISC-8')?.outcome).toBe('not-run');
  expect(finding(findings, 'DISC-8')?.problem).toContain('resourceTypes is an object, not an array');
  expect(findings.filter((f) => f.outcome === 'fail').flatMap((f) => f.ids)).toEqual(['DISC-4']);
});

test('DISC-4 lists every missing or mistyped field, each with its JSON pointer', async () => {
  const file = await documentFile({ apiVersion: 2, resourceTypes: [], capabilities: 'invites' });
  const { findings } = await validateDiscovery(file, { profile: '1.2' });
  const problem = finding(findings, 'DISC-4')?.problem ?? '';
  for (const part of [
    '/enabled is missing',
    '/endPoint is missing',
    '/apiVersion is a number, not a string',
    '/capabilities is a string, not an array',
  ])
    expect(problem).toContain(part);
});

test('a misspelt capability is a DISC-21 finding naming the allowed values, never a DISC-4 one', async () => {
  const file = await documentFile({
    enabled: true,
    apiVersion: '1.2.0',
    endPoint: 'https://cloud.example.org/ocm',
    resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/', 'webdav-receive': { uri: 'absolute' } } }],
    capabilities: ['invitez'],
  });
  const { findings } = await validateDiscovery(file, { profile: 'auto' });
  expect(finding(findings, 'DISC-4')?.outcome).toBe('pass');
  expect(finding(findings, 'DISC-21')).toMatchObject({ outcome: 'fail' });
  expect(finding(findings, 'DISC-21')?.problem).toMatch(/"invitez" is not a registered value \(allowed: .*invites/);
});

test('a relative tokenEndPoint is a DISC-17 finding and throws nothing; the suites resolve it against the origin and say so', async () => {
  const document = {
    enabled: true,
    apiVersion: '1.3.0',
    endPoint: 'https://cloud.example.org/ocm',
    resourceTypes: [{ name: 'file', shareTypes: ['user'], protocols: { webdav: '/dav/' } }],
    capabilities: ['exchange-token'],
    tokenEndPoint: '/ocm/token',
  };
  const { findings, mustFailures } = await validateDiscovery(await documentFile(document), { profile: 'auto' });
  expect(finding(findings, 'DISC-17')).toMatchObject({ outcome: 'fail' });
  expect(finding(findings, 'DISC-17')?.problem).toContain('"/ocm/token" is a relative path');
  expect(finding(findings, 'DISC-4')?.outcome).toBe('pass');
  expect(mustFailures).toBe(1);
  const resolved = resolveDiscoveryUrl(document, 'tokenEndPoint', 'https://cloud.example.org');
  expect(resolved).toMatchObject({ url: 'https://cloud.example.org/ocm/token' });
  expect('note' in resolved && resolved.note).toContain('relative path');
  expect(resolveDiscoveryUrl({ tokenEndPoint: 'token' }, 'tokenEndPoint', 'https://cloud.example.org')).toHaveProperty('unusable');
  expect(resolveDiscoveryUrl({}, 'tokenEndPoint', 'https://cloud.example.org')).toHaveProperty('unusable');
});

test('a file leaves the checks that need a live server not applicable, with that reason', async () => {
  const { findings } = await validateDiscovery(NEXTCLOUD, { profile: '1.4' });
  for (const id of ['DISC-1', 'DISC-5']) {
    expect(finding(findings, id)?.outcome, id).toBe('not-applicable');
    expect(finding(findings, id)?.problem, id).toContain('needs a live server');
  }
});

test('the command exits non-zero naming DISC-4 for resourceTypes as an object, and 0 for a Nextcloud document', async () => {
  const run = promisify(execFile);
  const failing = await run(process.execPath, [CLI, 'validate-discovery', OBJECT_TYPES]).then(
    () => undefined,
    (error: { code: number; stdout: string }) => error,
  );
  expect(failing?.code).toBe(1);
  expect(failing?.stdout.split('\n')[0]).toMatch(/^profile 1\.1 \(from apiVersion "1\.0-proposal1"/);
  expect(failing?.stdout).toMatch(/MUST-level finding\(s\): DISC-4/);
  const passing = await run(process.execPath, [CLI, 'validate-discovery', NEXTCLOUD, '--json']);
  expect(JSON.parse(passing.stdout)).toMatchObject({ profile: { profile: '1.1' }, mustFailures: 0 });
});
