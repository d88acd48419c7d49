/**
 * The discovery document this instance publishes, built once from its
 * configuration. Capabilities list only what the server really does.
 */
import type { ReferenceConfig } from '../config.ts';

export interface DiscoveryDocument {
  enabled: boolean;
  apiVersion: string;
  endPoint: string;
  provider: string;
  resourceTypes: Array<{ name: string; shareTypes: string[]; protocols: Record<string, unknown> }>;
  capabilities: string[];
  criteria: string[];
  tokenEndPoint?: string;
  jwksUri?: string;
  inviteAcceptDialog?: string;
}

/** Where the OCM API lives below the public URL. */
export const OCM_PREFIX = '/ocm';

export function buildDiscovery(config: ReferenceConfig, features: { capabilities: string[]; tokenEndPoint?: string; jwksUri?: string }): DiscoveryDocument {
  const protocols = { webdav: config.webdavPath, 'webdav-receive': { uri: config.webdavReceive } };
  const document: DiscoveryDocument = {
    enabled: true,
    apiVersion: config.apiVersion,
    endPoint: `${config.publicUrl}${OCM_PREFIX}`,
    provider: config.providerName,
    resourceTypes: [
      { name: 'file', shareTypes: ['user'], protocols },
      { name: 'folder', shareTypes: ['user'], protocols },
    ],
    capabilities: [...features.capabilities].sort(),
    criteria: [...config.criteria],
  };
  if (features.capabilities.includes('invites')) document.inviteAcceptDialog = `${config.publicUrl}/accept-invite`;
  if (features.tokenEndPoint) document.tokenEndPoint = features.tokenEndPoint;
  if (features.jwksUri) document.jwksUri = features.jwksUri;
  return document;
}
