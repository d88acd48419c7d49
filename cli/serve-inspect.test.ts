/**
 * `serve --inspect` gates: refused on a host off loopback without
 * `--inspect-allow-remote` (one clear line, exit 1), and its options.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';
import { inspectOptions } from './serve.ts';

test('serve --inspect on a non-loopback host without --inspect-allow-remote refuses to start with one line', async () => {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'serve', '--host', '0.0.0.0', '--port', '0', '--inspect'],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^ocm-conformance: --inspect refused on 0\.0\.0\.0: .*--inspect-allow-remote$/),
  ]);
});

test('inspect options: off by default, loopback hosts, remote only when allowed', () => {
  expect(inspectOptions({}, '0.0.0.0')).toBeUndefined();
  expect(inspectOptions({ inspect: true }, '127.0.0.1')).toEqual({ capacity: 1000, allowRemote: false });
  expect(inspectOptions({ inspect: true, inspectKeep: 50 }, '::1')).toEqual({ capacity: 50, allowRemote: false });
  expect(inspectOptions({ inspect: true, inspectAllowRemote: true }, '0.0.0.0')).toEqual({ capacity: 1000, allowRemote: true });
  expect(() => inspectOptions({ inspect: true }, '192.0.2.1')).toThrow(/--inspect-allow-remote/);
  expect(() => inspectOptions({ inspectAllowRemote: true }, '127.0.0.1')).toThrow(/need --inspect/);
});
