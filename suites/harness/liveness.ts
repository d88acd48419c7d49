/**
 * Target liveness (decisions/0015): a target that stops answering mid-run is
 * a finding of its own (ROB-10), never a pile of unrelated failures, and no
 * check passes from what it read before the crash.
 *
 *  - Every check is watched: a fetch of this worker that fails at the network
 *    level (refused, reset, closed, timed out) starts a probe of the target's
 *    discovery URL at once; a check that failed with such an error or timed
 *    out is probed when it ends. A probe is bounded (PROBE: a few tries, short
 *    timeouts); any HTTP answer, an error status included, means "answering".
 *  - When the target does not answer, the first worker to notice writes
 *    `target-down.json` in the run's folder (created exclusively, so there is
 *    one), and the check it watched gets a `target-stopped` annotation:
 *    "the target stopped answering during <title> (at <time>)". The results
 *    file it as a failure of ROB-10 (results/model.ts).
 *  - Every check that starts while the marker exists is skipped at once with
 *    a `target-down` annotation (not-run: "the target is down"); a check that
 *    overlapped the outage is not-run too, whatever it concluded: its pass
 *    may rest on data read before the crash, its failure on the crash itself.
 *    So the rest of the run takes seconds.
 *  - At most every RECHECK_MS one starting check probes again; when the
 *    target answers (a supervisor restarted it) the marker is retired, the
 *    check carries a `target-back` annotation and the run carries on.
 *  - A connection the target's own address refused during a check means the
 *    target was not listening, even if it answers again by the time we ask:
 *    that check is not-run and the restart is recorded like a stop.
 *
 * Every event also goes to `liveness.jsonl` in the run folder, which
 * `ocm-conformance run` reads for its `liveness:` lines.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// A type only at load: `run` reads the liveness log in its own process, which need not load the test runner (half a second).
import type { TestInfo } from '@playwright/test';
import { TARGET_BACK_ANNOTATION, TARGET_DOWN_ANNOTATION, TARGET_STOPPED_ANNOTATION } from '../../results/model.ts';

export const TARGET_DOWN_FILE = 'target-down.json';
export const LIVENESS_LOG_FILE = 'liveness.jsonl';
/** Probes in flight (one file each): checks that end meanwhile wait for the verdict. */
const SUSPECT_DIR = 'liveness-suspects';

/** How the target is probed after a network failure: at most tries × timeoutMs + (tries − 1) × gapMs (7 s). */
export const PROBE = { tries: 3, timeoutMs: 2000, gapMs: 500 };
/** While the target is down, a starting check probes again (once, 1 s) at most this often. */
export const RECHECK_MS = 1000;
const RECHECK_PROBE = { tries: 1, timeoutMs: 1000, gapMs: 0 };
/** How long a check waits for another worker's probe to conclude (longer than a whole probe). */
const SUSPECT_WAIT_MS = 9000;

export interface ProbeOptions {
  tries: number;
  timeoutMs: number;
  gapMs: number;
}

export type ProbeResult =
  | { answering: true; status: number; at: string }
  | { answering: false; reason: string; at: string; firstFailedAt: string };

/**
 * The harness's own fetch without the watch (probes must not watch
 * themselves): the one the watch wrapped, else whatever fetch is current.
 * Read at call time, never at import: `installTargetTrust` replaces the
 * global fetch with one that trusts the target's CA (`--ca-file`,
 * `--insecure`), and a probe without that trust would call a TLS target dead.
 */
let unwatchedFetch: typeof fetch | undefined;
const plainFetch: typeof fetch = (input, init) => (unwatchedFetch ?? globalThis.fetch)(input, init);

/** GET `url` until it answers: any HTTP status is an answer. Bounded by `options`. */
export async function probeTarget(url: string, options: ProbeOptions = PROBE): Promise<ProbeResult> {
  let reason = 'not probed';
  let firstFailedAt: string | undefined;
  for (let attempt = 1; attempt <= options.tries; attempt++) {
    const tried = new Date().toISOString();
    try {
      const response = await plainFetch(url, { redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
      await response.body?.cancel().catch(() => undefined);
      return { answering: true, status: response.status, at: new Date().toISOString() };
    } catch (error) {
      reason = networkFailure(error) ?? String((error as Error).message);
      if ((error as Error).name === 'TimeoutError') reason = `no answer within ${options.timeoutMs} ms`;
      firstFailedAt ??= tried;
    }
    if (attempt < options.tries) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
  }
  return {
    answering: false,
    reason: `${reason} (${options.tries} ${options.tries === 1 ? 'try' : 'tries'})`,
    at: new Date().toISOString(),
    firstFailedAt: firstFailedAt ?? new Date().toISOString(),
  };
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNABORTED|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CLOSED|ERR_SOCKET_CONNECTION_TIMEOUT)$/;
const NETWORK_TEXT =
  /fetch failed|connection closed without an answer|no answer and no close|other side closed|socket hang up|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|UND_ERR_|no answer within|operation was aborted|aborted due to timeout|TimeoutError|^TypeError: terminated|\bterminated\b.*socket/i;

/**
 * A short description of a network-level failure ("fetch failed (ECONNREFUSED)",
 * "no answer within 5000 ms"), or undefined when `error` is something else
 * (an assertion, a bug, an HTTP answer the check did not like).
 */
export function networkFailure(error: unknown): string | undefined {
  const code = errorCode(error);
  const name = (error as Error | undefined)?.name;
  const message = typeof error === 'string' ? error : String((error as Error | undefined)?.message ?? '');
  if (name === 'TimeoutError' || name === 'AbortError') return message || name;
  const first = message.split('\n')[0]!.slice(0, 200);
  if (code && NETWORK_CODES.test(code)) return `${first} (${code})`;
  if (!NETWORK_TEXT.test(message)) return undefined;
  // undici says "fetch failed" and keeps the socket's own words ("other side closed") in its cause.
  const cause = (error as { cause?: { message?: unknown } } | undefined)?.cause?.message;
  return typeof cause === 'string' && cause && !first.includes(cause) ? `${first} (${cause.slice(0, 100)})` : first;
}

/** Whether a failure means nothing was listening (as opposed to a connection the target cut). */
export function isRefused(error: unknown): boolean {
  return errorCode(error) === 'ECONNREFUSED' || /ECONNREFUSED/.test(String((error as Error | undefined)?.message ?? ''));
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

// ---------------------------------------------------------------- the run's liveness record

/** One line of liveness.jsonl. */
export type LivenessEvent =
  | { event: 'stopped'; during: string; since: string; at: string; firstFailedProbeAt: string; reason: string }
  | { event: 'run-stopped'; at: string; downSince: string }
  | { event: 'back'; at: string; downSince: string };

interface DownMarker {
  during: string;
  /** When the first probe that failed was sent: the run stops STOP_AFTER_MS later unless the target answers again. */
  firstFailedProbeAt: string;
  /** When the first network failure that led to the verdict happened. */
  since: string;
  /** When the probe concluded the target does not answer. */
  at: string;
  reason: string;
  /** When it was last probed (re-probed at most every RECHECK_MS). */
  probedAt: string;
}

export function readTargetDown(dir: string): DownMarker | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, TARGET_DOWN_FILE), 'utf8')) as DownMarker;
  } catch {
    return undefined;
  }
}

export function readLivenessEvents(dir: string): LivenessEvent[] {
  const file = join(dir, LIVENESS_LOG_FILE);
  if (!existsSync(file)) return [];
  const events: LivenessEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as LivenessEvent);
    } catch {
      // a torn line of a worker that died: ignore
    }
  }
  return events;
}

function logEvent(dir: string, event: LivenessEvent): void {
  appendFileSync(join(dir, LIVENESS_LOG_FILE), `${JSON.stringify(event)}\n`);
}

/** Records that the target stopped answering; true when this call recorded it (the marker did not exist yet). */
export function markTargetDown(dir: string, stop: Omit<DownMarker, 'probedAt'>): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, TARGET_DOWN_FILE), JSON.stringify({ ...stop, probedAt: stop.at }), { flag: 'wx' });
  } catch {
    return false;
  }
  logEvent(dir, { event: 'stopped', ...stop });
  return true;
}

/** Retires the marker (the target answers again); true when this call retired it. */
export function markTargetBack(dir: string, at: string): boolean {
  const down = readTargetDown(dir);
  if (!down) return false;
  try {
    renameSync(join(dir, TARGET_DOWN_FILE), join(dir, `target-down.${Date.now()}.${process.pid}.json`));
  } catch {
    return false; // another worker retired it first
  }
  logEvent(dir, { event: 'back', at, downSince: down.since });
  return true;
}

/** Outages as [since, until] in ms (until = now while the target is still down). */
export function outages(dir: string, now = Date.now()): Array<{ since: number; until: number; during: string }> {
  const result: Array<{ since: number; until: number; during: string }> = [];
  for (const event of readLivenessEvents(dir)) {
    if (event.event === 'stopped') result.push({ since: Date.parse(event.since), until: now, during: event.during });
    else if (event.event === 'back') {
      const open = result.findLast((o) => o.until === now && o.since === Date.parse(event.downSince));
      if (open) open.until = Date.parse(event.at);
    }
  }
  return result;
}

function downReason(down: Pick<DownMarker, 'at'>): string {
  return `the target is down (it stopped answering at ${down.at})`;
}

async function waitForSuspects(dir: string): Promise<void> {
  const folder = join(dir, SUSPECT_DIR);
  const deadline = Date.now() + SUSPECT_WAIT_MS;
  while (Date.now() < deadline) {
    let pending: string[];
    try {
      pending = readdirSync(folder);
    } catch {
      return;
    }
    if (pending.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------- watching one check

interface Failure {
  at: number;
  what: string;
  refusedByTarget: boolean;
}

/** The check this worker runs now (a worker runs one at a time). */
let current: CheckWatch | undefined;

class CheckWatch {
  readonly started = Date.now();
  readonly failures: Failure[] = [];
  readonly probes: Array<Promise<void>> = [];
  /** Set when a probe of this check found the target down and recorded it. */
  recordedStop: { sentence: string } | undefined;
  private probing = false;

  constructor(
    readonly dir: string,
    readonly title: string,
    readonly discoveryUrl: string,
  ) {}

  noteFailure(error: unknown, url: string | undefined): void {
    const what = networkFailure(error);
    if (!what) return;
    const refusedByTarget =
      isRefused(error) && (url !== undefined ? sameOrigin(url, this.discoveryUrl) : namesAddressOf(error, this.discoveryUrl));
    const failure: Failure = { at: Date.now(), what, refusedByTarget };
    this.failures.push(failure);
    // One probe at a time: a check that sends many doomed requests (hostile input) asks once per verdict.
    if (this.probing) return;
    this.probing = true;
    this.probes.push(this.probe(failure).finally(() => (this.probing = false)));
  }

  /** Probes now; records the stop when the target does not answer. */
  async probe(failure: Failure): Promise<void> {
    if (readTargetDown(this.dir)) return;
    const suspect = join(this.dir, SUSPECT_DIR, `${process.pid}-${failure.at}-${this.probes.length}`);
    try {
      mkdirSync(join(this.dir, SUSPECT_DIR), { recursive: true });
      writeFileSync(suspect, this.title);
    } catch {
      // without a run folder there is nobody to tell
    }
    try {
      const result = await probeTarget(this.discoveryUrl);
      if (result.answering) return;
      const since = new Date(failure.at).toISOString();
      const sentence = `the target stopped answering during ${this.title} (at ${result.at})`;
      const stop = { during: this.title, since, at: result.at, firstFailedProbeAt: result.firstFailedAt };
      if (markTargetDown(this.dir, { ...stop, reason: `${failure.what}; probe: ${result.reason}` })) this.recordedStop = { sentence };
    } finally {
      rmSync(suspect, { force: true });
    }
  }
}

/** Whether a socket error names the target's own host:port (`connect ECONNREFUSED 127.0.0.2:8080`, or its address and port fields). */
function namesAddressOf(error: unknown, url: string): boolean {
  try {
    const { hostname, port, protocol } = new URL(url);
    const hostPort = `${hostname}:${port || (protocol === 'https:' ? '443' : '80')}`;
    let current: unknown = error;
    for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
      const { address, port: errorPort, message } = current as { address?: unknown; port?: unknown; message?: unknown };
      if (`${address}:${errorPort}` === hostPort || (typeof message === 'string' && message.includes(hostPort))) return true;
      current = (current as { cause?: unknown }).cause;
    }
  } catch {
    // not a URL: nothing to compare
  }
  return false;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

let fetchWrapped = false;

/** Every fetch of this worker reports its network failures to the check it runs (installed once). */
function watchFetch(): void {
  if (fetchWrapped) return;
  fetchWrapped = true;
  const original = globalThis.fetch;
  unwatchedFetch = original;
  globalThis.fetch = async function watchedFetch(input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) {
    try {
      return await original(input, init);
    } catch (error) {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : (input as Request).url;
      current?.noteFailure(error, url);
      throw error;
    }
  } as typeof fetch;
}

type Annotation = { type: string; description: string };

function annotate(testInfo: TestInfo, annotation: Annotation): void {
  testInfo.annotations.push(annotation);
}

/**
 * The automatic fixture around every check (suites/harness/fixtures.ts):
 * skips it at once while the target is down, watches it while it runs, and
 * judges afterwards whether the target stopped answering meanwhile.
 */
export async function guardTargetLiveness(
  target: { dir: string; baseUrl: string },
  use: () => Promise<void>,
  testInfo: TestInfo,
): Promise<void> {
  const { dir } = target;
  const discoveryUrl = `${target.baseUrl}/.well-known/ocm`;
  watchFetch();
  await waitForSuspects(dir);
  const down = readTargetDown(dir);
  if (down) {
    const back = Date.now() - Date.parse(down.probedAt) >= RECHECK_MS ? await recheck(dir, down, discoveryUrl) : undefined;
    if (!back) {
      const reason = downReason(down);
      annotate(testInfo, { type: TARGET_DOWN_ANNOTATION, description: reason });
      testInfo.skip(true, `not run: ${reason}`);
      return;
    }
    annotate(testInfo, { type: TARGET_BACK_ANNOTATION, description: back });
    console.log(`liveness: ${back}`);
  }
  const watch = new CheckWatch(dir, testInfo.title, discoveryUrl);
  current = watch;
  try {
    await use();
  } finally {
    current = undefined;
  }
  // A failure outside fetch (a body cut mid-read, a raw socket, a timeout of the whole check) is probed now.
  const thrown = [...testInfo.errors, ...(testInfo.error ? [testInfo.error] : [])];
  const notRunReasons = testInfo.annotations.filter((a) => a.type === 'not-run').map((a) => a.description ?? '');
  const evidence =
    testInfo.status === 'timedOut' ||
    thrown.some((e) => networkFailure({ message: `${e.message ?? ''}\n${e.value ?? ''}` }) !== undefined) ||
    notRunReasons.some((r) => networkFailure(r) !== undefined);
  if (evidence) {
    const what = testInfo.status === 'timedOut' ? 'the check timed out' : 'the check ended with a network failure';
    watch.probes.push(watch.probe({ at: watch.started, what, refusedByTarget: false }));
  }
  await Promise.all(watch.probes);
  await waitForSuspects(dir);
  judgeCheck(watch, testInfo);
}

/** Whether the watched check overlapped an outage, and what it then reports. */
function judgeCheck(watch: CheckWatch, testInfo: TestInfo): void {
  const now = Date.now();
  if (watch.recordedStop) {
    annotate(testInfo, { type: TARGET_STOPPED_ANNOTATION, description: watch.recordedStop.sentence });
    testInfo.skip(true, `not run: ${watch.recordedStop.sentence}`);
    return;
  }
  const overlapping = outages(watch.dir, now).find((o) => o.since <= now && o.until >= watch.started);
  if (overlapping) {
    const down = readTargetDown(watch.dir);
    const reason = down
      ? downReason(down)
      : `the target stopped answering while this check ran (at ${new Date(overlapping.since).toISOString()})`;
    annotate(testInfo, { type: TARGET_DOWN_ANNOTATION, description: reason });
    testInfo.skip(true, `not run: ${reason}`);
    return;
  }
  // Refused by the target's own address, yet answering now: it was restarted while this check ran.
  const refused = watch.failures.find((f) => f.refusedByTarget);
  if (refused) {
    const since = new Date(refused.at).toISOString();
    const at = new Date(now).toISOString();
    const sentence = `the target stopped answering during ${watch.title} (at ${since})`;
    const stop = { during: watch.title, since, at: since, firstFailedProbeAt: since };
    if (markTargetDown(watch.dir, { ...stop, reason: `${refused.what}; it answers again` })) markTargetBack(watch.dir, at);
    annotate(testInfo, { type: TARGET_STOPPED_ANNOTATION, description: sentence });
    annotate(testInfo, { type: TARGET_BACK_ANNOTATION, description: `the target answers again (at ${at})` });
    testInfo.skip(true, `not run: ${sentence}`);
  }
}

/**
 * For a check's `catch` (fixtures.ts, `check()`): when the error came from
 * the target going down, the check ends here as not run (a skip, so
 * Playwright keeps its worker instead of restarting it after a failure) and
 * the liveness fixture files the stop. Any other error is left alone.
 */
export async function skipIfTargetStopped(error: unknown): Promise<void> {
  const watch = current;
  if (!watch) return;
  const network = networkFailure(error) !== undefined;
  if (!network && !readTargetDown(watch.dir)) return;
  // A body cut mid-read fails outside fetch: probe for it too.
  if (network && watch.probes.length === 0) watch.noteFailure(error, undefined);
  await Promise.all(watch.probes);
  await waitForSuspects(watch.dir);
  const now = Date.now();
  // Refused by the target's own address: it was not listening, even if it answers again now (judged in the fixture).
  const stopped =
    watch.recordedStop?.sentence ??
    outages(watch.dir, now).find((o) => o.until >= watch.started)?.during ??
    (watch.failures.some((f) => f.refusedByTarget) ? watch.title : undefined);
  if (!stopped) return;
  const { test } = await import('@playwright/test'); // loaded already in a worker
  test.skip(true, `not run: the target stopped answering (during ${stopped})`);
}

/** One quick probe while the target is down; the `target-back` sentence when it answers again. */
async function recheck(dir: string, down: DownMarker, discoveryUrl: string): Promise<string | undefined> {
  const result = await probeTarget(discoveryUrl, RECHECK_PROBE);
  if (!result.answering) {
    try {
      const file = join(dir, TARGET_DOWN_FILE);
      const next = `${file}.${process.pid}.tmp`;
      writeFileSync(next, JSON.stringify({ ...down, probedAt: result.at }));
      renameSync(next, file);
    } catch {
      // retired meanwhile: the next check reads the new state
    }
    return undefined;
  }
  markTargetBack(dir, result.at);
  return `the target answers again (at ${result.at}; it stopped answering at ${down.at})`;
}

/** The run stops this long after the first failed probe when the target has not answered again (decisions/0015). */
export const STOP_AFTER_MS = 10_000;

/**
 * Runs in Playwright's runner process (the global setup): once the target has
 * not answered for STOP_AFTER_MS since the first failed probe, it stops the
 * run the way Ctrl-C does (SIGINT to the runner itself): the check in flight
 * is interrupted, the checks not started stay without a result, and every
 * report is still written. Re-probes in the meantime give a restarted target
 * its chance. Returns the function that stops watching.
 */
export function stopRunWhenTargetStaysDown(
  dir: string,
  baseUrl: string,
  stop: () => void = () => process.kill(process.pid, 'SIGINT'),
): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    const down = readTargetDown(dir);
    if (busy || !down || Date.now() - Date.parse(down.firstFailedProbeAt) < STOP_AFTER_MS) return;
    busy = true;
    // A last chance (the checks in flight may not have asked for a while): one quick probe.
    const back = await recheck(dir, down, `${baseUrl}/.well-known/ocm`);
    busy = false;
    if (back) {
      console.log(`liveness: ${back}`);
      return;
    }
    clearInterval(timer);
    logEvent(dir, { event: 'run-stopped', at: new Date().toISOString(), downSince: down.since });
    console.log(`liveness: the target has not answered since ${down.at}: stopping the run (the checks left are not run)`);
    stop();
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

/** `liveness:` lines for the end of a run: each stop (with how long the run went on after it) and each return. */
export function livenessLines(dir: string, runEnded = Date.now()): { lines: string[]; stopped: boolean; downReason?: string } {
  const lines: string[] = [];
  const events = readLivenessEvents(dir);
  for (const [i, event] of events.entries()) {
    const cameBack = events.slice(i + 1).some((e) => e.event === 'back');
    if (event.event === 'stopped' && cameBack)
      lines.push(`the target stopped answering during ${event.during} (at ${event.at}; ${event.reason})`);
    else if (event.event === 'stopped')
      lines.push(
        `the target stopped answering during ${event.during} (at ${event.at}; ${event.reason}); the run ended ${((runEnded - Date.parse(event.firstFailedProbeAt ?? event.at)) / 1000).toFixed(1)} s after the first failed probe`,
      );
    else if (event.event === 'back') lines.push(`the target answers again (at ${event.at}; down since ${event.downSince})`);
    else lines.push(`the run was stopped at ${event.at}: the target did not answer again; the checks left are not run`);
  }
  const down = readTargetDown(dir);
  return { lines, stopped: events.some((e) => e.event === 'stopped'), ...(down ? { downReason: downReason(down) } : {}) };
}
