import { test, expect } from '@playwright/test';
import {
  CONFLICT_KEYS,
  CONFLICT_OPTIONS,
  MAX_SUMMARY_LENGTH,
  PROFILES,
  conflictOptionProblems,
  loadCatalogue,
  parseCatalogue,
  requirementById,
  resolveProfile,
  selectRequirements,
  type Catalogue,
  type Profile,
  type SelectedRequirement,
} from './requirements.ts';

/** The 109 IDs of the OCM requirement list (protocol digest §14), in order, and INV-12 (unique invite tokens, from the draft's Invite Flow). */
const SPEC_IDS = [
  ...range('DISC', 22),
  ...range('SHR', 27),
  ...range('NTF', 8),
  ...range('INV', 12),
  ...range('RQS', 3),
  ...range('TOK', 9),
  // SIG-20 and SIG-21: the 1.2 draft-cavage verifier's forged-signature and foreign-keyId cases (issue 14).
  ...range('SIG', 21),
  'ADR-1',
  'ADR-2',
  'ACC-1',
  'ACC-2',
  'ACC-3',
  'ACC-4',
  'ACC-5',
  'ERR-1',
  'ERR-2',
  'TLS-1',
  // TLS-2 and TLS-3: "over TLS" for the calls a server makes to its peers (issue 14).
  'TLS-2',
  'TLS-3',
];

/** Our additions for reva-family targets, and the robustness of every OCM endpoint. */
const ADDED_IDS = [...range('SM', 16), ...range('CS3', 21), ...range('OCS', 7), ...range('DAV', 5), ...range('ROB', 4), 'ROB-10'];

function range(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
}

let catalogue: Catalogue;
test.beforeAll(() => {
  catalogue = loadCatalogue();
});

const select = (profile: Profile, extra: Omit<Parameters<typeof selectRequirements>[1], 'profile'> = {}) =>
  selectRequirements(catalogue, { profile, ...extra });
const find = (list: SelectedRequirement[], id: string) => list.find((r) => r.id === id);
const ids = (list: SelectedRequirement[]) => list.map((r) => r.id);

test.describe('the catalogue', () => {
  test('loads and holds exactly the 114 spec IDs plus the SM/CS3/OCS/DAV/ROB additions', () => {
    expect(SPEC_IDS).toHaveLength(114);
    const all = catalogue.requirements.map((r) => r.id);
    expect(all.filter((id) => !/^(SM|CS3|OCS|DAV|ROB)-/.test(id))).toEqual(SPEC_IDS);
    expect(all.filter((id) => /^(SM|CS3|OCS|DAV|ROB)-/.test(id))).toEqual(ADDED_IDS);
    expect(new Set(all).size).toBe(all.length);
    expect(catalogue.byId.size).toBe(all.length);
  });

  test('summaries are one line of at most 200 characters', () => {
    for (const r of catalogue.requirements) {
      expect(r.summary, r.id).not.toMatch(/[\r\n]/);
      expect(r.summary.length, r.id).toBeLessThanOrEqual(MAX_SUMMARY_LENGTH);
      expect(r.summary.length, r.id).toBeGreaterThan(20);
    }
  });

  test('keeps the negative levels of the spec list', () => {
    const mustNot = catalogue.requirements.filter((r) => r.level === 'MUST NOT').map((r) => r.id);
    expect(mustNot).toEqual(['DISC-7', 'SHR-18', 'SHR-20', 'SHR-22', 'NTF-8', 'SIG-5', 'SIG-15', 'ADR-2']);
    expect(catalogue.requirements.filter((r) => r.level === 'SHOULD NOT').map((r) => r.id)).toEqual(['SHR-19']);
    for (const r of catalogue.requirements) expect(r.strength, r.id).toBe(r.level.split(' ')[0]?.toLowerCase());
  });

  test('product conventions are never above SHOULD, and carry the area and role of their surface', () => {
    for (const r of catalogue.requirements.filter((x) => x.source === 'convention')) expect(r.strength, r.id).not.toBe('must');
    for (const r of catalogue.requirements.filter((x) => /^(SM|OCS|DAV)-/.test(x.id))) expect(r.source, r.id).toBe('convention');
    for (const r of catalogue.requirements.filter((x) => x.id.startsWith('SM-')))
      expect([r.area, r.role], r.id).toEqual(['sciencemesh', 'local-api']);
    for (const r of catalogue.requirements.filter((x) => x.id.startsWith('CS3-')))
      expect([r.area, r.role], r.id).toEqual(['cs3-grpc', 'grpc']);
  });

  test('checks that need the target to act are marked needsDriver', () => {
    for (const r of catalogue.requirements.filter((x) => x.methods.includes('needs-driver'))) expect(r.needsDriver, r.id).toBe(true);
    // X+B and P+X rows of the spec list keep their primary method and still need a driver.
    expect(requirementById('SHR-1', catalogue)).toMatchObject({ method: 'black-box', needsDriver: true });
    expect(requirementById('SHR-23', catalogue)).toMatchObject({ method: 'passive', needsDriver: true });
    expect(requirementById('INV-8', catalogue)).toMatchObject({
      roles: ['invite-receiver', 'invite-sender'],
      methods: ['passive', 'black-box'],
    });
    expect(requirementById('DISC-1', catalogue).needsDriver).toBe(false);
  });

  test('requirementById finds an entry and refuses an unknown ID', () => {
    expect(requirementById('DISC-1')).toMatchObject({
      id: 'DISC-1',
      area: 'discovery',
      role: 'discoverable-server',
      section: 'draft § Terms › OCM Address',
    });
    expect(requirementById(catalogue, 'SM-14').summary).toMatch(/404/);
    expect(() => requirementById('DISC-99')).toThrow(/unknown requirement ID "DISC-99"/);
    expect(() => requirementById(catalogue, 'SM-99')).toThrow(/unknown requirement ID "SM-99"/);
  });

  test('a relative path is read from the project root, a missing file is one clear error', () => {
    expect(loadCatalogue('fixtures/requirements.yaml').requirements).toHaveLength(catalogue.requirements.length);
    expect(() => loadCatalogue('fixtures/no-such-catalogue.yaml')).toThrow(
      /cannot read requirement catalogue .*no-such-catalogue\.yaml: ENOENT/,
    );
  });
});

test.describe('profile selection', () => {
  test('each requirement appears only in the versions it belongs to', () => {
    const where = (id: string) => PROFILES.filter((p) => find(select(p), id));
    expect(where('DISC-2')).toEqual(['1.2', '1.3']);
    expect(where('DISC-3')).toEqual(['1.1']);
    expect(where('DISC-14')).toEqual(['main']);
    expect(where('SHR-16')).toEqual(['1.4', 'main']);
    expect(where('SIG-19')).toEqual(['1.2']);
    expect(where('SIG-20')).toEqual(['1.2']);
    expect(where('SIG-21')).toEqual(['1.2']);
    expect(where('SHR-1')).toEqual([...PROFILES]);
    expect(where('INV-1')).toEqual(['1.1', '1.2', '1.3', '1.4', 'main']);
    expect(where('CS3-1')).toEqual([...PROFILES]);
  });

  test('each profile is a superset of what it keeps from the previous one', () => {
    const counts = PROFILES.map((p) => select(p).length);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts.at(-1)).toBeGreaterThan(counts[0] ?? 0);
    expect(ids(select('1.0'))).not.toContain('INV-1');
  });

  test('the level follows the version where the spec changed it', () => {
    expect(find(select('1.2'), 'DISC-1')).toMatchObject({ level: 'SHOULD', strength: 'should', baseLevel: 'MUST' });
    expect(find(select('1.4'), 'DISC-1')).toMatchObject({ level: 'MUST', strength: 'must' });
    expect(find(select('1.4'), 'SHR-27')?.level).toBe('SHOULD');
    expect(find(select('main'), 'SHR-27')?.level).toBe('MUST');
    expect(find(select('1.3'), 'INV-1')?.level).toBe('SHOULD');
    expect(find(select('1.4'), 'INV-1')?.level).toBe('MUST');
  });

  test('a patch release narrows the first profile of a requirement', () => {
    expect(ids(select('1.2', { release: '1.2.0' }))).not.toContain('INV-9');
    expect(ids(select('1.2', { release: '1.2.2' }))).toContain('INV-9');
    expect(ids(select('1.2'))).toContain('INV-9');
    expect(ids(select('1.3', { release: '1.3.0' }))).toContain('INV-9');
    expect(ids(select('1.2', { release: '1.2.1' }))).toContain('DISC-19');
  });

  test('an unknown profile is refused', () => {
    expect(() => selectRequirements(catalogue, { profile: '1.5' as Profile })).toThrow(/unknown profile "1.5"/);
  });
});

test.describe('resolveProfile', () => {
  test('auto maps the advertised apiVersion to a profile', () => {
    expect(resolveProfile('auto', '1.4.0')).toEqual({ profile: '1.4', requested: 'auto', release: '1.4.0' });
    expect(resolveProfile('auto', '1.1')).toMatchObject({ profile: '1.1', release: '1.1.0' });
    expect(resolveProfile('auto', '1.1.0')).toMatchObject({ profile: '1.1' });
    expect(resolveProfile('auto', '1.0-proposal1')).toMatchObject({ profile: '1.0', release: '1.0.0' });
    expect(resolveProfile('auto', '1.2.2')).toMatchObject({ profile: '1.2', release: '1.2.2' });
    expect(resolveProfile('auto', 'v1.3.0')).toMatchObject({ profile: '1.3' });
    for (const known of ['1.4.0', '1.1', '1.0-proposal1', '1.2.2']) expect(resolveProfile('auto', known).warning).toBeUndefined();
  });

  test('auto falls back to main with a warning when the version is unknown or missing', () => {
    for (const odd of ['2.0.0', '1.5.0', 'banana', '']) {
      const r = resolveProfile('auto', odd);
      expect(r.profile, odd).toBe('main');
      expect(r.warning, odd).toMatch(/testing against main/);
    }
    expect(resolveProfile('auto').warning).toMatch(/no apiVersion/);
  });

  test('explicit profiles, aliases and versions; anything else is refused', () => {
    for (const p of PROFILES) expect(resolveProfile(p)).toEqual({ profile: p, requested: p });
    expect(resolveProfile('legacy-1.0').profile).toBe('1.0');
    expect(resolveProfile('latest').profile).toBe('main');
    expect(resolveProfile('1.2.1')).toMatchObject({ profile: '1.2', release: '1.2.1' });
    expect(() => resolveProfile('newest-ish')).toThrow(/unknown profile "newest-ish"/);
    expect(() => resolveProfile('3.0')).toThrow(/unknown profile/);
  });

  test('a resolved release feeds the patch-level selection', () => {
    const r = resolveProfile('auto', '1.2.0');
    expect(ids(selectRequirements(catalogue, { profile: r.profile, ...(r.release ? { release: r.release } : {}) }))).not.toContain('INV-9');
  });
});

test.describe('spec conflicts', () => {
  test('every option has two readings, a default among them, and effects for all its tagged requirements', () => {
    expect(conflictOptionProblems()).toEqual([]);
    for (const key of CONFLICT_KEYS) {
      const tagged = catalogue.requirements
        .filter((r) => r.conflict === key)
        .map((r) => r.id)
        .sort();
      expect(tagged.length, key).toBeGreaterThan(0);
      for (const reading of Object.values(CONFLICT_OPTIONS[key].readings)) expect(Object.keys(reading.effects).sort(), key).toEqual(tagged);
    }
  });

  test('defaults are applied and recorded when nothing is chosen', () => {
    const shr13 = find(select('main'), 'SHR-13');
    expect(shr13?.reading).toMatchObject({
      key: 'webdav-permissions-required',
      reading: 'text',
      isDefault: true,
      variant: 'uri-and-secret',
    });
    expect(find(select('1.4'), 'SIG-1')?.reading).toMatchObject({ reading: 'draft-07', variant: 'date-optional' });
  });

  test('recipientDisplayName under the YAML reading removes SHR-2', () => {
    expect(ids(select('1.4'))).toContain('SHR-2');
    expect(ids(select('1.4', { conflicts: { 'recipient-display-name-required': 'yaml' } }))).not.toContain('SHR-2');
    expect(ids(select('main', { conflicts: { 'recipient-display-name-required': 'yaml' } }))).not.toContain('SHR-2');
  });

  test('a reading can change the level and the informational flag', () => {
    expect(find(select('main'), 'DISC-22')).toMatchObject({ level: 'SHOULD', informational: true });
    expect(find(select('main', { conflicts: { 'receive-key-advertising': 'yaml' } }), 'DISC-22')).toMatchObject({
      level: 'MUST',
      strength: 'must',
      baseLevel: 'SHOULD',
      informational: false,
      reading: { reading: 'yaml', isDefault: false, variant: 'must-advertise' },
    });
  });

  test('a reading applies only inside the versions where the sources disagree', () => {
    const strict = { conflicts: { 'signature-date-covered': 'draft-05' } };
    expect(find(select('1.4', strict), 'SIG-1')?.reading?.variant).toBe('date-required');
    expect(find(select('1.4', strict), 'SIG-6')?.reading?.variant).toBe('date-mandatory');
    expect(find(select('main', strict), 'SIG-1')?.reading).toBeUndefined();
    expect(find(select('1.4', { conflicts: { 'unsigned-requests': 'reject-all' } }), 'SIG-13')?.reading?.variant).toBe('every-verifier');
    expect(find(select('1.1', { conflicts: { 'phantom-required-fields': 'literal' } }), 'SHR-4')?.reading?.variant).toBe(
      'include-permission',
    );
    expect(find(select('1.2', { conflicts: { 'phantom-required-fields': 'literal' } }), 'SHR-4')?.reading).toBeUndefined();
    expect(find(select('1.4', { conflicts: { 'federation-share-type': 'yaml' } }), 'SHR-6')?.reading).toBeUndefined();
    expect(find(select('main', { conflicts: { 'federation-share-type': 'yaml' } }), 'SHR-6')?.reading?.variant).toBe('federation-core');
  });

  test('a reading introduced by a patch release is not applied before it', () => {
    expect(find(select('1.2', { release: '1.2.1' }), 'DISC-19')?.reading?.variant).toBe('path');
    expect(find(select('1.2', { release: '1.2.1', conflicts: { 'invite-accept-dialog-form': 'uri' } }), 'DISC-19')?.reading?.variant).toBe(
      'absolute-uri',
    );
  });

  test('unknown conflict keys and readings are refused by name', () => {
    expect(() => select('main', { conflicts: { 'no-such-conflict': 'x' } as never })).toThrow(/unknown spec conflict "no-such-conflict"/);
    expect(() => select('main', { conflicts: { 'webdav-permissions-required': 'both' } })).toThrow(
      /conflict "webdav-permissions-required" has no reading "both": choose text or yaml/,
    );
  });
});

test.describe('invalid catalogues are rejected with the entry named', () => {
  const valid = {
    id: 'DISC-1',
    level: 'MUST',
    strength: 'must',
    versions: { since: '1.2' },
    section: 'draft § Discovery › Fields',
    source: 'text',
    area: 'discovery',
    role: 'discoverable-server',
    method: 'black-box',
    summary: 'A made-up entry used to test validation.',
  };
  const parse = (...entries: object[]) => parseCatalogue(JSON.stringify({ requirements: entries }), { origin: 'inline' });

  test('a valid entry parses', () => {
    const c = parse(valid);
    expect(c.requirements[0]).toMatchObject({ id: 'DISC-1', roles: ['discoverable-server'], methods: ['black-box'], informational: false });
  });

  const cases: Array<[string, object, RegExp]> = [
    ['an unknown key', { ...valid, id: 'DISC-2', colour: 'red' }, /inline: DISC-2: unknown key "colour"/],
    ['a bad level', { ...valid, id: 'DISC-3', level: 'MUSTN’T' }, /DISC-3: level "MUSTN’T" is not one of/],
    ['a lower-case level', { ...valid, id: 'DISC-4', level: 'must' }, /DISC-4: level "must" is not one of MUST, MUST NOT/],
    [
      'a strength that does not fit the level',
      { ...valid, id: 'DISC-5', level: 'SHOULD' },
      /DISC-5: strength must does not match level SHOULD/,
    ],
    ['a bad area', { ...valid, id: 'DISC-6', area: 'discovry' }, /DISC-6: area "discovry" is not one of/],
    ['an area that does not fit the prefix', { ...valid, id: 'DISC-7', area: 'shares' }, /DISC-7: area shares does not fit id prefix DISC/],
    ['a bad role', { ...valid, id: 'DISC-8', role: 'server' }, /DISC-8: role "server" is not one of/],
    ['a bad role inside a list', { ...valid, id: 'DISC-9', role: ['sending-server', 'client'] }, /DISC-9: role "client"/],
    ['a bad method', { ...valid, id: 'DISC-10', method: 'grey-box' }, /DISC-10: method "grey-box"/],
    [
      'needs-driver without needsDriver',
      { ...valid, id: 'DISC-11', method: 'needs-driver' },
      /DISC-11: method needs-driver requires needsDriver: true/,
    ],
    [
      'an unquoted version',
      { ...valid, id: 'DISC-12', versions: { since: 1.1 } },
      /DISC-12: versions.since 1.1 is a number: quote version keys/,
    ],
    ['an unknown version', { ...valid, id: 'DISC-13', versions: { since: '1.5' } }, /DISC-13: versions.since "1.5" is not one of/],
    [
      'until before since',
      { ...valid, id: 'DISC-14', versions: { since: '1.4', until: '1.2' } },
      /DISC-14: versions.until 1.2 is before since 1.4/,
    ],
    [
      'a sinceRelease outside its profile',
      { ...valid, id: 'DISC-15', versions: { since: '1.2', sinceRelease: '1.3.1' } },
      /DISC-15: versions.sinceRelease "1.3.1"/,
    ],
    [
      'a level override outside the versions',
      { ...valid, id: 'DISC-16', levelByVersion: [{ since: '1.1', level: 'SHOULD' }] },
      /DISC-16: levelByVersion\[0\] lies outside/,
    ],
    ['a section without a document', { ...valid, id: 'DISC-17', section: 'Discovery' }, /DISC-17: section "Discovery" is not/],
    [
      'a section that does not fit the source',
      { ...valid, id: 'DISC-18', source: 'yaml' },
      /DISC-18: section document draft does not fit source yaml/,
    ],
    [
      'a MUST resting on convention',
      { ...valid, id: 'SM-1', area: 'sciencemesh', role: 'local-api', source: 'convention', section: 'sciencemesh § GET /x' },
      /SM-1: level MUST needs a spec/,
    ],
    ['an unknown conflict', { ...valid, id: 'DISC-19', conflict: 'tabs-vs-spaces' }, /DISC-19: conflict "tabs-vs-spaces" is not one of/],
    [
      'a conflict whose readings do not name the entry',
      { ...valid, id: 'DISC-20', conflict: 'webdav-permissions-required' },
      /DISC-20: conflict webdav-permissions-required reading "text" has no effect for DISC-20/,
    ],
    ['an unknown capability', { ...valid, id: 'DISC-21', capability: 'teleport' }, /DISC-21: capability "teleport"/],
    ['a multi-line summary', { ...valid, id: 'DISC-22', summary: 'first line\nsecond line of it' }, /DISC-22: summary spans several lines/],
    [
      'an overlong summary',
      { ...valid, id: 'SHR-1', area: 'shares', summary: 'x'.repeat(201) },
      /SHR-1: summary has 201 characters \(at most 200\)/,
    ],
    ['a bad id', { ...valid, id: 'DISC1' }, /DISC1: id "DISC1" is not PREFIX-<number>/],
    ['an unknown prefix', { ...valid, id: 'FOO-1' }, /FOO-1: id prefix FOO is not one of/],
  ];
  for (const [what, entry, message] of cases) {
    test(`${what} is refused`, () => {
      expect(() => parse(valid, entry)).toThrow(message);
    });
  }

  test('a duplicate ID is refused, naming both places', () => {
    expect(() => parse(valid, { ...valid })).toThrow(/inline: DISC-1: duplicate id \(entry #2; first at entry #1\)/);
  });

  test('an entry without an id is named by its position', () => {
    const { id: _omit, ...noId } = valid;
    expect(() => parse(valid, noId)).toThrow(/inline: entry #2: id undefined is not PREFIX-<number>/);
  });

  test('several problems are reported together in one error', () => {
    let message = '';
    try {
      parse({ ...valid, level: 'OUGHT', area: 'nowhere' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^inline: \d+ problems: DISC-1: /);
    expect(message).toContain('DISC-1: level "OUGHT"');
    expect(message).toContain('DISC-1: area "nowhere"');
  });

  test('YAML that is not a catalogue is refused', () => {
    expect(() => parseCatalogue('requirements: [', { origin: 'inline' })).toThrow(/inline: not valid YAML/);
    expect(() => parseCatalogue('- id: DISC-1', { origin: 'inline' })).toThrow(/expected a mapping with a "requirements" list/);
    expect(() => parseCatalogue('requirements: []\nextra: 1', { origin: 'inline' })).toThrow(/unknown top-level key "extra"/);
  });

  test('a complete catalogue must carry every requirement a conflict reading names', () => {
    expect(() => parseCatalogue(JSON.stringify({ requirements: [valid] }), { origin: 'inline', complete: true })).toThrow(
      /conflict webdav-permissions-required reading "text" names SHR-13, which is not in the catalogue/,
    );
  });
});
