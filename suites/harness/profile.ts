/**
 * The profile a run or a discovery document is judged under, and why: one
 * mapping for `run` (suite context and CLI) and `validate-discovery`.
 *
 * `auto` maps the discovery document's apiVersion to its release profile
 * ("1.2.0" → 1.2). A pre-1.1 or non-semver version ("1.0-proposal1", what
 * Nextcloud and Seafile serve) is judged under 1.1, the first version that
 * defines discovery: under 1.0 every discovery rule would be not applicable
 * and such a document could never fail. No apiVersion, or an unknown one,
 * gives main with a warning (a guess). Any other value is resolved by
 * `resolveProfile` (a profile key, an alias or a 1.x version) and throws
 * when unknown.
 */
import { resolveProfile, type Profile } from './requirements.ts';

/** The profile a run or document is judged under, and why. */
export interface JudgedProfile {
  profile: Profile;
  /** The release used for `sinceRelease` checks (x.y.z), when known. */
  release?: string;
  /** Why this profile: `from apiVersion "1.2.0"`, `--profile 1.3`, … (printed after `profile X`). */
  reason: string;
  /** Set when the profile is a guess (auto without a known apiVersion). */
  warning?: string;
}

/** Discovery is first defined in 1.1: documents announcing an older or non-release version are judged under it. */
export const FIRST_DISCOVERY_PROFILE: Profile = '1.1';
const SEMVER = /^v?\d+\.\d+(\.\d+)?$/;

/**
 * The profile for a requested value (`auto`, a profile key, an alias or a
 * version) and the target's apiVersion. `source` names where an explicit
 * value came from, for the reason (default `--profile`). Throws on an
 * unknown requested profile.
 */
export function profileFromApiVersion(requested: string, apiVersion: unknown, source = '--profile'): JudgedProfile {
  const version = typeof apiVersion === 'string' ? apiVersion.trim() : undefined;
  if (requested.trim() !== 'auto') {
    const resolved = resolveProfile(requested);
    return { profile: resolved.profile, ...(resolved.release ? { release: resolved.release } : {}), reason: `${source} ${requested}` };
  }
  if (version === undefined || version === '') {
    const warning = 'the target advertises no apiVersion; judged under main';
    return { profile: 'main', reason: 'no apiVersion announced; judged under main', warning };
  }
  const resolved = resolveProfile('auto', version);
  const semver = SEMVER.test(version);
  if (!semver || resolved.profile === '1.0') {
    return {
      profile: FIRST_DISCOVERY_PROFILE,
      reason: `from apiVersion ${JSON.stringify(version)}: ${semver ? 'older than' : 'not a release number; judged as'} 1.1, the first version that defines discovery`,
    };
  }
  if (resolved.warning)
    return {
      profile: resolved.profile,
      reason: `from apiVersion ${JSON.stringify(version)}: ${resolved.warning}`,
      warning: resolved.warning,
    };
  return {
    profile: resolved.profile,
    ...(resolved.release ? { release: resolved.release } : {}),
    reason: `from apiVersion ${JSON.stringify(version)}`,
  };
}

/** `profile 1.2 (from apiVersion "1.2.0")`: the line `run` and `validate-discovery` print first. */
export function profileLine(judged: JudgedProfile): string {
  return `profile ${judged.profile} (${judged.reason})`;
}
