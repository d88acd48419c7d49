/**
 * Crash safety of the reference server as a real process: writes stream in
 * over HTTP from several concurrent loops, the process is SIGKILLed at a
 * random moment, and on restart every acknowledged write (a 2xx received)
 * must be there and every data file must parse.
 */
import { test, expect } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InviteRecord, ReceivedShareRecord } from './stores/records.ts';
import { freePort, providerEntry } from './pair.ts';
import { JsonCollection } from './stores/json-collection.ts';
import { EINSTEIN, MARIE, TRUSTED_PEER, basicAuth, validShare } from './testing/harness.ts';
import { spawnServeProcess, type ServeExit } from './testing/serve-process.ts';

const HOST = '127.0.0.2';
const ROUNDS = 3;
const MIN_ACKS_PER_ROUND = 50;
const INVITE_LOOPS = 3;
const SHARE_LOOPS = 3;
/** Upper bound of requests per loop per round (the kill normally comes long before). */
const MAX_REQUESTS_PER_LOOP = 3_000;

interface Child {
  process: ChildProcess;
  exited: Promise<ServeExit>;
  stderr(): string;
}

const children: ChildProcess[] = [];

test.afterEach(() => {
  // Never leave a server behind, whatever happened in the test.
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.length = 0;
});

async function startServer(port: number, dataDir: string, providersFile: string): Promise<Child> {
  const server = await spawnServeProcess([
    '--host',
    HOST,
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--providers',
    providersFile,
    '--log-level',
    'error',
  ]);
  children.push(server.child);
  return { process: server.child, exited: server.exited, stderr: server.stderr };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Acks {
  /** token → user who generated it */
  invites: Map<string, string>;
  /** providerIds of shares the server answered 2xx to */
  shares: Set<string>;
  /** acknowledged in the current round (including invites whose body was lost) */
  round: number;
  /** non-2xx answers or errors before the kill */
  unexpected: string[];
}

/** Runs the writer loops until `killed()` is true and their requests fail. */
function writers(base: string, domain: string, acks: Acks, killed: () => boolean, round: number): Promise<void>[] {
  const loops: Promise<void>[] = [];
  const users = [EINSTEIN, MARIE];
  for (let w = 0; w < INVITE_LOOPS; w++) {
    loops.push(
      (async () => {
        for (let i = 0; i < MAX_REQUESTS_PER_LOOP && !killed(); i++) {
          const user = users[(w + i) % users.length]!;
          let response: Response;
          try {
            response = await fetch(`${base}/sciencemesh/generate-invite`, {
              method: 'POST',
              headers: { authorization: basicAuth(user), 'content-type': 'application/json' },
              body: JSON.stringify({ description: `round ${round} loop ${w} #${i}` }),
            });
          } catch (error) {
            if (!killed()) acks.unexpected.push(`invite: ${(error as Error).message}`);
            return;
          }
          if (response.status < 200 || response.status >= 300) {
            if (!killed()) acks.unexpected.push(`invite: ${response.status} ${await response.text().catch(() => '')}`);
            return;
          }
          acks.round++;
          try {
            const body = (await response.json()) as { token: string };
            acks.invites.set(body.token, user.username);
          } catch {
            // Acknowledged, but the body was cut by the kill: the token is unknown to us.
          }
        }
      })(),
    );
  }
  for (let w = 0; w < SHARE_LOOPS; w++) {
    loops.push(
      (async () => {
        for (let i = 0; i < MAX_REQUESTS_PER_LOOP && !killed(); i++) {
          const providerId = `r${round}-l${w}-${i}-${Math.random().toString(36).slice(2, 8)}`;
          const share = validShare({ shareWith: `${EINSTEIN.id}@${domain}`, providerId, name: `file-${providerId}.txt` });
          let response: Response;
          try {
            response = await fetch(`${base}/ocm/shares`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(share),
            });
          } catch (error) {
            if (!killed()) acks.unexpected.push(`share: ${(error as Error).message}`);
            return;
          }
          if (response.status < 200 || response.status >= 300) {
            if (!killed()) acks.unexpected.push(`share: ${response.status} ${await response.text().catch(() => '')}`);
            return;
          }
          acks.round++;
          acks.shares.add(providerId);
          await response.arrayBuffer().catch(() => undefined);
        }
      })(),
    );
  }
  return loops;
}

/** Every .json file parses; every .jsonl line parses except a possibly torn last one. */
async function checkFilesParse(dataDir: string, label: string): Promise<void> {
  const names = await readdir(dataDir);
  expect(names, `${label}: the stores exist`).toEqual(expect.arrayContaining(['invites.journal.jsonl', 'received-shares.journal.jsonl']));
  for (const name of names) {
    const file = join(dataDir, name);
    if (name.endsWith('.json')) {
      const text = await readFile(file, 'utf8');
      expect(() => JSON.parse(text), `${label}: ${name} is JSON`).not.toThrow();
    } else if (name.endsWith('.jsonl')) {
      const text = await readFile(file, 'utf8');
      const lines = text.split('\n');
      lines.pop(); // '' when the file ends with a newline, else a torn last line (never acknowledged)
      lines.forEach((line, index) => {
        expect(() => JSON.parse(line), `${label}: ${name} line ${index + 1} is JSON`).not.toThrow();
      });
    }
  }
}

/** Opens a collection of `dataDir` and returns its records (the dir must not be in use). */
async function records<T>(dataDir: string, name: string): Promise<T[]> {
  const collection = await JsonCollection.open<T>(dataDir, name);
  const values = [...collection.values()];
  await collection.close();
  return values;
}

async function expectAllAcknowledged(dataDir: string, acks: Acks, label: string): Promise<void> {
  const shares = new Set((await records<ReceivedShareRecord>(dataDir, 'received-shares')).map((r) => r.providerId));
  const lostShares = [...acks.shares].filter((id) => !shares.has(id));
  expect(lostShares, `${label}: acknowledged shares missing`).toEqual([]);
  const invites = new Set((await records<InviteRecord>(dataDir, 'invites')).map((r) => r.token));
  const lostInvites = [...acks.invites.keys()].filter((token) => !invites.has(token));
  expect(lostInvites, `${label}: acknowledged invites missing`).toEqual([]);
}

async function listedInvites(base: string): Promise<Set<string>> {
  const tokens = new Set<string>();
  for (const user of [EINSTEIN, MARIE]) {
    const response = await fetch(`${base}/sciencemesh/list-invite`, { headers: { authorization: basicAuth(user) } });
    expect(response.status).toBe(200);
    for (const invite of (await response.json()) as Array<{ token: string }>) tokens.add(invite.token);
  }
  return tokens;
}

test('acknowledged writes survive SIGKILL at a random moment, three times over', async () => {
  test.setTimeout(180_000);
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'ocm-crash-'));
  try {
    const dataDir = join(work, 'data');
    const providersFile = join(work, 'ocmproviders.json');
    await writeFile(providersFile, JSON.stringify([providerEntry('peer', TRUSTED_PEER)], null, 2));
    const port = await freePort(HOST);
    const base = `http://${HOST}:${port}`;
    const domain = `${HOST}:${port}`;
    const acks: Acks = { invites: new Map(), shares: new Set(), round: 0, unexpected: [] };

    let server = await startServer(port, dataDir, providersFile);
    for (let round = 1; round <= ROUNDS; round++) {
      let killed = false;
      acks.round = 0;
      const loops = writers(base, domain, acks, () => killed, round);
      const allDone = Promise.all(loops).then(() => true);
      let loopsEnded = false;
      void allDone.then(() => {
        loopsEnded = true;
      });
      // Bounded wait for enough acknowledged writes, then a random extra moment.
      for (let i = 0; i < 2_000 && acks.round < MIN_ACKS_PER_ROUND && !loopsEnded; i++) await sleep(5);
      expect(acks.unexpected, `round ${round}: answers before the kill`).toEqual([]);
      expect(acks.round, `round ${round}: acknowledged writes before the kill`).toBeGreaterThanOrEqual(MIN_ACKS_PER_ROUND);
      await sleep(Math.floor(Math.random() * 120));
      killed = true;
      server.process.kill('SIGKILL');
      await allDone;
      const exit = await server.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(acks.unexpected, `round ${round}: answers before the kill`).toEqual([]);

      // The files as the crash left them.
      await checkFilesParse(dataDir, `round ${round} after the kill`);
      const copy = join(work, `copy-${round}`);
      await cp(dataDir, copy, { recursive: true });
      await expectAllAcknowledged(copy, acks, `round ${round}, data dir as left by the kill`);
      await rm(copy, { recursive: true, force: true });

      // The restarted server starts on the same data dir and serves every acknowledged invite.
      server = await startServer(port, dataDir, providersFile);
      const listed = await listedInvites(base);
      const missing = [...acks.invites.keys()].filter((token) => !listed.has(token));
      expect(missing, `round ${round}: acknowledged invites missing from list-invite after restart`).toEqual([]);
    }

    // A clean stop, then the data dir as the server left it after three recoveries.
    server.process.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit.code, server.stderr()).toBe(0);
    await checkFilesParse(dataDir, 'after the final clean stop');
    await expectAllAcknowledged(dataDir, acks, 'after the final clean stop');
    expect(acks.shares.size).toBeGreaterThan(0);
    expect(acks.invites.size).toBeGreaterThan(0);
    test.info().annotations.push({
      type: 'crash-safety',
      description: `${acks.invites.size} invites and ${acks.shares.size} shares acknowledged over ${ROUNDS} kills in ${Date.now() - started} ms`,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
