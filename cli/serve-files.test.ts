/**
 * `serve --ready-file F --pid-file P`, as scripts use them: the ready file
 * appears only once the server answers, holding its URL; the pid file names
 * the server process itself (so `kill $(cat P)` works behind npx); a stale
 * ready file is removed at start; both files go when the server stops.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../reference/pair.ts';

const BIN = fileURLToPath(new URL('../bin/ocm-conformance.js', import.meta.url));
const HOST = '127.0.0.6';

test('the ready file appears once the server answers; the pid file names it; both go on stop', async () => {
  test.setTimeout(60_000);
  const dir = await mkdtemp(join(tmpdir(), 'ocm-serve-files-'));
  const ready = join(dir, 'a.ready');
  const pid = join(dir, 'a.pid');
  writeFileSync(ready, 'http://stale.invalid\n'); // left by an earlier run
  const port = await freePort(HOST);
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--host', HOST, '--port', String(port), '--data-dir', join(dir, 'data'), '--ready-file', ready, '--pid-file', pid],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // Until the server listens the stale file is gone and no new one exists; poll, bounded.
    let url = '';
    for (let i = 0; i < 300 && !url; i++) {
      if (existsSync(ready)) url = readFileSync(ready, 'utf8').trim();
      if (url === 'http://stale.invalid') url = '';
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url).toBe(`http://${HOST}:${port}`);
    const response = await fetch(`${url}/.well-known/ocm`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(Number(readFileSync(pid, 'utf8').trim())).toBe(child.pid);
    process.kill(Number(readFileSync(pid, 'utf8').trim()), 'SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(ready)).toBe(false);
    expect(existsSync(pid)).toBe(false);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
