/**
 * Target configuration: which OCM server the suites test and how to make it
 * act. A YAML (or JSON) file, validated when loaded; one clear error naming
 * the bad key otherwise. See fixtures/targets/ for commented examples.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PeerAddressError, parsePeerPairs, parsePeerTlsMode, type PeerPair, type PeerTlsMode } from './peer-addresses.ts';

export interface TargetUser {
  username: string;
  password: string;
  /** The identifier other servers know this user by (the `userID` of invite acceptance, the part before `@`). */
  id: string;
  displayName?: string;
}

export interface OcsDriverSettings {
  kind: 'ocs+sciencemesh';
  users: TargetUser[];
  /** OCS share API base, default `/ocs/v2.php/apps/files_sharing/api/v1`. */
  ocsBase?: string;
  /** sciencemesh API base, default `/sciencemesh`. */
  sciencemeshBase?: string;
  /** How a local user reads a received share: a path template with `{id}` and `{path}`; absent = cannot. */
  receivedDav?: string;
}

export interface HttpTriggerAction {
  method?: string;
  /** URL template; placeholders `{name}` are filled from the action's inputs. */
  url: string;
  /** JSON body template (strings may contain placeholders). */
  json?: unknown;
  headers?: Record<string, string>;
  /** Dotted path of the answer field holding the result (e.g. a share id or token). */
  result?: string;
}

export interface HttpTriggerDriverSettings {
  kind: 'http-trigger';
  users: TargetUser[];
  actions: Partial<Record<DriverAction, HttpTriggerAction>>;
}

export interface ManualDriverSettings {
  kind: 'manual';
  users: TargetUser[];
  /** How long to wait for a person to do a step, seconds (default 120). */
  timeoutSeconds?: number;
}

export type DriverSettings = OcsDriverSettings | HttpTriggerDriverSettings | ManualDriverSettings | { kind: 'none' };

export const DRIVER_ACTIONS = [
  'generateInvite',
  'acceptInvite',
  'listContacts',
  'shareWith',
  'listReceived',
  'acceptShare',
  'declineShare',
  'readReceived',
  'unshare',
  'updateShare',
] as const;
export type DriverAction = (typeof DRIVER_ACTIONS)[number];

export interface TargetResources {
  /** A text file of user 0 to share. */
  file: string;
  /** A binary file of user 0 to share (optional). */
  binaryFile?: string;
  /** A folder of user 0 to share, and one child below it (relative). */
  folder: string;
  folderChild: string;
}

export interface TargetConfig {
  name: string;
  /** Origin serving `/.well-known/ocm`, e.g. https://cloud.example.org. */
  baseUrl: string;
  /** OCM version profile: 1.0 … 1.4, main, or auto (from the target's apiVersion; the default). */
  profile: string;
  /**
   * The simulated peers the target trusts, as pairs: one pair per parallel
   * worker. Each has a bind address and optionally a public URL
   * (suites/harness/peer-addresses.ts).
   */
  peers: PeerPair[];
  /** Whether the peers serve https: `auto` (default) when baseUrl is https. */
  peerTls: PeerTlsMode;
  driver: DriverSettings;
  resources: TargetResources;
  /** What else the target exposes to be tested. */
  exposes: { sciencemesh: boolean; ocs: boolean; grpc?: string };
  /** A second target with a driver, for interop runs (e.g. the other embedded reference). */
  interopWith?: TargetConfig;
  /** Requirement IDs expected to fail (do not fail the run; an unexpected pass is reported). */
  expectedFailures: string[];
  /** Allow plain HTTP where the spec wants HTTPS (test setups). */
  allowHttp: boolean;
  /** PEM bundle file the harness trusts for the target's certificate (`run --ca-file`). */
  targetCa?: string;
  /** Skip verification of the target's certificate (`run --insecure`); printed in every report. */
  insecure?: boolean;
  /** Spec conflict readings (keys of CONFLICT_OPTIONS). */
  conflicts: Record<string, string>;
}

export class TargetConfigError extends Error {
  constructor(source: string, detail: string) {
    super(`invalid target config ${source}: ${detail}`);
    this.name = 'TargetConfigError';
  }
}

const DEFAULT_RESOURCES: TargetResources = { file: '/welcome.txt', binaryFile: '/sample.bin', folder: '/project', folderChild: 'notes.md' };

export function loadTargetConfig(file: string): TargetConfig {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TargetConfigError(file, (error as Error).message.split('\n')[0]!);
  }
  return validateTargetConfig(parsed, file, dirname(resolve(file)));
}

export function validateTargetConfig(value: unknown, source: string, _baseDir = '.'): TargetConfig {
  const fail = (detail: string): never => {
    throw new TargetConfigError(source, detail);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('the file must hold a mapping');
  const raw = value as Record<string, any>;
  const known = [
    'name',
    'baseUrl',
    'profile',
    'peers',
    'peerTls',
    'driver',
    'resources',
    'exposes',
    'interopWith',
    'expectedFailures',
    'allowHttp',
    'targetCa',
    'insecure',
    'conflicts',
  ];
  for (const key of Object.keys(raw)) if (!known.includes(key)) fail(`unknown key "${key}"`);
  if (typeof raw.baseUrl !== 'string') fail('baseUrl is required (the origin serving /.well-known/ocm)');
  let origin: URL;
  try {
    origin = new URL(raw.baseUrl);
  } catch {
    return fail(`baseUrl ${JSON.stringify(raw.baseUrl)} is not an absolute URL`);
  }
  let peers: PeerPair[] = [];
  let peerTls: PeerTlsMode = 'auto';
  try {
    peers = parsePeerPairs(raw.peers ?? [['127.0.0.10:9400', '127.0.0.11:9400']]);
    if (raw.peerTls !== undefined) peerTls = parsePeerTlsMode(raw.peerTls, 'peerTls');
  } catch (error) {
    if (error instanceof PeerAddressError) fail(error.message);
    throw error;
  }
  const driver = (raw.driver ?? { kind: 'none' }) as DriverSettings;
  if (!['ocs+sciencemesh', 'http-trigger', 'manual', 'none'].includes(driver.kind))
    fail(`driver.kind must be ocs+sciencemesh, http-trigger, manual or none`);
  if (driver.kind !== 'none') {
    const users = (driver as { users?: unknown }).users;
    if (!Array.isArray(users) || users.length === 0) fail('driver.users must list at least one local user {username, password, id}');
    for (const [i, u] of (users as TargetUser[]).entries()) {
      if (typeof u?.username !== 'string' || typeof u.password !== 'string' || typeof u.id !== 'string')
        fail(`driver.users[${i}] needs username, password and id`);
    }
  }
  if (driver.kind === 'http-trigger') {
    const actions = (driver as HttpTriggerDriverSettings).actions ?? {};
    for (const [name, action] of Object.entries(actions)) {
      if (!(DRIVER_ACTIONS as readonly string[]).includes(name))
        fail(`driver.actions.${name} is not a driver action (${DRIVER_ACTIONS.join(', ')})`);
      if (typeof action?.url !== 'string') fail(`driver.actions.${name}.url is required`);
    }
  }
  const expectedFailures = raw.expectedFailures ?? [];
  if (!Array.isArray(expectedFailures) || !expectedFailures.every((id: unknown) => typeof id === 'string'))
    fail('expectedFailures must be a list of requirement IDs');
  const config: TargetConfig = {
    name: typeof raw.name === 'string' ? raw.name : origin.host,
    baseUrl: origin.origin,
    profile: typeof raw.profile === 'string' ? raw.profile : 'auto',
    peers,
    peerTls,
    driver,
    resources: { ...DEFAULT_RESOURCES, ...(raw.resources ?? {}) },
    exposes: { sciencemesh: false, ocs: false, ...(raw.exposes ?? {}) },
    expectedFailures: expectedFailures as string[],
    allowHttp: raw.allowHttp ?? origin.protocol === 'http:',
    conflicts: raw.conflicts ?? {},
  };
  if (raw.targetCa !== undefined) {
    if (typeof raw.targetCa !== 'string') fail('targetCa must be the path of a PEM bundle file');
    config.targetCa = raw.targetCa;
  }
  if (raw.insecure !== undefined) {
    if (typeof raw.insecure !== 'boolean') fail('insecure must be true or false');
    config.insecure = raw.insecure;
  }
  if (raw.interopWith !== undefined) config.interopWith = validateTargetConfig(raw.interopWith, `${source} (interopWith)`);
  return config;
}

/** host[:port] of the target: the server part of its users' OCM Addresses. */
export function targetDomain(config: TargetConfig): string {
  return new URL(config.baseUrl).host;
}
