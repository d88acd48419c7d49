/**
 * Runs `ocm-conformance serve` as a child process for tests that need the
 * process itself: its exit code and signal, and stdout and stderr apart.
 * (`processes.ts` builds the simpler handle on it: a URL, the output, stop().)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../base/config.ts';

export interface ServeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeChild {
  child: ChildProcess;
  /** Settles when the process exits, however it ends. */
  exited: Promise<ServeExit>;
  stdout(): string;
  stderr(): string;
}

export interface ServeChildOptions {
  /** How long to wait for "listening" on stdout (default 60 s). */
  readyTimeoutMs?: number;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** What on stdout means ready (default: "listening"). */
  ready?: RegExp;
}

/**
 * Spawns `bin/ocm-conformance.js serve …args` and resolves once it prints
 * "listening" on stdout. Rejects (with stderr in the message) when it exits
 * first or does not get there in time; a process that did not get there is
 * killed, so a failed start leaves nothing running.
 */
export async function spawnServeProcess(args: string[], options: ServeChildOptions = {}): Promise<ServeChild> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/ocm-conformance.js'), 'serve', ...args], {
    cwd: PROJECT_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<ServeExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve did not print "listening" within ${readyTimeoutMs / 1000} s; stderr: ${stderr.trim()}`)),
        readyTimeoutMs,
      );
      child.stdout!.on('data', () => {
        if ((options.ready ?? /listening/).test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code ?? signal}) before listening: ${stderr.trim()}`));
      });
    });
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}
