/**
 * The reference over TLS (`serve --tls-cert F --tls-key F`, config `tls`):
 * the fastify options that make an instance (or a split deployment's front)
 * serve https, read and checked before anything starts, so a missing file or
 * a key that does not belong to the certificate stops start-up with one line.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { NetworkSettingError, type ReferenceConfig } from '../base/config.ts';

export interface ServerTls {
  cert: string;
  key: string;
}

function readPem(file: string, what: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new NetworkSettingError(
      `cannot read the ${what} ${file} (${flag}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!text.includes('-----BEGIN ')) throw new NetworkSettingError(`the ${what} ${file} (${flag}) is not PEM`);
  return text;
}

/** The certificate and key of `config.tls`, checked to belong together; undefined for plain http. */
export function serverTls(config: Pick<ReferenceConfig, 'tls'>): ServerTls | undefined {
  if (!config.tls) return undefined;
  const cert = readPem(config.tls.certFile, 'certificate', '--tls-cert');
  const key = readPem(config.tls.keyFile, 'key', '--tls-key');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new NetworkSettingError(
      `the TLS certificate ${config.tls.certFile} and key ${config.tls.keyFile} cannot be used together: ${(error as Error).message}`,
    );
  }
  return { cert, key };
}

/** The URL scheme an instance with these settings listens with. */
export function listenScheme(config: Pick<ReferenceConfig, 'tls'>): 'http' | 'https' {
  return config.tls ? 'https' : 'http';
}
