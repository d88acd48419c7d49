/**
 * Playwright fixtures for the conformance suites, in layers:
 *  - worker scope: the two simulated peers of this worker's pair (the
 *    addresses the target trusts; worker N takes pair N), started once per
 *    worker; a pair that cannot start makes every check of the worker not
 *    run (setup failed), never a target failure;
 *  - test scope: `peer`/`peer2` reset to their defaults, the target handle
 *    with its driver, and `ocm`, a fetch that records a transcript of every
 *    exchange (secrets redacted) and attaches it to the test.
 *
 * `check(ids, title, body)` defines one check: only when one of its
 * requirements applies to the run (profile, capabilities), with the IDs in
 * front of the title, the level as a tag and IDs and spec anchors as
 * annotations. A step the target's driver cannot do, or a step that failed
 * (`StepFailed`, see step.ts), ends the check as not run (a skip with a
 * `not-run` annotation), never as passed or failed. An error of our own code
 * (see `isHarnessError`) is recorded as an `error` annotation: the results
 * report it as a harness error, never as the target's failure.
 */
import { resolveDiscoveryUrl, type DiscoveryUrlField } from './discovery-urls.ts';
import { test as base, expect, type TestInfo } from '@playwright/test';
import type { PeerSimulator } from './peer-simulator.ts';
import { peerTlsEnabled, startPeerPair, type PeerPairSetup } from './peer-pair.ts';
import { forwardToInspector } from './inspect.ts';
import { suiteContext, notApplicableReason, recordGate, runDir, type SuiteContext } from './context.ts';
import { cavageEra } from './cavage.ts';
import { selectionFromEnv } from './selection.ts';
import { createDriver, DriverUnsupported, type Driver } from './drivers.ts';
import { isHarnessError, StepFailed } from './step.ts';
import type { TargetUser } from './target.ts';
import { Transcript } from '../../results/transcript.ts';
import { installTargetTrust, trustFromEnv } from './target-trust.ts';
import { guardTargetLiveness, skipIfTargetStopped } from './liveness.ts';
import { findingsKeepWorker, KEPT_FINDING_NOTE } from './kept-workers.ts';

// run --ca-file / --insecure: every harness request of this worker trusts the target the same way.
installTargetTrust(trustFromEnv());

export interface TargetHandle {
  context: SuiteContext;
  /** Origin of the target, e.g. http://127.0.0.2:8080. */
  origin: string;
  /** host[:port] of the target. */
  domain: string;
  /** The target's OCM endPoint from its discovery (falls back to `<origin>/ocm`). */
  endPoint: string;
  discovery: Record<string, any> | undefined;
  driver: Driver;
  users: TargetUser[];
  /** The first local user, who owns the shared resources. */
  user: TargetUser;
  /** A second local user, when configured. */
  user2: TargetUser | undefined;
}

interface WorkerFixtures {
  peerSetup: PeerPairSetup;
}

/**
 * The simulated peers could not start (an address in use...): our failure,
 * so each test that needs them records a harness error and stops.
 */
interface TestFixtures {
  peers: [PeerSimulator, PeerSimulator];
  peer: PeerSimulator;
  peer2: PeerSimulator;
  target: TargetHandle;
  ocm: Transcript;
  /**
   * `target`, `peer`, `peer2` and `ocm` set up as one fixture, for `check()`:
   * each fixture is a step the runner records with a captured stack, at set-up
   * and at teardown, which costs more than most checks themselves.
   */
  checkFixtures: CheckFixtures;
  /** Automatic: skips checks while the target is down, and judges whether it stopped answering during one (liveness.ts). */
  liveness: void;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  peerSetup: [
    async ({}, use, workerInfo) => {
      const context = suiteContext();
      const pairs = context.target.peers;
      const pair = pairs[workerInfo.parallelIndex];
      if (!pair) {
        // Two workers on one pair would collide on its addresses: more workers than pairs is a setup error.
        await use({
          failure: `setup failed: worker ${workerInfo.parallelIndex + 1} has no peer pair of its own (${pairs.length} configured); run with --workers ${pairs.length}`,
        });
        return;
      }
      const setup = await startPeerPair(pair, {
        tls: peerTlsEnabled(context.target),
        targetOrigin: context.target.baseUrl,
        // A 1.2-era target (profile 1.2, or a legacy publicKey in its discovery) meets 1.2-era peers: cavage keys and signatures.
        cavage: cavageEra(context.profile, context.discovery),
        runDir: runDir(),
        beforeStart: (peers) => forwardToInspector(peers, workerInfo.parallelIndex),
      });
      await use(setup);
      if ('peers' in setup) await Promise.all(setup.peers.map((p) => p.stop()));
    },
    { scope: 'worker' },
  ],
  peers: async ({ peerSetup }, use, testInfo) => {
    await use(startedPeers(peerSetup, testInfo));
  },
  peer: async ({ peers }, use) => {
    peers[0].reset();
    await use(peers[0]);
  },
  peer2: async ({ peers }, use) => {
    peers[1].reset();
    await use(peers[1]);
  },
  target: async ({ peers }, use) => {
    await use(targetHandle(peers));
  },
  ocm: async ({ peers }, use, testInfo) => {
    const transcript = new Transcript();
    await use(transcript);
    await attachTranscript(testInfo, transcript, receivedBy(peers));
  },
  checkFixtures: async ({ peerSetup }, use, testInfo) => {
    // The same set-up as the fixtures above, in their order: peers, peer, peer2, target, ocm.
    const peers = startedPeers(peerSetup, testInfo);
    peers[0].reset();
    peers[1].reset();
    const target = targetHandle(peers);
    const ocm = new Transcript();
    await use({ target, peer: peers[0], peer2: peers[1], ocm });
    await attachTranscript(testInfo, ocm, receivedBy(peers));
  },
  liveness: [
    async ({}, use, testInfo) => {
      // Set up first: while the target is down the check ends here, before its peers and driver are set up.
      await guardTargetLiveness({ dir: runDir(), baseUrl: suiteContext().target.baseUrl }, use, testInfo);
    },
    { auto: true },
  ],
});

/** This worker's peers; when they could not start, a harness error (ours, not the target's), never a failed or passed requirement. */
function startedPeers(peerSetup: PeerPairSetup, testInfo: TestInfo): [PeerSimulator, PeerSimulator] {
  if ('failure' in peerSetup) {
    const message = `the simulated peers could not start: ${peerSetup.failure.replace(/^setup failed: /, '')}`;
    testInfo.annotations.push({ type: 'error', description: message });
    throw new Error(message);
  }
  return peerSetup.peers;
}

function targetHandle(peers: [PeerSimulator, PeerSimulator]): TargetHandle {
  const context = suiteContext();
  const users = 'users' in context.target.driver ? context.target.driver.users : [];
  // A relative endPoint is DISC-4's finding; the checks use its one reading (or <origin>/ocm when there is none).
  const advertised = resolveDiscoveryUrl(context.discovery, 'endPoint', context.target.baseUrl);
  const endPoint = 'url' in advertised ? advertised.url.replace(/\/+$/, '') : `${context.target.baseUrl}/ocm`;
  const driver = createDriver(context.target, async (suffix, timeoutMs) => peers[0].waitFor(suffix, 'POST', timeoutMs));
  return {
    context,
    origin: context.target.baseUrl,
    domain: context.domain,
    endPoint,
    discovery: context.discovery,
    driver,
    users,
    user: users[0] ?? { username: '', password: '', id: '' },
    user2: users[1],
  };
}

/** What the peers received during the check, for its transcript. */
function receivedBy(peers: [PeerSimulator, PeerSimulator]): unknown[] {
  return [...peers[0].requests, ...peers[1].requests].map((r) => ({
    peer: r.headers.host,
    method: r.method,
    url: r.url,
    headers: r.headers,
    body: r.body ?? (r.rawBody.length ? r.rawBody.toString('utf8').slice(0, 4000) : undefined),
    signature: r.signature.status,
    ...(r.inspectorId ? { exchangeId: r.inspectorId } : {}),
  }));
}

async function attachTranscript(testInfo: TestInfo, transcript: Transcript, received: unknown[]): Promise<void> {
  const body = transcript.redactJson({ sent: transcript.exchanges, receivedByPeers: received });
  if (transcript.exchanges.length === 0 && received.length === 0) return;
  await testInfo.attach('transcript', { body, contentType: 'application/json' });
}

export { expect };

export interface CheckDetails {
  tag: string[];
  annotation: Array<{ type: string; description: string }>;
}

/** Tags and annotations for a check of `ids`. */
export function requirementDetails(ids: string[]): CheckDetails {
  const context = suiteContext();
  const tags = new Set<string>();
  const annotation: CheckDetails['annotation'] = [];
  for (const id of ids) {
    const requirement = context.selected.get(id) ?? context.catalogue.byId.get(id);
    if (!requirement) throw new UnknownRequirement(id, callerLocation());
    tags.add(`@${requirement.strength}`);
    tags.add(`@${requirement.area}`);
    annotation.push({ type: 'requirement', description: id });
    annotation.push({ type: 'level', description: `${id} ${'level' in requirement ? requirement.level : ''}` });
    annotation.push({ type: 'spec', description: `${id} ${requirement.section}` });
  }
  return { tag: [...tags], annotation };
}

/** A check names a requirement ID the catalogue does not have: the suite file fails to load, naming the file and the ID. */
export class UnknownRequirement extends Error {
  constructor(
    readonly id: string,
    readonly source: string | undefined,
  ) {
    super(`${source ?? 'a suite file'} names requirement ${id}, which is not in the catalogue (fixtures/requirements.yaml)`);
    this.name = 'UnknownRequirement';
  }
}

export interface CheckFixtures {
  target: TargetHandle;
  peer: PeerSimulator;
  peer2: PeerSimulator;
  ocm: Transcript;
}

type CheckBody = (fixtures: CheckFixtures, testInfo: TestInfo) => Promise<void>;

export interface CheckOptions {
  /**
   * A reason the check does not apply to this target, judged from what it is
   * (its discovery document, its config) when the suites load; the results
   * then report the requirement as not applicable with that reason.
   */
  unless?(context: SuiteContext): string | undefined;
}

/**
 * Defines a check of the requirements `ids` when at least one applies.
 * The body may throw `DriverUnsupported`: the check is then not run.
 */
export function check(ids: string[], title: string, body: CheckBody, options: CheckOptions = {}): void {
  // Every ID must be in the catalogue, whatever this run selects: a typo fails the file at load, never silently.
  const catalogue = suiteContext().catalogue.byId;
  for (const id of ids) if (!catalogue.has(id)) throw new UnknownRequirement(id, callerLocation());
  // `run --only/--preset`: the other requirements' checks are not defined at all.
  const only = selectionFromEnv();
  const applicable = ids.filter((id) => (!only || only.has(id)) && notApplicableReason(id) === undefined);
  if (applicable.length === 0) return;
  const unless = options.unless?.(suiteContext());
  if (unless) {
    recordGate(applicable, unless);
    return;
  }
  const details = requirementDetails(applicable);
  // Playwright places the test where `test()` is called (here); record the check's own file:line:column for the reports.
  const source = callerLocation();
  if (source) details.annotation.push({ type: 'source', description: source });
  // Playwright reads the fixture names from the destructuring pattern: one fixture holds them all (see checkFixtures).
  test(`${applicable.join(' ')} ${title}`, details, async ({ checkFixtures }, testInfo) => {
    try {
      await body(checkFixtures, testInfo);
    } catch (error) {
      await skipIfTargetStopped(error); // a check the target's crash ended is not run, not failed (liveness.ts)
      if (error instanceof DriverUnsupported || error instanceof StepFailed) {
        testInfo.annotations.push({ type: 'not-run', description: error.message });
        test.skip(true, `not run: ${error.message}`);
      }
      // Ours, not the target's: the results say `error` (the stack stays in Playwright's output).
      if (isHarnessError(error)) testInfo.annotations.push({ type: 'error', description: harnessErrorText(error) });
      // A finding: the check still fails (its status says so), but Playwright keeps the worker (kept-workers.ts).
      else if (findingsKeepWorker()) test.fail(true, KEPT_FINDING_NOTE);
      throw error;
    }
  });
}

/** A harness error in one line: its class, message and the first frame of ours (where to look). */
function harnessErrorText(error: unknown): string {
  const e = error as Error;
  const frame = e?.stack
    ?.split('\n')
    .find((line) => /^\s+at /.test(line) && !line.includes('node_modules') && !line.includes('node:'))
    ?.trim()
    .replace(/^at /, '')
    .replace(/^.*?\((.*)\)$/, '$1')
    .replace(/^(?:file:\/\/)?.*?\/((?:suites|results|reports|cli|certs)\/)/, '$1');
  return `${e?.name ?? 'Error'}: ${String(e?.message ?? error).split('\n')[0]}${frame ? ` (at ${frame})` : ''}`;
}

/** Ends the current check as not run, with a reason (a missing driver step, a missing target user...). */
export function notRun(reason: string): never {
  test.info().annotations.push({ type: 'not-run', description: reason });
  test.skip(true, `not run: ${reason}`);
  throw new Error('unreachable');
}

/**
 * The absolute URL of a discovery field the check calls (see
 * discovery-urls.ts): a relative path is resolved against the discovery
 * origin and noted on the check; a value with no single reading ends the
 * check as not run. Never throws a TypeError on a bad value.
 */
export function discoveryUrl(target: TargetHandle, field: DiscoveryUrlField): string {
  const resolved = resolveDiscoveryUrl(target.discovery, field, target.origin);
  if ('unusable' in resolved) notRun(resolved.unusable);
  if (resolved.note) test.info().annotations.push({ type: 'note', description: resolved.note });
  return resolved.url;
}

/** Fails unless the driver can do `actions`; use at the start of a check. */
export function needDriver(target: TargetHandle, ...actions: Parameters<Driver['supports']>[0][]): void {
  for (const action of actions) if (!target.driver.supports(action)) notRun(`the ${target.driver.kind} driver cannot ${action}`);
}

/** Where the suite file called `check()`: `suites/<area>/<file>.spec.ts:line:column`, relative to the project root. */
function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n') ?? [];
  for (const line of stack) {
    const match = /(?:file:\/\/)?(\/[^():]*\/suites\/[^():]+\.spec\.ts)(?::(\d+):(\d+))?/.exec(line);
    if (!match) continue;
    const file = match[1]!.slice(match[1]!.indexOf('/suites/') + 1);
    return match[2] ? `${file}:${match[2]}:${match[3]}` : file;
  }
  return undefined;
}
