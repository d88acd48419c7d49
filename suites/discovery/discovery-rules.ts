/**
 * The discovery checks as data: each rule names its requirement IDs and
 * judges a discovery document (with what else it needs: the content type,
 * the legacy document, the JWK Set). The discovery suite runs each rule as a
 * check against the target; `ocm-conformance validate-discovery` runs them on
 * any document, URL or file.
 */
import { getRegistry } from '../../openapi/registry.ts';

export interface DiscoveryInput {
  /** The parsed document; undefined when the body was not JSON. */
  document: Record<string, any> | undefined;
  /** HTTP status of `/.well-known/ocm` (undefined for a file). */
  status?: number;
  contentType?: string;
  /** The document at `/ocm-provider`, with its status, when fetched. */
  legacy?: { status: number; document: unknown };
  /** The JWK Set at `jwksUri` (or the 1.3–1.4 fixed path), when fetched. */
  jwks?: { status: number; document: any };
  /** host[:port] the document was served from. */
  host?: string;
  profile: string;
  allowHttp: boolean;
}

export interface DiscoveryRule {
  ids: string[];
  title: string;
  /** What the rule needs fetched besides the document. */
  needs?: Array<'legacy' | 'jwks'>;
  /** A description of the problem, or undefined when the document complies. */
  evaluate(input: DiscoveryInput): string | undefined;
}

const ASYMMETRIC_JOSE = /^(Ed25519|Ed448|EdDSA|ES(256|384|512)|ES256K|RS(256|384|512)|PS(256|384|512))$/;

const resourceTypes = (d: Record<string, any>): any[] => (Array.isArray(d.resourceTypes) ? d.resourceTypes : []);
const first = <T>(items: T[], test: (item: T) => string | undefined): string | undefined => {
  for (const item of items) {
    const problem = test(item);
    if (problem) return problem;
  }
  return undefined;
};
const isAbsoluteUrl = (value: unknown): boolean => {
  try {
    new URL(String(value));
    return typeof value === 'string';
  } catch {
    return false;
  }
};

export const DISCOVERY_RULES: DiscoveryRule[] = [
  {
    ids: ['DISC-1'],
    title: 'GET /.well-known/ocm answers 200 with a JSON document',
    evaluate: ({ status, document }) =>
      status !== undefined && status !== 200
        ? `answered ${status}`
        : document === undefined || typeof document !== 'object'
          ? 'the body is not a JSON object'
          : undefined,
  },
  {
    ids: ['DISC-2', 'DISC-3'],
    title: 'GET /ocm-provider answers 200 with the same document',
    needs: ['legacy'],
    evaluate: ({ legacy, document }) =>
      !legacy
        ? 'the legacy path was not fetched'
        : legacy.status !== 200
          ? `/ocm-provider answered ${legacy.status}`
          : JSON.stringify(legacy.document) !== JSON.stringify(document)
            ? '/ocm-provider serves a different document'
            : undefined,
  },
  {
    ids: ['DISC-4'],
    title: 'the document has enabled, apiVersion, endPoint and resourceTypes with the right types',
    evaluate: ({ document: d }) => {
      if (!d) return 'no document';
      if (typeof d.enabled !== 'boolean') return 'enabled is not a boolean';
      if (typeof d.apiVersion !== 'string') return 'apiVersion is not a string';
      if (!isAbsoluteUrl(d.endPoint)) return 'endPoint is not an absolute URL';
      if (!Array.isArray(d.resourceTypes)) return 'resourceTypes is not an array';
      return undefined;
    },
  },
  {
    ids: ['DISC-5'],
    title: 'discovery is served as application/json',
    evaluate: ({ contentType }) =>
      contentType === undefined || /^application\/json\b/i.test(contentType) ? undefined : `content type is ${contentType || '(none)'}`,
  },
  {
    ids: ['DISC-6'],
    title: 'each resourceTypes item has name, shareTypes and protocols',
    evaluate: ({ document: d }) =>
      d
        ? first(resourceTypes(d), (t) =>
            typeof t?.name !== 'string' || !Array.isArray(t.shareTypes) || typeof t.protocols !== 'object' || t.protocols === null
              ? `incomplete resource type ${JSON.stringify(t)}`
              : undefined,
          )
        : 'no document',
  },
  {
    ids: ['DISC-7'],
    title: 'no two resourceTypes share a name',
    evaluate: ({ document: d }) => {
      const names = d ? resourceTypes(d).map((t) => t?.name) : [];
      return new Set(names).size === names.length ? undefined : `duplicate names in ${JSON.stringify(names)}`;
    },
  },
  {
    ids: ['DISC-8'],
    title: 'at least one resource type is offered',
    evaluate: ({ document: d }) => (d && resourceTypes(d).length > 0 ? undefined : 'resourceTypes is empty'),
  },
  {
    ids: ['DISC-9'],
    title: 'every shareTypes list contains "user"',
    evaluate: ({ document: d }) =>
      d
        ? first(resourceTypes(d), (t) =>
            Array.isArray(t?.shareTypes) && t.shareTypes.includes('user') ? undefined : `${t?.name}: shareTypes lacks "user"`,
          )
        : 'no document',
  },
  {
    ids: ['DISC-10'],
    title: 'a file resource type offers webdav',
    evaluate: ({ document: d }) => {
      const file = d ? resourceTypes(d).find((t) => t?.name === 'file') : undefined;
      if (!file) return 'no resource type named file';
      return file.protocols && 'webdav' in file.protocols ? undefined : 'the file resource type has no webdav protocol';
    },
  },
  {
    ids: ['DISC-11'],
    title: 'webdav-receive, when present, is {uri: absolute|relative}',
    evaluate: ({ document: d }) =>
      d
        ? first(resourceTypes(d), (t) => {
            const receive = t?.protocols?.['webdav-receive'];
            return receive === undefined || ['absolute', 'relative'].includes(receive?.uri)
              ? undefined
              : `${t.name}: webdav-receive is ${JSON.stringify(receive)}`;
          })
        : 'no document',
  },
  {
    ids: ['DISC-12'],
    title: 'webapp-receive, when present, has non-empty targets from blank and iframe; webapp is an object',
    evaluate: ({ document: d }) =>
      d
        ? first(resourceTypes(d), (t) => {
            const receive = t?.protocols?.['webapp-receive'];
            if (
              receive !== undefined &&
              !(
                Array.isArray(receive.targets) &&
                receive.targets.length > 0 &&
                receive.targets.every((x: unknown) => x === 'blank' || x === 'iframe')
              )
            ) {
              return `${t.name}: webapp-receive is ${JSON.stringify(receive)}`;
            }
            const webapp = t?.protocols?.webapp;
            return webapp === undefined || (typeof webapp === 'object' && webapp !== null)
              ? undefined
              : `${t.name}: webapp is not an object`;
          })
        : 'no document',
  },
  {
    ids: ['DISC-13'],
    title: 'a server advertising http-sig publishes its key set',
    needs: ['jwks'],
    evaluate: ({ document: d, jwks, profile }) => {
      if (profile === 'main' && typeof d?.jwksUri !== 'string') return 'jwksUri is missing';
      if (!jwks) return 'the key set was not fetched';
      return jwks.status === 200 && Array.isArray(jwks.document?.keys)
        ? undefined
        : `the key set answered ${jwks.status} without a keys array`;
    },
  },
  {
    ids: ['DISC-14'],
    title: 'jwksUri uses https (http only in test setups)',
    evaluate: ({ document: d, allowHttp }) => {
      if (!isAbsoluteUrl(d?.jwksUri)) return 'jwksUri is not an absolute URL';
      const protocol = new URL(d!.jwksUri).protocol;
      return protocol === 'https:' || (allowHttp && protocol === 'http:') ? undefined : `jwksUri uses ${protocol}`;
    },
  },
  {
    ids: ['DISC-15', 'DISC-16'],
    title: 'every JWK has kid and an asymmetric alg (Ed25519 recommended)',
    needs: ['jwks'],
    evaluate: ({ jwks }) => {
      const keys = Array.isArray(jwks?.document?.keys) ? jwks!.document.keys : undefined;
      if (!keys || keys.length === 0) return 'the key set has no keys';
      return first(keys, (key: any) => {
        if (typeof key?.kid !== 'string') return 'a key has no kid';
        if (!ASYMMETRIC_JOSE.test(String(key.alg)))
          return `key ${key.kid}: alg ${JSON.stringify(key.alg)} is not an asymmetric JOSE algorithm`;
        const outcome = getRegistry().validate('ocm', 'Jwk', key);
        return outcome.ok ? undefined : `key ${key.kid}: ${outcome.issues.map((i) => `${i.name} ${i.message}`).join(', ')}`;
      });
    },
  },
  {
    ids: ['DISC-17'],
    title: 'a server advertising exchange-token names an absolute tokenEndPoint',
    evaluate: ({ document: d }) => (isAbsoluteUrl(d?.tokenEndPoint) ? undefined : 'tokenEndPoint is missing or not an absolute URL'),
  },
  {
    ids: ['DISC-18'],
    title: 'the must-exchange-token criterion comes with the exchange-token capability',
    evaluate: ({ document: d }) =>
      Array.isArray(d?.capabilities) && d!.capabilities.includes('exchange-token')
        ? undefined
        : 'exchange-token is not among the capabilities',
  },
  {
    ids: ['DISC-19'],
    title: 'a server advertising invites names an inviteAcceptDialog',
    evaluate: ({ document: d }) =>
      typeof d?.inviteAcceptDialog === 'string' && d.inviteAcceptDialog !== '' ? undefined : 'inviteAcceptDialog is missing',
  },
  {
    ids: ['DISC-20'],
    title: 'a legacy publicKey has keyId and publicKeyPem, and the key id is on the discovery host',
    evaluate: ({ document: d, host }) => {
      const key = d?.publicKey;
      if (key === undefined) return undefined;
      const id = key?.keyId ?? key?.id;
      if (typeof id !== 'string' || typeof key?.publicKeyPem !== 'string') return 'publicKey lacks keyId or publicKeyPem';
      if (!isAbsoluteUrl(id)) return 'publicKey.keyId is not a URI';
      return host === undefined || new URL(id).host === host ? undefined : `publicKey.keyId is on ${new URL(id).host}, not ${host}`;
    },
  },
  {
    ids: ['DISC-21'],
    title: 'capabilities and criteria use registered values',
    evaluate: ({ document: d }) => {
      const outcome = getRegistry().validate('ocm', 'Discovery', d);
      return outcome.ok ? undefined : outcome.issues.map((i) => `${i.name || '(document)'} ${i.message}`).join('; ');
    },
  },
  {
    ids: ['DISC-22'],
    title: 'protocols use the plain key for sending and a -receive twin for receiving',
    evaluate: ({ document: d }) =>
      d
        ? first(resourceTypes(d), (t) => {
            const keys = Object.keys(t?.protocols ?? {});
            const bad = keys.find((k) => k.endsWith('-receive') && typeof t.protocols[k] !== 'object');
            if (bad) return `${t.name}: ${bad} is not an object`;
            return keys.includes('webdav') && !keys.includes('webdav-receive')
              ? `${t.name}: webdav is advertised without webdav-receive`
              : undefined;
          })
        : 'no document',
  },
];

/** Fetches what the rules need from a live server (bounded, no redirects). */
export async function fetchDiscoveryInput(
  origin: string,
  options: {
    profile: string;
    allowHttp: boolean;
    fetcher?: (url: string) => Promise<{ status: number; contentType: string; text: string }>;
  },
): Promise<DiscoveryInput> {
  const get =
    options.fetcher ??
    (async (url: string) => {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
      return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
    });
  const parse = (text: string): any => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const main = await get(`${origin}/.well-known/ocm`);
  const document = parse(main.text);
  const input: DiscoveryInput = {
    document,
    status: main.status,
    contentType: main.contentType,
    host: new URL(origin).host,
    profile: options.profile,
    allowHttp: options.allowHttp,
  };
  const legacy = await get(`${origin}/ocm-provider`).catch(() => undefined);
  if (legacy) input.legacy = { status: legacy.status, document: parse(legacy.text) };
  const jwksUrl = typeof document?.jwksUri === 'string' ? document.jwksUri : `${origin}/.well-known/jwks.json`;
  const jwks = await get(jwksUrl).catch(() => undefined);
  if (jwks) input.jwks = { status: jwks.status, document: parse(jwks.text) };
  return input;
}
