/**
 * Formats our documents use beyond ajv-formats.
 *
 * `fqdn`: OCM calls the server part of an address an FQDN, but the OCM
 * Address grammar allows `host [":" port]` with an IP literal, and test
 * federations run on loopback addresses with ports. We accept a DNS name,
 * an IPv4 address or a bracketed IPv6 literal, each with an optional port;
 * never a scheme, path, user info or whitespace. (decisions/0002)
 */
import { isIP } from 'node:net';

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isFqdnWithPort(value: string): boolean {
  if (value.length === 0 || value.length > 261) return false;
  let host = value;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return false;
    const rest = host.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    port = rest === '' ? undefined : rest.slice(1);
    host = host.slice(1, close);
    if (isIP(host) !== 6) return false;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      port = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
    if (isIP(host) !== 4 && !isDnsName(host)) return false;
  }
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) return false;
  if (port !== undefined && Number(port) > 65535) return false;
  return true;
}

function isDnsName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}
