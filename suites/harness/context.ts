/**
 * What a suite file knows when it is loaded: the target config, the chosen
 * profile, the target's discovery document (fetched once by the global
 * setup), and the requirement catalogue. Checks are defined only when their
 * requirement applies to that profile and the target's capabilities; the
 * results file lists the rest as not applicable.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileFromApiVersion } from './profile.ts';
import { loadCatalogue, selectRequirements, PROJECT_ROOT, type Catalogue, type Profile, type Requirement } from './requirements.ts';
import { loadTargetConfig, targetDomain, type TargetConfig } from './target.ts';
import { peerPairsFromEnv } from './peer-addresses.ts';

export const TARGET_DISCOVERY_FILE = 'target-discovery.json';

/**
 * Set by `ocm-conformance run`, which starts the embedded pair in its own
 * process while Playwright starts up (global-setup.ts waits for it).
 */
export const EMBEDDED_BY_RUN_ENV = 'OCM_EMBEDDED_BY_RUN';

/** This run's working folder (set by the global setup; each run has its own). */
export function runDir(): string {
  return process.env.OCM_RUN_DIR ?? join(PROJECT_ROOT, 'reports/output/run');
}

export interface SuiteContext {
  target: TargetConfig;
  domain: string;
  profile: Profile;
  /** Set when the profile is a guess (auto without a known apiVersion). */
  profileWarning: string | undefined;
  /** Why this profile: `from apiVersion "1.2.0"`, `--profile 1.3`, … (suites/harness/profile.ts). */
  profileReason: string;
  /** The discovery document as fetched at the start of the run; undefined when it could not be read. */
  discovery: Record<string, any> | undefined;
  catalogue: Catalogue;
  /** IDs selected by the profile and conflict options. */
  selected: Map<string, Requirement>;
}

let cached: SuiteContext | undefined;

export function suiteContext(): SuiteContext {
  if (cached) return cached;
  const file = process.env.OCM_TARGET_CONFIG;
  if (!file) throw new Error('OCM_TARGET_CONFIG is not set: run the suites through `ocm-conformance run` or `npm test`');
  const target = loadTargetConfig(file);
  // `run --peers` (and port 0 resolved before the run) override the config's peers.
  target.peers = peerPairsFromEnv() ?? target.peers;
  const discoveryFile = join(runDir(), TARGET_DISCOVERY_FILE);
  const discovery = existsSync(discoveryFile)
    ? (JSON.parse(readFileSync(discoveryFile, 'utf8')) as { document?: Record<string, any> }).document
    : undefined;
  const resolved = process.env.OCM_PROFILE
    ? profileFromApiVersion(process.env.OCM_PROFILE, discovery?.apiVersion, '--profile')
    : profileFromApiVersion(target.profile, discovery?.apiVersion, 'target config:');
  const catalogue = loadCatalogue();
  const selected = new Map(
    selectRequirements(catalogue, {
      profile: resolved.profile,
      conflicts: target.conflicts as never,
      ...(resolved.release ? { release: resolved.release } : {}),
    }).map((r) => [r.id, r] as const),
  );
  cached = {
    target,
    domain: targetDomain(target),
    profile: resolved.profile,
    profileWarning: resolved.warning,
    profileReason: resolved.reason,
    discovery,
    catalogue,
    selected,
  };
  return cached;
}

/** Whether the target advertises a capability (as of the run's start). */
export function advertises(capability: string): boolean {
  const caps = suiteContext().discovery?.capabilities;
  return Array.isArray(caps) && caps.includes(capability);
}

const GATES_DIR = 'gates';

/**
 * Records that checks of `ids` were not defined because of what the target
 * is (e.g. it advertises no ssh-receive): the results then say not applicable,
 * with this reason. Every process that loads the suites writes its own file.
 */
export function recordGate(ids: string[], reason: string): void {
  try {
    const dir = join(runDir(), GATES_DIR);
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${process.pid}.jsonl`), ids.map((id) => `${JSON.stringify({ id, reason })}\n`).join(''));
  } catch {
    // Without a run folder (a bare `playwright test --list`) there is nothing to report to.
  }
}

function recordedGates(): Map<string, string> {
  const gates = new Map<string, string>();
  const dir = join(runDir(), GATES_DIR);
  if (!existsSync(dir)) return gates;
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const { id, reason } = JSON.parse(line) as { id: string; reason: string };
        gates.set(id, reason);
      } catch {
        // a torn line of a process that died: ignore
      }
    }
  }
  return gates;
}

/** Why a requirement does not apply to this run, or undefined when it does. */
export function notApplicableReason(id: string): string | undefined {
  const gated = staticReason(id);
  if (gated) return gated;
  return undefined;
}

/** The reason recorded by `recordGate` for `id`, if any (read after a run). */
export function recordedGateReason(id: string): string | undefined {
  return recordedGates().get(id);
}

function staticReason(id: string): string | undefined {
  const context = suiteContext();
  const requirement = context.selected.get(id);
  if (!requirement) {
    return context.catalogue.byId.has(id) ? `not part of profile ${context.profile}` : `unknown requirement ${id}`;
  }
  if (requirement.capability && !advertises(requirement.capability))
    return `the target does not advertise the ${requirement.capability} capability`;
  if (requirement.criterion) {
    const criteria = context.discovery?.criteria;
    if (!Array.isArray(criteria) || !criteria.includes(requirement.criterion))
      return `the target does not advertise the ${requirement.criterion} criterion`;
  }
  return undefined;
}
