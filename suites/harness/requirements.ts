/**
 * The requirement catalogue (fixtures/requirements.yaml): typed loading,
 * strict validation, profile resolution and per-profile selection.
 *
 * Invariants:
 * - Every entry is checked when loaded; any problem (unknown key, bad level,
 *   area, role, method, version, duplicate ID, inconsistent strength, a
 *   conflict tag without readings) throws one Error that names the entry.
 * - Profiles are ordered 1.0 < 1.1 < 1.2 < 1.3 < 1.4 < main; version ranges
 *   are inclusive at both ends.
 * - Places where the OCM sources disagree are named options
 *   (CONFLICT_OPTIONS). Every reading of an option says what happens to each
 *   requirement tagged with it; the selection applies the chosen reading only
 *   inside the option's version range.
 * - Nothing here reads outside the project: the default catalogue path is
 *   resolved from this file's location.
 * Scheme and defaults: decisions/0006-requirement-catalogue.md.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CONFLICT_OPTIONS, type ConflictEffect, type ConflictOption, type ConflictReading } from './spec-conflicts.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_CATALOGUE_PATH = 'fixtures/requirements.yaml';

export const PROFILES = ['1.0', '1.1', '1.2', '1.3', '1.4', 'main'] as const;
export type Profile = (typeof PROFILES)[number];

export const LEVELS = ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY'] as const;
export type Level = (typeof LEVELS)[number];

export const STRENGTHS = ['must', 'should', 'may'] as const;
export type Strength = (typeof STRENGTHS)[number];

export const AREAS = [
  'discovery',
  'shares',
  'notifications',
  'invites',
  'request-share',
  'token',
  'signatures',
  'addressing',
  'access',
  'errors',
  'transport',
  'sciencemesh',
  'cs3-grpc',
  'ocs',
  'robustness',
] as const;
export type Area = (typeof AREAS)[number];

export const ROLES = [
  'discoverable-server',
  'receiving-server',
  'sending-server',
  'invite-sender',
  'invite-receiver',
  'token-endpoint',
  'signature-verifier',
  'signer',
  'local-api',
  'grpc',
] as const;
export type Role = (typeof ROLES)[number];

export const METHODS = ['black-box', 'passive', 'needs-driver'] as const;
export type Method = (typeof METHODS)[number];

/** text = the Internet-Draft prose, yaml = the official OpenAPI file, cs3apis = the CS3 proto comments, convention = product behaviour without a spec. */
export const SOURCES = ['text', 'yaml', 'text+yaml', 'cs3apis', 'convention'] as const;
export type Source = (typeof SOURCES)[number];

/** Discovery capabilities a requirement can be gated on. */
export const CAPABILITIES = [
  'enforce-mfa',
  'exchange-token',
  'http-sig',
  'invites',
  'invite-wayf',
  'notifications',
  'protocol-object',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Discovery criteria a requirement can be gated on. */
export const CRITERIA = ['must-use-http-sig', 'must-exchange-token', 'must-invite', 'denylist', 'allowlist'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** ID prefix → area. DAV checks are resource access, like ACC. */
const PREFIX_AREA: Readonly<Record<string, Area>> = {
  DISC: 'discovery',
  SHR: 'shares',
  NTF: 'notifications',
  INV: 'invites',
  RQS: 'request-share',
  TOK: 'token',
  SIG: 'signatures',
  ADR: 'addressing',
  ACC: 'access',
  ERR: 'errors',
  TLS: 'transport',
  SM: 'sciencemesh',
  CS3: 'cs3-grpc',
  OCS: 'ocs',
  DAV: 'access',
  ROB: 'robustness',
};

/** Which documents each source may point into (`section: "<doc> § <where>"`). */
const SOURCE_DOCS: Readonly<Record<Source, readonly string[]>> = {
  text: ['draft'],
  yaml: ['spec.yaml'],
  'text+yaml': ['draft', 'spec.yaml'],
  cs3apis: ['cs3apis'],
  convention: ['sciencemesh', 'cs3apis', 'ocs', 'webdav'],
};

export interface VersionRange {
  readonly since: Profile;
  /** Inclusive; absent = up to and including main. */
  readonly until?: Profile;
  /** A patch release inside `since` (e.g. 1.2.2) before which the requirement did not exist. */
  readonly sinceRelease?: string;
}

export interface LevelOverride {
  readonly since: Profile;
  readonly until?: Profile;
  readonly level: Level;
}

export interface Requirement {
  readonly id: string;
  readonly level: Level;
  readonly strength: Strength;
  readonly versions: VersionRange;
  readonly levelByVersion: readonly LevelOverride[];
  readonly section: string;
  readonly source: Source;
  readonly area: Area;
  /** Primary role (the first of `roles`). */
  readonly role: Role;
  readonly roles: readonly Role[];
  /** Primary method (the first of `methods`). */
  readonly method: Method;
  readonly methods: readonly Method[];
  readonly needsDriver: boolean;
  readonly capability?: Capability;
  readonly criterion?: Criterion;
  readonly conflict?: ConflictKey;
  readonly informational: boolean;
  readonly summary: string;
}

export interface Catalogue {
  /** Absolute path the catalogue was read from, or a label for inline text. */
  readonly origin: string;
  readonly requirements: readonly Requirement[];
  readonly byId: ReadonlyMap<string, Requirement>;
}

// ------------------------------------------------------------- spec conflicts

export { CONFLICT_OPTIONS };
export type { ConflictEffect, ConflictOption, ConflictReading };
export type ConflictKey = keyof typeof CONFLICT_OPTIONS;
export const CONFLICT_KEYS = Object.keys(CONFLICT_OPTIONS) as ConflictKey[];

/** The reading chosen per conflict; missing keys take the default. */
export type ConflictChoices = Partial<Record<ConflictKey, string>>;

export function defaultConflictChoices(): Record<ConflictKey, string> {
  return Object.fromEntries(CONFLICT_KEYS.map((k) => [k, CONFLICT_OPTIONS[k].default])) as Record<ConflictKey, string>;
}

/** Shape problems of CONFLICT_OPTIONS itself: two readings each, a default that is one of them, effects for the same IDs in both. */
export function conflictOptionProblems(): string[] {
  const problems: string[] = [];
  for (const key of CONFLICT_KEYS) {
    const option: ConflictOption = CONFLICT_OPTIONS[key];
    const names = Object.keys(option.readings);
    if (names.length !== 2) problems.push(`conflict ${key} has ${names.length} readings, expected 2`);
    if (!names.includes(option.default)) problems.push(`conflict ${key} default "${option.default}" is not one of its readings`);
    const ids = names.map((n) =>
      Object.keys(option.readings[n]?.effects ?? {})
        .sort()
        .join(','),
    );
    if (new Set(ids).size > 1) problems.push(`conflict ${key}: its readings name different requirements`);
  }
  return problems;
}

// ------------------------------------------------------------------- versions

export function profileIndex(profile: Profile): number {
  return PROFILES.indexOf(profile);
}

export function isProfile(value: unknown): value is Profile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value);
}

export function inRange(profile: Profile, range: { since: Profile; until?: Profile }): boolean {
  const i = profileIndex(profile);
  return i >= profileIndex(range.since) && i <= profileIndex(range.until ?? 'main');
}

const RELEASE = /^v?(\d+)\.(\d+)(?:\.(\d+))?(.*)$/;

/** [major, minor, patch] of an apiVersion-like string, or null. */
function parseRelease(value: string): [number, number, number] | null {
  const m = RELEASE.exec(value.trim());
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function compareRelease(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export interface ResolvedProfile {
  readonly profile: Profile;
  /** What was asked for (`auto`, a profile key, an alias or a version). */
  readonly requested: string;
  /** The release used for `sinceRelease` checks, as `x.y.z`, when known. */
  readonly release?: string;
  /** Set when the profile is a guess (auto with an unknown or missing apiVersion). */
  readonly warning?: string;
}

const PROFILE_ALIASES: Readonly<Record<string, Profile>> = {
  'legacy-1.0': '1.0',
  latest: 'main',
  newest: 'main',
};

function profileOfRelease(value: string): { profile: Profile; release: string } | null {
  const r = parseRelease(value);
  if (!r || r[0] !== 1 || r[1] > 4) return null;
  return { profile: `1.${r[1]}` as Profile, release: r.join('.') };
}

/**
 * Map a requested profile to a profile key. `auto` uses the target's
 * discovery apiVersion ('1.4.0' → 1.4, '1.0-proposal1' → 1.0, '1.2.2' → 1.2);
 * an unknown or missing apiVersion gives main with a warning. Other values
 * are a profile key, an alias (legacy-1.0, latest, newest) or a 1.x version;
 * anything else throws. Note: main's OpenAPI also says 1.4.0, so auto cannot
 * tell main from 1.4.
 */
export function resolveProfile(profile: string, targetApiVersion?: string): ResolvedProfile {
  const requested = profile;
  const p = profile.trim();
  if (p === 'auto') {
    if (targetApiVersion === undefined || targetApiVersion.trim() === '') {
      return { profile: 'main', requested, warning: 'the target advertises no apiVersion; testing against main' };
    }
    const mapped = profileOfRelease(targetApiVersion);
    if (!mapped) {
      return { profile: 'main', requested, warning: `apiVersion "${targetApiVersion}" is not a known OCM release; testing against main` };
    }
    return { profile: mapped.profile, requested, release: mapped.release };
  }
  if (isProfile(p)) return { profile: p, requested };
  const alias = PROFILE_ALIASES[p];
  if (alias) return { profile: alias, requested };
  const mapped = profileOfRelease(p);
  if (mapped) return { profile: mapped.profile, requested, release: mapped.release };
  throw new Error(`unknown profile "${profile}": use auto, ${PROFILES.join(', ')}, legacy-1.0, latest or a 1.x version`);
}

// ------------------------------------------------------------------ selection

export interface AppliedReading {
  readonly key: ConflictKey;
  readonly reading: string;
  readonly isDefault: boolean;
  readonly variant: string;
  readonly expects: string;
}

/** A requirement as it applies to one profile: level and flags are the effective ones. */
export interface SelectedRequirement extends Requirement {
  readonly profile: Profile;
  /** The level written in the catalogue, before version or conflict adjustments. */
  readonly baseLevel: Level;
  /** The conflict reading in force, when the requirement is tagged and the profile is in the conflict's range. */
  readonly reading?: AppliedReading;
}

export interface SelectOptions {
  readonly profile: Profile;
  readonly conflicts?: ConflictChoices;
  /** Target release (x.y.z) to drop requirements introduced in a later patch of the same profile. */
  readonly release?: string;
}

export function strengthOf(level: Level): Strength {
  return level.startsWith('MUST') ? 'must' : level.startsWith('SHOULD') ? 'should' : 'may';
}

function checkConflictChoices(conflicts: ConflictChoices): void {
  for (const [key, reading] of Object.entries(conflicts)) {
    if (!(key in CONFLICT_OPTIONS)) {
      throw new Error(`unknown spec conflict "${key}": known conflicts are ${CONFLICT_KEYS.join(', ')}`);
    }
    const readings = Object.keys(CONFLICT_OPTIONS[key as ConflictKey].readings);
    if (reading === undefined || !readings.includes(reading)) {
      throw new Error(`conflict "${key}" has no reading "${String(reading)}": choose ${readings.join(' or ')}`);
    }
  }
}

function releaseTooEarly(range: VersionRange, profile: Profile, release: string | undefined): boolean {
  if (!range.sinceRelease || !release || profile !== range.since) return false;
  const have = parseRelease(release);
  const need = parseRelease(range.sinceRelease);
  return have !== null && need !== null && compareRelease(have, need) < 0;
}

/**
 * The requirements that apply to a profile, with the level for that profile
 * and the chosen conflict readings applied. Throws on unknown conflict keys
 * or readings.
 */
export function selectRequirements(catalogue: Catalogue, options: SelectOptions): SelectedRequirement[] {
  const { profile } = options;
  if (!isProfile(profile)) throw new Error(`unknown profile "${String(profile)}": use one of ${PROFILES.join(', ')}`);
  const choices = options.conflicts ?? {};
  checkConflictChoices(choices);
  const selected: SelectedRequirement[] = [];
  for (const req of catalogue.requirements) {
    if (!inRange(profile, req.versions)) continue;
    if (releaseTooEarly(req.versions, profile, options.release)) continue;
    let level = req.levelByVersion.find((o) => inRange(profile, o))?.level ?? req.level;
    let informational = req.informational;
    let reading: AppliedReading | undefined;
    if (req.conflict) {
      const option: ConflictOption = CONFLICT_OPTIONS[req.conflict];
      if (inRange(profile, option.versions) && !releaseTooEarly(option.versions, profile, options.release)) {
        const name = choices[req.conflict] ?? option.default;
        const effect = option.readings[name]?.effects[req.id];
        if (!effect) throw new Error(`conflict "${req.conflict}" reading "${name}" says nothing about ${req.id}`);
        if (effect.applies === false) continue;
        level = effect.level ?? level;
        informational = effect.informational ?? informational;
        reading = {
          key: req.conflict,
          reading: name,
          isDefault: name === option.default,
          variant: effect.variant,
          expects: effect.expects,
        };
      }
    }
    selected.push({
      ...req,
      profile,
      baseLevel: req.level,
      level,
      strength: strengthOf(level),
      informational,
      ...(reading ? { reading } : {}),
    });
  }
  return selected;
}

// -------------------------------------------------------------------- loading

const ENTRY_KEYS = new Set([
  'id',
  'level',
  'strength',
  'versions',
  'levelByVersion',
  'section',
  'source',
  'area',
  'role',
  'method',
  'needsDriver',
  'capability',
  'criterion',
  'conflict',
  'informational',
  'summary',
]);
const VERSION_KEYS = new Set(['since', 'until', 'sinceRelease']);
const OVERRIDE_KEYS = new Set(['since', 'until', 'level']);
const ID_PATTERN = /^([A-Z][A-Z0-9]*)-([1-9][0-9]*)$/;
const SECTION_PATTERN = /^(draft|spec\.yaml|cs3apis|sciencemesh|ocs|webdav) § \S/;
const RELEASE_PATTERN = /^1\.[0-4]\.\d+$/;
export const MAX_SUMMARY_LENGTH = 200;

type Problems = string[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown, what: string, problems: Problems): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return undefined;
}

function listOf<T extends string>(allowed: readonly T[], value: unknown, what: string, problems: Problems): T[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) problems.push(`${what} is an empty list`);
  const out = items.map((v) => oneOf(allowed, v, what, problems)).filter((v): v is T => v !== undefined);
  if (new Set(out).size !== out.length) problems.push(`${what} lists a value twice`);
  return out;
}

function profileField(value: unknown, what: string, problems: Problems): Profile | undefined {
  if (isProfile(value)) return value;
  problems.push(
    typeof value === 'number'
      ? `${what} ${value} is a number: quote version keys ('1.0', not 1.0)`
      : `${what} ${JSON.stringify(value)} is not one of ${PROFILES.join(', ')}`,
  );
  return undefined;
}

function unknownKeys(value: Record<string, unknown>, allowed: Set<string>, what: string, problems: Problems): void {
  for (const key of Object.keys(value)) if (!allowed.has(key)) problems.push(`unknown key "${key}" in ${what}`);
}

function rangeField(value: unknown, what: string, keys: Set<string>, problems: Problems): { since: Profile; until?: Profile } | undefined {
  if (!isRecord(value)) {
    problems.push(`${what} must be a mapping with since (and optional until)`);
    return undefined;
  }
  unknownKeys(value, keys, what, problems);
  const since = profileField(value.since, `${what}.since`, problems);
  const until = value.until === undefined ? undefined : profileField(value.until, `${what}.until`, problems);
  if (!since) return undefined;
  if (until && profileIndex(until) < profileIndex(since)) problems.push(`${what}.until ${until} is before since ${since}`);
  return until ? { since, until } : { since };
}

function parseEntry(raw: unknown, problems: Problems): Requirement | undefined {
  if (!isRecord(raw)) {
    problems.push('is not a mapping');
    return undefined;
  }
  unknownKeys(raw, ENTRY_KEYS, 'the entry', problems);
  const id = typeof raw.id === 'string' ? raw.id : '';
  const idMatch = ID_PATTERN.exec(id);
  if (!idMatch) problems.push(`id ${JSON.stringify(raw.id)} is not PREFIX-<number>`);
  const prefixArea = idMatch ? PREFIX_AREA[idMatch[1] ?? ''] : undefined;
  if (idMatch && !prefixArea) problems.push(`id prefix ${idMatch[1]} is not one of ${Object.keys(PREFIX_AREA).join(', ')}`);

  const level = oneOf(LEVELS, raw.level, 'level', problems);
  const strength = oneOf(STRENGTHS, raw.strength, 'strength', problems);
  if (level && strength && strength !== strengthOf(level))
    problems.push(`strength ${strength} does not match level ${level} (expected ${strengthOf(level)})`);

  const versionsRange = rangeField(raw.versions, 'versions', VERSION_KEYS, problems);
  let versions: VersionRange | undefined = versionsRange;
  if (versionsRange && isRecord(raw.versions) && raw.versions.sinceRelease !== undefined) {
    const sr = raw.versions.sinceRelease;
    if (typeof sr !== 'string' || !RELEASE_PATTERN.test(sr) || !sr.startsWith(`${versionsRange.since}.`)) {
      problems.push(`versions.sinceRelease ${JSON.stringify(sr)} must be a x.y.z release inside profile ${versionsRange.since}`);
    } else {
      versions = { ...versionsRange, sinceRelease: sr };
    }
  }

  const levelByVersion: LevelOverride[] = [];
  if (raw.levelByVersion !== undefined) {
    if (!Array.isArray(raw.levelByVersion) || raw.levelByVersion.length === 0) {
      problems.push('levelByVersion must be a non-empty list');
    } else {
      raw.levelByVersion.forEach((o: unknown, i: number) => {
        const what = `levelByVersion[${i}]`;
        const range = rangeField(o, what, OVERRIDE_KEYS, problems);
        const lvl = isRecord(o) ? oneOf(LEVELS, o.level, `${what}.level`, problems) : undefined;
        if (!range || !lvl) return;
        if (versionsRange && (!inRange(range.since, versionsRange) || !inRange(range.until ?? 'main', versionsRange))) {
          problems.push(`${what} lies outside the entry's versions`);
        }
        if (level && lvl === level) problems.push(`${what} repeats the entry's level ${level}`);
        levelByVersion.push({ ...range, level: lvl });
      });
    }
  }

  const source = oneOf(SOURCES, raw.source, 'source', problems);
  const section = typeof raw.section === 'string' ? raw.section : '';
  const sectionMatch = SECTION_PATTERN.exec(section);
  if (!sectionMatch) {
    problems.push(`section ${JSON.stringify(raw.section)} is not "<draft|spec.yaml|cs3apis|sciencemesh|ocs|webdav> § <where>"`);
  } else if (source && !SOURCE_DOCS[source].includes(sectionMatch[1] ?? '')) {
    problems.push(`section document ${sectionMatch[1]} does not fit source ${source} (expected ${SOURCE_DOCS[source].join(' or ')})`);
  }
  if (source === 'convention' && level && strengthOf(level) === 'must') {
    problems.push(`level ${level} needs a spec: a convention is at most SHOULD`);
  }

  const area = oneOf(AREAS, raw.area, 'area', problems);
  if (area && prefixArea && area !== prefixArea)
    problems.push(`area ${area} does not fit id prefix ${idMatch?.[1]} (expected ${prefixArea})`);
  const roles = listOf(ROLES, raw.role, 'role', problems);
  const methods = listOf(METHODS, raw.method, 'method', problems);

  if (raw.needsDriver !== undefined && typeof raw.needsDriver !== 'boolean') problems.push('needsDriver must be true or false');
  const needsDriver = raw.needsDriver === true;
  if (methods.includes('needs-driver') && !needsDriver) problems.push('method needs-driver requires needsDriver: true');
  if (raw.needsDriver === false) problems.push('needsDriver: false is the default; leave it out');

  if (raw.informational !== undefined && raw.informational !== true) problems.push('informational is either true or left out');

  const capability = raw.capability === undefined ? undefined : oneOf(CAPABILITIES, raw.capability, 'capability', problems);
  const criterion = raw.criterion === undefined ? undefined : oneOf(CRITERIA, raw.criterion, 'criterion', problems);
  const conflict = raw.conflict === undefined ? undefined : oneOf(CONFLICT_KEYS, raw.conflict, 'conflict', problems);
  if (conflict) {
    for (const [name, reading] of Object.entries(CONFLICT_OPTIONS[conflict].readings as Record<string, ConflictReading>)) {
      if (!reading.effects[id]) problems.push(`conflict ${conflict} reading "${name}" has no effect for ${id || 'this entry'}`);
    }
  }

  const summary = raw.summary;
  if (typeof summary !== 'string' || summary.trim() === '') problems.push('summary is missing');
  else {
    if (/[\r\n]/.test(summary)) problems.push('summary spans several lines');
    if (summary.length > MAX_SUMMARY_LENGTH) problems.push(`summary has ${summary.length} characters (at most ${MAX_SUMMARY_LENGTH})`);
    if (summary !== summary.trim()) problems.push('summary has leading or trailing blanks');
  }

  if (problems.length > 0 || !level || !strength || !versions || !source || !area) return undefined;
  const [role, method] = [roles[0], methods[0]];
  if (!role || !method) return undefined;
  return {
    id,
    level,
    strength,
    versions,
    levelByVersion,
    section,
    source,
    area,
    role,
    roles,
    method,
    methods,
    needsDriver,
    ...(capability ? { capability } : {}),
    ...(criterion ? { criterion } : {}),
    ...(conflict ? { conflict } : {}),
    informational: raw.informational === true,
    summary: summary as string,
  };
}

export interface ParseOptions {
  /** Shown in error messages. */
  readonly origin?: string;
  /**
   * Also check that every requirement a conflict reading names is in the
   * catalogue and tagged with that conflict. On for the project catalogue;
   * off for partial catalogues (tests, excerpts).
   */
  readonly complete?: boolean;
  /** Reuse the YAML parse of identical text from an earlier process (see parseYamlCached); on for catalogue files. */
  readonly cacheParse?: boolean;
}

/**
 * The YAML parse of `text`, kept as JSON in the temporary folder under the
 * SHA-256 of the text: the catalogue is read by the CLI, the test runner and
 * every worker of each run, and parsing its YAML costs ~0.4 s of CPU each time,
 * JSON a millisecond. Keyed by content, so an edited catalogue is parsed anew;
 * the validation below runs on every load either way. A parse that JSON cannot
 * hold exactly is never cached; a cache that cannot be read or written is skipped.
 */
function parseYamlCached(text: string): unknown {
  const dir = join(tmpdir(), `ocm-conformance-cache-${userInfo().uid}`);
  const file = join(dir, `yaml-${createHash('sha256').update(text).digest('hex')}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // not cached yet (or unreadable): parse below
  }
  const doc = parseYaml(text) as unknown;
  try {
    const json = JSON.stringify(doc);
    if (json !== undefined && isDeepStrictEqual(JSON.parse(json), doc)) {
      mkdirSync(dir, { recursive: true });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, json);
      renameSync(partial, file); // whole or absent: a process reading it never sees half a file
    }
  } catch {
    // a cache is an optimisation: a read-only or full temporary folder only costs the parse
  }
  return doc;
}

/** Parse and validate catalogue YAML text. Throws one Error listing every problem, each naming its entry. */
export function parseCatalogue(text: string, options: ParseOptions = {}): Catalogue {
  const origin = options.origin ?? 'requirements catalogue';
  let doc: unknown;
  try {
    doc = options.cacheParse ? parseYamlCached(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${origin}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc.requirements)) {
    throw new Error(`${origin}: expected a mapping with a "requirements" list`);
  }
  const extra = Object.keys(doc).filter((k) => k !== 'requirements');
  const messages: string[] = extra.map((k) => `unknown top-level key "${k}"`);
  const requirements: Requirement[] = [];
  const byId = new Map<string, Requirement>();
  const firstSeen = new Map<string, number>();
  doc.requirements.forEach((raw: unknown, index: number) => {
    const problems: Problems = [];
    const rawId = isRecord(raw) && typeof raw.id === 'string' ? raw.id : undefined;
    const label = rawId ?? `entry #${index + 1}`;
    const req = parseEntry(raw, problems);
    if (rawId !== undefined) {
      const first = firstSeen.get(rawId);
      if (first !== undefined) problems.push(`duplicate id (entry #${index + 1}; first at entry #${first})`);
      else firstSeen.set(rawId, index + 1);
    }
    if (problems.length > 0) {
      messages.push(...problems.map((p) => `${label}: ${p}`));
      return;
    }
    if (req) {
      requirements.push(req);
      byId.set(req.id, req);
    }
  });
  if (options.complete && messages.length === 0) {
    messages.push(...conflictOptionProblems());
    for (const key of CONFLICT_KEYS) {
      for (const [name, reading] of Object.entries(CONFLICT_OPTIONS[key].readings as Record<string, ConflictReading>)) {
        for (const id of Object.keys(reading.effects)) {
          const req = byId.get(id);
          if (!req) messages.push(`conflict ${key} reading "${name}" names ${id}, which is not in the catalogue`);
          else if (req.conflict !== key)
            messages.push(`${id}: conflict ${key} reading "${name}" names it, but the entry is not tagged conflict: ${key}`);
        }
      }
    }
  }
  if (messages.length > 0) {
    const head = messages.length === 1 ? messages[0] : `${messages.length} problems: ${messages[0]}`;
    throw new Error(`${origin}: ${head}${messages.length > 1 ? `\n  ${messages.join('\n  ')}` : ''}`);
  }
  return { origin, requirements, byId };
}

/**
 * Read and validate a catalogue file. A relative path is taken from the
 * project root; the default is fixtures/requirements.yaml, which is also
 * checked for complete conflict coverage.
 */
export function loadCatalogue(path?: string, options: Omit<ParseOptions, 'origin'> = {}): Catalogue {
  const file = isAbsolute(path ?? '') ? (path as string) : resolve(PROJECT_ROOT, path ?? DEFAULT_CATALOGUE_PATH);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read requirement catalogue ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCatalogue(text, { origin: file, complete: options.complete ?? path === undefined, cacheParse: true });
}

let projectCatalogue: Catalogue | undefined;

/** The project catalogue, loaded once. */
export function defaultCatalogue(): Catalogue {
  projectCatalogue ??= loadCatalogue();
  return projectCatalogue;
}

/**
 * One requirement by ID, from the project catalogue unless one is given
 * (either argument order works). Throws on an unknown ID, so a typo in a
 * test title fails loudly; use `catalogue.byId.get(id)` to probe.
 */
export function requirementById(id: string, catalogue?: Catalogue): Requirement;
export function requirementById(catalogue: Catalogue, id: string): Requirement;
export function requirementById(a: string | Catalogue, b?: string | Catalogue): Requirement {
  const [id, catalogue] = typeof a === 'string' ? [a, (b as Catalogue | undefined) ?? defaultCatalogue()] : [b as string, a];
  const req = catalogue.byId.get(id);
  if (!req) throw new Error(`unknown requirement ID "${id}" (not in ${catalogue.origin})`);
  return req;
}
