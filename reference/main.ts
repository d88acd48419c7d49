/**
 * Starts one reference instance on a socket and stops it cleanly.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions, type Core } from './app.ts';
import type { ReferenceConfig } from './config.ts';

export interface RunningInstance {
  app: FastifyInstance;
  core: Core;
  /** Where the instance listens (may differ from the advertised public URL). */
  url: string;
  close(): Promise<void>;
}

export async function startInstance(config: ReferenceConfig, options: BuildOptions = {}): Promise<RunningInstance> {
  const { app, core } = await buildApp(config, options);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { app, core, url: `http://${host}:${port}`, close: () => app.close() };
}
