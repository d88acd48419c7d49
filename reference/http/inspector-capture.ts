/**
 * Feeds every exchange of this instance to the OCM inspector (`serve
 * --inspect`, inspector/): inbound requests on every surface, with the
 * signature verdict the inbound authenticator reached (`request.ocmAuth`;
 * never verified again) and the route's OpenAPI operation. Outbound calls are
 * fed by the OCM client's observer (app.ts). Registered after the schema
 * check and the durability hook, so it sees the answer that actually left.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { SignatureVerdict } from '../../inspector/exchange.ts';
import type { Inspector } from '../../inspector/inspector.ts';
import { INSPECTOR_PATH } from '../../inspector/plugin.ts';
import type { InboundAuth } from '../core/inbound-auth.ts';
import type { OutboundExchange } from '../outbound/ocm-client.ts';

declare module 'fastify' {
  interface FastifyRequest {
    inspectStarted?: number;
    inspectPayload?: string | Buffer;
  }
}

export function signatureVerdict(auth: InboundAuth | undefined): SignatureVerdict {
  if (!auth) return { status: 'not-checked' };
  if (auth.status === 'signed') return { status: 'signed', signer: auth.signerDomain, keyid: auth.keyid, scheme: auth.scheme };
  if (auth.status === 'unsigned') return { status: 'unsigned', detail: auth.detail };
  return { status: 'refused', code: auth.code, reason: auth.reason, ...(auth.keyid !== undefined ? { keyid: auth.keyid } : {}) };
}

/** Who sent the request: the signer, else the server its payload speaks for, else the client's address. */
function peerOf(request: FastifyRequest): string {
  if (request.ocmAuth?.status === 'signed') return request.ocmAuth.signerDomain;
  try {
    const claimed = request.routeOptions.config?.ocmSigned?.(request.body)?.hosts.find(Boolean);
    if (claimed) return claimed;
  } catch {
    // a malformed body names nobody
  }
  return request.ip;
}

function requestBody(request: FastifyRequest): string | Buffer | undefined {
  if (request.rawBody) return request.rawBody;
  const body = request.body;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  return request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(body as Record<string, string>).toString()
    : JSON.stringify(body);
}

async function capture(app: FastifyInstance, options: { inspector: Inspector; publicUrl: string }): Promise<void> {
  const { inspector, publicUrl } = options;
  app.decorateRequest('inspectStarted', undefined);
  app.decorateRequest('inspectPayload', undefined);
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.url.startsWith(INSPECTOR_PATH)) request.inspectStarted = performance.now();
    done();
  });
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.inspectStarted !== undefined)
      request.inspectPayload =
        typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : payload == null ? undefined : '[streamed body]';
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const started = request.inspectStarted;
    if (started === undefined) return done();
    const durationMs = performance.now() - started;
    inspector.capture({
      direction: 'inbound',
      peer: peerOf(request),
      method: request.method,
      url: `${publicUrl}${request.raw.url ?? request.url}`,
      startedAt: Date.now() - durationMs,
      durationMs,
      requestHeaders: request.headers,
      requestBody: requestBody(request),
      status: reply.statusCode,
      responseHeaders: reply.getHeaders(),
      responseBody: request.inspectPayload,
      ...(request.routeOptions.config?.operation ? { operation: request.routeOptions.config.operation } : {}),
      signature: signatureVerdict(request.ocmAuth),
    });
    done();
  });
}

export const inspectorCapture = fp(capture, { name: 'inspector-capture' });

/** The OCM client's observer: outbound calls, signed by us when they carry our signature. */
export function outboundObserver(inspector: Inspector, domain: string): (exchange: OutboundExchange) => void {
  return (exchange) => {
    const keyid = /keyid="([^"]*)"/.exec(exchange.requestHeaders['signature-input'] ?? '')?.[1];
    inspector.capture({
      direction: 'outbound',
      peer: hostOf(exchange.url),
      ...exchange,
      signature: keyid
        ? { status: 'signed', signer: domain, keyid, scheme: 'rfc9421' }
        : exchange.method === 'GET'
          ? { status: 'not-checked', reason: 'GET requests are not signed' }
          : { status: 'unsigned', detail: 'sent unsigned' },
    });
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
