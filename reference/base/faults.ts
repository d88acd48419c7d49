/**
 * Deliberate protocol violations ("faults") the reference can be started
 * with, to prove that the conformance suites catch broken servers (the
 * mutation run, selftest/mutation/run.ts). Each fault is one realistic mistake
 * of a real OCM server, declared here once with the requirement IDs whose
 * checks must fail when it is switched on.
 *
 * How a fault is switched on, and why nothing else can:
 *  - `ReferenceConfig.faults` lists them; `buildConfig` refuses that key in
 *    any layer that does not also carry the `ALLOW_FAULTS` symbol. A symbol
 *    cannot come out of a YAML/JSON file or an environment variable, so only
 *    code sets it: `serve --fault NAME --allow-faults`, the mutation run and
 *    tests. Unknown names are refused.
 *  - `startInstance` runs the instance (building it, listening, its gRPC
 *    server) inside `withFaults(config.faults)`: an AsyncLocalStorage scope
 *    that every request, timer and outbound call of that instance inherits.
 *    Two instances in one process (the embedded pair) never see each other's
 *    faults, and code outside any scope sees none.
 *  - At the point of the behaviour, a guarded line: `if (faults.has('NAME'))`.
 *    With no fault the guard is false and behaviour is unchanged.
 *
 * Adding a fault: add an entry below (name, area, description, the IDs whose
 * checks must fail, and `setup` when it only shows under some configuration),
 * put `faults.has('<name>')` where the behaviour lives, and run
 * `npm run mutation -- --only <name>`; if no declared ID fails, add the
 * missing check to the suite of that area.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type FaultArea =
  | 'discovery'
  | 'shares-receiver'
  | 'shares-sender'
  | 'notifications'
  | 'invites-inviter'
  | 'invites-receiver'
  | 'token'
  | 'signatures-verifier'
  | 'signatures-signer'
  | 'access'
  | 'sciencemesh'
  | 'grpc'
  | 'robustness';

/** Configuration of the faulted instance under which the fault is observable (merged into its config). */
export interface FaultSetup {
  criteria?: string[];
  /**
   * `1.2`: the faulted instance plays a 1.2-era server (apiVersion 1.2.2, a
   * draft-cavage `publicKey` in its discovery, cavage verification on), and
   * the run judges it under profile 1.2.
   */
  era?: '1.2';
  /**
   * The run as `run --tls`: the faulted pair and the simulated peers on https
   * under pinned names with a run CA, allowHttp off (what the TLS faults need).
   */
  tls?: true;
}

export interface FaultSpec {
  name: string;
  area: FaultArea;
  /** What the broken server does, in one sentence. */
  description: string;
  /** Requirement IDs (fixtures/requirements.yaml) whose checks must fail; the fault counts as detected when one does. */
  requirements: readonly string[];
  setup?: FaultSetup;
}

const MUST_USE_HTTP_SIG: FaultSetup = { criteria: ['must-use-http-sig'] };
const ERA_1_2: FaultSetup = { era: '1.2' };
const TLS_PEERS: FaultSetup = { tls: true };

const CATALOGUE = [
  // ---------------------------------------------------------------- discovery
  {
    name: 'discovery-missing-endpoint',
    area: 'discovery',
    description: 'the discovery document has no endPoint',
    requirements: ['DISC-4'],
  },
  {
    name: 'discovery-sharetypes-without-user',
    area: 'discovery',
    description: 'shareTypes lists "federation" but not "user"',
    requirements: ['DISC-9'],
  },
  {
    name: 'discovery-relative-token-endpoint',
    area: 'discovery',
    description: 'tokenEndPoint is a relative path, not an absolute URL',
    requirements: ['DISC-17'],
  },
  {
    name: 'discovery-relative-jwks-uri',
    area: 'discovery',
    description: 'jwksUri is a relative path, not an https (or test-mode http) URL',
    requirements: ['DISC-14', 'DISC-13'],
  },
  { name: 'discovery-served-as-text', area: 'discovery', description: 'discovery is served as text/plain', requirements: ['DISC-5'] },
  {
    name: 'discovery-duplicate-resource-type',
    area: 'discovery',
    description: 'the resource type "file" is listed twice',
    requirements: ['DISC-7'],
  },
  {
    name: 'discovery-file-without-webdav',
    area: 'discovery',
    description: 'the file resource type offers no webdav protocol',
    requirements: ['DISC-10'],
  },
  {
    name: 'discovery-bad-webdav-receive',
    area: 'discovery',
    description: 'webdav-receive.uri is "both", neither absolute nor relative',
    requirements: ['DISC-11'],
  },
  {
    name: 'discovery-unregistered-capability',
    area: 'discovery',
    description: 'capabilities lists a value the spec does not register',
    requirements: ['DISC-21'],
  },
  {
    name: 'discovery-no-invite-dialog',
    area: 'discovery',
    description: 'invites are advertised without an inviteAcceptDialog',
    requirements: ['DISC-19'],
  },
  {
    name: 'jwks-symmetric-key',
    area: 'discovery',
    description: 'the JWK Set also publishes an HS256 (symmetric) key',
    requirements: ['DISC-15', 'SIG-5'],
  },
  {
    name: 'discovery-html-for-browsers',
    area: 'robustness',
    description: 'discovery answers an HTML page when the Accept header names text/html',
    requirements: ['DISC-1'],
  },

  // ---------------------------------------------------------------- shares, target as receiver
  { name: 'shares-answer-200', area: 'shares-receiver', description: 'POST /shares answers 200 instead of 201', requirements: ['SHR-1'] },
  {
    name: 'shares-no-recipient-display-name',
    area: 'shares-receiver',
    description: 'the 201 answer to a share is {} without recipientDisplayName',
    requirements: ['SHR-2'],
  },
  {
    name: 'shares-missing-owner-accepted',
    area: 'shares-receiver',
    description: 'a share without owner is taken (owner defaults to sender)',
    requirements: ['SHR-4'],
  },
  {
    name: 'shares-unknown-recipient-accepted',
    area: 'shares-receiver',
    description: 'a share for a user the server does not know is answered 201',
    requirements: ['SHR-5', 'ADR-1'],
  },
  {
    name: 'shares-unknown-requirement-accepted',
    area: 'shares-receiver',
    description: 'requirements the server does not know are ignored: such a share is taken',
    requirements: ['SHR-8'],
  },
  {
    name: 'shares-unsupported-type-400',
    area: 'shares-receiver',
    description: 'an unsupported resource type is answered 400 instead of 501',
    requirements: ['SHR-6'],
  },
  {
    name: 'shares-errors-not-json',
    area: 'shares-receiver',
    description: 'error answers of POST /shares are text/plain, not JSON',
    requirements: ['SHR-7', 'ERR-1', 'SHR-3'],
  },
  {
    name: 'shares-differing-requirements-accepted',
    area: 'shares-receiver',
    description: 'a multi share whose protocols carry different requirements is taken',
    requirements: ['SHR-12'],
  },
  {
    name: 'shares-webapp-ignored',
    area: 'shares-receiver',
    description: 'protocol.webapp is ignored, never checked: an incomplete webapp offer is taken',
    requirements: ['SHR-11'],
  },

  // ---------------------------------------------------------------- shares, target as sender
  {
    name: 'send-secret-in-uri',
    area: 'shares-sender',
    description: 'the sharedSecret is put into webdav.uri (as a query parameter)',
    requirements: ['SHR-22'],
  },
  {
    name: 'send-reused-provider-id',
    area: 'shares-sender',
    description: 'every share of one resource carries the same providerId',
    requirements: ['SHR-23'],
  },
  {
    name: 'send-without-discovery',
    area: 'shares-sender',
    description: "a share is posted to <origin>/ocm/shares without reading the receiver's discovery",
    requirements: ['SHR-16'],
  },
  {
    name: 'send-ignores-must-exchange-token',
    area: 'shares-sender',
    description: "the receiver's must-exchange-token criterion is ignored: shares carry no requirements",
    requirements: ['SHR-17'],
  },
  {
    name: 'send-folder-as-file',
    area: 'shares-sender',
    description: 'folders are shared with resourceType "file"',
    requirements: ['SHR-25'],
  },
  {
    name: 'send-address-with-scheme',
    area: 'shares-sender',
    description: 'owner and sender are sent as user@http://host:port, not OCM Addresses',
    requirements: ['SHR-24'],
  },
  {
    name: 'send-unadvertised-resource-type',
    area: 'shares-sender',
    description: 'folders are sent to receivers that advertise only file',
    requirements: ['SHR-19'],
  },
  {
    name: 'send-relative-uri-outside-prefix',
    area: 'shares-sender',
    description: 'a relative webdav.uri that is not served below the advertised webdav prefix',
    requirements: ['SHR-26', 'ACC-1'],
  },

  // ---------------------------------------------------------------- notifications
  {
    name: 'ntf-unknown-type-accepted',
    area: 'notifications',
    description: 'an unknown notificationType is answered 201',
    requirements: ['NTF-3', 'ERR-1'],
  },
  {
    name: 'ntf-unsupported-resource-type-400',
    area: 'notifications',
    description: 'a notification about an unsupported resourceType is answered 400 instead of 501',
    requirements: ['NTF-4'],
  },
  {
    name: 'ntf-acceptance-wrong-provider-id',
    area: 'notifications',
    description: "SHARE_ACCEPTED/DECLINED carry the receiver's own share id instead of the sender's providerId",
    requirements: ['NTF-5'],
  },
  {
    name: 'ntf-unsigned-notifications',
    area: 'notifications',
    description: 'notifications the server starts (SHARE_UNSHARED, …) are sent unsigned',
    requirements: ['NTF-7'],
  },
  {
    name: 'ntf-reshare-without-permission',
    area: 'notifications',
    description: 'received shares are offered for resharing although the share permission was not granted',
    requirements: ['NTF-8'],
  },

  // ---------------------------------------------------------------- invites, target as inviter
  { name: 'inv-token-reusable', area: 'invites-inviter', description: 'an invite token can be accepted twice', requirements: ['INV-6'] },
  {
    name: 'inv-expired-token-accepted',
    area: 'invites-inviter',
    description: 'an expired invite token is accepted',
    requirements: ['INV-5'],
  },
  {
    name: 'inv-unknown-token-404',
    area: 'invites-inviter',
    description: 'an unknown invite token is answered 404 instead of 400',
    requirements: ['INV-5'],
  },
  {
    name: 'inv-response-without-email',
    area: 'invites-inviter',
    description: 'the acceptance response has no email',
    requirements: ['INV-4'],
  },
  {
    name: 'inv-untrusted-provider-accepted',
    area: 'invites-inviter',
    description: 'an acceptance from a server outside the trust list is taken',
    requirements: ['INV-7'],
  },
  {
    name: 'inv-same-token-every-invite',
    area: 'invites-inviter',
    description: 'every invite hands out the same token, so after its first acceptance every invite is answered 409',
    requirements: ['INV-12'],
  },
  {
    name: 'inv-missing-email-accepted',
    area: 'invites-inviter',
    description: 'an acceptance without email is taken',
    requirements: ['INV-3'],
  },

  // ---------------------------------------------------------------- invites, target as invite receiver
  {
    name: 'inv-acceptance-without-userid',
    area: 'invites-receiver',
    description: 'the acceptance request says userId instead of userID',
    requirements: ['INV-2'],
  },
  {
    name: 'inv-acceptance-without-discovery',
    area: 'invites-receiver',
    description: "the acceptance is posted to <origin>/ocm without reading the inviter's discovery",
    requirements: ['INV-11'],
  },

  // ---------------------------------------------------------------- token endpoint and code flow
  { name: 'tok-refresh-token', area: 'token', description: 'token responses carry a refresh_token', requirements: ['TOK-2'] },
  { name: 'tok-unsigned-issued', area: 'token', description: 'a token is issued to an unsigned token request', requirements: ['TOK-5'] },
  {
    name: 'tok-errors-as-message',
    area: 'token',
    description: 'token errors are {message} instead of the OAuth {error}',
    requirements: ['TOK-3'],
  },
  {
    name: 'tok-extra-params-refused',
    area: 'token',
    description: 'a token request with redirect_uri is refused with invalid_request',
    requirements: ['TOK-4'],
  },
  {
    name: 'tok-strict-share-opens-with-secret',
    area: 'token',
    description: 'a must-exchange-token share still opens with the bare secret',
    requirements: ['TOK-7'],
  },
  {
    name: 'tok-receiver-skips-exchange',
    area: 'token',
    description: 'as receiver, a must-exchange-token share is read with the secret, without exchanging it',
    requirements: ['TOK-8', 'TOK-9'],
  },
  {
    name: 'tok-receiver-wrong-client-id',
    area: 'token',
    description: 'as receiver, client_id is the https URL of the server instead of its host',
    requirements: ['TOK-8'],
  },

  // ---------------------------------------------------------------- signatures, target as verifier
  {
    name: 'sig-unsigned-accepted',
    area: 'signatures-verifier',
    description: 'must-use-http-sig is advertised, yet unsigned requests are taken',
    requirements: ['SIG-13', 'INV-8', 'NTF-6'],
    setup: MUST_USE_HTTP_SIG,
  },
  {
    name: 'sig-unsigned-from-signer-accepted',
    area: 'signatures-verifier',
    description: 'unsigned requests in the name of a peer that advertises http-sig are taken',
    requirements: ['NTF-6'],
  },
  {
    name: 'sig-body-digest-ignored',
    area: 'signatures-verifier',
    description: 'Content-Digest is not compared with the body: a body altered after signing passes',
    requirements: ['SIG-12', 'INV-8'],
  },
  {
    name: 'sig-stale-created-accepted',
    area: 'signatures-verifier',
    description: 'the created parameter is not checked: day-old and future signatures pass',
    requirements: ['SIG-7'],
  },
  {
    name: 'sig-two-signatures-accepted',
    area: 'signatures-verifier',
    description: 'a request with two OCM signatures is taken (the first is used)',
    requirements: ['SIG-8'],
  },
  {
    name: 'sig-alg-mismatch-ignored',
    area: 'signatures-verifier',
    description: "an alg parameter contradicting the JWK's alg is ignored",
    requirements: ['SIG-10'],
  },
  {
    name: 'sig-missing-component-accepted',
    area: 'signatures-verifier',
    description: 'a signature that does not cover content-digest is taken',
    requirements: ['SIG-6'],
  },
  {
    name: 'sig-signer-mismatch-accepted',
    area: 'signatures-verifier',
    description: 'a share signed by one server in the name of another is taken',
    requirements: ['SIG-17'],
  },
  {
    // Also the proof that the verifier checks' positive controls work: with it, every "refused and stores nothing"
    // check must end not run (setup failed), never passed.
    name: 'sig-valid-signature-refused',
    area: 'signatures-verifier',
    description: 'every signed request is refused, correctly signed ones too (a verifier that never accepts)',
    requirements: ['SIG-15'],
  },
  {
    name: 'peer-calls-over-http',
    area: 'shares-sender',
    description: 'calls peers over plain http although their discovery advertises https endpoints',
    requirements: ['TLS-2'],
    setup: TLS_PEERS,
  },
  {
    name: 'peer-tls-unverified',
    area: 'shares-sender',
    description:
      'skips certificate verification when it calls peers: a peer whose certificate chains to an untrusted CA is still talked to',
    requirements: ['TLS-3'],
    setup: TLS_PEERS,
  },
  {
    name: 'sig-cavage-forged-accepted',
    area: 'signatures-verifier',
    description: 'as a 1.2-era cavage verifier, a draft-cavage signature whose bytes do not verify is taken',
    requirements: ['SIG-20'],
    setup: ERA_1_2,
  },

  // ---------------------------------------------------------------- signatures, target as signer
  {
    name: 'sig-outbound-unsigned',
    area: 'signatures-signer',
    description: 'outbound requests are never signed',
    requirements: ['SHR-27', 'INV-8', 'NTF-7', 'SIG-16', 'TOK-8'],
  },
  {
    name: 'sig-outbound-stale-created',
    area: 'signatures-signer',
    description: "outbound signatures carry a created an hour in the past (a signer's clock off)",
    requirements: ['SHR-27', 'INV-8', 'NTF-7', 'SIG-16', 'TOK-8'],
  },
  {
    name: 'jwks-kid-mismatch',
    area: 'signatures-signer',
    description: 'the JWK Set publishes the signing key under another kid than the keyid used',
    requirements: ['SHR-27', 'SIG-2', 'INV-8'],
  },

  // ---------------------------------------------------------------- access (WebDAV)
  { name: 'dav-unshare-keeps-access', area: 'access', description: 'removing a share does not revoke its secret', requirements: ['OCS-5'] },
  {
    name: 'dav-read-only-writable',
    area: 'access',
    description: 'a read-only share accepts PUT, MKCOL, MOVE and DELETE',
    requirements: ['DAV-1'],
  },
  {
    name: 'dav-expired-share-readable',
    area: 'access',
    description: 'an expired share still opens with its secret',
    requirements: ['DAV-4'],
  },
  {
    name: 'dav-legacy-basic-refused',
    area: 'access',
    description: 'the legacy Basic form (secret as user name) is refused',
    requirements: ['ACC-3'],
  },
  {
    name: 'dav-secret-opens-other-shares',
    area: 'access',
    description: "one share's secret opens every share of the same server",
    requirements: ['DAV-5'],
  },
  { name: 'dav-wrong-secret-500', area: 'access', description: 'a wrong share secret is answered 500', requirements: ['DAV-3'] },

  // ---------------------------------------------------------------- sciencemesh API
  {
    name: 'sm-delete-unmatched-200',
    area: 'sciencemesh',
    description: 'delete-accepted-user answers 200 when nothing matched',
    requirements: ['SM-14'],
  },
  {
    name: 'sm-list-invite-other-users',
    area: 'sciencemesh',
    description: "list-invite shows every local user's tokens",
    requirements: ['SM-5'],
  },
  {
    name: 'sm-expiration-in-milliseconds',
    area: 'sciencemesh',
    description: 'invite expirations are in milliseconds, not Unix seconds',
    requirements: ['SM-2'],
  },
  { name: 'sm-short-invite-tokens', area: 'sciencemesh', description: 'invite tokens carry 64 random bits', requirements: ['SM-3'] },
  {
    name: 'sm-contacts-of-all-users',
    area: 'sciencemesh',
    description: "find-accepted-users returns every local user's contacts",
    requirements: ['SM-12'],
  },
  {
    name: 'sm-duplicate-contact-accepted',
    area: 'sciencemesh',
    description: 'accepting an invite of a user who is already a contact adds a duplicate',
    requirements: ['SM-10'],
  },
  {
    name: 'sm-untrusted-provider-500',
    area: 'sciencemesh',
    description: 'accept-invite naming an untrusted provider fails with 500',
    requirements: ['SM-8'],
  },

  // ---------------------------------------------------------------- gRPC (CS3 APIs)
  {
    name: 'grpc-internal-for-not-found',
    area: 'grpc',
    description: 'lookups of things that do not exist answer CODE_INTERNAL instead of CODE_NOT_FOUND',
    requirements: ['CS3-7'],
  },

  // ---------------------------------------------------------------- robustness
  {
    name: 'robust-malformed-json-500',
    area: 'robustness',
    description: 'a malformed JSON body is answered 500 instead of 400',
    requirements: ['ROB-1', 'ROB-2', 'ROB-3'],
  },
  {
    name: 'target-stops-answering',
    area: 'robustness',
    description:
      'on its third POST /ocm/shares the instance stops answering: it closes its listener and cuts every connection, that request unanswered',
    requirements: ['ROB-10'],
  },
] as const satisfies readonly FaultSpec[];

export type FaultName = (typeof CATALOGUE)[number]['name'];
export type Fault = FaultSpec & { name: FaultName };

/** Every fault, in catalogue order. */
export const FAULTS: readonly Fault[] = CATALOGUE;
export const FAULT_NAMES: readonly FaultName[] = FAULTS.map((f) => f.name);

export function findFault(name: string): Fault | undefined {
  return FAULTS.find((f) => f.name === name);
}

/**
 * The programmatic permission to enable faults. Only code can set a symbol
 * key: a config file or an environment variable cannot.
 */
export const ALLOW_FAULTS: unique symbol = Symbol('ocm-conformance.allow-faults');

/** The fault names of a config value, checked; throws with one line naming the problem. */
export function checkFaultNames(value: unknown): FaultName[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error('faults must be a list of fault names');
  const unknown = value.filter((v) => !findFault(v));
  if (unknown.length > 0)
    throw new Error(`unknown fault ${unknown.map((u) => JSON.stringify(u)).join(', ')} (the catalogue is in reference/base/faults.ts)`);
  return [...new Set(value as FaultName[])];
}

const scope = new AsyncLocalStorage<ReadonlySet<string>>();
const NONE: ReadonlySet<string> = new Set();

/** The faults of the instance whose work is running now (none outside any instance). */
export const faults = {
  has(name: FaultName): boolean {
    return scope.getStore()?.has(name) ?? false;
  },
  /** Whether any fault is on: the instance is deliberately broken. */
  any(): boolean {
    return (scope.getStore()?.size ?? 0) > 0;
  },
};

/**
 * `fn` bound to the fault scope current now, for callbacks that libraries
 * call from outside it (grpc-js calls its handlers from http2 sessions,
 * which do not carry the scope). Outside any scope: `fn` itself.
 */
export function inFaultScope<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const store = scope.getStore();
  return store === undefined ? fn : (...args: A) => scope.run(store, () => fn(...args));
}

/**
 * Runs `fn` (an instance's start-up) so that it and everything it starts
 * see exactly `names`. Without faults and outside any scope it is a plain
 * call: a normal instance never enables async context tracking.
 */
export function withFaults<T>(names: readonly string[], fn: () => T): T {
  if (names.length > 0) return scope.run(new Set(names), fn);
  return scope.getStore() === undefined ? fn() : scope.run(NONE, fn);
}
