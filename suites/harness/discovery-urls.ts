/**
 * The URLs the suites call that come from the target's discovery document:
 * endPoint, tokenEndPoint, jwksUri.
 *
 * A value that is not an absolute URL is a finding of its discovery
 * requirement (DISC-4 endPoint, DISC-17 tokenEndPoint, DISC-14 jwksUri), judged
 * there. Checks that depend on the value must neither throw on it
 * (`new URL('/ocm/token')` is a TypeError) nor blame its own requirement for
 * it, so:
 *  - an absolute URL is used as it is;
 *  - a path starting with one `/` has one reading, the discovery origin plus
 *    the path: it is resolved so, and the check notes it;
 *  - anything else (missing, not a string, `token`, `//host/x`) has no
 *    unambiguous reading: the caller gets the reason and reports not-run.
 * Pure: no Playwright here, so CLIs and unit tests can use it.
 */

export type DiscoveryUrlField = 'endPoint' | 'tokenEndPoint' | 'jwksUri';

/** The URL to call, with a note when it had to be resolved; or why there is none. */
export type ResolvedDiscoveryUrl = { url: string; note?: string } | { unusable: string };

export function resolveDiscoveryUrl(
  discovery: Record<string, any> | undefined,
  field: DiscoveryUrlField,
  origin: string,
): ResolvedDiscoveryUrl {
  const value: unknown = discovery?.[field];
  if (value === undefined || value === '') return { unusable: `the discovery document names no ${field}` };
  if (typeof value !== 'string') return { unusable: `the discovery ${field} is not a string but ${JSON.stringify(value)}` };
  if (URL.canParse(value)) return { url: value };
  if (value.startsWith('/') && !value.startsWith('//') && URL.canParse(value, origin)) {
    const url = new URL(value, origin).href;
    return {
      url,
      note: `the discovery ${field} ${JSON.stringify(value)} is a relative path (a finding of its discovery requirement); resolved against the discovery origin to ${url}`,
    };
  }
  return { unusable: `the discovery ${field} ${JSON.stringify(value)} is not a URL, and no single reading of it exists` };
}
