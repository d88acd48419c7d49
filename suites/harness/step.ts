/**
 * Steps versus assertions. Anything a check does to get ready (a driver
 * action, an invite, a share the peer sends first, reading discovery) is a
 * step; only the assertion under test may fail a requirement. A step that
 * fails (a status it needed but did not get, a network error, a driver
 * error) throws `StepFailed`, which `check()` (fixtures.ts) reports as
 * not-run with the reason `setup failed: <step>: <status> <message>`.
 *
 * Where a step's failure is itself a protocol violation (the same invite
 * token handed out twice), the requirement it breaks has its own check; the
 * step never fails someone else's requirement.
 *
 * This module imports nothing of the harness, so the drivers can extend
 * `StepFailed` without a cycle.
 */

/** A step of a check failed: the check did not run (never a target failure). */
export class StepFailed extends Error {
  /**
   * @param steps  the step and, outermost first, the steps it was part of
   * @param status the HTTP status the step got, or what stood for one ("network error")
   * @param detail what the step got instead of what it needed
   */
  constructor(
    readonly steps: readonly string[],
    readonly status: number | string | undefined,
    readonly detail: string,
  ) {
    super(`setup failed: ${[...steps, [status, detail].filter((part) => part !== undefined && part !== '').join(' ')].join(': ')}`);
    this.name = 'StepFailed';
  }

  /** The same failure, reported as part of an outer step. */
  within(outer: string): StepFailed {
    return new StepFailed([outer, ...this.steps], this.status, this.detail);
  }
}

/** An HTTP answer as the harness records it (results/transcript.ts's Answer has these). */
export interface StepAnswer {
  status: number;
  text: string;
}

const DETAIL_CHARS = 300;

/** The message of an error, one line, bounded; a network error names its cause (ECONNREFUSED, other side closed...). */
function oneLine(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  const message = String(e?.message ?? error)
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s+at /.test(line))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return (cause && !message.includes(cause) ? `${message} (${cause})` : message).slice(0, DETAIL_CHARS);
}

/** A Playwright `expect` failure (its errors carry `matcherResult`). */
export function isAssertionError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'matcherResult' in error;
}

/** Playwright's own skip (`test.skip()`, `notRun()`): not a failure of anything. */
export function isSkip(error: unknown): boolean {
  const e = error as { constructor?: { name?: string }; message?: string };
  return e?.constructor?.name === 'TestSkipError' || (typeof e?.message === 'string' && e.message.startsWith('Test is skipped:'));
}

/** A network-level failure of a request (fetch failed, refused, reset, timed out): about the other side, not our code. */
export function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return true;
  if (e instanceof TypeError && /^fetch failed/.test(e.message)) return true;
  const code = e?.code ?? e?.cause?.code;
  return (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(code)
  );
}

/**
 * An error of ours, not the target's: a JavaScript error thrown outside an
 * assertion (TypeError, ReferenceError, RangeError, SyntaxError...) or a
 * failed system call of ours such as binding a peer (EADDRINUSE). A plain
 * `Error` a check throws on purpose states a finding and is not one of these;
 * nor is a network error talking to the target.
 */
export function isHarnessError(error: unknown): boolean {
  if (error instanceof StepFailed || isAssertionError(error) || isSkip(error) || isNetworkError(error)) return false;
  if (
    error instanceof TypeError ||
    error instanceof ReferenceError ||
    error instanceof RangeError ||
    error instanceof SyntaxError ||
    error instanceof EvalError ||
    error instanceof URIError
  )
    return true;
  const e = error as { syscall?: unknown; code?: unknown };
  return (
    typeof e?.syscall === 'string' || (typeof e?.code === 'string' && /^(EADDRINUSE|EADDRNOTAVAIL|EACCES|ENOENT|EMFILE)$/.test(e.code))
  );
}

/**
 * Runs the step `name`. Any failure becomes `StepFailed` (the check is then
 * not run): an assertion inside the step, a network error, a driver error, a
 * plain error. Left as they are: a skip or a missing driver step (already
 * not-run) and an error of our own code (a harness error, see isHarnessError).
 */
export async function step<T>(name: string, body: () => Promise<T> | T): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw stepFailure(name, error);
  }
}

/** What `step` throws for `error` thrown by the step `name`. */
export function stepFailure(name: string, error: unknown): unknown {
  if (error instanceof StepFailed) return error.within(name);
  if (isSkip(error) || isHarnessError(error) || (error as Error)?.name === 'DriverUnsupported') return error;
  if (isNetworkError(error)) return new StepFailed([name], 'network error', oneLine(error));
  if (isAssertionError(error)) return new StepFailed([name], undefined, oneLine(error).replace(/^Error: /, ''));
  return new StepFailed([name], undefined, oneLine(error));
}

/**
 * Runs the request step `name` and returns its answer when its status is one
 * the step needs (default: any 2xx); otherwise the step failed with that
 * status and the start of the body.
 */
export async function stepRequest<A extends StepAnswer>(
  name: string,
  send: () => Promise<A>,
  accepted: number | readonly number[] | ((status: number) => boolean) = (status) => status >= 200 && status < 300,
): Promise<A> {
  const answer = await step(name, send);
  const ok =
    typeof accepted === 'function' ? accepted(answer.status) : (Array.isArray(accepted) ? accepted : [accepted]).includes(answer.status);
  if (!ok) throw new StepFailed([name], answer.status, answer.text.replace(/\s+/g, ' ').trim().slice(0, DETAIL_CHARS));
  return answer;
}

/** The step's value when present; otherwise the step failed with `detail` (a value the step needed was missing). */
export function stepValue<T>(name: string, value: T | undefined | null, detail: string): T {
  if (value === undefined || value === null) throw new StepFailed([name], undefined, detail);
  return value;
}
