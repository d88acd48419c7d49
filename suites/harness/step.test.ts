import { test, expect } from '@playwright/test';
import { DriverStepFailed, DriverUnsupported } from './drivers.ts';
import { isHarnessError, step, StepFailed, stepRequest, stepValue } from './step.ts';

/** What `body` threw (or undefined). */
async function thrown(body: () => Promise<unknown>): Promise<unknown> {
  try {
    await body();
  } catch (error) {
    return error;
  }
  return undefined;
}

test.describe('steps versus assertions (suites/harness/step.ts)', () => {
  test('a request step that gets a status it did not need fails as a step: setup failed: <step>: <status> <message>', async () => {
    const error = await thrown(() =>
      stepRequest('become a contact (invite acceptance)', async () => ({ status: 409, text: 'token\n used' })),
    );
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as Error).message).toBe('setup failed: become a contact (invite acceptance): 409 token used');
    expect(await stepRequest('ok', async () => ({ status: 201, text: '' }))).toEqual({ status: 201, text: '' });
    expect(await stepRequest('exact', async () => ({ status: 200, text: '' }), 200)).toEqual({ status: 200, text: '' });
  });

  test('a network error, a failed assertion and a plain error inside a step all become StepFailed', async () => {
    const network = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const viaNetwork = await thrown(() => step('read discovery', async () => Promise.reject(network)));
    expect((viaNetwork as Error).message).toBe('setup failed: read discovery: network error fetch failed (ECONNREFUSED)');
    const viaAssertion = await thrown(() => step('the peer shares first', async () => expect(409, 'the target took the share').toBe(201)));
    expect(viaAssertion).toBeInstanceOf(StepFailed);
    expect((viaAssertion as Error).message).toMatch(/^setup failed: the peer shares first: the target took the share/);
    const plain = await thrown(() => step('x', async () => Promise.reject(new Error('no token'))));
    expect((plain as Error).message).toBe('setup failed: x: no token');
    expect(stepValue('y', 1, 'missing')).toBe(1);
    expect(() => stepValue('y', undefined, 'the driver returned no token')).toThrow('setup failed: y: the driver returned no token');
  });

  test('a driver error is a step failure, named within the outer step', async () => {
    const driver = new DriverStepFailed('generateInvite', 409, 'an invite\nexists');
    expect(driver).toBeInstanceOf(StepFailed);
    expect(driver.message).toBe('setup failed: driver generateInvite: 409 an invite exists');
    const nested = await thrown(() => step('become a contact', async () => Promise.reject(driver)));
    expect((nested as Error).message).toBe('setup failed: become a contact: driver generateInvite: 409 an invite exists');
  });

  test('errors of our own code stay harness errors, a missing driver step stays itself', async () => {
    const typeError = await thrown(() => step('resolve', async () => new URL('relative/token')));
    expect(typeError).toBeInstanceOf(TypeError);
    expect(isHarnessError(typeError)).toBe(true);
    const unsupported = new DriverUnsupported('shareWith', 'none');
    expect(await thrown(() => step('share', async () => Promise.reject(unsupported)))).toBe(unsupported);
    const bind = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.10:9400'), {
      code: 'EADDRINUSE',
      syscall: 'listen',
    });
    expect(isHarnessError(bind)).toBe(true);
    // Not ours: a finding a check states with a plain Error, a failed assertion, a network error, a step failure.
    expect(isHarnessError(new Error('no POST /shares reached peer1'))).toBe(false);
    expect(isHarnessError(await thrown(async () => expect(1).toBe(2)))).toBe(false);
    expect(isHarnessError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).toBe(false);
    expect(isHarnessError(new StepFailed(['x'], 500, 'boom'))).toBe(false);
  });
});
