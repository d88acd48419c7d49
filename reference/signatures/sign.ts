/**
 * Signing requests with RFC 9421 HTTP Message Signatures.
 *
 * `signRequest` produces the OCM profile (main / draft-07):
 *   Content-Digest: sha-256=:…:
 *   Content-Length: <n>
 *   Signature-Input: ocm=("@method" "@target-uri" "content-digest" "content-length");created=…;keyid="…";alg="ed25519";tag="ocm"
 *   Signature: ocm=:…:
 *
 * `createMessageSignature` is the general form (any components, any
 * parameters, in the order given); the conformance suites use it to build
 * deliberately non-conforming signatures.
 */
import { bodyBytes, computeContentDigest, type BodyInput, type DigestAlgorithm } from './content-digest.ts';
import { httpSigAlgorithmFor, signBytes, type HttpSigAlgorithm } from './algorithms.ts';
import type { SigningKey } from './keys.ts';
import { DEFAULT_SIGNATURE_LABEL, OCM_REQUIRED_COMPONENTS, OCM_TAG, normaliseHeaders, type HeaderMap } from './profile.ts';
import { buildSignatureBase, componentId, signatureParams, type MessageRequest } from './signature-base.ts';
import {
  parseDictionary,
  serializeDictionary,
  serializeInnerList,
  sf,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Parameters,
} from './structured-fields.ts';

export interface SignableRequest {
  method: string;
  url: string | URL;
  headers?: HeaderMap;
  body?: BodyInput | null;
}

/** Signature parameter values; numbers become sf-integers, strings sf-strings. Undefined entries are skipped. */
export type SignatureParamValues = Record<string, string | number | boolean | undefined>;

export interface MessageSignatureSpec {
  /** Signing key material; `alg` chooses the algorithm. */
  key: Pick<SigningKey, 'privateKey' | 'alg'>;
  /** Covered components, as bare names or serialised identifiers. */
  components: readonly string[];
  /** Parameters in the order they should appear. */
  params: SignatureParamValues;
  /** Override the algorithm actually used (e.g. to sign with one alg while claiming another). */
  algorithm?: HttpSigAlgorithm;
}

export interface MessageSignature {
  /** The Signature-Input member value, e.g. `("@method" …);created=…`. */
  input: InnerList;
  inputValue: string;
  signature: Buffer;
  /** The exact signature base that was signed. */
  base: string;
}

function paramItem(name: string, value: string | number | boolean): BareItem {
  if (typeof value === 'boolean') return sf.boolean(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`signature parameter ${name} must be an integer`);
    return sf.integer(value);
  }
  return sf.string(value);
}

export function toParameters(values: SignatureParamValues): Parameters {
  const params: Parameters = new Map();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) params.set(name, paramItem(name, value));
  }
  return params;
}

/** Signs an arbitrary set of components. The request must already carry every covered header. */
export function createMessageSignature(request: MessageRequest, spec: MessageSignatureSpec): MessageSignature {
  const input = signatureParams(spec.components.map(componentId), toParameters(spec.params));
  const base = buildSignatureBase(request, input);
  const alg = spec.algorithm ?? httpSigAlgorithmFor(spec.key.alg);
  const signature = signBytes(alg, spec.key.privateKey, Buffer.from(base, 'utf8'));
  return { input, inputValue: serializeInnerList(input), signature, base };
}

function existingDictionary(headers: Map<string, string[]>, name: string): Dictionary {
  const lines = headers.get(name);
  return lines && lines.length > 0 ? parseDictionary(lines) : new Map();
}

/**
 * Adds a signature under `label` to whatever Signature-Input / Signature the
 * headers already carry; returns the two new field values. Throws if the label is taken.
 */
export function appendSignature(
  headers: HeaderMap | undefined,
  label: string,
  signature: Pick<MessageSignature, 'input' | 'signature'>,
): { 'signature-input': string; signature: string } {
  const normalised = normaliseHeaders(headers);
  const inputs = existingDictionary(normalised, 'signature-input');
  const signatures = existingDictionary(normalised, 'signature');
  if (inputs.has(label) || signatures.has(label)) throw new Error(`signature label ${JSON.stringify(label)} is already used`);
  inputs.set(label, signature.input);
  signatures.set(label, sf.item(sf.bytes(signature.signature)));
  return { 'signature-input': serializeDictionary(inputs), signature: serializeDictionary(signatures) };
}

export interface SignRequestOptions {
  /** Signature label; default `ocm`. OCM identifies its signature by tag, not label. */
  label?: string;
  /** Unix seconds; default now. */
  created?: number;
  /** Put `alg="…"` in the parameters (default true; the OCM draft allows omitting it). */
  includeAlg?: boolean;
  /** Content-Digest algorithms; default `['sha-256']`. */
  digestAlgorithms?: readonly DigestAlgorithm[];
  /** Extra components after the four the profile requires (e.g. `content-type`). */
  extraComponents?: readonly string[];
}

export type SignedHeaders = {
  'content-digest': string;
  'content-length': string;
  'signature-input': string;
  signature: string;
};

/**
 * Signs an outgoing OCM request. Returns the headers to add (lower-case
 * names); send the body bytes exactly as given and the URL as given (it is
 * normalised like fetch does, e.g. `https://h` → `https://h/`).
 * Existing Signature-Input / Signature values in `request.headers` are kept
 * and the new signature appended.
 */
export function signRequest(request: SignableRequest, key: SigningKey, options: SignRequestOptions = {}): SignedHeaders {
  const body = bodyBytes(request.body);
  const contentDigest = computeContentDigest(body, options.digestAlgorithms ?? ['sha-256']);
  const contentLength = String(body.length);
  const headers: HeaderMap = {};
  for (const [name, values] of normaliseHeaders(request.headers)) headers[name] = values;
  headers['content-digest'] = contentDigest;
  headers['content-length'] = contentLength;
  const url = new URL(String(request.url)).href;
  const method = request.method.toUpperCase();
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const signature = createMessageSignature(
    { method, url, headers },
    {
      key,
      components: [...OCM_REQUIRED_COMPONENTS, ...(options.extraComponents ?? [])],
      params: {
        created,
        keyid: key.kid,
        alg: options.includeAlg === false ? undefined : httpSigAlgorithmFor(key.alg),
        tag: OCM_TAG,
      },
    },
  );
  const appended = appendSignature(headers, options.label ?? DEFAULT_SIGNATURE_LABEL, signature);
  return { 'content-digest': contentDigest, 'content-length': contentLength, ...appended };
}
