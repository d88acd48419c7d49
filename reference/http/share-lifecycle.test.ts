import { test, expect } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPair, type Pair } from '../pair.ts';
import { PROJECT_ROOT } from '../base/config.ts';
import { call, type Credentials } from '../testing/client.ts';
import { EINSTEIN, MARIE } from '../testing/harness.ts';

const OCS = '/ocs/v2.php/apps/files_sharing/api/v1';

async function befriend(pair: Pair, inviter: Credentials, invitee: Credentials) {
  const invite = await call(`${pair.a.url}/sciencemesh/generate-invite`, { method: 'POST', user: inviter });
  const accepted = await call(`${pair.b.url}/sciencemesh/accept-invite`, {
    method: 'POST',
    user: invitee,
    json: { token: invite.body.token, providerDomain: pair.a.core.domain },
  });
  expect(accepted.status).toBe(200);
}

test.describe('the share lifecycle between two instances', () => {
  let pair: Pair;
  test.beforeEach(async () => {
    pair = await startPair();
    await befriend(pair, EINSTEIN, MARIE);
  });
  test.afterEach(async () => {
    await pair.close();
  });

  const share = (path: string, extra: Record<string, string> = {}) =>
    call(`${pair.a.url}${OCS}/shares?format=json`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path, shareWith: MARIE.id, shareWithProvider: pair.b.core.domain, ...extra },
    });

  test('share a file: pending, accept, read identical bytes, unshare', async () => {
    const created = await share('/sample.bin');
    expect(created.status, created.text).toBe(200);
    const data = created.body.ocs.data;
    expect(data).toMatchObject({ share_type: 6, item_type: 'file', share_with: MARIE.id, permissions: 1 });
    expect(created.text).not.toContain(pair.a.core.stores.sentShares.get(data.id)!.sharedSecret);

    const pending = await call(`${pair.b.url}${OCS}/shares?shared_with_me=true&state=1`, { user: MARIE });
    expect(pending.body.ocs.data).toHaveLength(1);
    const received = pending.body.ocs.data[0];
    expect(received).toMatchObject({ state: 1, name: 'sample.bin', item_type: 'file' });

    const accepted = await call(`${pair.b.url}${OCS}/shares/pending/${received.id}`, { method: 'POST', user: MARIE });
    expect(accepted.status).toBe(200);
    expect(accepted.body.ocs.data[0].state).toBe(0);
    expect(pair.a.core.stores.sentShares.get(data.id)!.state).toBe('accepted');

    // the sender's WebDAV with the secret, as the receiver would use it
    const sent = pair.a.core.stores.sentShares.get(data.id)!;
    const direct = await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${sent.sharedSecret}` } });
    expect(direct.status).toBe(200);
    expect(direct.bytes.equals(await readFile(join(PROJECT_ROOT, 'fixtures/files/sample.bin')))).toBe(true);
    const wrong = await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    const legacy = await call(`${pair.a.url}/dav/ocm/`, {
      headers: { authorization: `Basic ${Buffer.from(`${sent.sharedSecret}:`).toString('base64')}` },
    });
    expect(legacy.status).toBe(200);
    const write = await call(`${pair.a.url}/dav/ocm/${sent.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sent.sharedSecret}` },
      body: 'x',
    });
    expect(write.status).toBe(403);

    const removed = await call(`${pair.a.url}${OCS}/shares/${data.id}`, { method: 'DELETE', user: EINSTEIN });
    expect(removed.status).toBe(200);
    expect((await call(`${pair.a.url}/dav/ocm/${sent.id}`, { headers: { authorization: `Bearer ${sent.sharedSecret}` } })).status).toBe(
      404,
    );
    const after = await call(`${pair.b.url}${OCS}/shares?shared_with_me=true&state=all`, { user: MARIE });
    expect(after.body.ocs.data).toEqual([]);
  });

  test('decline is sent to the sender', async () => {
    const created = await share('/welcome.txt');
    const received = (await call(`${pair.b.url}${OCS}/shares?shared_with_me=true&state=1`, { user: MARIE })).body.ocs.data[0];
    const declined = await call(`${pair.b.url}${OCS}/shares/pending/${received.id}`, { method: 'DELETE', user: MARIE });
    expect(declined.status).toBe(200);
    expect(declined.body.ocs.data[0].state).toBe(2);
    expect(pair.a.core.stores.sentShares.get(created.body.ocs.data.id)!.state).toBe('declined');
  });

  test('sharing with a stranger, an unknown provider, a missing path, or without parameters is refused with nothing left behind', async () => {
    const stranger = await call(`${pair.a.url}${OCS}/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path: '/welcome.txt', shareWith: 'nobody', shareWithProvider: pair.b.core.domain },
    });
    expect(stranger.status).toBe(404);
    const provider = await call(`${pair.a.url}${OCS}/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path: '/welcome.txt', shareWith: MARIE.id, shareWithProvider: 'unknown.example.org' },
    });
    expect(provider.status).toBe(403);
    const path = await share('/no/such/file');
    expect(path.status).toBe(404);
    const traversal = await share('/../../etc/passwd');
    expect(traversal.status).toBe(404);
    const missing = await call(`${pair.a.url}${OCS}/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6', path: '/welcome.txt' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.ocs.meta.status).toBe('failure');
    const v1 = await call(`${pair.a.url}/ocs/v1.php/apps/files_sharing/api/v1/shares`, {
      method: 'POST',
      user: EINSTEIN,
      form: { shareType: '6' },
    });
    expect(v1.status).toBe(200);
    expect(v1.body.ocs.meta.statuscode).toBe(400);
    expect(pair.a.core.stores.sentShares.size).toBe(0);
    expect(pair.b.core.stores.receivedShares.size).toBe(0);
  });

  test('a receiver that is down: nothing left behind, and a retry succeeds', async () => {
    const bPort = new URL(pair.b.url).port;
    await pair.b.app.close();
    const down = await share('/welcome.txt');
    expect(down.status).toBe(504);
    expect(pair.a.core.stores.sentShares.size).toBe(0);
    // bring B back on the same address and data dir
    const { startInstance } = await import('../main.ts');
    const { buildConfig } = await import('../base/config.ts');
    const pino = (await import('pino')).default;
    const b2 = await startInstance(buildConfig({ host: '127.0.0.3', port: Number(bPort), dataDir: pair.dataDirs[1] }), {
      logger: pino({ level: 'silent' }),
      providers: pair.b.core.providers,
    });
    try {
      const retry = await share('/welcome.txt');
      expect(retry.status, retry.text).toBe(200);
      expect(pair.a.core.stores.sentShares.size).toBe(1);
      expect(b2.core.stores.receivedShares.size).toBe(1);
    } finally {
      await b2.close();
    }
  });
});
