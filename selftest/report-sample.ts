/**
 * Test fixtures for the report tests: a synthetic Playwright JSON report
 * over the real requirement catalogue, turned into compliance results by
 * the real `buildComplianceResults`. It covers every outcome (passed,
 * failed, expected failure, unexpected pass, warning, not applicable, not
 * run), a check behind two requirements, an interop check, a transcript
 * attached as a file (`path`) and inline (`body`), and secrets planted
 * everywhere a transcript or an error can carry one. Every planted secret
 * contains PLANTED_MARK: no output may contain it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComplianceResults, type ComplianceResults, type PlaywrightReport } from '../results/model.ts';
import { loadCatalogue, selectRequirements, type Requirement } from '../suites/harness/requirements.ts';
import { registerSecret } from '../results/transcript.ts';

export const PLANTED_MARK = 'PLANTED';
export const PLANTED = {
  bearer: 'PLANTED-bearer-a1b2c3d4e5f6',
  basic: 'UExBTlRFRDpiYXNpYy1zZWNyZXQ=PLANTED',
  shared: 'PLANTED-shared-secret-0001',
  sharedInPeer: 'PLANTED-shared-secret-0002',
  nested: 'PLANTED-shared-secret-0003',
  access: 'PLANTED-access-token-0004',
  code: 'PLANTED-code-0005',
  token: 'PLANTED-invite-token-0006',
  registered: 'PLANTED-registered-0007',
  password: 'PLANTED-password-0008',
  cookie: 'PLANTED-cookie-0009',
  upper: 'PLANTED-upper-0010',
} as const;

export interface SampleIds {
  pass: string;
  fail: string;
  xfail: string;
  xpass: string;
  warning: string;
  notRun: string;
  notApplicable: string;
  multiA: string;
  multiB: string;
  interop: string;
}

export interface Sample {
  results: ComplianceResults;
  ids: SampleIds;
  report: PlaywrightReport;
}

function transcriptWithSecrets(path: string): unknown {
  return {
    sent: [
      {
        at: '2026-11-29T10:00:01.000Z',
        request: {
          method: 'POST',
          url: `http://127.0.0.2:8080/ocm/shares?access_token=${PLANTED.access}`,
          headers: { 'content-type': 'application/json', Authorization: `Bearer ${PLANTED.bearer}`, Cookie: `sid=${PLANTED.cookie}` },
          body: JSON.stringify({
            shareWith: 'marie@127.0.0.3:8080',
            protocol: { name: 'multi', options: { sharedSecret: PLANTED.shared } },
            Password: PLANTED.upper,
          }),
        },
        response: {
          status: 201,
          headers: { 'content-type': 'application/json' },
          body: `{"recipientDisplayName":"Marie <b>Curie</b>","token":"${PLANTED.token}"}`,
        },
        durationMs: 12,
      },
      {
        at: '2026-11-29T10:00:02.000Z',
        request: {
          method: 'POST',
          url: `http://127.0.0.2:8080${path}/${PLANTED.registered}`,
          headers: { authorization: `Basic ${PLANTED.basic}` },
          body: `grant_type=authorization_code&code=${PLANTED.code}&password=${PLANTED.password}`,
        },
        response: { status: 400, headers: {}, body: '{"message":"</pre><script>alert(1)</script>"}' },
        durationMs: 3,
      },
    ],
    receivedByPeers: [
      {
        peer: '127.0.0.10:9400',
        method: 'POST',
        url: '/ocm/shares',
        headers: { authorization: `Bearer ${PLANTED.bearer}` },
        body: { sharedSecret: PLANTED.sharedInPeer, protocol: { webdav: { sharedSecret: PLANTED.nested, uri: 'https://x.test/dav' } } },
        signature: 'valid',
      },
    ],
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

type Status = 'passed' | 'failed' | 'skipped' | 'timedOut';

function spec(
  title: string,
  ids: string[],
  status: Status,
  options: { error?: string; notRun?: string; attachment?: { body?: string; path?: string }; interop?: string; duration?: number } = {},
) {
  const annotations = [
    ...ids.map((id) => ({ type: 'requirement', description: id })),
    ...(options.notRun ? [{ type: 'not-run', description: options.notRun }] : []),
    ...(options.interop ? [{ type: 'interop', description: options.interop }] : []),
  ];
  return {
    id: `sample-${ids.join('-')}-${title.length}`,
    title: `${ids.join(' ')} ${title}`,
    file: 'suites/harness/fixtures.ts',
    tests: [
      {
        projectName: 'conformance',
        annotations,
        results: [
          {
            status,
            duration: options.duration ?? 25,
            errors: options.error ? [{ message: options.error }] : [],
            annotations: [],
            attachments: options.attachment ? [{ name: 'transcript', contentType: 'application/json', ...options.attachment }] : [],
          },
        ],
      },
    ],
  };
}

/** Picks distinct requirement IDs of the selected catalogue for each role of the sample. */
function pickIds(selected: Requirement[]): SampleIds {
  const used = new Set<string>();
  const take = (pred: (r: Requirement) => boolean, what: string) => {
    const r = selected.find((x) => !used.has(x.id) && !x.capability && !x.criterion && pred(x));
    if (!r) throw new Error(`the catalogue has no requirement for the sample's ${what}`);
    used.add(r.id);
    return r.id;
  };
  const must = (r: Requirement) => r.strength === 'must' && !r.informational;
  return {
    pass: take(must, 'passed MUST'),
    fail: take(must, 'failed MUST'),
    xfail: take(must, 'expected failure'),
    xpass: take(must, 'unexpected pass'),
    warning: take((r) => r.strength === 'should' && !r.informational, 'SHOULD warning'),
    notRun: take(must, 'not-run MUST'),
    notApplicable: take(must, 'not-applicable MUST'),
    multiA: take(must, 'multi A'),
    multiB: take((r) => r.strength !== 'must', 'multi B'),
    interop: take(must, 'interop'),
  };
}

export function sampleResults(options: { profile?: 'main' | '1.1' } = {}): Sample {
  const catalogue = loadCatalogue();
  const profile = options.profile ?? 'main';
  const selectedList = selectRequirements(catalogue, { profile });
  const selected = new Map(selectedList.map((r) => [r.id, r] as const));
  const ids = pickIds(selectedList);
  registerSecret(PLANTED.registered);
  const dir = join(tmpdir(), `ocm-report-sample-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const transcriptFile = join(dir, 'transcript.json');
  writeFileSync(transcriptFile, JSON.stringify(transcriptWithSecrets('/ocm/notifications')));
  const failure = `Error: the share must be refused; the target answered 201 {"token":"${PLANTED.token}","sharedSecret":"${PLANTED.shared}"}\n\n\u001b[2mexpect(\u001b[22m\u001b[31mreceived\u001b[39m\u001b[2m).\u001b[22mtoBeGreaterThanOrEqual\u001b[2m(\u001b[22m\u001b[32mexpected\u001b[39m\u001b[2m)\u001b[22m\n\nExpected: >= \u001b[32m400\u001b[39m\nReceived:    \u001b[31m201\u001b[39m\n    at suites/shares/x.spec.ts:10:3`;
  const report: PlaywrightReport = {
    stats: { startTime: '2026-11-29T10:00:00.000Z', duration: 4321 },
    suites: [
      {
        title: 'suites/sample/sample.spec.ts',
        file: 'suites/sample/sample.spec.ts',
        specs: [
          spec('the target answers <ok> & "quoted"', [ids.pass], 'passed', {
            attachment: { body: b64(transcriptWithSecrets('/ocm/shares')) },
          }),
          spec('a bad share is refused', [ids.fail], 'failed', { error: failure, attachment: { path: transcriptFile } }),
          spec('a known gap', [ids.xfail], 'failed', { error: 'Error: expect(received).toBe(expected)\n\nExpected: 404\nReceived: 200' }),
          spec('a gap that was fixed', [ids.xpass], 'passed'),
          spec('a recommendation', [ids.warning], 'failed', {
            error:
              'Error: expect(received).toEqual(expected) // deep equality\n\n- Expected  - 1\n+ Received  + 1\n\n  Object {\n-   "a": 1,\n+   "a": 2,\n  }',
          }),
          spec('needs a driver step', [ids.notRun], 'skipped', { notRun: 'the none driver cannot share' }),
          spec('covers two requirements', [ids.multiA, ids.multiB], 'passed'),
          spec('interop share from the target to its partner', [ids.interop], 'passed', { interop: 'target -> partner' }),
          spec('interop share back', [ids.interop], 'timedOut', { interop: 'partner -> target', duration: 60000 }),
          {
            id: 'unit-1',
            title: 'a unit test',
            file: 'x.test.ts',
            tests: [{ projectName: 'unit', results: [{ status: 'failed', duration: 1 }] }],
          },
        ],
      },
    ],
  };
  const results = buildComplianceResults(report, {
    catalogue,
    selected,
    profile,
    target: {
      name: 'Sample <Cloud> & "Co"',
      url: 'https://cloud.example.test',
      discovery: {
        enabled: true,
        apiVersion: '1.4.0',
        endPoint: 'https://cloud.example.test/ocm',
        resourceTypes: [],
        sharedSecret: PLANTED.shared,
      },
      discoveryFetch: {
        url: 'https://cloud.example.test/.well-known/ocm',
        fetchedAt: '2026-11-29T09:59:59.000Z',
        status: 200,
        contentType: 'application/json',
      },
    },
    interopWith: { name: 'Partner Cloud', url: 'https://partner.example.test' },
    peers: ['127.0.0.10:9400', '127.0.0.11:9400'],
    expectedFailures: [ids.xfail, ids.xpass],
    expectations: { file: 'fixtures/expectations/sample.yaml', implementation: 'Sample Cloud' },
    toolVersion: '0.1.0',
    gateReason: (r) => (r.id === ids.notApplicable ? 'the target does not advertise the sample capability' : undefined),
  });
  return { results, ids, report };
}

/** The real catalogue and its selection for `profile`, for report tests that build results of their own. */
export function sampleCatalogue(profile: 'main' | '1.1' = 'main'): {
  catalogue: ReturnType<typeof loadCatalogue>;
  selectedList: Requirement[];
  selected: Map<string, Requirement>;
} {
  const catalogue = loadCatalogue();
  const selectedList = selectRequirements(catalogue, { profile });
  return { catalogue, selectedList, selected: new Map(selectedList.map((r) => [r.id, r] as const)) };
}
