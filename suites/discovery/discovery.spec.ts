/**
 * OCM discovery (spec: Discovery; Fields of the discovery document; Keys and
 * Algorithms). The target is a Discoverable Server; every check is
 * black-box. The rules live in discovery-rules.ts, shared with
 * `ocm-conformance validate-discovery`.
 */
import { check, expect } from '../harness/fixtures.ts';
import { DISCOVERY_RULES, type DiscoveryInput } from './discovery-rules.ts';

for (const rule of DISCOVERY_RULES) {
  check(rule.ids, rule.title, async ({ target, ocm }) => {
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
      const url = typeof answer.json?.jwksUri === 'string' ? answer.json.jwksUri : `${target.origin}/.well-known/jwks.json`;
      const jwks = await ocm.request(url);
      input.jwks = { status: jwks.status, document: jwks.json };
    }
    expect(rule.evaluate(input), 'the discovery document complies').toBeUndefined();
  });
}
