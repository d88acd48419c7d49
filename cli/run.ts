/**
 * `ocm-conformance run`. Until the conformance suites land, it starts the
 * embedded reference pair, walks the invitation workflow between them over
 * real HTTP as a smoke check, and prints each step; with `--keep-running`
 * it leaves the pair up and prints how to use it.
 */
import { Command } from 'commander';
import { startPair, type Pair } from '../reference/pair.ts';
import { readFile } from 'node:fs/promises';
import { PROJECT_ROOT } from '../reference/config.ts';
import { join } from 'node:path';

interface Step {
  name: string;
  ok: boolean;
  detail: string;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, body };
}

export async function smokeInvitation(pair: Pair): Promise<Step[]> {
  const users = JSON.parse(await readFile(join(PROJECT_ROOT, 'fixtures/users.json'), 'utf8')) as Array<{ username: string; password: string }>;
  const [inviter, invitee] = [users[0]!, users[1]!];
  const steps: Step[] = [];
  const check = (name: string, ok: boolean, detail: string) => steps.push({ name, ok, detail });
  for (const [label, instance] of [['A', pair.a], ['B', pair.b]] as const) {
    const discovery = await call(`${instance.url}/.well-known/ocm`);
    check(`${label} serves /.well-known/ocm`, discovery.status === 200, `status ${discovery.status}`);
  }
  const generated = await call(`${pair.a.url}/sciencemesh/generate-invite`, {
    method: 'POST',
    headers: { authorization: basic(inviter.username, inviter.password), 'content-type': 'application/json' },
    body: JSON.stringify({ description: 'smoke test' }),
  });
  const token = (generated.body as { token?: string }).token;
  check(`${inviter.username}@A generates an invite`, generated.status === 200 && typeof token === 'string', `status ${generated.status}`);
  const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
    method: 'POST',
    headers: { authorization: basic(invitee.username, invitee.password), 'content-type': 'application/json' },
    body: JSON.stringify({ token, providerDomain: pair.a.core.domain }),
  });
  check(`${invitee.username}@B accepts it`, accepted.status === 200, `status ${accepted.status}`);
  const again = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
    method: 'POST',
    headers: { authorization: basic(invitee.username, invitee.password), 'content-type': 'application/json' },
    body: JSON.stringify({ token, providerDomain: pair.a.core.domain }),
  });
  check('accepting the same invite again is refused with 409', again.status === 409, `status ${again.status}`);
  for (const [label, instance, user] of [['A', pair.a, inviter], ['B', pair.b, invitee]] as const) {
    const found = await call(`${instance.url}/sciencemesh/find-accepted-users`, { headers: { authorization: basic(user.username, user.password) } });
    const count = Array.isArray(found.body) ? found.body.length : 0;
    check(`${user.username}@${label} lists the other as a contact`, found.status === 200 && count === 1, `${count} contact(s)`);
  }
  return steps;
}

export function runCommand(): Command {
  return new Command('run')
    .description('test the embedded reference pair (the conformance suites replace this smoke check as they land)')
    .option('--keep-running', 'leave the pair running after the check and print how to use it')
    .action(async (flags: { keepRunning?: boolean }) => {
      const started = Date.now();
      const pair = await startPair({ logLevel: 'warn' });
      console.log(`reference A: ${pair.a.url}   reference B: ${pair.b.url}`);
      let steps: Step[];
      try {
        steps = await smokeInvitation(pair);
      } catch (error) {
        await pair.close();
        throw error;
      }
      for (const step of steps) console.log(`${step.ok ? '  ok  ' : '  FAIL'} ${step.name} (${step.detail})`);
      const failed = steps.filter((s) => !s.ok).length;
      console.log(`${steps.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      if (flags.keepRunning) {
        console.log('The pair keeps running; press Ctrl-C to stop. Users are in fixtures/users.json, e.g.:');
        console.log(`  curl -u einstein:relativity -X POST ${pair.a.url}/sciencemesh/generate-invite`);
        const stop = async () => {
          await pair.close();
          process.exit(failed === 0 ? 0 : 1);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
        return;
      }
      await pair.close();
      process.exitCode = failed === 0 ? 0 : 1;
    });
}
