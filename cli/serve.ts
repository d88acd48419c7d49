/**
 * `ocm-conformance serve`: one reference instance.
 */
import { Command, InvalidArgumentError } from 'commander';
import { buildConfig, readConfigFile, type ReferenceConfig } from '../reference/config.ts';
import { startInstance } from '../reference/main.ts';
import { resolve } from 'node:path';

function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

interface ServeFlags {
  host?: string;
  port?: number;
  grpcPort?: number;
  publicUrl?: string;
  dataDir?: string;
  users?: string;
  providers?: string;
  config?: string;
  criteria?: string[];
  inviteExpiry?: number;
  bodyLimit?: number;
  logLevel?: string;
}

export function flagsToConfig(flags: ServeFlags): Partial<ReferenceConfig> {
  return {
    host: flags.host,
    port: flags.port,
    grpcPort: flags.grpcPort,
    publicUrl: flags.publicUrl,
    dataDir: flags.dataDir === undefined ? undefined : resolve(flags.dataDir),
    usersFile: flags.users === undefined ? undefined : resolve(flags.users),
    providersFile: flags.providers === undefined ? undefined : resolve(flags.providers),
    criteria: flags.criteria,
    inviteExpirySeconds: flags.inviteExpiry,
    bodyLimitBytes: flags.bodyLimit,
    logLevel: flags.logLevel,
  };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start one reference OCM instance (HTTP; gRPC arrives with the gRPC services)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port (default 8080; 0 picks a free one)', portNumber)
    .option('--grpc-port <port>', 'gRPC port (accepted; the gRPC services are not served yet)', portNumber)
    .option('--public-url <url>', 'base URL advertised in discovery (default http://HOST:PORT)')
    .option('--data-dir <dir>', 'where the JSON stores live (default ./data)')
    .option('--users <file>', 'local users file (default fixtures/users.json)')
    .option('--providers <file>', 'trusted providers, ocmproviders.json format (default fixtures/ocmproviders.json)')
    .option('--config <file>', 'YAML or JSON file with any of these settings; flags override it')
    .option('--criteria <list>', 'comma-separated criteria to advertise and enforce, e.g. must-invite', (v) => v.split(',').filter(Boolean))
    .option('--invite-expiry <seconds>', 'lifetime of invite tokens (default 86400)', positiveInt)
    .option('--body-limit <bytes>', 'largest request body accepted (default 1048576)', positiveInt)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default warn)')
    .action(async (flags: ServeFlags) => {
      const fromFile = flags.config ? await readConfigFile(flags.config) : {};
      const config = buildConfig(fromFile, flagsToConfig(flags));
      const instance = await startInstance(config);
      console.log(`ocm-conformance reference listening on ${instance.url}`);
      console.log(`  discovery:   ${config.publicUrl}/.well-known/ocm`);
      console.log(`  OCM API:     ${instance.core.discovery.endPoint}`);
      console.log(`  sciencemesh: ${config.publicUrl}/sciencemesh`);
      console.log(`  data dir:    ${config.dataDir}`);
      if (config.grpcPort !== undefined) console.log(`  gRPC:        not served yet (--grpc-port ${config.grpcPort} ignored)`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`received ${signal}, stopping`);
        await instance.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
