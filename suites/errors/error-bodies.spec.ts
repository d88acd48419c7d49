/**
 * Error answers of the OCM endpoints (spec.yaml: the 503 responses). ERR-2:
 * a 503 (temporarily unavailable) carries Retry-After, an HTTP date or a
 * number of seconds.
 *
 * Nothing a peer sends can make a conforming target answer 503 on purpose (it
 * is overload or maintenance), and no driver step asks for it, so the check
 * is gated out: the results report ERR-2 as not applicable with that reason.
 * The body stays the judgement it would apply to any 503 it met.
 */
import { check, expect, notRun } from '../harness/fixtures.ts';
import { peerPost, sharePayload, targetAddress } from '../harness/ocm-actions.ts';
import type { Answer } from '../../results/transcript.ts';

/** Retry-After per RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
function retryAfterProblem(value: string | null): string | undefined {
  if (value === null) return 'no Retry-After header';
  const text = value.trim();
  if (/^\d+$/.test(text)) return undefined;
  const imf = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
  if (imf.test(text) && !Number.isNaN(Date.parse(text))) return undefined;
  return `Retry-After ${JSON.stringify(value)} is neither a number of seconds nor an HTTP date`;
}

check(
  ['ERR-2'],
  'a 503 answer of POST /shares carries Retry-After (seconds or an HTTP date)',
  async ({ target, peer, ocm }) => {
    const share = peer.createShare('/welcome.txt');
    const answer: Answer = await peerPost(ocm, target, peer, '/shares', sharePayload(peer, share, targetAddress(target)));
    if (answer.status !== 503) notRun(`the target answered ${answer.status}, not 503: there is no 503 to judge`);
    const problem = retryAfterProblem(answer.headers.get('retry-after'));
    expect(problem, `503 of POST /shares: ${problem}`).toBeUndefined();
  },
  { unless: () => 'cannot make the target answer 503 black-box' },
);
