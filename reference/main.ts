/**
 * Starts one reference instance on its sockets (HTTP, and gRPC when a gRPC
 * port is configured) and stops it cleanly.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions, type Core } from './app.ts';
import type { ReferenceConfig } from './base/config.ts';
import { startGrpcServer, type RunningGrpcServer } from './grpc/server.ts';
import { withFaults } from './base/faults.ts';
import { closeGracefully } from './http/server-limits.ts';
import { listenScheme } from './http/tls.ts';

export interface RunningInstance {
  app: FastifyInstance;
  core: Core;
  /** Where the instance listens (may differ from the advertised public URL). */
  url: string;
  /** host:port of the CS3 gRPC services, when served. */
  grpcAddress: string | undefined;
  close(): Promise<void>;
}

export async function startInstance(config: ReferenceConfig, options: BuildOptions = {}): Promise<RunningInstance> {
  // Everything the instance starts (sockets, timers, outbound calls) inherits its fault set: none in a normal run.
  return withFaults(config.faults ?? [], () => start(config, options));
}

async function start(config: ReferenceConfig, options: BuildOptions): Promise<RunningInstance> {
  const { app, core } = await buildApp(config, options);
  let grpc: RunningGrpcServer | undefined;
  try {
    await app.listen({ host: config.host, port: config.port });
    if (config.grpcPort !== undefined) grpc = await startGrpcServer(core, { host: config.host, port: config.grpcPort, logger: app.log });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    app,
    core,
    url: `${listenScheme(config)}://${host}:${port}`,
    grpcAddress: grpc ? `${host}:${grpc.port}` : undefined,
    async close() {
      await grpc?.close();
      await closeGracefully(app);
    },
  };
}
