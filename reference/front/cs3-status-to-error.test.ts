/**
 * CS3 statuses back to catalogue errors (front/cs3-status-to-error.ts), the inverse of
 * status.ts: every catalogue error that leaves with its default message
 * comes back as itself; custom messages fall back on the rpc's hint, then
 * on the default per CS3 code; transport failures become 500s.
 */
import { test, expect } from '@playwright/test';
import { ERRORS, OcmError, type ErrorCode } from '../base/errors.ts';
import { GrpcFault, OCM_ERROR_TO_CS3, statusFromError, type Cs3Code } from '../grpc/status.ts';
import { codeByMessage, DEFAULT_CODES, ocmErrorFromStatus, ocmErrorFromTransport } from './cs3-status-to-error.ts';

test('every mapped catalogue error with its default message comes back as itself, with its status', () => {
  for (const code of Object.keys(OCM_ERROR_TO_CS3) as ErrorCode[]) {
    const { status } = statusFromError(new OcmError(code));
    const back = ocmErrorFromStatus(status);
    expect(back.code, `${code} → ${status.code} → ?`).toBe(code);
    expect(back.status).toBe(ERRORS[code].status);
    expect(back.message).toBe(ERRORS[code].message);
  }
  // a fault that is no OcmError leaves as "internal error" and comes back as INTERNAL, its detail withheld
  const { status } = statusFromError(new TypeError('secret detail'));
  expect(ocmErrorFromStatus(status)).toMatchObject({ code: 'INTERNAL', status: 500, message: ERRORS.INTERNAL.message });
});

test('validation details appended by the back do not hide the code; they stay in the message', () => {
  const error = new OcmError('VALIDATION_FAILED', { validationErrors: [{ name: 'shareWith', message: 'REQUIRED' }] });
  const { status } = statusFromError(error);
  expect(status.message).toBe('The request does not match the API description: shareWith REQUIRED');
  const back = ocmErrorFromStatus(status, { CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID' });
  expect(back.code).toBe('VALIDATION_FAILED');
  expect(back.message).toBe(status.message);
});

test('a custom message uses the hint of the rpc, as a code or as a choice from the message', () => {
  const untrusted = statusFromError(
    new OcmError('PROVIDER_NOT_TRUSTED', { message: 'provider x.example.org is not trusted by this server' }),
  ).status;
  expect(codeByMessage(untrusted)).toBeUndefined();
  expect(ocmErrorFromStatus(untrusted, { CODE_PERMISSION_DENIED: 'PROVIDER_NOT_TRUSTED' })).toMatchObject({
    code: 'PROVIDER_NOT_TRUSTED',
    status: 403,
    message: 'provider x.example.org is not trusted by this server',
  });
  const fault = statusFromError(new GrpcFault('CODE_NOT_FOUND', 'received share not found')).status;
  expect(ocmErrorFromStatus(fault, { CODE_NOT_FOUND: 'SHARE_NOT_FOUND' })).toMatchObject({ code: 'SHARE_NOT_FOUND', status: 404 });
  const chooser = (s: { message: string }) =>
    s.message.includes('contact') ? ('CONTACT_NOT_FOUND' as const) : ('RESOURCE_NOT_FOUND' as const);
  expect(ocmErrorFromStatus({ code: 'CODE_NOT_FOUND', message: 'x is not an accepted contact' }, { CODE_NOT_FOUND: chooser }).code).toBe(
    'CONTACT_NOT_FOUND',
  );
  expect(ocmErrorFromStatus({ code: 'CODE_NOT_FOUND', message: 'no file or folder at /x' }, { CODE_NOT_FOUND: chooser }).code).toBe(
    'RESOURCE_NOT_FOUND',
  );
  // a hint may give another HTTP status than the catalogue's
  expect(
    ocmErrorFromStatus(
      { code: 'CODE_ALREADY_EXISTS', message: 'already shared' },
      { CODE_ALREADY_EXISTS: { code: 'DUPLICATE_SHARE', status: 409 } },
    ),
  ).toMatchObject({ code: 'DUPLICATE_SHARE', status: 409, message: 'already shared' });
  // the message match wins over the hint
  const selfInvite = statusFromError(new OcmError('SELF_INVITE')).status;
  expect(ocmErrorFromStatus(selfInvite, { CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID' }).code).toBe('SELF_INVITE');
});

test('without message or hint, each CS3 code has a default with the matching HTTP status', () => {
  const expected: Record<Exclude<Cs3Code, 'CODE_OK'>, number> = {
    CODE_INVALID_ARGUMENT: 400,
    CODE_NOT_FOUND: 404,
    CODE_ALREADY_EXISTS: 409,
    CODE_PERMISSION_DENIED: 403,
    CODE_UNAUTHENTICATED: 401,
    CODE_RESOURCE_EXHAUSTED: 413,
    CODE_FAILED_PRECONDITION: 409,
    CODE_UNIMPLEMENTED: 501,
    CODE_INTERNAL: 500,
    CODE_UNAVAILABLE: 504,
    CODE_UNKNOWN: 502,
  };
  for (const [cs3, status] of Object.entries(expected) as Array<[Exclude<Cs3Code, 'CODE_OK'>, number]>) {
    const error = ocmErrorFromStatus({ code: cs3, message: 'something the back said' });
    expect(error.code, cs3).toBe(DEFAULT_CODES[cs3]);
    expect(error.status, cs3).toBe(status);
    expect(error.message, cs3).toBe(cs3 === 'CODE_INTERNAL' ? ERRORS.INTERNAL.message : 'something the back said');
  }
  // UNAUTHENTICATED carries the Basic challenge, as the HTTP login does
  expect(ocmErrorFromStatus({ code: 'CODE_UNAUTHENTICATED', message: 'x' }).headers).toMatchObject({
    'www-authenticate': expect.stringContaining('Basic'),
  });
  // a code the protos do not know, or a misplaced OK, is no success
  expect(ocmErrorFromStatus({ code: 'CODE_ABORTED' as Cs3Code, message: 'x' }).code).toBe('REMOTE_BAD_RESPONSE');
  expect(ocmErrorFromStatus({ code: 'CODE_OK', message: '' }).code).toBe('INTERNAL');
  // an empty message gives the catalogue's
  expect(ocmErrorFromStatus({ code: 'CODE_NOT_FOUND', message: '' }, { CODE_NOT_FOUND: 'SHARE_NOT_FOUND' }).message).toBe(
    ERRORS.SHARE_NOT_FOUND.message,
  );
});

test("transport failures are faults of this server (500), the back's address kept for the log only", () => {
  const down = ocmErrorFromTransport(
    { code: 14, details: 'No connection established', message: '14 UNAVAILABLE: No connection established' },
    '127.0.0.1:1',
  );
  expect(down).toMatchObject({ code: 'INTERNAL', status: 500, message: 'This server cannot reach its gRPC backend' });
  expect(String((down.cause as Error).message)).toContain('127.0.0.1:1');
  expect(ocmErrorFromTransport({ code: 4 }, 'b:1')).toMatchObject({
    code: 'INTERNAL',
    status: 500,
    message: expect.stringContaining('did not answer in time'),
  });
  expect(ocmErrorFromTransport({ code: 13 }, 'b:1')).toMatchObject({ code: 'INTERNAL', status: 500, message: ERRORS.INTERNAL.message });
  expect(ocmErrorFromTransport(new Error('boom'), 'b:1').code).toBe('INTERNAL');
});
