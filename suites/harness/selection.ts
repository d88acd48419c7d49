/**
 * Which requirements a run checks, chosen by ID rather than by title text:
 * `--only SHR-4,DISC-` (exact IDs and `PREFIX-` prefixes, case-sensitive)
 * and `--preset NAME` (a named set, e.g. `pr`, the fast pull-request run).
 * `run` resolves the choice to an ID list once and hands it to the suites in
 * `OCM_ONLY`; `check()` then defines only the checks of those IDs. Unlike
 * Playwright's `--grep`, which matches titles and ignores case, `--only DISC-`
 * never picks a check because its title says "discovery".
 */
import type { Catalogue, Requirement } from './requirements.ts';

/** The environment variable carrying the resolved ID list from `run` to the suites. */
export const ONLY_ENV = 'OCM_ONLY';

export interface Preset {
  description: string;
  includes(requirement: Requirement): boolean;
}

const isMust = (r: Requirement) => r.strength === 'must' && !r.informational;

export const PRESETS: Record<string, Preset> = {
  pr: {
    description: 'the MUST checks of discovery, receiving shares, notifications and signatures: a fast pull-request run',
    includes: (r) =>
      isMust(r) &&
      (r.area === 'discovery' ||
        r.area === 'notifications' ||
        r.area === 'signatures' ||
        (r.area === 'shares' && r.roles.includes('receiving-server'))),
  },
};

/**
 * The IDs named by an `--only` list: each item is an exact requirement ID
 * (`SHR-4`) or a prefix ending in `-` (`SHR-`). Unknown items are refused,
 * so a typo cannot silently select nothing.
 */
export function resolveOnly(list: string, catalogue: Catalogue): string[] {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error('--only needs at least one requirement ID or prefix, e.g. SHR-4 or DISC-');
  const ids = new Set<string>();
  for (const item of items) {
    const matches = item.endsWith('-')
      ? catalogue.requirements.filter((r) => r.id.startsWith(item)).map((r) => r.id)
      : catalogue.byId.has(item)
        ? [item]
        : [];
    if (matches.length === 0)
      throw new Error(
        `--only ${item} names no requirement (IDs and prefixes are case-sensitive, e.g. SHR-4 or SHR-; see fixtures/requirements.yaml)`,
      );
    for (const id of matches) ids.add(id);
  }
  return catalogue.requirements.filter((r) => ids.has(r.id)).map((r) => r.id);
}

export function resolvePreset(name: string, catalogue: Catalogue): string[] {
  const preset = PRESETS[name];
  if (!preset) throw new Error(`unknown --preset ${name}: use one of ${Object.keys(PRESETS).join(', ')}`);
  return catalogue.requirements.filter((r) => preset.includes(r)).map((r) => r.id);
}

/** `--only` and `--preset` together select the IDs in both; undefined when neither is given (everything). */
export function resolveSelection(choice: { only?: string; preset?: string }, catalogue: Catalogue): string[] | undefined {
  const only = choice.only !== undefined ? resolveOnly(choice.only, catalogue) : undefined;
  const preset = choice.preset !== undefined ? resolvePreset(choice.preset, catalogue) : undefined;
  if (only && preset) {
    const inPreset = new Set(preset);
    const both = only.filter((id) => inPreset.has(id));
    if (both.length === 0) throw new Error(`--only ${choice.only} selects nothing of --preset ${choice.preset}`);
    return both;
  }
  return only ?? preset;
}

/** The IDs handed to the suites by `run`, or undefined (every requirement). */
export function selectionFromEnv(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> | undefined {
  const value = env[ONLY_ENV];
  return value ? new Set(value.split(',')) : undefined;
}
