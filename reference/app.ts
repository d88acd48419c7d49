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
import { providerDomain, type ReferenceConfig } from './config.ts';
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
import { OCS_V1_BASE, OCS_V2_BASE } from '../openapi/ocs.ts';
import { join } from 'node:path';
import { discoveryPlugin } from './http/discovery.ts';
import { ocmInviteAcceptedPlugin } from './http/ocm-invite-accepted.ts';
import { ocmNotificationsPlugin } from './http/ocm-notifications.ts';
import { ocmSharesPlugin } from './http/ocm-shares.ts';
import { openapiValidation } from './http/openapi-validation.ts';
import { sciencemeshPlugin } from './http/sciencemesh.ts';
import { OcmClient } from './outbound/ocm-client.ts';
import { TrustedProviders } from './providers/trusted-providers.ts';
import { openStores, type Stores } from './stores/index.ts';

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
}

export interface BuildOptions {
  /** A pino logger; default: pino at `config.logLevel` on stderr. */
  logger?: pino.Logger;
  /** Users and providers given directly instead of read from their files. */
  users?: UserDirectory;
  providers?: TrustedProviders;
}

export async function buildCore(config: ReferenceConfig, options: BuildOptions = {}): Promise<Core> {
  const registry = getRegistry();
  const users = options.users ?? (await UserDirectory.fromFile(config.usersFile));
  const providers = options.providers ?? (await TrustedProviders.fromFile(config.providersFile));
  const stores = await openStores(config.dataDir);
  const domain = providerDomain(config);
  const client = new OcmClient({ providers, registry, ...config.outbound, userAgent: `ocm-conformance-reference (${domain})` });
  const capabilities = ['invites', 'notifications', 'protocol-object'];
  const discovery = buildDiscovery(config, { capabilities });
  const invites = new InviteService({ domain, inviteExpirySeconds: config.inviteExpirySeconds, users, providers, stores, client });
  const isContact = (localUserId: string, remoteUserId: string, remoteDomain: string) => invites.findContact(localUserId, remoteUserId, remoteDomain) !== undefined;
  const notifier = new Notifier(client);
  const homes = new HomeFolders(join(config.dataDir, 'files'));
  const receivedShares = new ReceivedShareService({ domain, criteria: config.criteria, users, providers, stores, isContact, notifier });
  const notifications = new NotificationService(stores);
  const sentShares = new SentShareService({
    domain,
    publicUrl: config.publicUrl,
    webdavPath: config.webdavPath,
    allowSharesWithoutInvite: config.allowSharesWithoutInvite,
    capabilities,
    providers,
    stores,
    client,
    homes,
    notifier,
    isContact,
    contactName: (localUserId, remoteUserId, remoteDomain) => invites.findContact(localUserId, remoteUserId, remoteDomain)?.name,
  });
  const shareAccess = new ShareAccessService({ stores, users, allowSharesWithoutInvite: config.allowSharesWithoutInvite, isContact });
  return { config, domain, registry, users, providers, stores, client, discovery, invites, receivedShares, notifications, homes, notifier, sentShares, shareAccess };
}

export async function buildApp(config: ReferenceConfig, options: BuildOptions = {}): Promise<{ app: FastifyInstance; core: Core }> {
  const core = await buildCore(config, options);
  const logger: FastifyBaseLogger = options.logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const app: FastifyInstance = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
  });
  app.decorateRequest('localUser', undefined);
  await app.register(formbody, { bodyLimit: config.bodyLimitBytes });
  await app.register(openapiValidation, { registry: core.registry });

  // An acknowledged write must be durable before any later answer relies on it.
  app.addHook('onSend', async (_request, _reply, payload) => {
    await core.stores.settled();
    return payload;
  });

  await app.register(discoveryPlugin, { document: core.discovery });
  app.get('/health', { config: { operation: { doc: 'ops', id: 'getHealth' } } }, async () => ({ status: 'ok' }));
  await app.register(
    async (ocm) => {
      await ocm.register(ocmSharesPlugin, { receivedShares: core.receivedShares });
      await ocm.register(ocmNotificationsPlugin, { notifications: core.notifications });
      await ocm.register(ocmInviteAcceptedPlugin, { invites: core.invites });
    },
    { prefix: OCM_PREFIX },
  );
  await app.register(sciencemeshPlugin, { prefix: '/sciencemesh', users: core.users, invites: core.invites, providers: core.providers });
  for (const [version, prefix] of [[1, OCS_V1_BASE], [2, OCS_V2_BASE]] as const) {
    await app.register(ocsPlugin, { prefix, version, users: core.users, sentShares: core.sentShares, receivedShares: core.receivedShares });
  }
  await app.register(davSurfacesPlugin, { users: core.users, homes: core.homes, shareAccess: core.shareAccess, webdavPath: config.webdavPath });

  app.addHook('onClose', async () => {
    await core.stores.close();
  });
  return { app, core };
}
