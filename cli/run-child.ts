/**
 * Test support for the CLI tests: `ocm-conformance run ARGS` as a child
 * process, with none of the calling test run's own settings leaking in.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';

export function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const name of ['OCM_TARGET_CONFIG', 'OCM_RUN_DIR', 'OCM_REPORT_DIR', 'OCM_PROFILE', 'OCM_KEEP_WORKERS', 'OCM_PEERS', 'OCM_PEER_TLS'])
    delete env[name];
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'run', ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
