/**
 * The front's share access (RemoteShareAccess) decides on the back's
 * Authenticate answer by catalogue code, never by message text: the code our
 * back carries in the status's details, else (a CS3 back that sends none) the
 * hint for its CS3 code. The back here is the real Authenticate handler,
 * its throw turned into a status the way the gRPC server does (statusFromError),
 * and back into an error the way the front's client does (ocmErrorFromStatus).
 */
import { test, expect } from '@playwright/test';
import { ERRORS, OcmError } from '../base/errors.ts';
import type { Msg } from '../grpc/convert.ts';
import { authProviderService } from '../grpc/services.ts';
import { statusFromError, type Cs3Status } from '../grpc/status.ts';
import { buildTestApp, EINSTEIN, MARIE, PEER_DOMAIN, type TestApp } from '../testing/harness.ts';
import type { SentShareRecord } from '../stores/records.ts';
import type { BackendClient, CallOptions } from './backend-client.ts';
import { RemoteShareAccess } from './backend-services.ts';
import { ocmErrorFromStatus } from './cs3-status-to-error.ts';

type Call = BackendClient['call'];

/** A back that answers every call with `status`, as the front's client would see it. */
function backAnswering(status: Cs3Status): Pick<BackendClient, 'call'> {
  return {
    call: (async (_service: string, _rpc: string, _request: Msg, options: CallOptions = {}) => {
      throw ocmErrorFromStatus(status, options.hints);
    }) as Call,
  };
}

test.describe('against the real Authenticate handler', () => {
  let t: TestApp;
  let access: RemoteShareAccess;

  test.beforeEach(async () => {
    t = await buildTestApp({ allowSharesWithoutInvite: true });
    const core = t.core;
    const back: Pick<BackendClient, 'call'> = {
      call: (async (service: string, rpc: string, request: Msg, options: CallOptions = {}) => {
        expect([service, rpc]).toEqual(['authProviderApi', 'Authenticate']);
        try {
          return await authProviderService.Authenticate!.handle(core, request, { user: undefined });
        } catch (error) {
          throw ocmErrorFromStatus(statusFromError(error).status, options.hints);
        }
      }) as Call,
    };
    access = new RemoteShareAccess(back);
  });
  test.afterEach(async () => {
    await t.close();
  });

  test('a share opens with its secret; a wrong secret and an unknown share are refused with their catalogue codes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const share: SentShareRecord = {
      id: 'share-1',
      providerId: 'share-1',
      ownerId: EINSTEIN.id,
      path: 'welcome.txt',
      name: 'welcome.txt',
      resourceType: 'file',
      shareWith: `${MARIE.id}@${PEER_DOMAIN}`,
      recipientUserId: MARIE.id,
      recipientDomain: PEER_DOMAIN,
      sharedSecret: 'secret-of-share-1-000000000000000000',
      permissions: ['read'],
      state: 'accepted',
      createdAt: now,
      updatedAt: now,
    };
    await t.core.stores.sentShares.put(share.id, share);
    expect(await access.authenticate(share.id, share.sharedSecret)).toEqual({ ok: true, role: 'viewer' });
    expect(await access.authenticate(share.id, 'not-the-secret')).toEqual({
      ok: false,
      status: 401,
      code: 'INVALID_SHARE_CREDENTIALS',
      message: ERRORS.INVALID_SHARE_CREDENTIALS.message,
    });
    expect(await access.authenticate('no-such-share', share.sharedSecret)).toEqual({
      ok: false,
      status: 404,
      code: 'SHARE_NOT_FOUND',
      message: ERRORS.SHARE_NOT_FOUND.message,
    });
  });
});

test('the carried catalogue code decides, whatever the CS3 code and message say', async () => {
  // A status whose CS3 code and message both read like a miss, but whose details name bad credentials.
  const { status } = statusFromError(new OcmError('INVALID_SHARE_CREDENTIALS', { message: 'No such share' }));
  const lookalike: Cs3Status = { ...status, code: 'CODE_NOT_FOUND' };
  expect(await new RemoteShareAccess(backAnswering(lookalike)).authenticate('s', 'x')).toMatchObject({
    ok: false,
    status: 401,
    code: 'INVALID_SHARE_CREDENTIALS',
  });
  // And the other way round: a miss reported with a message about credentials.
  const miss = statusFromError(new OcmError('SHARE_NOT_FOUND', { message: 'The credentials do not open this share' })).status;
  expect(await new RemoteShareAccess(backAnswering({ ...miss, code: 'CODE_PERMISSION_DENIED' })).authenticate('s', 'x')).toMatchObject({
    ok: false,
    status: 404,
    code: 'SHARE_NOT_FOUND',
  });
});

test('a CS3 back without catalogue details is read by its CS3 code', async () => {
  const refusal = async (code: Cs3Status['code'], message: string) =>
    new RemoteShareAccess(backAnswering({ code, message })).authenticate('s', 'x');
  // reva's answers: NOT_FOUND for a miss, PERMISSION_DENIED for a wrong secret (message texts that would mislead)
  expect(await refusal('CODE_NOT_FOUND', 'wrong password')).toMatchObject({ status: 404, code: 'SHARE_NOT_FOUND' });
  expect(await refusal('CODE_PERMISSION_DENIED', 'unknown client id')).toMatchObject({ status: 401, code: 'INVALID_SHARE_CREDENTIALS' });
  expect(await refusal('CODE_UNAUTHENTICATED', '')).toMatchObject({ status: 401, code: 'INVALID_SHARE_CREDENTIALS' });
  expect(await refusal('CODE_INVALID_ARGUMENT', 'client_secret is required')).toMatchObject({
    status: 401,
    code: 'INVALID_SHARE_CREDENTIALS',
  });
  // a fault of the back is no refusal: it stays an error of this server
  await expect(refusal('CODE_INTERNAL', 'internal error')).rejects.toMatchObject({ code: 'INTERNAL', status: 500 });
});
