/**
 * The discovery checks as data: each rule names its requirement IDs and
 * judges a discovery document (with what else it needs: the content type,
 * the legacy document, the JWK Set). The discovery suite runs each rule as a
 * check against the target; `ocm-conformance validate-discovery` runs them on
 * any document, URL or file.
 */
import { getLazyRegistry } from '../../openapi/registry.ts';
import { OCM_CAPABILITIES, OCM_CRITERIA } from '../../openapi/ocm.ts';
import { resolveDiscoveryUrl } from '../harness/discovery-urls.ts';

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

/** A rule that had nothing to assert on this document: reported as not run (or not applicable for a file), never as passed. */
export interface NothingToJudge {
  nothingToJudge: string;
}

/** What a rule found: a finding (the concrete problem), undefined when the document complies, or nothing to judge. */
export type RuleVerdict = string | undefined | NothingToJudge;

export const nothingToJudge = (reason: string): NothingToJudge => ({ nothingToJudge: reason });
export const isNothingToJudge = (verdict: RuleVerdict): verdict is NothingToJudge =>
  typeof verdict === 'object' && verdict !== null && 'nothingToJudge' in verdict;

/** What a rule needs besides the document; `status` and `content-type` only a live server has. */
export type RuleNeed = 'legacy' | 'jwks' | 'status' | 'content-type';

export interface DiscoveryRule {
  ids: string[];
  title: string;
  /** What the rule needs fetched besides the document. */
  needs?: RuleNeed[];
  evaluate(input: DiscoveryInput): RuleVerdict;
  /**
   * Why the rule does not apply to this document at all (the suite reports
   * it not applicable, with the reason): e.g. an https rule on a test setup
   * that serves plain http (allowHttp).
   */
  notApplicable?(input: Pick<DiscoveryInput, 'document' | 'allowHttp'>): string | undefined;
}

/**
 * The reason an "is it https" requirement is not applicable when a test
 * setup (allowHttp) serves `what` over plain http: such a requirement is
 * judged on https only, never passed over http.
 */
export function plainHttpReason(what: string): string {
  return `${what} is plain http in a test setup (allowHttp): https can only be judged where it is served (run --tls)`;
}

const ASYMMETRIC_JOSE = /^(Ed25519|Ed448|EdDSA|ES(256|384|512)|ES256K|RS(256|384|512)|PS(256|384|512))$/;

/** 1.1 listed endpoint paths as capabilities; 1.2 on use the feature tokens. */
const CAPABILITIES_OF_1_1 = ['/notifications', '/invite-accepted'];

/** The JSON type of a value, as a person would say it: "an object", "a string", "null". */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Runs `judge` on the resourceTypes array; when there is none to judge (no
 * document, resourceTypes missing or not an array: DISC-4's finding), says
 * so instead of passing on an empty list.
 */
function withResourceTypes(d: Record<string, any> | undefined, judge: (types: any[]) => RuleVerdict): RuleVerdict {
  if (!d || typeof d !== 'object') return nothingToJudge('no discovery document (the body is not a JSON object)');
  if (d.resourceTypes === undefined) return nothingToJudge('resourceTypes is missing (a DISC-4 finding)');
  if (!Array.isArray(d.resourceTypes))
    return nothingToJudge(`resourceTypes is ${jsonType(d.resourceTypes)}, not an array (a DISC-4 finding)`);
  return judge(d.resourceTypes);
}

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

/** The problem with a URL field the suites depend on (endPoint, tokenEndPoint, jwksUri), or undefined when it is absolute. */
export function urlFieldProblem(name: string, value: unknown): string | undefined {
  if (value === undefined) return `${name} is missing`;
  if (typeof value !== 'string') return `${name} is ${jsonType(value)}, not a URL string`;
  if (isAbsoluteUrl(value)) return undefined;
  return value.startsWith('/')
    ? `${name} ${JSON.stringify(value)} is a relative path, not an absolute URL`
    : `${name} ${JSON.stringify(value)} is not a URL`;
}

const OWNED_ELSEWHERE = new Set(['tokenEndPoint', 'jwksUri', 'publicKey', 'inviteAcceptDialog']);

/** Every missing or mistyped field of the document, each with its JSON pointer; capability and criterion values are DISC-21's. */
function structureProblems(d: Record<string, any>): string[] {
  const problems: string[] = [];
  const outcome = getLazyRegistry().validate('ocm', 'Discovery', d);
  if (!outcome.ok) {
    for (const issue of outcome.issues) {
      // Fields other rules own: capability and criterion values (DISC-21), the URLs and keys of DISC-13/14/17/19/20, resource types' insides (DISC-6..12, 22).
      const [top, ...inner] = issue.name.split('.');
      if (inner.length > 0 || OWNED_ELSEWHERE.has(top ?? '')) continue;
      const pointer = issue.name ? `/${issue.name.split('.').join('/')}` : '';
      const value = issue.name.split('.').reduce<any>((v, key) => (v && typeof v === 'object' ? v[key] : undefined), d);
      const expected = /^MUST_BE_([A-Z]+)$/.exec(issue.message)?.[1]?.toLowerCase();
      problems.push(
        issue.message === 'REQUIRED'
          ? `${pointer || '/'} is missing`
          : expected && value !== undefined
            ? `${pointer} is ${jsonType(value)}, not ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`
            : `${pointer || '/'} ${issue.message}${value === undefined ? '' : ` (is ${jsonType(value)})`}`,
      );
    }
  }
  // The schema's endPoint is a plain string; the suites need an absolute URL.
  if (typeof d.endPoint === 'string') {
    const endPoint = urlFieldProblem('endPoint', d.endPoint);
    if (endPoint) problems.push(`/${endPoint}`);
  }
  return problems;
}

export const DISCOVERY_RULES: DiscoveryRule[] = [
  {
    ids: ['DISC-1'],
    title: 'GET /.well-known/ocm answers 200 with a JSON document',
    needs: ['status'],
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
        ? nothingToJudge('the legacy path was not fetched')
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
      if (!d || typeof d !== 'object' || Array.isArray(d)) return 'the body is not a JSON object';
      const problems = structureProblems(d);
      return problems.length ? problems.join('; ') : undefined;
    },
  },
  {
    ids: ['DISC-5'],
    title: 'discovery is served as application/json',
    needs: ['content-type'],
    evaluate: ({ contentType }) =>
      contentType === undefined || /^application\/json\b/i.test(contentType) ? undefined : `content type is ${contentType || '(none)'}`,
  },
  {
    ids: ['DISC-6'],
    title: 'each resourceTypes item has name, shareTypes and protocols',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) =>
        first(types, (t) =>
          typeof t?.name !== 'string' || !Array.isArray(t.shareTypes) || typeof t.protocols !== 'object' || t.protocols === null
            ? `incomplete resource type ${JSON.stringify(t)}`
            : undefined,
        ),
      ),
  },
  {
    ids: ['DISC-7'],
    title: 'no two resourceTypes share a name',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) => {
        if (types.length < 2) return nothingToJudge(`${types.length} resource type(s): no two names to compare`);
        const names = types.map((t) => t?.name);
        return new Set(names).size === names.length ? undefined : `duplicate names in ${JSON.stringify(names)}`;
      }),
  },
  {
    ids: ['DISC-8'],
    title: 'at least one resource type is offered',
    evaluate: ({ document: d }) => withResourceTypes(d, (types) => (types.length > 0 ? undefined : 'resourceTypes is an empty array')),
  },
  {
    ids: ['DISC-9'],
    title: 'every shareTypes list contains "user"',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) =>
        first(types, (t) =>
          Array.isArray(t?.shareTypes) && t.shareTypes.includes('user') ? undefined : `${t?.name}: shareTypes lacks "user"`,
        ),
      ),
  },
  {
    ids: ['DISC-10'],
    title: 'a file resource type offers webdav',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) => {
        const file = types.find((t) => t?.name === 'file');
        if (!file) return 'no resource type named file';
        return file.protocols && 'webdav' in file.protocols ? undefined : 'the file resource type has no webdav protocol';
      }),
  },
  {
    ids: ['DISC-11'],
    title: 'webdav-receive, when present, is {uri: absolute|relative}',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) => {
        const present = types.filter((t) => t?.protocols?.['webdav-receive'] !== undefined);
        if (present.length === 0) return nothingToJudge('no resource type advertises webdav-receive');
        return first(present, (t) => {
          const receive = t.protocols['webdav-receive'];
          return ['absolute', 'relative'].includes(receive?.uri) ? undefined : `${t.name}: webdav-receive is ${JSON.stringify(receive)}`;
        });
      }),
  },
  {
    ids: ['DISC-12'],
    title: 'webapp-receive, when present, has non-empty targets from blank and iframe; webapp is an object',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) => {
        const present = types.filter((t) => t?.protocols?.['webapp-receive'] !== undefined || t?.protocols?.webapp !== undefined);
        if (present.length === 0) return nothingToJudge('no resource type advertises webapp or webapp-receive');
        return first(present, (t) => {
          const receive = t.protocols['webapp-receive'];
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
          const webapp = t.protocols.webapp;
          return webapp === undefined || (typeof webapp === 'object' && webapp !== null) ? undefined : `${t.name}: webapp is not an object`;
        });
      }),
  },
  {
    ids: ['DISC-13'],
    title: 'a server advertising http-sig publishes its key set',
    needs: ['jwks'],
    evaluate: ({ document: d, jwks, profile }) => {
      if (profile === 'main' && d?.jwksUri === undefined) return 'jwksUri is missing';
      if (d?.jwksUri !== undefined && urlFieldProblem('jwksUri', d.jwksUri)) return urlFieldProblem('jwksUri', d.jwksUri);
      if (!jwks) return nothingToJudge('the key set was not fetched');
      return jwks.status === 200 && Array.isArray(jwks.document?.keys)
        ? undefined
        : `the key set answered ${jwks.status} without a keys array`;
    },
  },
  {
    ids: ['DISC-14'],
    title: 'jwksUri uses https (http only in test setups)',
    notApplicable: ({ document: d, allowHttp }) =>
      allowHttp && typeof d?.jwksUri === 'string' && URL.canParse(d.jwksUri) && new URL(d.jwksUri).protocol === 'http:'
        ? plainHttpReason(`jwksUri ${d.jwksUri}`)
        : undefined,
    evaluate: ({ document: d, allowHttp }) => {
      const problem = urlFieldProblem('jwksUri', d?.jwksUri);
      if (problem) return problem;
      const protocol = new URL(d!.jwksUri).protocol;
      if (allowHttp && protocol === 'http:') return nothingToJudge(plainHttpReason(`jwksUri ${d!.jwksUri}`));
      return protocol === 'https:' ? undefined : `jwksUri uses ${protocol}`;
    },
  },
  {
    ids: ['DISC-15', 'DISC-16'],
    title: 'every JWK has kid and an asymmetric alg (Ed25519 recommended)',
    needs: ['jwks'],
    evaluate: ({ jwks }) => {
      if (!jwks) return nothingToJudge('the key set was not fetched');
      const keys = Array.isArray(jwks.document?.keys) ? jwks.document.keys : undefined;
      if (!keys || keys.length === 0) return 'the key set has no keys';
      return first(keys, (key: any) => {
        if (typeof key?.kid !== 'string') return 'a key has no kid';
        if (!ASYMMETRIC_JOSE.test(String(key.alg)))
          return `key ${key.kid}: alg ${JSON.stringify(key.alg)} is not an asymmetric JOSE algorithm`;
        const outcome = getLazyRegistry().validate('ocm', 'Jwk', key);
        return outcome.ok ? undefined : `key ${key.kid}: ${outcome.issues.map((i) => `${i.name} ${i.message}`).join(', ')}`;
      });
    },
  },
  {
    ids: ['DISC-17'],
    title: 'a server advertising exchange-token names an absolute tokenEndPoint',
    evaluate: ({ document: d }) => urlFieldProblem('tokenEndPoint', d?.tokenEndPoint),
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
      if (key === undefined) return nothingToJudge('the document has no publicKey');
      const id = key?.keyId ?? key?.id;
      if (typeof id !== 'string' || typeof key?.publicKeyPem !== 'string') return 'publicKey lacks keyId or publicKeyPem';
      if (!isAbsoluteUrl(id)) return 'publicKey.keyId is not a URI';
      return host === undefined || new URL(id).host === host ? undefined : `publicKey.keyId is on ${new URL(id).host}, not ${host}`;
    },
  },
  {
    ids: ['DISC-21'],
    title: 'capabilities and criteria use registered values',
    evaluate: ({ document: d, profile }) => {
      const lists = [
        ['capabilities', 'capability', profile === '1.1' ? CAPABILITIES_OF_1_1 : [...OCM_CAPABILITIES]],
        ['criteria', 'criterion', [...OCM_CRITERIA]],
      ] as const;
      const present = lists.filter(([field]) => Array.isArray(d?.[field]) && d![field].length > 0);
      if (present.length === 0) return nothingToJudge('the document lists no capabilities or criteria');
      const problems: string[] = [];
      for (const [field, what, allowed] of present) {
        const unknown = (d![field] as unknown[]).filter((value) => !(allowed as readonly unknown[]).includes(value));
        for (const value of unknown)
          problems.push(`${what} ${JSON.stringify(value)} is not a registered value (allowed: ${allowed.join(', ')})`);
      }
      return problems.length ? problems.join('; ') : undefined;
    },
  },
  {
    ids: ['DISC-22'],
    title: 'protocols use the plain key for sending and a -receive twin for receiving',
    evaluate: ({ document: d }) =>
      withResourceTypes(d, (types) =>
        first(types, (t) => {
          const keys = Object.keys(t?.protocols ?? {});
          const bad = keys.find((k) => k.endsWith('-receive') && typeof t.protocols[k] !== 'object');
          if (bad) return `${t.name}: ${bad} is not an object`;
          return keys.includes('webdav') && !keys.includes('webdav-receive')
            ? `${t.name}: webdav is advertised without webdav-receive`
            : undefined;
        }),
      ),
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
  const jwksUrl =
    document?.jwksUri === undefined ? { url: `${origin}/.well-known/jwks.json` } : resolveDiscoveryUrl(document, 'jwksUri', origin);
  const jwks = 'url' in jwksUrl ? await get(jwksUrl.url).catch(() => undefined) : undefined;
  if (jwks) input.jwks = { status: jwks.status, document: parse(jwks.text) };
  return input;
}
