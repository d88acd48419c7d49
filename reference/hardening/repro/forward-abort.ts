/**
 * Reproduction of fuzz finding 4 (fuzz seed 13, case #3482), run as its own
 * process by regressions.test.ts: a local user's WebDAV request to an
 * accepted received share, forwarded to the sender, whose chunked body turns
 * out malformed (`zz` as a chunk size), so Node aborts the incoming request
 * while forwardDav (reference/outbound/webdav-client.ts) streams it to the
 * sender through its `progress` Transform. `request.body.on('error', (e) =>
 * progress.destroy(e))` then makes `progress` emit 'error' with nothing but
 * pipe's own handler attached, which re-throws it: "Error: aborted at
 * abortIncoming" as an uncaughtException, which ends a `serve` process.
 *
 * Timing-dependent, so 20 attempts; in one process (A and the sender B
 * here) it happens in most runs. Prints the count and exits 1 when any
 * attempt raised an uncaught exception, 0 otherwise. Exits without closing
 * the servers: B keeps the aborted forwarded requests open (finding 5).
 */
import { connect } from 'node:net';
import { basicAuth, EINSTEIN } from '../../testing/harness.ts';
import { startWorld } from '../world.ts';

const OCS_V2 = '/ocs/v2.php/apps/files_sharing/api/v1';
const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(`${error.name}: ${error.message} ${error.stack?.split('\n')[1]?.trim() ?? ''}`));

const world = await startWorld({ grpc: false });
for (const id of world.known.receivedShareIds) {
  await world.a.app.inject({ method: 'POST', url: `${OCS_V2}/shares/pending/${id}`, headers: { authorization: basicAuth(EINSTEIN) } });
}
const folder = [...world.a.core.stores.receivedShares.values()].find((r) => r.name === 'project' && r.state === 'accepted');
if (!folder) throw new Error('no accepted folder share to write to');
const url = new URL(world.originA);
const attempts = Number(process.argv[2] ?? 20);
for (let i = 0; i < attempts; i++) {
  const method = i % 2 === 0 ? 'MKCOL' : 'PUT';
  await new Promise<void>((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => {
      socket.write(
        `${method} /dav/ocm-received/${folder.id}/attempt-${i} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${basicAuth(EINSTEIN)}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
      );
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    setTimeout(() => socket.destroy(), 2_000);
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(`${attempts} aborted forwarded uploads: ${uncaught.length} uncaught exception(s)${uncaught.length ? `: ${uncaught[0]}` : ''}`);
console.log(uncaught.length === 0 ? 'survived' : 'would have crashed serve');
process.exit(uncaught.length === 0 ? 0 : 1);
