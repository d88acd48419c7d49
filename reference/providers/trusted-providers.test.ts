import { test, expect } from '@playwright/test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerEntry } from '../pair.ts';
import { ProvidersFileError, TrustedProviders, normaliseDomain, splitHostPort, type ProviderInfo } from './trusted-providers.ts';

/** A provider entry for `domain` whose OCM service path is `path`. */
function entry(domain: string, path = 'https://ocm.example.net/ocm/', name = `p-${domain}`): ProviderInfo {
  return { name, domain, services: [{ endpoint: { type: { name: 'OCM' }, path } }] };
}

function refusal(fn: () => unknown): ProvidersFileError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProvidersFileError);
    return error as ProvidersFileError;
  }
  throw new Error('expected a ProvidersFileError');
}

test.describe('matching', () => {
  test('an exact host:port matches only that host and port', () => {
    const trusted = new TrustedProviders([entry('127.0.0.2:8080'), entry('cloud.example.org')]);
    expect(trusted.find('127.0.0.2:8080')?.domain).toBe('127.0.0.2:8080');
    expect(trusted.isTrusted('127.0.0.2:8081')).toBe(false);
    expect(trusted.isTrusted('127.0.0.2')).toBe(false);
    expect(trusted.isTrusted('127.0.0.3:8080')).toBe(false);
    expect(trusted.isTrusted('cloud.example.org')).toBe(true);
    expect(trusted.isTrusted('cloud.example.org:443')).toBe(false);
    expect(trusted.isTrusted('cloud.example.org:8080')).toBe(false);
    expect(trusted.isTrusted('')).toBe(false);
    expect(trusted.isTrusted(':8080')).toBe(false);
  });

  test('matching is case-insensitive on both sides', () => {
    const trusted = new TrustedProviders([entry('Cloud.Example.ORG:8443')]);
    expect(trusted.isTrusted('cloud.example.org:8443')).toBe(true);
    expect(trusted.isTrusted('CLOUD.EXAMPLE.ORG:8443')).toBe(true);
    expect(trusted.isTrusted(' cloud.example.org:8443 ')).toBe(true);
    expect(trusted.isTrusted('cloud.example.org')).toBe(false);
  });

  test('each domain gets its own entry', () => {
    const trusted = new TrustedProviders([entry('a.example.org', undefined, 'A'), entry('b.example.org', undefined, 'B')]);
    expect(trusted.find('b.example.org')?.name).toBe('B');
    expect(trusted.find('a.example.org')?.name).toBe('A');
    expect(trusted.list().map((p) => p.name)).toEqual(['A', 'B']);
  });

  test('*.example.org matches sub-domains, not example.org nor badexample.org', () => {
    const trusted = new TrustedProviders([entry('*.example.org')]);
    for (const domain of ['a.example.org', 'A.Example.Org', 'a.b.example.org', 'x-y.example.org']) {
      expect(trusted.isTrusted(domain), domain).toBe(true);
    }
    for (const domain of [
      'example.org',
      '.example.org',
      'badexample.org',
      'example.org.evil.com',
      'a.example.org.evil.com',
      'a.example.org:443',
      'example.net',
    ]) {
      expect(trusted.isTrusted(domain), domain).toBe(false);
    }
  });

  test('a wildcard with a port needs that port', () => {
    const trusted = new TrustedProviders([entry('*.example.org:8443')]);
    expect(trusted.isTrusted('a.example.org:8443')).toBe(true);
    expect(trusted.isTrusted('a.example.org')).toBe(false);
    expect(trusted.isTrusted('a.example.org:443')).toBe(false);
  });

  test('a trusted example.org does not trust look-alikes (reva matches by substring and regex)', () => {
    const trusted = new TrustedProviders([entry('example.org')]);
    expect(trusted.isTrusted('example.org')).toBe(true);
    for (const domain of [
      'ample.org',
      'evil-example.org',
      'example.org.evil.com',
      'www.example.org',
      'exampleXorg',
      'example.or',
      'xexample.org',
      'example.org:80',
    ]) {
      expect(trusted.isTrusted(domain), domain).toBe(false);
    }
  });

  test('bracketed IPv6 literals match exactly, port included', () => {
    const trusted = new TrustedProviders([entry('[::1]:8080')]);
    expect(trusted.isTrusted('[::1]:8080')).toBe(true);
    expect(trusted.isTrusted('[::1]')).toBe(false);
    expect(trusted.isTrusted('[::2]:8080')).toBe(false);
    expect(splitHostPort('[::1]:8080')).toEqual({ host: '[::1]', port: '8080' });
    expect(normaliseDomain('Example.ORG:8443')).toBe('example.org:8443');
  });
});

test.describe('entries that are refused', () => {
  const regexLooking = [
    '.*\\.example\\.org',
    '^example.org$',
    'example\\.org',
    '(a|b).example.org',
    'a*.example.org',
    '*example.org',
    'example.*',
    'foo.*.org',
    '[a-z]+.example.org',
    'exa?mple.org',
    'example.org$',
  ];
  for (const domain of regexLooking) {
    test(`regex-looking domain ${JSON.stringify(domain)}`, () => {
      const error = refusal(() => new TrustedProviders([entry('fine.example.org'), entry(domain)], 'list.json'));
      expect(error.message).toContain('list.json[1]');
      expect(error.message).toContain(domain);
    });
  }

  for (const domain of [
    'https://example.org',
    'http://127.0.0.2:8080',
    'example.org/ocm',
    'example.org/',
    'user@example.org',
    'exa mple.org',
    '//example.org',
  ]) {
    test(`a scheme, path, user or space: ${JSON.stringify(domain)}`, () => {
      const error = refusal(() => new TrustedProviders([entry(domain)], 'list.json'));
      expect(error.message).toContain('list.json[0]');
      expect(error.message).toMatch(/host\[:port\]/);
    });
  }

  test('an entry without an OCM service', () => {
    const info: ProviderInfo = {
      name: 'webdav-only',
      domain: 'example.org',
      services: [{ endpoint: { type: { name: 'Webdav' }, path: 'https://example.org/dav' } }],
    };
    const error = refusal(() => new TrustedProviders([entry('ok.example.org'), entry('ok2.example.org'), info], 'list.json'));
    expect(error.message).toContain('list.json[2]');
    expect(error.message).toContain('OCM');
    expect(refusal(() => new TrustedProviders([{ name: 'none', domain: 'example.org', services: [] }])).message).toContain('OCM');
  });

  test('structurally broken entries', () => {
    expect(refusal(() => new TrustedProviders([{ domain: 'example.org', services: [] } as unknown as ProviderInfo])).message).toContain(
      'name',
    );
    expect(refusal(() => new TrustedProviders([{ name: 'x', services: [] } as unknown as ProviderInfo])).message).toContain('domain');
    expect(refusal(() => new TrustedProviders([{ name: 'x', domain: 'example.org' } as unknown as ProviderInfo])).message).toContain(
      'services',
    );
    expect(refusal(() => new TrustedProviders([null as unknown as ProviderInfo])).message).toContain('object');
    const noPath = { name: 'x', domain: 'example.org', services: [{ endpoint: { type: { name: 'OCM' } } }] } as unknown as ProviderInfo;
    expect(refusal(() => new TrustedProviders([noPath], 'list.json')).message).toContain('list.json[0].services[0]');
  });
});

test.describe('originFor', () => {
  test('an absolute service path gives its origin', () => {
    const trusted = new TrustedProviders([
      providerEntry('a', 'http://127.0.0.2:8080'),
      entry('cloud.example.org', 'https://ocm.cloud.example.org:8443/apps/ocm/'),
    ]);
    expect(trusted.originFor('127.0.0.2:8080')?.toString()).toBe('http://127.0.0.2:8080/');
    expect(trusted.originFor('cloud.example.org')?.toString()).toBe('https://ocm.cloud.example.org:8443/');
  });

  test('a wildcard takes the scheme from the path and the concrete host asked for', () => {
    const trusted = new TrustedProviders([
      entry('*.example.org', 'http://whatever.example.org:9999/ocm/'),
      entry('*.example.net:8443', '/ocm/'),
    ]);
    expect(trusted.originFor('Node1.Example.org')?.toString()).toBe('http://node1.example.org/');
    expect(trusted.originFor('a.example.net:8443')?.toString()).toBe('https://a.example.net:8443/');
  });

  test('a relative service path gives https://domain', () => {
    const trusted = new TrustedProviders([entry('cloud.example.org:8443', '/ocm/'), entry('plain.example.org', 'ocm')]);
    expect(trusted.originFor('CLOUD.example.org:8443')?.toString()).toBe('https://cloud.example.org:8443/');
    expect(trusted.originFor('plain.example.org')?.toString()).toBe('https://plain.example.org/');
  });

  test('an untrusted domain has no origin', () => {
    const trusted = new TrustedProviders([entry('example.org')]);
    expect(trusted.originFor('evil-example.org')).toBeUndefined();
  });
});

test.describe('fromFile', () => {
  let dir: string;
  test.beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocm-providers-'));
  });
  test.afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads an ocmproviders.json', async () => {
    const file = join(dir, 'ocmproviders.json');
    await writeFile(
      file,
      JSON.stringify([providerEntry('a', 'http://127.0.0.2:8080'), providerEntry('b', 'http://127.0.0.3:8080')], null, 2),
    );
    const trusted = await TrustedProviders.fromFile(file);
    expect(trusted.list().map((p) => p.domain)).toEqual(['127.0.0.2:8080', '127.0.0.3:8080']);
    expect(trusted.isTrusted('127.0.0.3:8080')).toBe(true);
  });

  test('bad JSON is a one-line error naming the file', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '[\n  { "name": "a",\n  "domain": \n]\n');
    const error = await TrustedProviders.fromFile(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProvidersFileError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain('\n');
  });

  test('a top level that is not an array, a missing file, and a bad entry name the file', async () => {
    const object = join(dir, 'object.json');
    await writeFile(object, '{"providers": []}');
    await expect(TrustedProviders.fromFile(object)).rejects.toThrow(new RegExp(`${object.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*array`));
    const missing = join(dir, 'missing.json');
    await expect(TrustedProviders.fromFile(missing)).rejects.toBeInstanceOf(ProvidersFileError);
    await expect(TrustedProviders.fromFile(missing)).rejects.toThrow(missing);
    const badEntry = join(dir, 'bad-entry.json');
    await writeFile(badEntry, JSON.stringify([entry('ok.example.org'), entry('.*')]));
    await expect(TrustedProviders.fromFile(badEntry)).rejects.toThrow(`${badEntry}[1]`);
  });
});
