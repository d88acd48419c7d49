/**
 * The fault catalogue (reference/base/faults.ts) and the guarantees around it:
 * a normal `serve` (flags, config file, environment) can never enable a
 * fault; `--fault` needs `--allow-faults`; unknown names are refused; every
 * fault names existing requirement IDs and is wired into the reference code;
 * a fault stays inside the instance it was given to.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, ConfigError, PROJECT_ROOT, readConfigFile } from '../reference/base/config.ts';
import { ALLOW_FAULTS, FAULTS, checkFaultNames, faults, inFaultScope, withFaults, type FaultArea } from '../reference/base/faults.ts';
import { startInstance, type RunningInstance } from '../reference/main.ts';
import { freePort } from '../reference/pair.ts';
import { spawnServe } from '../reference/testing/processes.ts';
import { loadCatalogue } from '../suites/harness/requirements.ts';
import { CRITERIA } from '../suites/harness/requirements.ts';

const AREAS: FaultArea[] = [
  'discovery',
  'shares-receiver',
  'shares-sender',
  'notifications',
  'invites-inviter',
  'invites-receiver',
  'token',
  'signatures-verifier',
  'signatures-signer',
  'access',
  'sciencemesh',
  'grpc',
  'robustness',
];

/** Runs `ocm-conformance serve ARGS` expecting it to stop on its own; its exit code and output. */
function serveExpectingExit(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'serve', ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve ${args.join(' ')} did not stop within ${timeoutMs} ms (it should refuse to start):\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function contentTypeOfDiscovery(origin: string): Promise<string> {
  const response = await fetch(`${origin}/.well-known/ocm`);
  await response.arrayBuffer();
  return response.headers.get('content-type') ?? '';
}

test.describe('the fault catalogue', () => {
  test('holds at least 40 faults, each with a unique name, a known area, a description and at least one existing requirement ID', () => {
    const catalogue = loadCatalogue();
    expect(FAULTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(FAULTS.map((f) => f.name)).size, 'fault names are unique').toBe(FAULTS.length);
    for (const fault of FAULTS) {
      expect(fault.name, 'a kebab-case name').toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(AREAS, `${fault.name}: area`).toContain(fault.area);
      expect(fault.description.length, `${fault.name}: description`).toBeGreaterThan(10);
      expect(fault.requirements.length, `${fault.name}: requirement IDs`).toBeGreaterThan(0);
      for (const id of fault.requirements)
        expect(catalogue.byId.has(id), `${fault.name}: ${id} is in fixtures/requirements.yaml`).toBe(true);
      for (const criterion of fault.setup?.criteria ?? [])
        expect(CRITERIA as readonly string[], `${fault.name}: setup criterion`).toContain(criterion);
    }
  });

  test('covers every area', () => {
    for (const area of AREAS) expect(FAULTS.filter((f) => f.area === area).length, `faults in area ${area}`).toBeGreaterThan(0);
  });

  test('every fault is injected somewhere in the reference code (none is dead)', async () => {
    const dir = join(PROJECT_ROOT, 'reference');
    const files = (await readdir(dir, { recursive: true })).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'faults.ts',
    );
    const source = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('\n');
    const dead = FAULTS.filter((f) => !source.includes(`faults.has('${f.name}')`)).map((f) => f.name);
    expect(dead, 'faults no guarded line refers to').toEqual([]);
  });

  test('checkFaultNames refuses unknown names and non-lists', () => {
    expect(checkFaultNames(['shares-answer-200', 'shares-answer-200'])).toEqual(['shares-answer-200']);
    expect(() => checkFaultNames(['shares-answer-200', 'no-such-fault'])).toThrow(/unknown fault "no-such-fault"/);
    expect(() => checkFaultNames('shares-answer-200')).toThrow(/list of fault names/);
  });
});

test.describe('enabling faults', () => {
  test('buildConfig refuses faults unless the layer carries ALLOW_FAULTS; unknown names are refused even then', () => {
    expect(buildConfig().faults).toEqual([]);
    expect(() => buildConfig({ faults: ['shares-answer-200'] })).toThrow(ConfigError);
    expect(() => buildConfig({ faults: [] })).toThrow(/never from a config file/);
    // The permission of one layer does not carry over to another.
    expect(() => buildConfig({ [ALLOW_FAULTS]: true }, { faults: ['shares-answer-200'] })).toThrow(ConfigError);
    expect(buildConfig({ faults: ['shares-answer-200'], [ALLOW_FAULTS]: true }).faults).toEqual(['shares-answer-200']);
    expect(() => buildConfig({ faults: ['no-such-fault'], [ALLOW_FAULTS]: true })).toThrow(/unknown fault "no-such-fault"/);
  });

  test('a config file naming faults is refused, whatever else it says', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-faults-'));
    try {
      const file = join(dir, 'config.yaml');
      // A file cannot carry the permission: a key that looks like it is just an unknown setting.
      await writeFile(file, 'faults: [shares-answer-200]\nallowFaults: true\n');
      const layer = await readConfigFile(file);
      expect(() => buildConfig(layer)).toThrow(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('serve --fault without --allow-faults refuses to start with one clear line; unknown names and config files are refused too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-faults-'));
    try {
      const base = ['--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'data')];
      const refused = await serveExpectingExit([...base, '--fault', 'shares-answer-200']);
      expect(refused.code, refused.stderr).not.toBe(0);
      expect(refused.stdout, 'nothing started').not.toMatch(/listening on/);
      const lines = refused.stderr.trim().split('\n');
      expect(lines, refused.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^ocm-conformance: --fault shares-answer-200 refused: .*--allow-faults/);

      const unknown = await serveExpectingExit([...base, '--fault', 'no-such-fault', '--allow-faults']);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr.trim()).toMatch(/^ocm-conformance: unknown fault "no-such-fault"/);

      const file = join(dir, 'faulty.yaml');
      await writeFile(file, 'faults: [shares-answer-200]\n');
      // Not even with --allow-faults: faults only ever come from --fault.
      const fromFile = await serveExpectingExit([...base, '--config', file, '--allow-faults']);
      expect(fromFile.code).not.toBe(0);
      expect(fromFile.stderr.trim()).toMatch(/^ocm-conformance: faults can only be enabled with `serve --fault NAME --allow-faults`/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the environment cannot enable a fault: a normal serve behaves normally; --fault with --allow-faults does break it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocm-faults-'));
    const env = {
      ...process.env,
      OCM_FAULTS: 'discovery-served-as-text',
      OCM_FAULT: 'discovery-served-as-text',
      OCM_ALLOW_FAULTS: '1',
      ALLOW_FAULTS: 'true',
    };
    const normal = await spawnServe(['--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'a')], 20_000, env);
    try {
      expect(await contentTypeOfDiscovery(normal.url)).toMatch(/^application\/json/);
      expect(normal.output()).not.toMatch(/deliberately broken/);
    } finally {
      await normal.stop();
    }
    const broken = await spawnServe(
      ['--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'b'), '--fault', 'discovery-served-as-text', '--allow-faults'],
      20_000,
    );
    try {
      expect(await contentTypeOfDiscovery(broken.url)).toMatch(/^text\/plain/);
      expect(broken.output()).toMatch(/WARNING: deliberately broken: faults discovery-served-as-text are on/);
    } finally {
      await broken.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test.describe('fault scope', () => {
  test('a fault stays in the instance it was given to; code outside any instance sees none', async () => {
    expect(faults.has('discovery-served-as-text')).toBe(false);
    expect(withFaults(['discovery-served-as-text'], () => faults.has('discovery-served-as-text'))).toBe(true);
    expect(withFaults(['discovery-served-as-text'], () => withFaults([], () => faults.any()))).toBe(false);
    // A callback bound in a scope (a gRPC handler) keeps it when a library calls it from elsewhere.
    const bound = withFaults(['discovery-served-as-text'], () => inFaultScope(() => faults.has('discovery-served-as-text')));
    expect(bound()).toBe(true);
    const plain = () => faults.any();
    expect(inFaultScope(plain), 'outside any scope nothing is wrapped').toBe(plain);
    const dir = await mkdtemp(join(tmpdir(), 'ocm-faults-'));
    const instances: RunningInstance[] = [];
    try {
      const start = async (name: string, faultNames: string[]) => {
        const port = await freePort('127.0.0.1');
        const layer = faultNames.length ? { faults: faultNames, [ALLOW_FAULTS]: true as const } : {};
        const instance = await startInstance(buildConfig({ host: '127.0.0.1', port, dataDir: join(dir, name), logLevel: 'silent' }, layer));
        instances.push(instance);
        return instance;
      };
      const faulty = await start('faulty', ['discovery-served-as-text']);
      const clean = await start('clean', []);
      expect(faults.any(), 'the caller is outside both instances').toBe(false);
      expect(await contentTypeOfDiscovery(faulty.url)).toMatch(/^text\/plain/);
      expect(await contentTypeOfDiscovery(clean.url)).toMatch(/^application\/json/);
    } finally {
      await Promise.all(instances.map((i) => i.close()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
