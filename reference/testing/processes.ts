/**
 * Runs `ocm-conformance serve` as a child process, the way a user does,
 * and waits until it prints that it listens.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { providerEntry } from '../pair.ts';
import { spawnServeProcess } from './serve-process.ts';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function writeProvidersFile(dir: string, origins: string[]): Promise<string> {
  const file = join(dir, 'ocmproviders.json');
  await writeFile(
    file,
    JSON.stringify(
      origins.map((origin, i) => providerEntry(`instance-${i}`, origin)),
      null,
      2,
    ),
  );
  return file;
}

export async function spawnServe(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  // The whole URL, up to the end of its line.
  const listening = /listening on (http:\/\/\S+)\s/;
  const serve = await spawnServeProcess(args, { readyTimeoutMs: timeoutMs, env, ready: listening });
  const output = () => serve.stdout() + serve.stderr();
  const url = listening.exec(serve.stdout())![1]!;
  const { child } = serve;
  return {
    child,
    url,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return (await serve.exited).code;
    },
  };
}
