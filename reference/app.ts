/**
 * `buildApp(config)`: one reference instance as a fastify app that tests can
 * `inject()` into without a socket. It opens the stores, builds the core
 * services, and registers one plugin per API surface:
 *
 *   request → openapi-validation (schema check) → surface plugin → core service → store
 *   core service → outbound OCM client → peer
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import pino from 'pino';
import { getRegistry, type SchemaRegistry } from '../openapi/registry.ts';
import { providerDomain, type ReferenceConfig } from './base/config.ts';
import { faults } from './base/faults.ts';
import { buildDiscovery, OCM_PREFIX, type DiscoveryDocument } from './core/discovery.ts';
import { InviteService } from './core/invites.ts';
import { NotificationService } from './core/notifications.ts';
import { ReceivedShareService } from './core/received-shares.ts';
import { UserDirectory } from './core/users.ts';
import { HomeFolders } from './core/files.ts';
import { Notifier } from './core/notifier.ts';
import { SentShareService } from './core/sent-shares.ts';
import { ShareAccessService } from './core/share-access.ts';
import { davSurfacesPlugin } from './http/dav.ts';
import { ocsPlugin } from './http/ocs.ts';
import { inviteDialogPlugin } from './http/invite-dialog.ts';
import { davReceivedPlugin } from './http/dav-received.ts';
import { OCS_V1_BASE, OCS_V2_BASE } from '../openapi/ocs.ts';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { discoveryPlugin } from './http/discovery.ts';
import { ocmInviteAcceptedPlugin } from './http/ocm-invite-accepted.ts';
import { ocmRequestSharePlugin } from './http/ocm-request-share.ts';
import { ShareRequestService } from './core/share-requests.ts';
import { ocmNotificationsPlugin } from './http/ocm-notifications.ts';
import { ocmSharesPlugin } from './http/ocm-shares.ts';
import { lingerOnClose, serverLimits } from './http/server-limits.ts';
import { openapiValidation } from './http/openapi-validation.ts';
import { sciencemeshPlugin } from './http/sciencemesh.ts';
import { OcmClient } from './outbound/ocm-client.ts';
import { outboundNetwork } from './outbound/network.ts';
import { serverTls } from './http/tls.ts';
import { TrustedProviders } from './providers/trusted-providers.ts';
import { openStores, type Stores } from './stores/index.ts';
import { InboundAuthenticator } from './core/inbound-auth.ts';
import { PeerKeyCache } from './core/peer-keys.ts';
import { TokenService } from './core/tokens.ts';
import { jwksPlugin } from './http/jwks.ts';
import { keepRawBody, verifySignatures } from './http/ocm-signatures.ts';
import { ocmTokenPlugin } from './http/ocm-token.ts';
import { TokenClient } from './outbound/token-client.ts';
import { inspectorCapture, outboundObserver } from './http/inspector-capture.ts';
import type { Inspector } from '../inspector/inspector.ts';
import { inspectorPlugin } from '../inspector/plugin.ts';
import { loadOrCreateSigningKeys, type SigningKeyStore } from './signatures/index.ts';

export interface Core {
  config: ReferenceConfig;
  domain: string;
  registry: SchemaRegistry;
  users: UserDirectory;
  providers: TrustedProviders;
  stores: Stores;
  client: OcmClient;
  discovery: DiscoveryDocument;
  invites: InviteService;
  receivedShares: ReceivedShareService;
  notifications: NotificationService;
  homes: HomeFolders;
  notifier: Notifier;
  sentShares: SentShareService;
  shareAccess: ShareAccessService;
  shareRequests: ShareRequestService;
  /** Our signing keys (when `signatures.sign`); published at jwksUri. */
  signingKeys: SigningKeyStore | undefined;
  /** Peers' discovery and JWK Sets, cached for verification. */
  peerKeys: PeerKeyCache;
  /** Verifies inbound signatures (set `observer` to watch decisions). */
  inboundAuth: InboundAuthenticator;
  /** Access tokens we issued (when `tokenExchange.enabled`). */
  tokens: TokenService | undefined;
  /** Exchanges received shares' secrets for tokens; `tokenClient.exchangeForShare` is webdav-client's `getAccessToken`. */
  tokenClient: TokenClient;
}

export interface BuildOptions {
  /** A pino logger; default: pino at `config.logLevel` on stderr. */
  logger?: pino.Logger;
  /** Users and providers given directly instead of read from their files. */
  users?: UserDirectory;
  providers?: TrustedProviders;
  /** Capture every exchange for the OCM inspector and serve its page (`serve --inspect`; inspector/). */
  inspect?: { inspector: Inspector; allowRemote: boolean };
}

export async function buildCore(config: ReferenceConfig, options: BuildOptions = {}): Promise<Core> {
  // Our CA bundle and --resolve pins, for this instance's calls only (outbound/network.ts); read before anything opens.
  const network = outboundNetwork(config.outbound);
  const registry = getRegistry();
  const users = options.users ?? (await UserDirectory.fromFile(config.usersFile));
  const providers = options.providers ?? (await TrustedProviders.fromFile(config.providersFile));
  const stores = await openStores(config.dataDir);
  const domain = providerDomain(config);
  const { signatures, tokenExchange } = config;
  const signingKeys = signatures.sign
    ? await loadOrCreateSigningKeys(signatures.keyDir ?? config.dataDir, { kidPrefix: signatures.kidPrefix ?? domain })
    : undefined;
  const { timeoutMs, maxResponseBytes, allowPrivateAddresses } = config.outbound;
  const client = new OcmClient({
    providers,
    registry,
    timeoutMs,
    maxResponseBytes,
    allowPrivateAddresses,
    network,
    userAgent: `ocm-conformance-reference (${domain})`,
    signingKey: () => signingKeys?.active,
    ...(options.inspect ? { observer: outboundObserver(options.inspect.inspector, domain) } : {}),
  });
  const capabilities = ['invites', 'notifications', 'protocol-object'];
  if (signingKeys) capabilities.push('http-sig');
  if (tokenExchange.enabled) capabilities.push('exchange-token');
  const endPoint = `${config.publicUrl}${OCM_PREFIX}`;
  const discovery = buildDiscovery(config, {
    capabilities,
    ...(signingKeys ? { jwksUri: `${endPoint}/jwks` } : {}),
    ...(signatures.legacyPublicKey ? { publicKey: legacyPublicKey(endPoint) } : {}),
    ...(tokenExchange.enabled ? { tokenEndPoint: `${endPoint}/token` } : {}),
  });
  const peerKeys = new PeerKeyCache({ client, ttlSeconds: signatures.keyCacheSeconds, maxEntries: signatures.keyCacheSize });
  const inboundAuth = new InboundAuthenticator({ settings: signatures, criteria: config.criteria, providers, keys: peerKeys });
  const invites = new InviteService({ domain, inviteExpirySeconds: config.inviteExpirySeconds, users, providers, stores, client });
  const isContact = (localUserId: string, remoteUserId: string, remoteDomain: string) =>
    invites.findContact(localUserId, remoteUserId, remoteDomain) !== undefined;
  const notifier = new Notifier(client);
  const homes = new HomeFolders(join(config.dataDir, 'files'));
  const receivedShares = new ReceivedShareService({
    domain,
    criteria: config.criteria,
    users,
    providers,
    stores,
    isContact,
    notifier,
    supportedRequirements: tokenExchange.enabled ? ['must-exchange-token'] : [],
  });
  const notifications = new NotificationService(stores);
  const sentShares = new SentShareService({
    domain,
    publicUrl: config.publicUrl,
    webdavPath: config.webdavPath,
    allowSharesWithoutInvite: config.allowSharesWithoutInvite,
    capabilities,
    alwaysRequireExchange: tokenExchange.alwaysRequireExchange,
    providers,
    stores,
    client,
    homes,
    notifier,
    isContact,
    contactName: (localUserId, remoteUserId, remoteDomain) => invites.findContact(localUserId, remoteUserId, remoteDomain)?.name,
  });
  const tokens = tokenExchange.enabled
    ? new TokenService({
        stores,
        lifetimeSeconds: tokenExchange.tokenLifetimeSeconds,
        allowSharesWithoutInvite: config.allowSharesWithoutInvite,
        isContact,
      })
    : undefined;
  const shareAccess = new ShareAccessService({
    stores,
    users,
    allowSharesWithoutInvite: config.allowSharesWithoutInvite,
    isContact,
    ...(tokens ? { shareIdForToken: (token: string) => tokens.shareIdForToken(token) } : {}),
  });
  const tokenLog = options.logger?.child({ component: 'token-client' });
  const tokenClient = new TokenClient({
    client,
    domain,
    enabled: tokenExchange.enabled,
    tryWhenOffered: tokenExchange.tryWhenOffered,
    ...(tokenLog ? { log: (message: string, detail: Record<string, unknown>) => tokenLog.warn(detail, message) } : {}),
  });
  return {
    config,
    domain,
    registry,
    users,
    providers,
    stores,
    client,
    discovery,
    invites,
    receivedShares,
    notifications,
    homes,
    notifier,
    sentShares,
    shareAccess,
    signingKeys,
    peerKeys,
    inboundAuth,
    tokens,
    tokenClient,
    shareRequests: new ShareRequestService({ domain, users, providers, stores, homes, isContact }),
  };
}

export async function buildApp(config: ReferenceConfig, options: BuildOptions = {}): Promise<{ app: FastifyInstance; core: Core }> {
  const pinoLogger = options.logger ?? pino({ level: config.logLevel }, pino.destination(2));
  // Read (and checked) before the stores open: a bad certificate stops start-up with one line.
  const tls = serverTls(config);
  const core = await buildCore(config, { ...options, logger: pinoLogger });
  const logger: FastifyBaseLogger = pinoLogger;
  // With tls the server is https.Server; every route and hook sees the same request types.
  const app = Fastify({
    loggerInstance: logger,
    ...serverLimits(config, tls),
  }) as unknown as FastifyInstance;
  lingerOnClose(app.server);
  if (faults.has('target-stops-answering')) stopAnsweringOnShare(app, 3);
  app.decorateRequest('localUser', undefined);
  await app.register(formbody, { bodyLimit: config.bodyLimitBytes });
  await app.register(openapiValidation, { registry: core.registry });

  // An acknowledged write must be durable before any later answer relies on it.
  // Most answers (every read) find nothing pending: they leave without a promise round.
  app.addHook('onSend', (_request, _reply, payload, done) => {
    if (!core.stores.hasPendingWrites()) return done(null, payload);
    core.stores.settled().then(() => done(null, payload), done);
  });
  if (options.inspect) {
    await app.register(inspectorCapture, { inspector: options.inspect.inspector, publicUrl: config.publicUrl });
    await app.register(inspectorPlugin, { ...options.inspect, title: `OCM inspector · ${core.domain}` });
  }

  await app.register(discoveryPlugin, { document: core.discovery });
  await app.register(inviteDialogPlugin);
  app.get('/health', { config: { operation: { doc: 'ops', id: 'getHealth' } } }, async () => ({ status: 'ok' }));
  const signingKeys = core.signingKeys;
  if (signingKeys) await app.register(jwksPlugin, { keys: () => signingKeys, root: true });
  await app.register(
    async (ocm) => {
      // Signatures cover the body bytes as received; the hook checks them after the schema check (decisions/0008).
      keepRawBody(ocm, config.bodyLimitBytes);
      verifySignatures(ocm, { authenticator: core.inboundAuth, publicUrl: config.publicUrl });
      await ocm.register(ocmSharesPlugin, { receivedShares: core.receivedShares });
      await ocm.register(ocmNotificationsPlugin, { notifications: core.notifications });
      await ocm.register(ocmInviteAcceptedPlugin, { invites: core.invites });
      await ocm.register(ocmRequestSharePlugin, { shareRequests: core.shareRequests, requireSignature: config.signatures.verify });
      if (core.tokens)
        await ocm.register(ocmTokenPlugin, { tokens: core.tokens, authenticator: core.inboundAuth, publicUrl: config.publicUrl });
      if (signingKeys) await ocm.register(jwksPlugin, { keys: () => signingKeys, root: false });
    },
    { prefix: OCM_PREFIX },
  );
  await app.register(sciencemeshPlugin, { prefix: '/sciencemesh', users: core.users, invites: core.invites, providers: core.providers });
  for (const [version, prefix] of [
    [1, OCS_V1_BASE],
    [2, OCS_V2_BASE],
  ] as const) {
    await app.register(ocsPlugin, { prefix, version, users: core.users, sentShares: core.sentShares, receivedShares: core.receivedShares });
  }
  await app.register(davReceivedPlugin, {
    prefix: '/dav/ocm-received',
    users: core.users,
    receivedShares: core.receivedShares,
    providers: core.providers,
    client: core.client,
    timeoutMs: config.outbound.timeoutMs,
    allowPrivateAddresses: config.outbound.allowPrivateAddresses,
    // The code flow as a receiver: a token when the share requires it (or the sender offers it).
    getAccessToken: core.tokenClient.exchangeForShare,
    ...(options.inspect ? { observer: outboundObserver(options.inspect.inspector, core.domain) } : {}),
  });
  await app.register(davSurfacesPlugin, {
    users: core.users,
    homes: core.homes,
    shareAccess: core.shareAccess,
    webdavPath: config.webdavPath,
  });

  app.addHook('onClose', async () => {
    await core.stores.close();
    await core.client.network.close();
  });
  return { app, core };
}

/**
 * A 1.2-era draft-cavage key for discovery (`signatures.legacyPublicKey`):
 * RSA as the 1.2 text and Nextcloud use, under a keyId on our own host.
 * Made once per start and never signed with (outbound stays RFC 9421).
 */
function legacyPublicKey(endPoint: string): { keyId: string; publicKeyPem: string } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keyId: `${endPoint}#signature`, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * The `target-stops-answering` fault: on the `nth` POST /ocm/shares the
 * instance behaves as a server that crashed on that request. It stops
 * listening (new connections are refused), cuts every open connection, and
 * leaves the request unanswered. Under `serve` the process then ends, as
 * nothing else keeps it alive; in the embedded pair it is the harness's own
 * process and lives on. A later close() of the instance still works.
 */
function stopAnsweringOnShare(app: FastifyInstance, nth: number): void {
  let seen = 0;
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.method !== 'POST' || request.routeOptions.url !== `${OCM_PREFIX}/shares`) return done();
    seen++;
    if (seen < nth) return done();
    app.log.warn({ fault: 'target-stops-answering', seen }, 'the instance stops answering');
    app.server.close();
    app.server.closeAllConnections();
    request.raw.socket.destroy();
  });
}
