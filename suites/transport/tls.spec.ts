/**
 * Transport security (spec: Share Creation Notification — every OCM endpoint
 * is offered over HTTPS). A target config may declare `allowHttp` for a test
 * setup (loopback, no certificates): plain `http://` is then tolerated and
 * noted; without it, any endpoint over plain HTTP fails TLS-1.
 *
 * Black-box: the endpoints the target's discovery document advertises, and
 * the origin the suites reach it on.
 */
import { check, expect } from '../harness/fixtures.ts';

check(
  ['TLS-1'],
  'the target origin and every endpoint its discovery advertises use https (http only where the config allows a test setup)',
  async ({ target }, testInfo) => {
    const discovery = target.discovery;
    expect(discovery, 'the discovery document was readable at the start of the run').toBeDefined();
    const endpoints: Array<[string, string]> = [['the target origin (baseUrl)', target.origin]];
    for (const key of ['endPoint', 'tokenEndPoint', 'jwksUri', 'inviteAcceptDialog'] as const) {
      if (typeof discovery![key] === 'string' && discovery![key] !== '') endpoints.push([key, discovery![key]]);
    }
    for (const [i, type] of (Array.isArray(discovery!.resourceTypes) ? discovery!.resourceTypes : []).entries()) {
      // The HTTP-served protocols (ssh names an ssh host:port, not an HTTP endpoint).
      for (const protocol of ['webdav', 'webapp']) {
        const value = (type?.protocols ?? {})[protocol];
        if (typeof value === 'string' && value !== '') endpoints.push([`resourceTypes[${i}].protocols.${protocol}`, value]);
      }
    }
    const allowed = target.context.target.allowHttp ? ['https:', 'http:'] : ['https:'];
    const plain: string[] = [];
    const wrong: string[] = [];
    for (const [what, value] of endpoints) {
      let url: URL;
      try {
        // A relative value (a path such as /dav/ocm) lives on the target's origin.
        url = new URL(value, `${target.origin}/`);
      } catch {
        wrong.push(`${what} ${JSON.stringify(value)} is not a URL`);
        continue;
      }
      if (!allowed.includes(url.protocol)) wrong.push(`${what} ${url.href} uses ${url.protocol}`);
      else if (url.protocol === 'http:') plain.push(`${what} ${url.href}`);
    }
    expect(
      wrong,
      `every OCM endpoint must be offered over https${target.context.target.allowHttp ? ' (http tolerated: allowHttp)' : ''}:\n${wrong.join('\n')}`,
    ).toEqual([]);
    if (plain.length > 0)
      testInfo.annotations.push({
        type: 'note',
        description: `plain http tolerated because the target config sets allowHttp (a test setup): ${plain.join('; ')}`,
      });
  },
);
