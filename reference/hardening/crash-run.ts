/**
 * `npm run crash`: crash safety of `ocm-conformance serve` under a mixed
 * write load, for many rounds (default 20). Each round starts the server on
 * the same data dir, runs concurrent writers, SIGKILLs the process at a
 * random moment and then checks:
 *
 *  - every data file parses (snapshots; journal lines except a torn last one);
 *  - every ACKNOWLEDGED write (a 2xx answer was received) is in the stores:
 *      invites generated (sciencemesh generate-invite),
 *      invite acceptances by a simulated peer (POST /ocm/invite-accepted):
 *        the invite is marked accepted and the contact exists,
 *      shares received from the peer (POST /ocm/shares),
 *      shares sent to the peer over OCS (POST /ocs/.../shares: discovery and
 *        POST /ocm/shares at the peer, then stored),
 *      accept/decline of pending received shares over OCS (state is kept);
 *  - the server starts again on the same dir (next round) and answers.
 *
 *   npm run crash -- [--rounds N] [--seed S] [--json FILE]
 *
 * Prints one table row per round; exits 1 on any loss or damage.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../base/config.ts';
import type { ContactRecord, InviteRecord, ReceivedShareRecord, SentShareRecord } from '../stores/records.ts';
import { freePort, providerEntry } from '../pair.ts';
import { JsonCollection } from '../stores/json-collection.ts';
import { EINSTEIN, MARIE } from '../testing/harness.ts';
import { spawnServe, type ServeProcess } from '../testing/processes.ts';
import { checkDataFiles } from './data-files.ts';
import { requestJson, startPlainPeer } from './world.ts';
import { churnJournal, effectiveJournalLines, journalLineCount } from './prefill.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    seed: { type: 'string' },
    json: { type: 'string', default: join(PROJECT_ROOT, 'bench/results/crash-latest.json') },
    'min-acks': { type: 'string', default: '30' },
    /** Before each round, top the received-shares journal up to just below the compaction threshold. */
    compaction: { type: 'boolean', default: true },
    'no-compaction': { type: 'boolean', default: false },
    'compact-after': { type: 'string', default: '20000' },
  },
});

const ROUNDS = Number(values.rounds);
const MIN_ACKS = Number(values['min-acks']);
let seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const SEED = seed;
/** Small deterministic PRNG (mulberry32) so a run can be repeated with --seed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const HOST = '127.0.0.2';
const PEER_HOST = '127.0.0.3';
const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';
const USERS = [EINSTEIN, MARIE];

interface Acks {
  invites: Map<string, string>; // token → inviter user id
  acceptances: Map<string, string>; // token → remote user id
  received: Set<string>; // providerId
  sent: Set<string>; // sent share id
  decisions: Map<string, 'accepted' | 'declined'>; // received share id → state
}

interface RoundRow {
  round: number;
  killAfterMs: number;
  acked: Record<keyof Acks, number>;
  unexpected: number;
  records: number;
  tornTails: number;
  leftoverTemps: number;
  journalLines: number;
  /** Journal lines added before the round (put+delete pairs) so that the server compacts during it. */
  filler: number;
  /** The received-shares journal was emptied during the round (a snapshot was written). */
  compacted: boolean;
  receivedJournal: [number, number];
  restartMs: number;
  lost: string[];
  problems: string[];
}

/** POSTs (unless told otherwise) as a user of the server; bounded at 10 s. */
function post(url: string, init: Parameters<typeof requestJson>[1] = {}): ReturnType<typeof requestJson> {
  return requestJson(url, { method: 'POST', timeoutMs: 10_000, ...init });
}

function writers(
  base: string,
  domain: string,
  peerDomain: string,
  acks: Acks,
  round: number,
  killed: () => boolean,
  counters: { acks: number; unexpected: string[] },
) {
  const openTokens: Array<{ token: string; inviter: string }> = [];
  const contacts: Array<{ user: typeof EINSTEIN; remoteUserId: string }> = [];
  let serial = 0;
  const ack = () => counters.acks++;
  const guard = async (what: string, fn: () => Promise<boolean>) => {
    while (!killed()) {
      try {
        if (!(await fn())) await new Promise((r) => setTimeout(r, 5));
      } catch (error) {
        if (!killed()) counters.unexpected.push(`${what}: ${(error as Error).message}`);
        return;
      }
    }
  };
  const unexpected = (what: string, response: { status: number; body: unknown }) => {
    if (!killed()) counters.unexpected.push(`${what}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
  };
  const loops: Promise<void>[] = [];
  // invites
  for (let w = 0; w < 2; w++) {
    loops.push(
      guard('generate-invite', async () => {
        const user = USERS[(w + serial++) % 2]!;
        const response = await post(`${base}/sciencemesh/generate-invite`, { user, body: { description: `round ${round}` } });
        if (response.status !== 200) return (unexpected('generate-invite', response), true);
        acks.invites.set(response.body.token, user.id);
        openTokens.push({ token: response.body.token, inviter: user.id });
        ack();
        return true;
      }),
    );
  }
  // invite acceptances by the peer
  for (let w = 0; w < 2; w++) {
    loops.push(
      guard('invite-accepted', async () => {
        const next = openTokens.shift();
        if (!next) return false;
        const remoteUserId = `peer-user-r${round}-${serial++}`;
        const response = await post(`${base}/ocm/invite-accepted`, {
          body: {
            recipientProvider: peerDomain,
            token: next.token,
            userID: remoteUserId,
            email: `${remoteUserId}@peer.example`,
            name: `Peer ${remoteUserId}`,
          },
        });
        if (response.status !== 200) return (unexpected('invite-accepted', response), true);
        acks.acceptances.set(next.token, remoteUserId);
        contacts.push({ user: USERS.find((u) => u.id === next.inviter)!, remoteUserId });
        ack();
        return true;
      }),
    );
  }
  // shares received from the peer
  for (let w = 0; w < 2; w++) {
    loops.push(
      guard('ocm/shares', async () => {
        const providerId = `r${round}-w${w}-${serial++}-${Math.floor(random() * 1e9)}`;
        const user = USERS[serial % 2]!;
        const response = await post(`${base}/ocm/shares`, {
          body: {
            shareWith: `${user.id}@${domain}`,
            name: `file-${providerId}.txt`,
            providerId,
            owner: `owner@${peerDomain}`,
            sender: `sender@${peerDomain}`,
            shareType: 'user',
            resourceType: 'file',
            protocol: {
              name: 'multi',
              webdav: { uri: `http://${peerDomain}/dav/ocm/${providerId}`, sharedSecret: `secret-${providerId}`, permissions: ['read'] },
            },
          },
        });
        if (response.status !== 201) return (unexpected('ocm/shares', response), true);
        acks.received.add(providerId);
        ack();
        return true;
      }),
    );
  }
  // shares sent to the peer over OCS
  loops.push(
    guard('ocs create share', async () => {
      const contact = contacts[Math.floor(random() * contacts.length)];
      if (!contact) return false;
      const response = await post(`${base}${OCS}/shares`, {
        user: contact.user,
        form: {
          shareType: '6',
          path: random() < 0.5 ? '/welcome.txt' : '/project',
          shareWith: contact.remoteUserId,
          shareWithProvider: peerDomain,
          role: 'viewer',
        },
      });
      if (response.status !== 200) return (unexpected('ocs create share', response), true);
      acks.sent.add(response.body.ocs.data.id);
      ack();
      return true;
    }),
  );
  // accept / decline pending received shares
  loops.push(
    guard('ocs accept/decline', async () => {
      const user = USERS[Math.floor(random() * 2)]!;
      const list = await post(`${base}${OCS}/shares?shared_with_me=true&state=1`, { user, method: 'GET' });
      if (list.status !== 200) return (unexpected('ocs list pending', list), true);
      const pending = list.body.ocs.data as Array<{ id: string }>;
      const target = pending[Math.floor(random() * pending.length)];
      if (!target) return false;
      const accept = random() < 0.5;
      const response = await post(`${base}${OCS}/shares/pending/${target.id}`, { user, method: accept ? 'POST' : 'DELETE' });
      if (response.status === 409) return true; // decided meanwhile by nobody else: cannot happen with one loop, tolerated
      if (response.status !== 200) return (unexpected('ocs decide', response), true);
      acks.decisions.set(target.id, accept ? 'accepted' : 'declined');
      ack();
      return true;
    }),
  );
  return loops;
}

async function readCollection<T>(dir: string, name: string): Promise<Map<string, T>> {
  const collection = await JsonCollection.open<T>(dir, name);
  const out = new Map(collection.entries());
  await collection.close();
  return out;
}

/** Every acknowledged write, looked up in a copy of the data dir (the copy may be repaired by opening it). */
async function lostWrites(dataDir: string, work: string, label: string, acks: Acks): Promise<{ lost: string[]; records: number }> {
  const copy = join(work, `copy-${label}`);
  await cp(dataDir, copy, { recursive: true });
  try {
    const invites = await readCollection<InviteRecord>(copy, 'invites');
    const contacts = [...(await readCollection<ContactRecord>(copy, 'contacts')).values()];
    const received = [...(await readCollection<ReceivedShareRecord>(copy, 'received-shares')).values()];
    const sent = await readCollection<SentShareRecord>(copy, 'sent-shares');
    const receivedById = new Map(received.map((r) => [r.id, r]));
    const receivedProviderIds = new Set(received.map((r) => r.providerId));
    const lost: string[] = [];
    for (const [token] of acks.invites) if (!invites.has(token)) lost.push(`invite ${token}`);
    for (const [token, remote] of acks.acceptances) {
      const invite = invites.get(token);
      if (!invite?.acceptedBy || invite.acceptedBy.userId !== remote) lost.push(`acceptance of ${token} by ${remote}`);
      if (!contacts.some((c) => c.remoteUserId === remote && c.localUserId === invite?.userId)) lost.push(`contact ${remote}`);
    }
    for (const providerId of acks.received) if (!receivedProviderIds.has(providerId)) lost.push(`received share ${providerId}`);
    for (const id of acks.sent) if (!sent.has(id)) lost.push(`sent share ${id}`);
    for (const [id, state] of acks.decisions) {
      const share = receivedById.get(id);
      if (share?.state !== state) lost.push(`decision ${state} on ${id} (found ${share?.state ?? 'no share'})`);
    }
    return { lost, records: invites.size + contacts.length + received.length + sent.size };
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

const sizeOf = (acks: Acks) => ({
  invites: acks.invites.size,
  acceptances: acks.acceptances.size,
  received: acks.received.size,
  sent: acks.sent.size,
  decisions: acks.decisions.size,
});

async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'ocm-crash-run-'));
  const dataDir = join(work, 'data');
  const port = await freePort(HOST);
  const peerPort = await freePort(PEER_HOST);
  const base = `http://${HOST}:${port}`;
  const domain = `${HOST}:${port}`;
  const peerDomain = `${PEER_HOST}:${peerPort}`;
  const providersFile = join(work, 'ocmproviders.json');
  await writeFile(providersFile, JSON.stringify([providerEntry('self', base), providerEntry('peer', `http://${peerDomain}`)], null, 2));
  const peer = await startPlainPeer(PEER_HOST, peerPort);
  const args = ['--host', HOST, '--port', String(port), '--data-dir', dataDir, '--providers', providersFile, '--log-level', 'error'];
  const acks: Acks = { invites: new Map(), acceptances: new Map(), received: new Set(), sent: new Set(), decisions: new Map() };
  const rows: RoundRow[] = [];
  const started = Date.now();
  console.log(`crash-run: ${ROUNDS} rounds, seed ${SEED}, server ${base}, peer http://${peerDomain}, data ${dataDir}`);
  const compaction = values.compaction && !values['no-compaction'];
  const compactAfter = Number(values['compact-after']);
  console.log(
    `compaction: ${compaction ? `received-shares journal topped up to ~${compactAfter} lines before each round, so the server writes a snapshot during the load` : 'off'}`,
  );
  console.log(
    'round  kill@ms  acked: inv  acc  recv sent dec   unexp  records  journal  snapshot  rcv-journal  torn  tmp  restart  result',
  );
  let server: ServeProcess | undefined;
  let failed = false;
  try {
    let restartMs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      let filler = 0;
      let linesBefore = 0;
      if (compaction) {
        const { counted } = await effectiveJournalLines(dataDir, 'received-shares');
        filler = Math.max(0, compactAfter - counted - 2 - Math.floor(random() * 25));
        if (filler > 1) await churnJournal(dataDir, filler, { domain, senderDomain: peerDomain, prefix: `filler-r${round}` });
        linesBefore = await journalLineCount(dataDir, 'received-shares');
      }
      const t0 = Date.now();
      try {
        server = await spawnServe(args, 60_000);
      } catch (error) {
        console.log(
          `${String(round).padStart(5)}  the server did not start on the data dir the last kill left: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`,
        );
        failed = true;
        break;
      }
      restartMs = Date.now() - t0;
      const health = await fetch(`${base}/health`)
        .then((r) => r.status)
        .catch(() => 0);
      const before = sizeOf(acks);
      const counters = { acks: 0, unexpected: [] as string[] };
      let killed = false;
      const loops = Promise.all(writers(base, domain, peerDomain, acks, round, () => killed, counters));
      // At least MIN_ACKS acknowledged writes, then a random moment up to 600 ms later.
      for (let i = 0; i < 2_000 && counters.acks < MIN_ACKS; i++) await new Promise((r) => setTimeout(r, 5));
      const extra = Math.floor(random() * 600);
      await new Promise((r) => setTimeout(r, extra));
      const killAfterMs = Date.now() - t0 - restartMs;
      killed = true;
      server.child.kill('SIGKILL');
      await server.stop('SIGKILL');
      await loops;
      const files = await checkDataFiles(dataDir);
      const linesAfter = await journalLineCount(dataDir, 'received-shares');
      const { lost, records } = await lostWrites(dataDir, work, `r${round}`, acks);
      const after = sizeOf(acks);
      const row: RoundRow = {
        round,
        killAfterMs,
        acked: {
          invites: after.invites - before.invites,
          acceptances: after.acceptances - before.acceptances,
          received: after.received - before.received,
          sent: after.sent - before.sent,
          decisions: after.decisions - before.decisions,
        },
        unexpected: counters.unexpected.length,
        records,
        tornTails: files.tornTails.length,
        leftoverTemps: files.leftoverTemps.length,
        journalLines: files.journalLines,
        filler,
        compacted: linesAfter < linesBefore,
        receivedJournal: [linesBefore, linesAfter],
        restartMs,
        lost,
        problems: [
          ...files.problems,
          ...counters.unexpected.slice(0, 5),
          ...(health === 200 ? [] : [`/health answered ${health} after restart`]),
        ],
      };
      rows.push(row);
      const ok = lost.length === 0 && row.problems.length === 0;
      if (!ok) failed = true;
      const a = row.acked;
      console.log(
        `${String(round).padStart(5)}  ${String(killAfterMs).padStart(7)}  ${String(a.invites).padStart(10)} ${String(a.acceptances).padStart(4)} ${String(a.received).padStart(5)} ${String(a.sent).padStart(4)} ${String(a.decisions).padStart(4)}  ${String(row.unexpected).padStart(5)}  ${String(records).padStart(7)}  ${String(row.journalLines).padStart(7)}  ${(row.compacted ? 'written' : '-').padStart(8)} ${`${linesBefore}→${linesAfter}`.padStart(12)}  ${String(row.tornTails).padStart(4)} ${String(row.leftoverTemps).padStart(4)}  ${String(restartMs).padStart(5)}ms  ${ok ? 'ok' : `FAIL: ${[...lost.slice(0, 3), ...row.problems.slice(0, 3)].join('; ')}`}`,
      );
    }
    // A last clean start and stop on the data dir after all the kills.
    if (failed && rows.length < ROUNDS) throw new Error('stopped early');
    server = await spawnServe(args, 60_000);
    const finalHealth = await fetch(`${base}/health`)
      .then((r) => r.status)
      .catch(() => 0);
    if (finalHealth !== 200) failed = true;
    // serve installs its SIGTERM handler just after printing that it listens: give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    const code = await server.stop('SIGTERM');
    const files = await checkDataFiles(dataDir);
    const final = await lostWrites(dataDir, work, 'final', acks);
    const total = sizeOf(acks);
    console.log('');
    console.log(`total acknowledged: ${JSON.stringify(total)} over ${ROUNDS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(
      `final clean stop: exit ${code}; ${files.files} files, ${files.problems.length} problems, ${final.lost.length} lost, ${final.records} records`,
    );
    if (files.leftoverTemps.length > 0)
      console.log(`leftover temp files of interrupted snapshots (not removed at start-up): ${files.leftoverTemps.join(', ')}`);
    if (code !== 0 || files.problems.length > 0 || final.lost.length > 0) failed = true;
    const record = {
      at: new Date().toISOString(),
      seed: SEED,
      rounds: rows,
      total,
      final: { exit: code, problems: files.problems, lost: final.lost, leftoverTemps: files.leftoverTemps },
      ok: !failed,
    };
    await mkdir(dirname(values.json!), { recursive: true });
    await writeFile(values.json!, `${JSON.stringify(record, null, 2)}\n`);
    console.log(
      failed
        ? `crash-run: FAILED (seed ${SEED})`
        : `crash-run: clean — ${ROUNDS} SIGKILLs, nothing acknowledged was lost, every file parsed`,
    );
  } catch (error) {
    console.log(`crash-run: FAILED: ${(error as Error).message}`);
    failed = true;
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await peer.close();
    // A failed run keeps its data dir for a look at what the kills left.
    if (failed) console.log(`data dir kept for inspection: ${dataDir}`);
    else await rm(work, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.exit(await main());
