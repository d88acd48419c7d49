/**
 * Test support for the CLI tests: `ocm-conformance ARGS` as a child
 * process, with none of the calling test run's own settings leaking in.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../reference/base/config.ts';

/** Settings of the calling run that must not reach the child: each test says what the child sees. */
const CALLER_SETTINGS = [
  'OCM_TARGET_CONFIG',
  'OCM_RUN_DIR',
  'OCM_REPORT_DIR',
  'OCM_PROFILE',
  'OCM_KEEP_WORKERS',
  'OCM_PEERS',
  'OCM_PEER_TLS',
  'GITHUB_ACTIONS',
];

/** `ocm-conformance run ARGS`. */
export function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return ocmConformance(['run', ...args], timeoutMs);
}

/** `ocm-conformance ARGS`: any command. */
export function ocmConformance(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const name of CALLER_SETTINGS) delete env[name];
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
