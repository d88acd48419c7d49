/**
 * Reproduction of fuzz finding 4, run as its own process by
 * regressions.test.ts: forwardDav (reference/outbound/webdav-client.ts) is
 * given a request body stream that fails (the client aborted) before fetch
 * starts reading it. Prints "survived" and exits 0 when the failure is
 * handled; an uncaught exception ends the process with code 1 (as it would
 * end `serve`).
 */
import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { forwardDav } from '../../outbound/webdav-client.ts';

const sender = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.end());
});
await new Promise<void>((resolve) => sender.listen(0, '127.0.0.1', resolve));
const port = (sender.address() as { port: number }).port;

// The client went away just before the handler forwards the body (Node aborts the request on a
// malformed chunk; the error event is still pending when forwardDav attaches its listener).
const body = new PassThrough();
body.write('hello');
body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
const forwarded = forwardDav(
  { method: 'PUT', relativePath: 'x.txt', headers: { 'content-type': 'text/plain' }, body },
  { baseUrl: `http://127.0.0.1:${port}/dav/ocm/share`, authorization: 'Bearer secret' },
  { timeoutMs: 2_000, allowPrivateAddresses: true },
).catch((error: Error) => `refused: ${error.message}`);
const outcome = await forwarded;
console.log(`forwardDav: ${typeof outcome === 'string' ? outcome : `status ${outcome.status}`}`);
sender.close();
sender.closeAllConnections();
console.log('survived');
