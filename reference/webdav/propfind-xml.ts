/*
 * PROPFIND request bodies in, 207 multistatus documents out (RFC 4918 §9.1, §14).
 *
 * Invariants:
 * - Parsing is lenient about *what* is asked (an empty body, or a `propfind`
 *   without `allprop`/`propname`/`prop`, means allprop; unknown siblings are
 *   ignored) but strict about well-formedness: malformed XML, a DOCTYPE (no
 *   entity expansion, ever), several root elements, an undeclared namespace
 *   prefix or a root other than `DAV:propfind` all throw `BAD_PROPFIND`.
 * - Namespaces are resolved by URI, never by prefix: `<D:prop>` and
 *   `<prop xmlns="DAV:">` are the same element.
 * - Output always uses the prefix `d:` for `DAV:`. A requested property we do
 *   not know is answered in a 404 propstat, under its own namespace declared on
 *   the element itself (prefixes `x0`, `x1`, …), so no two names can collide.
 * - Values are escaped by the XML builder; hrefs arrive already URL-encoded.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { DavError } from './dav-errors.ts';

export const DAV_NS = 'DAV:';

export interface PropName {
  ns: string;
  local: string;
}

export type PropfindRequest = { kind: 'allprop' } | { kind: 'propname' } | { kind: 'prop'; props: PropName[] };

/** An XMLBuilder node value: '' for an empty element, a string, or child elements keyed by `d:`-prefixed name. */
export type PropValue = string | number | Record<string, unknown>;

export interface MultistatusEntry {
  href: string;
  /** Properties found, keyed by their local name in the DAV: namespace. */
  found: Array<[local: string, value: PropValue]>;
  /** Requested properties this resource does not have. */
  missing: PropName[];
}

type XmlNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
});

function bad(message: string): DavError {
  return new DavError('BAD_PROPFIND', message);
}

function tagOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

function isElementTag(tag: string | undefined): tag is string {
  return tag !== undefined && !tag.startsWith('?') && !tag.startsWith('#');
}

function childElements(node: XmlNode, tag: string): XmlNode[] {
  const children = node[tag];
  if (!Array.isArray(children)) return [];
  return (children as XmlNode[]).filter((child) => isElementTag(tagOf(child)));
}

function scopeOf(node: XmlNode, parent: Scope): Scope {
  const attrs = node[':@'];
  if (typeof attrs !== 'object' || attrs === null) return parent;
  let scope: Map<string, string> | undefined;
  for (const [name, value] of Object.entries(attrs as Record<string, unknown>)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      scope ??= new Map(parent);
      scope.set(name === 'xmlns' ? '' : name.slice('xmlns:'.length), String(value));
    }
  }
  return scope ?? parent;
}

function qualify(tag: string, scope: Scope): PropName {
  const colon = tag.indexOf(':');
  const prefix = colon === -1 ? '' : tag.slice(0, colon);
  const local = colon === -1 ? tag : tag.slice(colon + 1);
  const ns = scope.get(prefix);
  if (ns === undefined) {
    if (prefix === '') return { ns: '', local };
    throw bad(`Undeclared namespace prefix "${prefix}"`);
  }
  return { ns, local };
}

export function parsePropfindBody(body: Buffer | undefined): PropfindRequest {
  let text = body ? body.toString('utf8') : '';
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { kind: 'allprop' };
  if (/<!DOCTYPE/i.test(text)) throw bad('DOCTYPE declarations are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw bad(`Malformed XML: ${valid.err.msg} (line ${valid.err.line})`);

  let doc: XmlNode[];
  try {
    doc = parser.parse(text) as XmlNode[];
  } catch (err) {
    throw bad(`Malformed XML: ${(err as Error).message}`);
  }
  const roots = doc.filter((node) => isElementTag(tagOf(node)));
  if (roots.length !== 1) throw bad('Expected exactly one root element');
  const root = roots[0]!;
  const rootTag = tagOf(root)!;
  const rootScope = scopeOf(root, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
  const rootName = qualify(rootTag, rootScope);
  if (rootName.ns !== DAV_NS || rootName.local !== 'propfind') throw bad('The root element must be DAV:propfind');

  for (const child of childElements(root, rootTag)) {
    const tag = tagOf(child)!;
    const scope = scopeOf(child, rootScope);
    const name = qualify(tag, scope);
    if (name.ns !== DAV_NS) continue;
    if (name.local === 'allprop') return { kind: 'allprop' };
    if (name.local === 'propname') return { kind: 'propname' };
    if (name.local === 'prop') {
      const props: PropName[] = [];
      const seen = new Set<string>();
      for (const propNode of childElements(child, tag)) {
        const propTag = tagOf(propNode)!;
        const prop = qualify(propTag, scopeOf(propNode, scope));
        const key = `${prop.ns}\u0000${prop.local}`;
        if (!seen.has(key)) {
          seen.add(key);
          props.push(prop);
        }
      }
      return { kind: 'prop', props };
    }
  }
  return { kind: 'allprop' };
}

function missingProps(missing: readonly PropName[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  missing.forEach((prop, i) => {
    if (prop.ns === DAV_NS) out[`d:${prop.local}`] = '';
    else if (prop.ns === '') out[prop.local] = { '@_xmlns': '' };
    else out[`x${i}:${prop.local}`] = { [`@_xmlns:x${i}`]: prop.ns };
  });
  return out;
}

export function buildMultistatus(entries: readonly MultistatusEntry[]): string {
  const responses = entries.map((entry) => {
    const propstats: Record<string, unknown>[] = [];
    if (entry.found.length > 0 || entry.missing.length === 0) {
      const prop: Record<string, unknown> = {};
      for (const [local, value] of entry.found) prop[`d:${local}`] = value;
      propstats.push({ 'd:prop': prop, 'd:status': 'HTTP/1.1 200 OK' });
    }
    if (entry.missing.length > 0) {
      propstats.push({ 'd:prop': missingProps(entry.missing), 'd:status': 'HTTP/1.1 404 Not Found' });
    }
    return { 'd:href': entry.href, 'd:propstat': propstats };
  });
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'd:multistatus': { '@_xmlns:d': DAV_NS, 'd:response': responses },
  }) as string;
}
