/**
 * CS3 statuses back to catalogue errors (front/cs3-status-to-error.ts), the inverse of
 * status.ts: every catalogue error comes back as itself through the catalogue
 * code the status carries, whatever its message says; a status without one
 * (another CS3 back) falls back on the rpc's hint, then on the default per
 * CS3 code; transport failures become 500s.
 */
import { test, expect } from '@playwright/test';
import { ERRORS, OcmError, type ErrorCode } from '../base/errors.ts';
import { GrpcFault, readCatalogueDetail, statusFromError, type Cs3Code } from '../grpc/status.ts';
import { DEFAULT_CODES, ocmErrorFromStatus, ocmErrorFromTransport } from './cs3-status-to-error.ts';

test('every catalogue error comes back as itself, with its status and message, by the code it carries', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    for (const message of [undefined, 'a message of its own that names no code']) {
      const { status } = statusFromError(new OcmError(code, message ? { message } : {}));
      expect(readCatalogueDetail(status)?.ocmErrorCode, code).toBe(code);
      // the hint names another code: the carried code wins
      const back = ocmErrorFromStatus(status, { [status.code]: code === 'FORBIDDEN' ? 'BAD_REQUEST' : 'FORBIDDEN' });
      expect(back.code, `${code} → ${status.code} → ?`).toBe(code);
      expect(back.status).toBe(ERRORS[code].status);
      if (code !== 'INTERNAL' && code !== 'RESPONSE_INVALID') expect(back.message).toBe(message ?? ERRORS[code].message);
    }
  }
  // a fault that is no OcmError leaves as "internal error" and comes back as INTERNAL, its detail withheld
  const { status } = statusFromError(new TypeError('secret detail'));
  expect(ocmErrorFromStatus(status)).toMatchObject({ code: 'INTERNAL', status: 500, message: ERRORS.INTERNAL.message });
});

test('validation issues travel apart from the message and come back as validationErrors', () => {
  const error = new OcmError('VALIDATION_FAILED', { validationErrors: [{ name: 'shareWith', message: 'REQUIRED' }] });
  const { status } = statusFromError(error);
  // other CS3 clients read the details in the message
  expect(status.message).toBe('The request does not match the API description: shareWith REQUIRED');
  const back = ocmErrorFromStatus(status, { CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID' });
  expect(back).toMatchObject({ code: 'VALIDATION_FAILED', message: ERRORS.VALIDATION_FAILED.message });
  expect(back.validationErrors).toEqual([{ name: 'shareWith', message: 'REQUIRED' }]);
});

test('a status without a catalogue code uses the hint of the rpc, never its message text', () => {
  const fault = statusFromError(new GrpcFault('CODE_NOT_FOUND', 'received share not found')).status;
  expect(readCatalogueDetail(fault)).toBeUndefined();
  expect(ocmErrorFromStatus(fault, { CODE_NOT_FOUND: 'SHARE_NOT_FOUND' })).toMatchObject({ code: 'SHARE_NOT_FOUND', status: 404 });
  // a message that reads like the default of another code changes nothing
  const lookalike = { code: 'CODE_INVALID_ARGUMENT' as const, message: ERRORS.SELF_INVITE.message };
  expect(ocmErrorFromStatus(lookalike, { CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID' }).code).toBe('INVITE_TOKEN_INVALID');
  // a detail that names no catalogue code, or is not JSON, is ignored
  const unknown = { ...lookalike, InnerError: { decoder: 'json', value: Buffer.from('{"ocmErrorCode":"NOT_OURS"}') } };
  expect(ocmErrorFromStatus(unknown, { CODE_INVALID_ARGUMENT: 'INVITE_TOKEN_INVALID' }).code).toBe('INVITE_TOKEN_INVALID');
  const garbage = { ...lookalike, InnerError: { decoder: 'json', value: Buffer.from('{') } };
  expect(ocmErrorFromStatus(garbage).code).toBe('BAD_REQUEST');
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
