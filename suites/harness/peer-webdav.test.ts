/**
 * The peer's own WebDAV responder (peer-webdav.ts), through a running peer
 * simulator on loopback: what a target does with a share it received.
 */
import { expect, test } from '@playwright/test';
import { PeerSimulator } from './peer-simulator.ts';

const HOST = `${process.env.OCM_SUBNET ?? '127.0.0'}.77`;
const PORT = 9477;

test('a shared folder lists at Depth 1, its file reads, and a read-only share refuses PUT and paths outside it', async () => {
  const peer = new PeerSimulator({ name: 'webdav-test', host: HOST, port: PORT });
  await peer.start();
  try {
    const folder = peer.createShare('project');
    const file = peer.createShare('welcome.txt');
    const at = (share: { id: string }, rest = '') => `${peer.origin}/dav/ocm/${share.id}${rest}`;
    const auth = (share: { secret: string }) => ({ authorization: `Bearer ${share.secret}` });

    const listing = await fetch(at(folder), { method: 'PROPFIND', headers: { ...auth(folder), depth: '1' } });
    expect(listing.status).toBe(207);
    const xml = await listing.text();
    expect(xml).toContain(`<d:href>/dav/ocm/${folder.id}/</d:href>`);
    expect((xml.match(/<d:response>/g) ?? []).length).toBeGreaterThan(1);

    const read = await fetch(at(file), { headers: auth(file) });
    expect(read.status).toBe(200);
    expect((await read.text()).length).toBeGreaterThan(0);

    expect((await fetch(at(file), { method: 'PROPFIND', headers: { ...auth(file), depth: 'infinity' } })).status).toBe(403);
    expect((await fetch(at(file), { method: 'PUT', headers: auth(file), body: 'x' })).status).toBe(403);
    expect((await fetch(at(folder, '/..%2Fwelcome.txt'), { headers: auth(folder) })).status).toBe(400);
    expect((await fetch(at(folder), { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(at(folder, '/missing.txt'), { headers: auth(folder) })).status).toBe(404);
  } finally {
    await peer.stop();
  }
});
