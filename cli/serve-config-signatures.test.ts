import { test, expect } from '@playwright/test';
import { flagsToConfig } from './serve.ts';
import { buildConfig, ConfigError, type ReferenceConfig } from '../reference/base/config.ts';

type Layer = Partial<ReferenceConfig>;
const signatures = (value: Record<string, unknown>) => ({ signatures: value }) as unknown as Layer;
const tokenExchange = (value: Record<string, unknown>) => ({ tokenExchange: value }) as unknown as Layer;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

test('signature and token exchange settings default on, merge per key and do not leak', () => {
  const config = buildConfig(signatures({ maxAgeSeconds: 120 }));
  expect(config.signatures).toEqual({
    sign: true,
    verify: true,
    legacyCavage: true,
    legacyPublicKey: false,
    refuseUnsignedFromSigners: true,
    maxAgeSeconds: 120,
    maxSkewSeconds: 60,
    keyCacheSeconds: 300,
    keyCacheSize: 256,
  });
  expect(config.tokenExchange).toEqual({ enabled: true, tokenLifetimeSeconds: 300, alwaysRequireExchange: false, tryWhenOffered: false });
  expect(buildConfig().signatures.maxAgeSeconds).toBe(300);
});

test('unknown or malformed keys are refused by name', () => {
  expect(refusal(() => buildConfig(signatures({ sgin: true })))).toBe('unknown setting "signatures.sgin"');
  expect(refusal(() => buildConfig(tokenExchange({ lifetime: 5 })))).toBe('unknown setting "tokenExchange.lifetime"');
  expect(refusal(() => buildConfig(signatures({ sign: 'yes' })))).toContain('signatures.sign');
  expect(refusal(() => buildConfig(signatures({ maxAgeSeconds: 0 })))).toContain('signatures.maxAgeSeconds');
  expect(refusal(() => buildConfig(signatures({ maxSkewSeconds: -1 })))).toContain('signatures.maxSkewSeconds');
  expect(refusal(() => buildConfig(signatures({ kidPrefix: 'a b' })))).toContain('signatures.kidPrefix');
  expect(refusal(() => buildConfig(tokenExchange({ tokenLifetimeSeconds: 1.5 })))).toContain('tokenExchange.tokenLifetimeSeconds');
  expect(refusal(() => buildConfig({ signatures: 5 } as unknown as Layer))).toContain('signatures must be a mapping');
});

test('meaningless combinations are refused up front', () => {
  expect(
    refusal(() => buildConfig({ criteria: ['must-use-http-sig'] }, signatures({ verify: false }), tokenExchange({ enabled: false }))),
  ).toContain('must-use-http-sig');
  expect(refusal(() => buildConfig(signatures({ sign: false })))).toContain('tokenExchange.enabled needs');
  expect(refusal(() => buildConfig({ criteria: ['must-exchange-token'] }, tokenExchange({ enabled: false })))).toContain(
    'must-exchange-token',
  );
  expect(refusal(() => buildConfig(tokenExchange({ enabled: false, alwaysRequireExchange: true })))).toContain('alwaysRequireExchange');
  expect(buildConfig(signatures({ sign: false, verify: false }), tokenExchange({ enabled: false })).signatures.sign).toBe(false);
});

test('serve flags map onto the nested settings and leave absent ones to the file', () => {
  expect(flagsToConfig({}).signatures).toBeUndefined();
  expect(flagsToConfig({}).tokenExchange).toBeUndefined();
  const config = buildConfig(
    signatures({ legacyCavage: false, maxAgeSeconds: 90 }),
    flagsToConfig({ sign: false, tokenExchange: false, signatureMaxSkew: 5 }),
  );
  expect(config.signatures).toMatchObject({ sign: false, legacyCavage: false, maxAgeSeconds: 90, maxSkewSeconds: 5 });
  expect(config.tokenExchange.enabled).toBe(false);
});
