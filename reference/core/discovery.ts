/**
 * The discovery document this instance publishes, built once from its
 * configuration. Capabilities list only what the server really does.
 */
import type { ReferenceConfig } from '../base/config.ts';
import { faults } from '../base/faults.ts';

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
  /** The 1.2-era draft-cavage key (signatures.legacyPublicKey). */
  publicKey?: { keyId: string; publicKeyPem: string };
}

/** Where the OCM API lives below the public URL. */
export const OCM_PREFIX = '/ocm';

export function buildDiscovery(
  config: ReferenceConfig,
  features: {
    capabilities: string[];
    tokenEndPoint?: string;
    jwksUri?: string;
    publicKey?: { keyId: string; publicKeyPem: string };
  },
): DiscoveryDocument {
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
  if (features.publicKey) document.publicKey = features.publicKey;
  // Deliberate faults (reference/base/faults.ts); none in a normal run.
  if (faults.has('discovery-missing-endpoint')) delete (document as Partial<DiscoveryDocument>).endPoint;
  if (faults.has('discovery-sharetypes-without-user')) for (const type of document.resourceTypes) type.shareTypes = ['federation'];
  if (faults.has('discovery-relative-token-endpoint') && document.tokenEndPoint) document.tokenEndPoint = `${OCM_PREFIX}/token`;
  if (faults.has('discovery-relative-jwks-uri') && document.jwksUri) document.jwksUri = `${OCM_PREFIX}/jwks`;
  if (faults.has('discovery-duplicate-resource-type')) document.resourceTypes.push({ ...document.resourceTypes[0]!, shareTypes: ['user'] });
  if (faults.has('discovery-file-without-webdav'))
    document.resourceTypes[0] = { name: 'file', shareTypes: ['user'], protocols: { 'webdav-receive': { uri: config.webdavReceive } } };
  if (faults.has('discovery-bad-webdav-receive'))
    for (const type of document.resourceTypes) type.protocols = { ...type.protocols, 'webdav-receive': { uri: 'both' } };
  if (faults.has('discovery-unregistered-capability')) document.capabilities.push('x-instant-sync');
  if (faults.has('discovery-no-invite-dialog')) delete document.inviteAcceptDialog;
  return document;
}
