/**
 * The reference feeding the OCM inspector (`serve --inspect`): off by
 * default (`/_inspector` is a 404), and when on, every inbound exchange is
 * recorded with the reference's own verdicts and no secret.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { getRegistry } from '../../openapi/registry.ts';
import { Inspector } from '../../inspector/inspector.ts';
import { buildApp } from '../app.ts';
import { buildConfig } from '../base/config.ts';
import { providerEntry } from '../pair.ts';
import { TrustedProviders } from '../providers/trusted-providers.ts';
import { basicAuth, buildTestApp, EINSTEIN, TRUSTED_PEER, validShare } from '../testing/harness.ts';

test('without --inspect, /_inspector answers 404 and nothing is captured', async () => {
  const t = await buildTestApp();
  try {
    for (const url of ['/_inspector', '/_inspector/exchanges.json', '/_inspector/events']) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(404);
    }
  } finally {
    await t.close();
  }
});

test('with --inspect, inbound exchanges are recorded with the operation, the signature verdict and no secret', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocm-inspect-'));
  const inspector = new Inspector({ registry: getRegistry() });
  const { app } = await buildApp(buildConfig({ host: '127.0.0.2', port: 8080, dataDir }), {
    logger: pino({ level: 'silent' }),
    providers: new TrustedProviders([providerEntry('peer', TRUSTED_PEER)]),
    inspect: { inspector, allowRemote: false },
  });
  try {
    const share = validShare();
    const shared = await app.inject({ method: 'POST', url: '/ocm/shares', payload: share });
    const invite = await app.inject({
      method: 'POST',
      url: '/sciencemesh/generate-invite',
      headers: { authorization: basicAuth(EINSTEIN) },
    });
    expect((await app.inject({ url: '/_inspector' })).statusCode).toBe(200);
    const inbound = inspector.list().filter((r) => r.direction === 'inbound');
    const [inviteRecord, shareRecord, ...rest] = inbound;
    expect(rest).toEqual([]); // the inspector's own routes are not captured
    // Checking the share's sender, the reference asked the (absent) peer for its discovery: outbound, unanswered.
    const outbound = inspector.list().filter((r) => r.direction === 'outbound');
    expect(outbound[0]).toMatchObject({ peer: '127.0.0.3:9999', surface: 'discovery', method: 'GET', problem: true });
    expect(outbound[0]!.error).toMatch(/could not be reached/);
    expect(shareRecord).toMatchObject({
      direction: 'inbound',
      surface: 'ocm',
      operation: 'ocm.createShare',
      status: shared.statusCode,
      peer: '127.0.0.3:9999',
      schema: { request: { status: 'valid' }, response: { status: 'valid' } },
    });
    expect(shareRecord!.signature.status).toMatch(/^(unsigned|refused)$/);
    expect(inviteRecord).toMatchObject({ surface: 'sciencemesh', operation: 'sciencemesh.generateInvite', status: 200 });
    const everything = JSON.stringify(inspector.list());
    const secret = (share.protocol as { webdav: { sharedSecret: string } }).webdav.sharedSecret;
    for (const value of [secret, invite.json().token, invite.json().invite_string, basicAuth(EINSTEIN).slice(6)])
      expect(everything).not.toContain(value);
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
