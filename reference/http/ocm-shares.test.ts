import { test, expect } from '@playwright/test';
import { buildTestApp, validShare, EINSTEIN, PEER_DOMAIN, type TestApp } from '../testing/harness.ts';

let t: TestApp;
test.beforeEach(async () => {
  t = await buildTestApp();
});
test.afterEach(async () => {
  await t.close();
});

const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/ocm/shares', payload: payload as object });

test.describe('POST /ocm/shares accepts every protocol encoding', () => {
  const encodings: Record<string, Record<string, unknown>> = {
    'legacy 1.0 {name: webdav, options}': {
      name: 'webdav',
      options: { sharedSecret: 'legacy-secret-0000000000000000', permissions: '{http://open-cloud-mesh.org/ns}share-permissions' },
    },
    'single {name: webdav, webdav}': {
      name: 'webdav',
      webdav: { uri: 'abc-relative-id', sharedSecret: 'single-secret-00000000000000000', permissions: ['read', 'write'] },
    },
    'multi {name: multi, webdav}': {
      name: 'multi',
      webdav: { uri: 'http://127.0.0.3:9999/dav/ocm/x', sharedSecret: 'multi-secret-000000000000000000', permissions: ['read'] },
    },
  };
  for (const [label, protocol] of Object.entries(encodings)) {
    test(`${label} is stored as a pending share`, async () => {
      const share = validShare({ protocol });
      const response = await post(share);
      expect(response.statusCode, response.body).toBe(201);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.json()).toEqual({ recipientDisplayName: EINSTEIN.displayName });
      const stored = t.core.stores.receivedShares.find((r) => r.providerId === share.providerId);
      expect(stored).toMatchObject({ state: 'pending', localUserId: EINSTEIN.id, senderDomain: PEER_DOMAIN, name: 'report.pdf' });
      const offered = (protocol.webdav ?? protocol.options) as { sharedSecret: string };
      expect(stored?.protocols.webdav?.sharedSecret).toBe(offered.sharedSecret);
    });
  }
});

test.describe('a missing required field is a 400 naming that field', () => {
  for (const field of ['shareWith', 'name', 'providerId', 'owner', 'sender', 'shareType', 'resourceType', 'protocol']) {
    test(`missing ${field}`, async () => {
      const share = validShare();
      delete share[field];
      const response = await post(share);
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(typeof body.message).toBe('string');
      expect(body.validationErrors).toContainEqual({ name: field, message: 'REQUIRED' });
      expect(t.core.stores.receivedShares.size).toBe(0);
    });
  }
  test('a multi share whose webdav lacks uri is refused', async () => {
    const response = await post(
      validShare({ protocol: { name: 'multi', webdav: { sharedSecret: 's-000000000000000000000000', permissions: ['read'] } } }),
    );
    expect(response.statusCode).toBe(400);
    expect(t.core.stores.receivedShares.size).toBe(0);
  });
  test('requirements that differ between offered protocols are refused', async () => {
    const response = await post(
      validShare({
        protocol: {
          name: 'multi',
          webdav: { uri: 'x', sharedSecret: 's-000000000000000000000000', permissions: ['read'] },
          webapp: {
            uri: 'https://127.0.0.3:9999/app',
            sharedSecret: 's2',
            targets: ['blank'],
            permissions: ['view'],
            requirements: ['must-exchange-token'],
          },
        },
      }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.json().validationErrors).toContainEqual({ name: 'protocol', message: 'REQUIREMENTS_DIFFER' });
  });
  test('a multi share whose webdav lacks sharedSecret names protocol', async () => {
    const response = await post(validShare({ protocol: { name: 'multi', webdav: { uri: 'x', permissions: ['read'] } } }));
    expect(response.statusCode).toBe(400);
    expect(response.json().validationErrors.map((e: { name: string }) => e.name)).toContain('protocol');
  });
});

test.describe('refusals', () => {
  test('an unknown recipient is a 400 with shareWith NOT_FOUND', async () => {
    const response = await post(validShare({ shareWith: 'nobody@127.0.0.2:8080' }));
    expect(response.statusCode).toBe(400);
    expect(response.json().validationErrors).toEqual([{ name: 'shareWith', message: 'NOT_FOUND' }]);
  });
  test('a recipient at another server is a 400', async () => {
    const response = await post(validShare({ shareWith: `${EINSTEIN.id}@elsewhere.example.org` }));
    expect(response.statusCode).toBe(400);
  });
  test('the recipient address is split on the last @', async () => {
    const response = await post(validShare({ shareWith: `einstein@127.0.0.2@127.0.0.2:8080` }));
    expect(response.statusCode).toBe(400);
    const byUsername = await post(validShare({ shareWith: `einstein@127.0.0.2:8080` }));
    expect(byUsername.statusCode).toBe(201);
  });
  test('an unsupported share type is a 501', async () => {
    const response = await post(validShare({ shareType: 'group' }));
    expect(response.statusCode).toBe(501);
    expect(typeof response.json().message).toBe('string');
  });
  test('an unsupported resource type is a 501', async () => {
    const response = await post(validShare({ resourceType: 'calendar' }));
    expect(response.statusCode).toBe(501);
  });
  test('a share offering no webdav is a 501', async () => {
    const response = await post(validShare({ protocol: { name: 'multi', ssh: { uri: 'u@h:22/p', accessTypes: ['remote'] } } }));
    expect([400, 501]).toContain(response.statusCode);
  });
  test('an unknown requirement is refused', async () => {
    const response = await post(
      validShare({
        protocol: {
          name: 'multi',
          webdav: { uri: 'x', sharedSecret: 's-000000000000000000000000', permissions: ['read'], requirements: ['x-unknown'] },
        },
      }),
    );
    expect(response.statusCode).toBe(400);
  });
  test('an empty requirements list is refused', async () => {
    const response = await post(
      validShare({
        protocol: {
          name: 'multi',
          webdav: { uri: 'x', sharedSecret: 's-000000000000000000000000', permissions: ['read'], requirements: [] },
        },
      }),
    );
    expect(response.statusCode).toBe(400);
  });
  test('a sender at an untrusted provider is a 403', async () => {
    const response = await post(validShare({ sender: 'mallory@evil.example.org', owner: 'mallory@evil.example.org' }));
    expect(response.statusCode).toBe(403);
    expect(t.core.stores.receivedShares.size).toBe(0);
  });
  test('a substring of a trusted domain is not trusted', async () => {
    const response = await post(validShare({ sender: 'm@27.0.0.3:9999', owner: 'm@27.0.0.3:9999' }));
    expect(response.statusCode).toBe(403);
  });
  test('the same providerId twice from one sender is refused', async () => {
    const share = validShare();
    expect((await post(share)).statusCode).toBe(201);
    const again = await post(share);
    expect(again.statusCode).toBe(400);
    expect(t.core.stores.receivedShares.size).toBe(1);
  });
});

test('with must-invite, a share from a stranger is a 403 and from a contact a 201', async () => {
  await t.close();
  t = await buildTestApp({ criteria: ['must-invite'] });
  expect((await post(validShare())).statusCode).toBe(403);
  await t.core.stores.contacts.put('c1', {
    id: 'c1',
    localUserId: EINSTEIN.id,
    remoteUserId: 'sender-1',
    remoteDomain: PEER_DOMAIN,
    name: 'S',
    email: 's@x.org',
    createdAt: 1,
    origin: 'invite-sent',
  });
  expect((await post(validShare())).statusCode).toBe(201);
});
