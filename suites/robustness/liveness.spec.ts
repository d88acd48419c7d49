/**
 * ROB-10: the target keeps answering. Every operation of spec.yaml defines
 * its answers; a request after which the server answers nothing at all (it
 * crashed, or it hangs) meets none of them.
 *
 * The harness watches every check for this (suites/harness/liveness.ts,
 * decisions/0015): when the target stops answering during any check, ROB-10
 * fails with "the target stopped answering during <check>", and the checks
 * after it are not run. The checks here are ROB-10's own: a few well-formed
 * requests in a row, each of which must get an HTTP answer (any status: the
 * answers themselves are judged by the endpoints' requirements) within the
 * deadline, with the discovery URL still answering after each.
 */
import { randomUUID } from 'node:crypto';
import { check, expect, type CheckFixtures } from '../harness/fixtures.ts';
import { sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import { advertises } from '../harness/context.ts';
import { networkFailure } from '../harness/liveness.ts';
import type { Answer } from '../../results/transcript.ts';

/** How long one well-formed request may go unanswered. */
const DEADLINE_MS = 10_000;
const ROUNDS = 4;

type Fixtures = Pick<CheckFixtures, 'target' | 'peer' | 'ocm'>;

/** POSTs `payload` to `<endPoint><path>` as the peer (signed when the target advertises http-sig), within the deadline. */
async function post({ target, peer, ocm }: Fixtures, path: string, payload: unknown): Promise<Answer> {
  const url = `${target.endPoint}${path}`;
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (advertises('http-sig')) Object.assign(headers, peer.signatureHeaders(url, body));
  return answered(`POST ${path}`, ocm.request(url, { method: 'POST', headers, body, timeoutMs: DEADLINE_MS }));
}

/**
 * A request that must get an HTTP answer: a missed deadline or a cut connection is this check's finding.
 * When the target stopped answering altogether, the liveness watch files that instead, as the stop.
 */
async function answered(what: string, request: Promise<Answer>): Promise<Answer> {
  let failure: string;
  try {
    return await request;
  } catch (error) {
    const network = networkFailure(error);
    if (!network) throw error;
    failure = (error as Error).name === 'TimeoutError' ? `no answer within ${DEADLINE_MS} ms` : network;
  }
  expect(failure, `${what} gets an HTTP answer`).toBeUndefined();
  throw new Error('unreachable');
}

async function discoveryAnswers({ target, ocm }: Fixtures, after: string): Promise<void> {
  const answer = await answered(
    `GET /.well-known/ocm after ${after}`,
    ocm.request(`${target.origin}/.well-known/ocm`, { headers: { accept: 'application/json' }, timeoutMs: DEADLINE_MS }),
  );
  expect(answer.status, `GET /.well-known/ocm after ${after} gets an HTTP answer`).toBeGreaterThanOrEqual(100);
}

check(
  ['ROB-10'],
  `POST /shares: ${ROUNDS} well-formed shares in a row each get an answer, and discovery answers after each`,
  async (fixtures) => {
    const { target, peer } = fixtures;
    for (let round = 1; round <= ROUNDS; round++) {
      const payload = sharePayload(peer, peer.createShare('/welcome.txt'), targetAddress(target), undefined, {
        name: `liveness-${round}-${randomUUID().slice(0, 8)}.txt`,
      });
      const answer = await post(fixtures, '/shares', payload);
      expect(answer.status, `share ${round} gets an HTTP answer`).toBeGreaterThanOrEqual(100);
      await discoveryAnswers(fixtures, `share ${round}`);
    }
  },
);

check(
  ['ROB-10'],
  `POST /notifications: ${ROUNDS} well-formed notifications in a row each get an answer, and discovery answers after each`,
  async (fixtures) => {
    for (let round = 1; round <= ROUNDS; round++) {
      // About a share the target never sent: a 4xx is the expected answer, and any answer will do here.
      const answer = await post(fixtures, '/notifications', {
        notificationType: 'SHARE_ACCEPTED',
        resourceType: 'file',
        providerId: `liveness-${randomUUID()}`,
        notification: { message: 'liveness check' },
      });
      expect(answer.status, `notification ${round} gets an HTTP answer`).toBeGreaterThanOrEqual(100);
      await discoveryAnswers(fixtures, `notification ${round}`);
    }
  },
);

check(['ROB-10'], `GET /.well-known/ocm: ${ROUNDS} discovery requests in a row each get an answer`, async (fixtures) => {
  for (let round = 1; round <= ROUNDS; round++) await discoveryAnswers(fixtures, `${round - 1} discovery requests`);
});
