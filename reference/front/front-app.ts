/**
 * An HTTP front over another instance: the oCIS split
 * (decisions/0009-http-over-grpc.md). One process (the back, a normal
 * `serve --grpc-port … --public-url <the front's URL>`) owns the stores,
 * files, keys and tokens and serves the CS3 gRPC services; this one serves
 * the public HTTP surfaces and owns nothing:
 *
 *   over gRPC (the same HTTP plugins as in-process, with ./backend-services.ts behind them)
 *     sciencemesh/*                 InviteAPI, ProviderAPI.ListAllProviders
 *     OCS shares (v1, v2)           OcmAPI
 *     POST /ocm/shares              signature checked here → OcmCoreAPI.CreateOCMCoreShare
 *     POST /ocm/invite-accepted     signature checked here → InviteAPI.AcceptInvite
 *   decided over gRPC, bytes relayed to the back's HTTP listener (./http-relay.ts)
 *     <webdavPath>/…, /dav/ocm/…    auth ProviderAPI.Authenticate (Bearer + share id), then relay
 *     /dav/ocm-received/…           local login, OcmAPI.GetReceivedOCMShare (accepted? writable?), then relay
 *   relayed as they are
 *     /dav/files/… (owner files), every other /ocm/* route (notifications, token, jwks, request-share),
 *     discovery (/.well-known/ocm, /ocm-provider), /.well-known/jwks.json
 *   local
 *     /health, /accept-invite (the static invite page), login checks (users file)
 *
 * The front never opens the data dir: no stores, no home folders, no signing
 * keys (the back signs; the front only verifies, with peers' public keys).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import pino from 'pino';
import { getRegistry } from '../../openapi/registry.ts';
import { OCS_V1_BASE, OCS_V2_BASE } from '../../openapi/ocs.ts';
import { providerDomain, type ReferenceConfig } from '../base/config.ts';
import { OCM_PREFIX, type DiscoveryDocument } from '../core/discovery.ts';
import { InboundAuthenticator } from '../core/inbound-auth.ts';
import { openReceivedShare } from '../core/received-shares.ts';
import { PeerKeyCache } from '../core/peer-keys.ts';
import { UserDirectory } from '../core/users.ts';
import { errorBody, logFailure } from '../base/errors.ts';
import { closeGracefully, lingerOnClose, serverLimits } from '../http/server-limits.ts';
import { inviteDialogPlugin } from '../http/invite-dialog.ts';
import { authenticateLocalUser } from '../http/local-auth.ts';
import { ocmInviteAcceptedPlugin } from '../http/ocm-invite-accepted.ts';
import { ocmSharesPlugin } from '../http/ocm-shares.ts';
import { keepRawBody, verifySignatures } from '../http/ocm-signatures.ts';
import { ocsPlugin } from '../http/ocs.ts';
import { openapiValidation, toOcmError } from '../http/openapi-validation.ts';
import { sciencemeshPlugin } from '../http/sciencemesh.ts';
import { OcmClient } from '../outbound/ocm-client.ts';
import { outboundNetwork } from '../outbound/network.ts';
import { listenScheme, serverTls } from '../http/tls.ts';
import { BackendClient, type Cs3Service } from './backend-client.ts';
import { passBodiesThrough, relay, type RelayOptions } from './http-relay.ts';
import {
  liveProviderList,
  RemoteInviteService,
  RemoteProviders,
  RemoteReceivedShareService,
  RemoteSentShareService,
  RemoteShareAccess,
} from './backend-services.ts';

export interface FrontOptions {
  logger?: pino.Logger;
  /** Users given directly instead of read from the users file. */
  users?: UserDirectory;
  /** Sees every gRPC call to the back (tests). */
  observer?: (service: Cs3Service, rpc: string) => void;
}

export interface Front {
  app: FastifyInstance;
  backend: BackendClient;
  providers: RemoteProviders;
  /** The back's discovery document, read at start-up. */
  discovery: DiscoveryDocument;
  domain: string;
}

/** WebDAV methods fastify does not know out of the box, and whether they carry a body. */
const EXTRA_METHODS: ReadonlyArray<readonly [string, boolean]> = [
  ['PROPFIND', true],
  ['PROPPATCH', true],
  ['MKCOL', true],
  ['MOVE', false],
  ['COPY', false],
  ['LOCK', true],
  ['UNLOCK', false],
];
const RELAYED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', ...EXTRA_METHODS.map(([m]) => m)];
const RECEIVED_DAV_METHODS = ['OPTIONS', 'PROPFIND', 'GET', 'HEAD', 'PUT', 'MKCOL', 'DELETE', 'MOVE'];
const WRITE_METHODS = ['PUT', 'MKCOL', 'DELETE', 'MOVE'];

/** The back's discovery, which must advertise the front's public URL. */
async function backDiscovery(config: ReferenceConfig, origin: string): Promise<DiscoveryDocument> {
  let document: DiscoveryDocument;
  try {
    const response = await fetch(new URL('/.well-known/ocm', origin), {
      signal: AbortSignal.timeout(config.outbound.timeoutMs),
      redirect: 'manual',
    });
    if (response.status !== 200) throw new Error(`it answered ${response.status}`);
    document = (await response.json()) as DiscoveryDocument;
  } catch (error) {
    throw new Error(`cannot read the discovery of the HTTP backend at ${origin}: ${(error as Error).message}`);
  }
  const wanted = `${config.publicUrl}${OCM_PREFIX}`;
  if (document?.endPoint !== wanted) {
    throw new Error(
      `the back at ${origin} advertises endPoint ${JSON.stringify(document?.endPoint)}, not ${wanted}: start it with --public-url ${config.publicUrl} (the front's public URL)`,
    );
  }
  return document;
}

/** The first path segment after `prefix` in a raw path, decoded; undefined when there is none or it does not decode. */
function firstSegment(rawUrl: string, prefix: string): string | undefined {
  const path = rawUrl.split(/[?#]/)[0]!;
  const rest = path.slice(prefix.length).replace(/^\/+/, '');
  const raw = rest.split('/')[0];
  if (!raw) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export async function buildFront(config: ReferenceConfig, options: FrontOptions = {}): Promise<Front> {
  if (!config.backend) throw new Error('buildFront needs config.backend');
  // The front is the public URL: it serves https with `tls`; the back's listeners stay internal.
  const tls = serverTls(config);
  const logger = options.logger ?? pino({ level: config.logLevel }, pino.destination(2));
  const users = options.users ?? (await UserDirectory.fromFile(config.usersFile));
  const domain = providerDomain(config);
  const { timeoutMs } = config.outbound;
  // A CS3 call may wait on the back's own calls to a peer (discovery, then a POST).
  const backend = new BackendClient({
    address: config.backend.grpc,
    deadlineMs: 3 * timeoutMs + 5_000,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const providers = new RemoteProviders(backend);
  let discovery: DiscoveryDocument;
  try {
    await providers.refresh().catch((error: unknown) => {
      throw new Error(`cannot read the trust list from the gRPC backend at ${config.backend!.grpc}: ${(error as Error).message}`);
    });
    discovery = await backDiscovery(config, config.backend.http);
  } catch (error) {
    backend.close();
    throw error;
  }
  providers.startRefreshing(60, (error) =>
    logger.warn({ err: error }, 'front: the trust list could not be refreshed; keeping the last one'),
  );

  const registry = getRegistry();
  // Verification only: the front never signs (the back holds the keys), so its OCM client has no key.
  const { maxResponseBytes, allowPrivateAddresses } = config.outbound;
  const client = new OcmClient({
    providers,
    registry,
    timeoutMs,
    maxResponseBytes,
    allowPrivateAddresses,
    network: outboundNetwork(config.outbound),
    userAgent: `ocm-conformance-reference front (${domain})`,
  });
  const peerKeys = new PeerKeyCache({ client, ttlSeconds: config.signatures.keyCacheSeconds, maxEntries: config.signatures.keyCacheSize });
  // The criteria are the back's (it advertises and enforces them); the signature settings the front's.
  const inboundAuth = new InboundAuthenticator({
    settings: config.signatures,
    criteria: Array.isArray(discovery.criteria) ? discovery.criteria : [],
    providers,
    keys: peerKeys,
  });
  const invites = new RemoteInviteService(backend, domain);
  const sentShares = new RemoteSentShareService(backend);
  const receivedShares = new RemoteReceivedShareService(backend, users);
  const shareAccess = new RemoteShareAccess(backend);
  const relayOptions: RelayOptions = { origin: config.backend.http, timeoutMs };

  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    ...serverLimits(config, tls),
  }) as unknown as FastifyInstance;
  lingerOnClose(app.server);
  app.decorateRequest('localUser', undefined);
  for (const [method, body] of EXTRA_METHODS) if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: body });

  // The surfaces answered here, over gRPC: schema-checked both ways, as in-process (openapi-validation is scoped to them).
  await app.register(async (api) => {
    await api.register(formbody, { bodyLimit: config.bodyLimitBytes });
    await api.register(openapiValidation, { registry });
    await api.register(inviteDialogPlugin);
    api.get('/health', { config: { operation: { doc: 'ops', id: 'getHealth' } } }, async () => ({ status: 'ok' }));
    await api.register(
      async (ocm) => {
        keepRawBody(ocm, config.bodyLimitBytes);
        verifySignatures(ocm, { authenticator: inboundAuth, publicUrl: config.publicUrl });
        await ocm.register(ocmSharesPlugin, { receivedShares });
        await ocm.register(ocmInviteAcceptedPlugin, { invites });
      },
      { prefix: OCM_PREFIX },
    );
    await api.register(sciencemeshPlugin, { prefix: '/sciencemesh', users, invites, providers: liveProviderList(providers) });
    for (const [version, prefix] of [
      [1, OCS_V1_BASE],
      [2, OCS_V2_BASE],
    ] as const) {
      await api.register(ocsPlugin, { prefix, version, users, sentShares, receivedShares });
    }
  });

  // The relayed surfaces: bodies are streams handed through, answers are the back's.
  await app.register(async (scope) => {
    passBodiesThrough(scope);
    scope.setErrorHandler(async (error, request, reply) => {
      const failure = toOcmError(error);
      logFailure(request.log, error, failure, 'front: relayed request failed');
      if (failure.headers) reply.headers(failure.headers);
      return reply.code(failure.status).type('application/json').send(errorBody(failure));
    });
    const pass = (request: FastifyRequest, reply: FastifyReply) => relay(request, reply, relayOptions);
    const everything = (url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) => {
      scope.route({ method: RELAYED_METHODS, url, handler });
      scope.route({ method: RELAYED_METHODS, url: `${url}/*`, handler });
    };

    for (const path of ['/.well-known/ocm', '/ocm-provider', '/.well-known/jwks.json'])
      scope.route({ method: ['GET', 'HEAD'], url: path, handler: pass });
    // Every OCM route without an rpc (POST /shares and /invite-accepted are more specific and answered above).
    scope.route({ method: RELAYED_METHODS, url: `${OCM_PREFIX}/*`, handler: pass });
    for (const prefix of ['/dav/files', '/remote.php/dav/files']) everything(prefix, pass);

    // OCM share access: Authenticate decides on a Bearer secret (or exchanged token) for a share id; the back serves the bytes.
    const advertised = discovery.resourceTypes?.[0]?.protocols?.webdav;
    const webdavPath =
      typeof advertised === 'string' && advertised.startsWith('/') ? advertised.replace(/\/+$/, '') : config.webdavPath.replace(/\/+$/, '');
    for (const prefix of [...new Set([webdavPath, '/dav/ocm', '/remote.php/dav/ocm'])]) {
      everything(prefix, async (request, reply) => {
        const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
        const shareId = firstSegment(request.raw.url ?? request.url, prefix);
        // OPTIONS needs no credentials; the legacy Basic form may name no share id: the back decides those alone.
        if (request.method !== 'OPTIONS' && bearer !== undefined && shareId !== undefined) {
          const access = await shareAccess.authenticate(shareId, bearer);
          if (!access.ok) {
            if (access.status === 401) reply.header('www-authenticate', 'Bearer realm="ocm-share"');
            return reply
              .code(access.status)
              .type('application/json')
              .send(JSON.stringify({ code: access.code, message: access.message }));
          }
        }
        return relay(request, reply, relayOptions);
      });
    }

    // Received shares: the local user, the share and its state and permissions come from GetReceivedOCMShare;
    // the back (the OCM WebDAV client, which holds the keys for the code flow) fetches the bytes from the sender.
    everything('/dav/ocm-received', async (request, reply) => {
      if (!RECEIVED_DAV_METHODS.includes(request.method)) return relay(request, reply, relayOptions);
      const user = authenticateLocalUser(users, request);
      const shareId = firstSegment(request.raw.url ?? request.url, '/dav/ocm-received');
      if (shareId === undefined) return relay(request, reply, relayOptions);
      const use = WRITE_METHODS.includes(request.method) ? 'write' : 'read';
      openReceivedShare(await receivedShares.getFor(user, shareId), use);
      return relay(request, reply, relayOptions);
    });
  });

  app.addHook('onClose', async () => {
    providers.stop();
    backend.close();
    await client.network.close();
  });
  return { app, backend, providers, discovery, domain };
}

export interface RunningFront extends Front {
  /** Where the front listens. */
  url: string;
  close(): Promise<void>;
}

/** Builds the front and listens on config.host:config.port. */
export async function startFront(config: ReferenceConfig, options: FrontOptions = {}): Promise<RunningFront> {
  const front = await buildFront(config, options);
  try {
    await front.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await front.app.close();
    throw error;
  }
  const address = front.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    ...front,
    url: `${listenScheme(config)}://${host}:${port}`,
    close: () => closeGracefully(front.app),
  };
}
