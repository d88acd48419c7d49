/**
 * The HTTP relay of a front to its back's own HTTP listener, for what the
 * five CS3 services cannot carry (decisions/0009-http-over-grpc.md): file
 * bytes, the OCM routes without an rpc (notifications, token, keys,
 * request-share), discovery.
 *
 * The request goes as received: method, raw request-target, every
 * end-to-end header including `Host` and `Authorization`, the body streamed.
 * The back therefore sees what the front saw: it checks credentials itself,
 * resolves a MOVE Destination against the same host, and verifies a
 * signature over the same target URI (both advertise the same public URL).
 * Its answer comes back as it is (status, end-to-end headers, body streamed);
 * error bodies (4xx/5xx) are read whole (capped) and passed on as bytes.
 *
 * When the back is done before the whole request body reached it (it answered
 * early and closed, or failed), the rest is read off the client's connection
 * and dropped, and the answer closes that connection.
 *
 * The back down or silent for `timeoutMs` → 500 INTERNAL (a fault of this
 * server, as front/cs3-status-to-error.ts answers for the gRPC side); the address is logged only.
 */
import http from 'node:http';
import https from 'node:https';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OcmError } from '../base/errors.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1): never relayed. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

export interface RelayOptions {
  /** Origin of the back's HTTP listener. */
  origin: string;
  /** Idle deadline: no progress for this long aborts the call. */
  timeoutMs: number;
  /** Largest error body passed on; default 1 MiB. */
  maxErrorBodyBytes?: number;
}

function endToEnd(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.includes(name) || listed.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

function hasBody(headers: http.IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

async function readCapped(stream: http.IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new OcmError('REMOTE_BAD_RESPONSE', { message: 'The back answered with an error body larger than the front passes on' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Makes `scope` hand request bodies to its handlers unread, as the stream
 * `relay()` pipes on: no parser, no body limit of the front's own (the back
 * applies its limits and answers for them).
 */
export function passBodiesThrough(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}

/** Relays `request` to the back and sends its answer on `reply`. */
export async function relay(request: FastifyRequest, reply: FastifyReply, options: RelayOptions): Promise<FastifyReply> {
  const target = new URL(request.raw.url ?? request.url, options.origin);
  const transport = target.protocol === 'https:' ? https : http;
  const raw = request.raw;
  const withBody = hasBody(raw.headers);
  let upstream: http.ClientRequest | undefined;
  let dropping = false;
  /**
   * The back is done with this request before all of its body reached it: it
   * answered early and closed (a 413 from Content-Length), or it failed. The
   * rest of the body is read off the client's connection and dropped, and the
   * answer closes that connection, as the back closed its own. Piping marked
   * the body as being read, so node:http would not drain it after the answer:
   * left alone, the client's next request on this keep-alive connection would
   * wait behind the unread bytes forever.
   */
  const dropRestOfBody = () => {
    if (!withBody || raw.readableEnded || dropping) return;
    dropping = true;
    if (upstream) raw.unpipe(upstream);
    raw.resume();
    if (!reply.raw.headersSent) reply.header('connection', 'close');
  };
  try {
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const call = transport.request(target, { method: request.method, headers: endToEnd(raw.headers) });
      upstream = call;
      call.setTimeout(options.timeoutMs, () =>
        call.destroy(
          new OcmError('INTERNAL', {
            message: 'The HTTP backend of this server did not answer in time',
            cause: new Error(`HTTP backend ${options.origin} timed out`),
          }),
        ),
      );
      call.once('response', resolve);
      call.once('error', (error) =>
        reject(
          error instanceof OcmError
            ? error
            : new OcmError('INTERNAL', {
                message: 'This server cannot reach its HTTP backend',
                cause: new Error(`HTTP backend ${options.origin}: ${error.message}`, { cause: error }),
              }),
        ),
      );
      if (withBody) {
        raw.once('error', (error) => call.destroy(error));
        // Its connection to the back gone (a close after an early answer, a failure) before the whole body went.
        call.once('close', dropRestOfBody);
        raw.pipe(call);
      } else {
        call.end();
      }
    });
    // A stalled answer body is cut after the same idle time.
    answer.setTimeout(options.timeoutMs, () => answer.destroy(new Error('the back stalled')));
    const status = answer.statusCode ?? 502;
    reply.code(status);
    const headers = endToEnd(answer.headers);
    if (status >= 400) {
      delete headers['content-length'];
      reply.headers(headers);
      const body = await readCapped(answer, options.maxErrorBodyBytes ?? 1024 * 1024);
      // The refusal is whole: what the back has not read of the body by now, it will not need.
      if (withBody && !raw.readableEnded) {
        dropRestOfBody();
        upstream?.destroy();
      }
      return reply.send(body);
    }
    reply.headers(headers);
    if (request.method === 'HEAD' || status === 204 || status === 304) {
      answer.resume();
      return reply.send();
    }
    return reply.send(answer);
  } catch (error) {
    dropRestOfBody();
    upstream?.destroy();
    throw error;
  }
}
