/**
 * The CS3 gRPC server of one reference instance: the five services of
 * services.ts on one port, backed by the instance's core (the same services
 * and stores as its HTTP APIs).
 *
 *   call → decode (never fails: bad bytes become CODE_INVALID_ARGUMENT)
 *        → caller from metadata → handler → core service → store
 *        → status in the response (the gRPC call itself always succeeds)
 *
 * Caller identity (decisions/0007-grpc-statuses.md): metadata
 * `authorization: Basic base64(username:password)`, checked against the
 * users file. Rpcs reva leaves unprotected work without it; every other rpc
 * without a valid user answers CODE_UNAUTHENTICATED. Credentials that are
 * sent must be valid, on every rpc.
 */
import * as grpc from '@grpc/grpc-js';
import type { Core } from '../app.ts';
import { parseBasicAuth } from '../core/users.ts';
import type { LocalUser } from '../stores/records.ts';
import { authProviderApi, inviteApi, ocmApi, ocmCoreApi, providerApi } from './protos.ts';
import { MALFORMED, type Msg } from './convert.ts';
import { ALL_SERVICES, type CallContext, type RpcSpec } from './services.ts';
import { GrpcFault, statusFromError, type Cs3Status } from './status.ts';
import { inFaultScope } from '../base/faults.ts';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Where unexpected faults are logged (default: nowhere); a pino logger or fastify's `app.log`. */
  logger?: GrpcLogger;
}

export interface GrpcLogger {
  error(details: object, message: string): void;
}

export interface RunningGrpcServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

const CONSTRUCTORS = { providerApi, inviteApi, ocmApi, ocmCoreApi, authProviderApi } as const;

/** The metadata key that carries the caller's credentials. */
export const AUTHORIZATION_METADATA = 'authorization';

/** The local user named by `authorization: Basic …`; undefined when none is sent; a fault when it is wrong. */
export function callerFromMetadata(core: Core, metadata: grpc.Metadata): LocalUser | undefined {
  const values = metadata.get(AUTHORIZATION_METADATA);
  if (values.length === 0) return undefined;
  const credentials = values.length === 1 ? parseBasicAuth(String(values[0])) : undefined;
  const user = credentials ? core.users.authenticate(credentials.username, credentials.password) : undefined;
  if (!user)
    throw new GrpcFault(
      'CODE_UNAUTHENTICATED',
      'the authorization metadata does not name a local user; send "Basic base64(username:password)"',
    );
  return user;
}

function unary(core: Core, name: string, spec: RpcSpec, method: grpc.MethodDefinition<unknown, unknown>, logger: GrpcLogger | undefined) {
  const answer = async (call: grpc.ServerUnaryCall<unknown, unknown>): Promise<Msg> => {
    let response: Msg;
    try {
      const request = call.request as Msg;
      if (typeof request !== 'object' || request === null || MALFORMED in request) {
        throw new GrpcFault('CODE_INVALID_ARGUMENT', `the request is not a valid ${name} message`);
      }
      const context: CallContext = { user: callerFromMetadata(core, call.metadata) };
      if (spec.protected && !context.user) {
        throw new GrpcFault(
          'CODE_UNAUTHENTICATED',
          'a local user is required: send metadata "authorization: Basic base64(username:password)"',
        );
      }
      const result = await spec.handle(core, request, context);
      response = { status: { code: 'CODE_OK', message: '' } satisfies Cs3Status, ...result };
    } catch (error) {
      const { status, unexpected } = statusFromError(error);
      if (unexpected) logger?.error({ rpc: name, err: error }, 'unexpected fault in a gRPC handler');
      response = { status };
    }
    try {
      // An acknowledged write must be durable before the answer relies on it.
      await core.stores.settled();
    } catch (error) {
      logger?.error({ rpc: name, err: error }, 'store write failed');
      response = { status: { code: 'CODE_INTERNAL', message: 'internal error' } };
    }
    try {
      method.responseSerialize(response);
    } catch (error) {
      logger?.error({ rpc: name, err: error }, 'a gRPC handler built a response that does not encode');
      response = { status: { code: 'CODE_INTERNAL', message: 'internal error' } };
    }
    return response;
  };
  // Handlers run in the instance's fault scope (reference/base/faults.ts; none in a normal run).
  return inFaultScope((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    void answer(call).then((response) => callback(null, response));
  });
}

/** Starts the five CS3 services on host:port. */
export async function startGrpcServer(core: Core, options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': core.config.bodyLimitBytes });
  for (const [key, specs] of Object.entries(ALL_SERVICES)) {
    const serviceConstructor = CONSTRUCTORS[key as keyof typeof CONSTRUCTORS];
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [rpc, method] of Object.entries(serviceConstructor.service)) {
      const spec = specs[rpc];
      if (!spec) throw new Error(`no handler for ${method.path}`);
      definition[rpc] = {
        ...method,
        // Bytes that do not decode reach the handler as a marker, which answers CODE_INVALID_ARGUMENT.
        requestDeserialize: (bytes: Buffer) => {
          try {
            return method.requestDeserialize(bytes);
          } catch {
            return { [MALFORMED]: true };
          }
        },
      };
      implementation[rpc] = unary(core, method.path, spec, method, options.logger);
    }
    server.addService(definition, implementation);
  }
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
