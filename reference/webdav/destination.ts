/**
 * The Destination header of MOVE and COPY (RFC 4918 §10.3): an absolute URL
 * on this server, or an absolute path. Shared by the owner-files engine and
 * the received-share relay, which turn the outcome into their own errors.
 */

export type DestinationPath =
  /** The raw path, taken before URL parsing could normalise `..` away. */
  { ok: true; rawPath: string } | { ok: false; problem: 'not-a-url' | 'other-server' | 'not-absolute' };

/**
 * The path a Destination names on the server reached as `host`. A port left
 * out on either side matches any: behind a proxy, clients and servers often
 * disagree on whether the default port is written.
 */
export function destinationPath(header: string, host: string): DestinationPath {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)/i.exec(header);
  if (absolute) {
    let destination: URL;
    let own: URL;
    try {
      destination = new URL(header);
      own = new URL(`http://${host}`);
    } catch {
      return { ok: false, problem: 'not-a-url' };
    }
    const samePort = destination.port === '' || own.port === '' || destination.port === own.port;
    if (destination.hostname.toLowerCase() !== own.hostname.toLowerCase() || !samePort) return { ok: false, problem: 'other-server' };
    return { ok: true, rawPath: absolute[2] || '/' };
  }
  if (header.startsWith('/')) return { ok: true, rawPath: pathOf(header) };
  return { ok: false, problem: 'not-absolute' };
}

/** A URL's path: everything before `?` or `#`. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
