import { test, expect } from '@playwright/test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { flagsToConfig } from './serve.ts';
import {
  buildConfig,
  ConfigError,
  defaultConfig,
  NetworkSettingError,
  PROJECT_ROOT,
  providerDomain,
  readConfigFile,
  type ReferenceConfig,
} from '../reference/base/config.ts';

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

test.describe('buildConfig', () => {
  test('defaults alone', () => {
    const config = buildConfig();
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      dataDir: resolve('data'),
      usersFile: join(PROJECT_ROOT, 'fixtures/users.json'),
      providersFile: join(PROJECT_ROOT, 'fixtures/ocmproviders.json'),
      criteria: [],
      inviteExpirySeconds: 86_400,
      bodyLimitBytes: 1_048_576,
      outbound: { timeoutMs: 10_000, maxResponseBytes: 1_048_576, allowPrivateAddresses: false },
      logLevel: 'warn',
    });
    expect(providerDomain(config)).toBe('127.0.0.1:8080');
  });

  test('precedence: defaults < file < flags; an absent flag keeps the file value', () => {
    const file: Partial<ReferenceConfig> = {
      host: '127.0.0.5',
      port: 9000,
      logLevel: 'info',
      criteria: ['must-invite'],
      outbound: { timeoutMs: 3_000 } as ReferenceConfig['outbound'],
    };
    const flags = flagsToConfig({ port: 9100, bodyLimit: 2048 });
    const config = buildConfig(file, flags);
    expect(config.host).toBe('127.0.0.5'); // file, no flag
    expect(config.port).toBe(9100); // flag beats file
    expect(config.logLevel).toBe('info'); // file
    expect(config.bodyLimitBytes).toBe(2048); // flag beats default
    expect(config.criteria).toEqual(['must-invite']);
    expect(config.inviteExpirySeconds).toBe(86_400); // default
    // A partial outbound block keeps the other default.
    expect(config.outbound).toEqual({ timeoutMs: 3_000, maxResponseBytes: 1_048_576, allowPrivateAddresses: false });
    expect(config.publicUrl).toBe('http://127.0.0.5:9100');
  });

  test('layers do not leak into the defaults of later builds', () => {
    buildConfig({ outbound: { timeoutMs: 1, maxResponseBytes: 1, allowPrivateAddresses: true }, criteria: ['must-invite'] });
    expect(buildConfig().outbound).toEqual({ timeoutMs: 10_000, maxResponseBytes: 1_048_576, allowPrivateAddresses: false });
    expect(defaultConfig().criteria).toEqual([]);
  });

  test('publicUrl defaults to http://HOST:PORT, brackets IPv6, and is normalised to an origin', () => {
    expect(buildConfig({ host: '127.0.0.2', port: 8081 }).publicUrl).toBe('http://127.0.0.2:8081');
    expect(buildConfig({ host: '::1', port: 8081 }).publicUrl).toBe('http://[::1]:8081');
    expect(buildConfig({ publicUrl: 'https://Cloud.Example.org/' }).publicUrl).toBe('https://cloud.example.org');
    expect(buildConfig({ publicUrl: 'https://cloud.example.org:443' }).publicUrl).toBe('https://cloud.example.org');
    const config = buildConfig({ host: '0.0.0.0', port: 8080, publicUrl: 'https://cloud.example.org:8443' });
    expect(providerDomain(config)).toBe('cloud.example.org:8443');
  });

  for (const [publicUrl, pattern] of [
    ['cloud.example.org', /absolute URL/],
    ['ftp://cloud.example.org', /http or https/],
    ['https://cloud.example.org/ocm', /no path/],
    ['https://cloud.example.org/?x=1', /no path, query or fragment/],
    ['https://cloud.example.org/#top', /no path, query or fragment/],
  ] as const) {
    test(`publicUrl ${publicUrl} is refused`, () => {
      expect(refusal(() => buildConfig({ publicUrl })).message).toMatch(pattern);
    });
  }

  test('an unknown setting is refused by name', () => {
    expect(refusal(() => buildConfig({ colour: 'blue' } as Partial<ReferenceConfig>)).message).toBe('unknown setting "colour"');
    // Names that exist on every object are not settings either.
    for (const key of ['toString', 'constructor', 'hasOwnProperty']) {
      expect(refusal(() => buildConfig({ [key]: 'x' } as Partial<ReferenceConfig>)).message, key).toContain(key);
    }
  });

  test('an unknown or malformed outbound setting is refused', () => {
    expect(refusal(() => buildConfig({ outbound: { timeout: 5 } } as unknown as Partial<ReferenceConfig>)).message).toContain(
      'outbound.timeout',
    );
    expect(refusal(() => buildConfig({ outbound: 5 } as unknown as Partial<ReferenceConfig>)).message).toContain('outbound');
    expect(refusal(() => buildConfig({ outbound: { timeoutMs: 0 } } as unknown as Partial<ReferenceConfig>)).message).toContain(
      'outbound.timeoutMs',
    );
    expect(refusal(() => buildConfig({ outbound: { maxResponseBytes: -1 } } as unknown as Partial<ReferenceConfig>)).message).toContain(
      'outbound.maxResponseBytes',
    );
  });

  test('grpcPort is accepted and checked', () => {
    expect(buildConfig({ grpcPort: 9142 }).grpcPort).toBe(9142);
    expect(refusal(() => buildConfig({ grpcPort: 70_000 })).message).toContain('grpcPort');
  });

  for (const port of [-1, 65_536, 1.5, '8080', Number.NaN, null]) {
    test(`port ${typeof port === 'number' ? String(port) : JSON.stringify(port)} is refused`, () => {
      const error = refusal(() => buildConfig({ port: port as number }));
      expect(error.message).toMatch(/^port must be a port number/);
    });
  }

  test('port 0 (pick a free one) and 65535 are accepted', () => {
    expect(buildConfig({ port: 0 }).port).toBe(0);
    expect(buildConfig({ port: 65_535 }).port).toBe(65_535);
  });

  for (const criteria of [['must-fly'], ['must-invite', 'MUST-INVITE'], 'must-invite', [42]]) {
    test(`criteria ${JSON.stringify(criteria)} are refused`, () => {
      expect(refusal(() => buildConfig({ criteria: criteria as string[] })).message).toMatch(/^criteria must be a list drawn from/);
    });
  }

  test('every known criterion is accepted', () => {
    const all = ['must-use-http-sig', 'must-exchange-token', 'denylist', 'allowlist', 'must-invite'];
    expect(buildConfig({ criteria: all }).criteria).toEqual(all);
  });

  test('other bad values are refused naming the key', () => {
    expect(refusal(() => buildConfig({ host: '' })).message).toContain('host');
    expect(refusal(() => buildConfig({ inviteExpirySeconds: 0 })).message).toContain('inviteExpirySeconds');
    expect(refusal(() => buildConfig({ bodyLimitBytes: 1.5 })).message).toContain('bodyLimitBytes');
    expect(refusal(() => buildConfig({ webdavPath: 'dav' })).message).toContain('webdavPath');
    expect(refusal(() => buildConfig({ webdavReceive: 'both' as 'absolute' })).message).toContain('webdavReceive');
  });
});

test.describe('TLS and the outbound network', () => {
  test('--tls-cert/--tls-key, --ca-file and --resolve become tls and outbound settings; https becomes the default public URL', () => {
    const config = buildConfig(
      flagsToConfig({
        host: '127.0.0.4',
        port: 9443,
        tlsCert: 'certs/ref.pem',
        tlsKey: 'certs/ref-key.pem',
        caFile: 'certs/ca.pem',
        resolve: ['peer-a.test:9400:127.0.0.10', 'peer-b.test:9400:127.0.0.11'],
      }),
    );
    expect(config.tls).toEqual({ certFile: resolve('certs/ref.pem'), keyFile: resolve('certs/ref-key.pem') });
    expect(config.outbound).toEqual({
      timeoutMs: 10_000,
      maxResponseBytes: 1_048_576,
      allowPrivateAddresses: false,
      caFile: resolve('certs/ca.pem'),
      resolve: ['peer-a.test:9400:127.0.0.10', 'peer-b.test:9400:127.0.0.11'],
    });
    expect(config.publicUrl).toBe('https://127.0.0.4:9443');
    // Without the flags nothing changes: plain http, no extra outbound keys.
    const plain = buildConfig(flagsToConfig({ port: 9443 }));
    expect(plain.tls).toBeUndefined();
    expect(plain.publicUrl).toBe('http://127.0.0.1:9443');
  });

  test('a flag sets one TLS file and the config file the other', () => {
    const config = buildConfig(
      { tls: { keyFile: '/etc/ref-key.pem' } as ReferenceConfig['tls'] },
      flagsToConfig({ tlsCert: '/etc/ref.pem' }),
    );
    expect(config.tls).toEqual({ certFile: '/etc/ref.pem', keyFile: '/etc/ref-key.pem' });
  });

  for (const [what, layer, message] of [
    ['a certificate without a key', { tls: { certFile: '/a.pem' } }, /^--tls-cert needs --tls-key \(config tls\.keyFile\)/],
    ['a key without a certificate', { tls: { keyFile: '/a-key.pem' } }, /^--tls-key needs --tls-cert \(config tls\.certFile\)/],
    ['an unknown tls key', { tls: { certFile: '/a.pem', keyFile: '/k.pem', ca: '/c.pem' } }, /^unknown setting "tls\.ca"$/],
    ['tls that is not a mapping', { tls: 'yes' }, /^tls must be a mapping/],
    ['a resolve entry without a port', { outbound: { resolve: ['peer-a.test:127.0.0.10'] } }, /^--resolve "peer-a\.test:127\.0\.0\.10": /],
    ['a resolve entry with port 0', { outbound: { resolve: ['peer-a.test:0:127.0.0.10'] } }, /"0" is not a port/],
    ['a resolve entry to a name', { outbound: { resolve: ['peer-a.test:9400:localhost'] } }, /"localhost" is not an IP address/],
    ['a resolve entry from an IP', { outbound: { resolve: ['127.0.0.9:9400:127.0.0.10'] } }, /"127\.0\.0\.9" is not a DNS name/],
    [
      'resolve that is not a list',
      { outbound: { resolve: 'peer-a.test:9400:127.0.0.10' } },
      /^outbound\.resolve \(--resolve\) must be a list/,
    ],
    [
      'one name:port pinned to two addresses',
      { outbound: { resolve: ['peer-a.test:9400:127.0.0.10', 'PEER-A.test:9400:127.0.0.11'] } },
      /^--resolve peer-a\.test:9400 is given twice, with 127\.0\.0\.10 and 127\.0\.0\.11$/,
    ],
    ['an empty caFile', { outbound: { caFile: '' } }, /^outbound\.caFile \(--ca-file\) must be a file name$/],
  ] as const) {
    test(`${what} is refused with one line and exit code 2`, () => {
      const error = refusal(() => buildConfig(layer as unknown as Partial<ReferenceConfig>));
      expect(error).toBeInstanceOf(NetworkSettingError);
      expect((error as NetworkSettingError).exitCode).toBe(2);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
    });
  }

  test('an IPv6 address may be bracketed, and the same pin twice is harmless', () => {
    const config = buildConfig({
      outbound: { resolve: ['peer-a.test:9400:[::1]', 'peer-a.test:9400:::1'] } as ReferenceConfig['outbound'],
    });
    expect(config.outbound.resolve).toHaveLength(2);
  });
});

test.describe('readConfigFile', () => {
  let dir: string;
  test.beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocm-config-'));
  });
  test.afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('YAML, with relative paths resolved against the file folder', async () => {
    await mkdir(join(dir, 'conf'));
    const file = join(dir, 'conf', 'reference.yaml');
    await writeFile(
      file,
      [
        '# a reference instance',
        'host: 127.0.0.4',
        'port: 9001',
        'dataDir: ./data',
        'usersFile: ../users.json',
        `providersFile: ${join(dir, 'abs', 'providers.json')}`,
        'criteria:',
        '  - must-invite',
        'outbound:',
        '  timeoutMs: 2500',
        '',
      ].join('\n'),
    );
    const layer = await readConfigFile(file);
    expect(layer).toEqual({
      host: '127.0.0.4',
      port: 9001,
      dataDir: join(dir, 'conf', 'data'),
      usersFile: join(dir, 'users.json'),
      providersFile: join(dir, 'abs', 'providers.json'),
      criteria: ['must-invite'],
      outbound: { timeoutMs: 2500 },
    });
    const config = buildConfig(layer, flagsToConfig({ host: '127.0.0.6' }));
    expect(config.host).toBe('127.0.0.6');
    expect(config.port).toBe(9001);
    expect(config.dataDir).toBe(join(dir, 'conf', 'data'));
    expect(config.outbound.timeoutMs).toBe(2500);
  });

  test('tls files and outbound.caFile are relative to the file folder; resolve entries are kept as written', async () => {
    const file = join(dir, 'tls.yaml');
    await writeFile(
      file,
      [
        'tls:',
        '  certFile: certs/ref.pem',
        '  keyFile: /abs/ref-key.pem',
        'outbound:',
        '  caFile: ca/ca.pem',
        '  resolve:',
        '    - peer-a.test:9400:127.0.0.10',
        '',
      ].join('\n'),
    );
    const layer = await readConfigFile(file);
    expect(layer).toEqual({
      tls: { certFile: join(dir, 'certs', 'ref.pem'), keyFile: '/abs/ref-key.pem' },
      outbound: { caFile: join(dir, 'ca', 'ca.pem'), resolve: ['peer-a.test:9400:127.0.0.10'] },
    });
    // A flag replaces the file's list.
    const config = buildConfig(layer, flagsToConfig({ resolve: ['peer-b.test:9400:127.0.0.11'] }));
    expect(config.outbound.resolve).toEqual(['peer-b.test:9400:127.0.0.11']);
    expect(config.outbound.caFile).toBe(join(dir, 'ca', 'ca.pem'));
  });

  test('JSON, with relative paths resolved against the file folder, even when read through a relative path', async () => {
    const file = join(dir, 'reference.json');
    await writeFile(file, JSON.stringify({ port: 9002, dataDir: 'state', usersFile: 'people/users.json', logLevel: 'debug' }));
    // The file named relative to the working directory: its folder still wins.
    const relativeName = relative(process.cwd(), file);
    expect(relativeName.startsWith('/')).toBe(false);
    for (const name of [file, relativeName]) {
      const layer = await readConfigFile(name);
      expect(layer).toEqual({ port: 9002, dataDir: join(dir, 'state'), usersFile: join(dir, 'people', 'users.json'), logLevel: 'debug' });
    }
  });

  test('an unknown key in the file is refused when built', async () => {
    const file = join(dir, 'typo.yaml');
    await writeFile(file, 'prot: 9000\n');
    const layer = await readConfigFile(file);
    expect(refusal(() => buildConfig(layer)).message).toBe('unknown setting "prot"');
  });

  test('a missing file, bad YAML and a non-mapping are one-line errors naming the file', async () => {
    const missing = join(dir, 'missing.yaml');
    await expect(readConfigFile(missing)).rejects.toThrow(new RegExp(`cannot read config file ${escapeText(missing)}`));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'host: [unclosed\nport: 1\n  - x\n');
    const badError = await readConfigFile(bad).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(badError).toBeInstanceOf(ConfigError);
    expect(badError!.message).toContain(bad);
    expect(badError!.message).not.toContain('\n');
    for (const content of ['- a\n- b\n', '42\n', '', 'null\n']) {
      const file = join(dir, 'list.yaml');
      await writeFile(file, content);
      await expect(readConfigFile(file), JSON.stringify(content)).rejects.toThrow(
        new RegExp(`config file ${escapeText(file)} must hold a mapping`),
      );
    }
  });
});

function escapeText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
