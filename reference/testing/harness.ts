/**
 * Test helpers for the reference server: an app on a temp data dir with the
 * fixture users and a trust list, ready for `inject()`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp, type Core } from '../app.ts';
import { buildConfig, type ReferenceConfig } from '../base/config.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';

export const TRUSTED_PEER = 'http://127.0.0.3:9999';
export const PEER_DOMAIN = '127.0.0.3:9999';

export const EINSTEIN = {
  id: '4c510ada-c86b-4815-8820-42cdf82c3d51',
  username: 'einstein',
  password: 'relativity',
  displayName: 'Albert Einstein',
};
export const MARIE = {
  id: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c',
  username: 'marie',
  password: 'radioactivity',
  displayName: 'Marie Curie',
};

export interface TestApp {
  app: FastifyInstance;
  core: Core;
  dataDir: string;
  close(): Promise<void>;
}

export async function buildTestApp(overrides: Partial<ReferenceConfig> = {}, peers: string[] = [TRUSTED_PEER]): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocm-test-'));
  const config = buildConfig({ host: '127.0.0.2', port: 8080, dataDir, ...overrides });
  const providers = new TrustedProviders(peers.map((origin, i) => providerEntry(`peer-${i}`, origin)));
  const { app, core } = await buildApp(config, { logger: pino({ level: 'silent' }), providers });
  return {
    app,
    core,
    dataDir,
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function basicAuth(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

/** A valid newest-draft share from the trusted peer to einstein on 127.0.0.2:8080. */
export function validShare(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shareWith: `${EINSTEIN.id}@127.0.0.2:8080`,
    name: 'report.pdf',
    description: 'quarterly report',
    providerId: `share-${Math.random().toString(36).slice(2)}`,
    owner: `owner-1@${PEER_DOMAIN}`,
    sender: `sender-1@${PEER_DOMAIN}`,
    ownerDisplayName: 'Owner One',
    senderDisplayName: 'Sender One',
    shareType: 'user',
    resourceType: 'file',
    protocol: {
      name: 'multi',
      webdav: { uri: `${TRUSTED_PEER}/dav/ocm/abc`, sharedSecret: 'a-secret-of-enough-length-000000', permissions: ['read'] },
    },
    ...overrides,
  };
}
