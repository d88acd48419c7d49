/**
 * OCM discovery (spec: Discovery; Fields of the discovery document; Keys and
 * Algorithms). The target is a Discoverable Server; every check is
 * black-box. The rules live in discovery-rules.ts, shared with
 * `ocm-conformance validate-discovery`.
 */
import { check, expect, notRun, test } from '../harness/fixtures.ts';
import { resolveDiscoveryUrl } from '../harness/discovery-urls.ts';
import { DISCOVERY_RULES, isNothingToJudge, type DiscoveryInput } from './discovery-rules.ts';

for (const rule of DISCOVERY_RULES) {
  check(
    rule.ids,
    rule.title,
    async ({ target, ocm }) => {
      const answer = await ocm.request(`${target.origin}/.well-known/ocm`);
      const input: DiscoveryInput = {
        document: answer.json,
        status: answer.status,
        contentType: answer.headers.get('content-type') ?? '',
        host: target.domain,
        profile: target.context.profile,
        allowHttp: target.context.target.allowHttp,
      };
      if (rule.needs?.includes('legacy')) {
        const legacy = await ocm.request(`${target.origin}/ocm-provider`);
        input.legacy = { status: legacy.status, document: legacy.json };
      }
      if (rule.needs?.includes('jwks')) {
        // A relative jwksUri is DISC-14's finding; the key set is still read at its one reading, and one with none is not fetched.
        const resolved =
          answer.json?.jwksUri === undefined
            ? { url: `${target.origin}/.well-known/jwks.json` }
            : resolveDiscoveryUrl(answer.json, 'jwksUri', target.origin);
        if ('url' in resolved) {
          if ('note' in resolved && resolved.note) test.info().annotations.push({ type: 'note', description: resolved.note });
          const jwks = await ocm.request(resolved.url);
          input.jwks = { status: jwks.status, document: jwks.json };
        }
      }
      const verdict = rule.evaluate(input);
      if (isNothingToJudge(verdict)) notRun(`nothing to judge: ${verdict.nothingToJudge}`);
      // The finding itself is the failure's reason (its first line), never the assertion's label.
      expect(verdict === undefined, verdict ?? '').toBe(true);
    },
    {
      unless: (context) => rule.notApplicable?.({ document: context.discovery, allowHttp: context.target.allowHttp }),
    },
  );
}
