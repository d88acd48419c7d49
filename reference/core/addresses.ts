/**
 * OCM Addresses: `identifier "@" host [":" port]`, split on the LAST `@` so
 * identifiers may themselves contain `@`. Stored as parts, joined with one `@`.
 */
import { isFqdnWithPort } from '../../openapi/formats.ts';
import { normaliseDomain } from '../providers/trusted-providers.ts';

export interface OcmAddress {
  identifier: string;
  /** host[:port], lower-cased host. */
  domain: string;
}

export function parseOcmAddress(address: string): OcmAddress | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  const domain = address.slice(at + 1);
  if (!isFqdnWithPort(domain)) return undefined;
  return { identifier: address.slice(0, at), domain: normaliseDomain(domain) };
}

export function formatOcmAddress(identifier: string, domain: string): string {
  return `${identifier}@${domain}`;
}

/** The canonical invite string: base64url(token "@" provider), unpadded. */
export function encodeInviteString(token: string, domain: string): string {
  return Buffer.from(`${token}@${domain}`, 'utf8').toString('base64url');
}

/** Decodes an invite string (padded or not), splitting on the last `@`. */
export function decodeInviteString(invite: string): { token: string; domain: string } | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(invite)) return undefined;
  const text = Buffer.from(invite.replace(/=+$/, ''), 'base64url').toString('utf8');
  const parsed = parseOcmAddress(text);
  return parsed ? { token: parsed.identifier, domain: parsed.domain } : undefined;
}
