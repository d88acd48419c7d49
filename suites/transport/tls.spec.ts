/**
 * Transport security (spec: Share Creation Notification — every OCM endpoint
 * is offered over HTTPS). Any endpoint over plain HTTP fails TLS-1. A target
 * config may declare `allowHttp` for a test setup (loopback, no
 * certificates): where it then serves plain `http://`, TLS-1 is not
 * applicable, with the reason; it is judged (and can pass) on https only,
 * e.g. `run --tls` for the embedded pair.
 *
 * Black-box: the endpoints the target's discovery document advertises, and
 * the origin the suites reach it on.
 */
import { check, expect } from '../harness/fixtures.ts';
import { plainHttpReason } from '../discovery/discovery-rules.ts';

/** What the target offers over HTTP: its origin and every endpoint in its discovery document. */
function advertisedEndpoints(origin: string, discovery: Record<string, any>): Array<[string, string]> {
  const endpoints: Array<[string, string]> = [['the target origin (baseUrl)', origin]];
  for (const key of ['endPoint', 'tokenEndPoint', 'jwksUri', 'inviteAcceptDialog'] as const) {
    if (typeof discovery[key] === 'string' && discovery[key] !== '') endpoints.push([key, discovery[key]]);
  }
  for (const [i, type] of (Array.isArray(discovery.resourceTypes) ? discovery.resourceTypes : []).entries()) {
    // The HTTP-served protocols (ssh names an ssh host:port, not an HTTP endpoint).
    for (const protocol of ['webdav', 'webapp']) {
      const value = (type?.protocols ?? {})[protocol];
      if (typeof value === 'string' && value !== '') endpoints.push([`resourceTypes[${i}].protocols.${protocol}`, value]);
    }
  }
  return endpoints;
}

/** The endpoints that are plain http (a relative value lives on the target's origin). */
function plainHttpEndpoints(origin: string, discovery: Record<string, any>): string[] {
  return advertisedEndpoints(origin, discovery)
    .filter(([, value]) => URL.canParse(value, `${origin}/`) && new URL(value, `${origin}/`).protocol === 'http:')
    .map(([what, value]) => `${what} ${new URL(value, `${origin}/`).href}`);
}

check(
  ['TLS-1'],
  'the target origin and every endpoint its discovery advertises use https',
  async ({ target }) => {
    const discovery = target.discovery;
    expect(discovery, 'the discovery document was readable at the start of the run').toBeDefined();
    const wrong: string[] = [];
    for (const [what, value] of advertisedEndpoints(target.origin, discovery!)) {
      let url: URL;
      try {
        url = new URL(value, `${target.origin}/`);
      } catch {
        wrong.push(`${what} ${JSON.stringify(value)} is not a URL`);
        continue;
      }
      if (url.protocol !== 'https:') wrong.push(`${what} ${url.href} uses ${url.protocol}`);
    }
    expect(wrong, `every OCM endpoint must be offered over https:\n${wrong.join('\n')}`).toEqual([]);
  },
  {
    // A test setup on plain http (allowHttp): not judged, never passed over http.
    unless: (context) => {
      if (!context.target.allowHttp || !context.discovery) return undefined;
      const plain = plainHttpEndpoints(new URL(context.target.baseUrl).origin, context.discovery);
      return plain.length > 0 ? plainHttpReason(plain.join('; ')) : undefined;
    },
  },
);
