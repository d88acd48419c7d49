import { test, expect } from '@playwright/test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './requirements.ts';
import { loadTargetConfig, validateTargetConfig, TargetConfigError } from './target.ts';

const dir = join(PROJECT_ROOT, 'fixtures/targets');

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  test(`the shipped target config ${file} is valid`, () => {
    const config = loadTargetConfig(join(dir, file));
    expect(config.baseUrl).toMatch(/^https?:\/\//);
    expect(config.peers.length).toBeGreaterThan(0);
  });
}

test('bad target configs are refused with one line naming the problem', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /baseUrl is required/],
    [{ baseUrl: 'not a url' }, /not an absolute URL/],
    [{ baseUrl: 'http://x', surprise: 1 }, /unknown key "surprise"/],
    [{ baseUrl: 'http://x', peers: [['peer-a:9400', '127.0.0.2:1']] }, /must be host:port with an IP address/],
    [{ baseUrl: 'http://x', peers: ['127.0.0.10:9400'] }, /must come in pairs/],
    [{ baseUrl: 'http://x', peers: [{ bind: '0.0.0.0:0', publicUrl: 'https://peer-a:9400' }, '127.0.0.11:1'] }, /must not name a port/],
    [{ baseUrl: 'http://x', peers: ['127.0.0.10:9400', '127.0.0.10:9400'] }, /given twice/],
    [{ baseUrl: 'http://x', peerTls: true }, /peerTls must be auto, on or off/],
    [{ baseUrl: 'http://x', driver: { kind: 'selenium' } }, /driver.kind/],
    [{ baseUrl: 'http://x', driver: { kind: 'ocs+sciencemesh', users: [] } }, /driver.users/],
    [
      {
        baseUrl: 'http://x',
        driver: { kind: 'http-trigger', users: [{ username: 'a', password: 'b', id: 'c' }], actions: { fly: { url: 'http://x' } } },
      },
      /not a driver action/,
    ],
  ];
  for (const [value, message] of cases) {
    let error: unknown;
    try {
      validateTargetConfig(value, 'test');
    } catch (e) {
      error = e;
    }
    expect(error, JSON.stringify(value)).toBeInstanceOf(TargetConfigError);
    expect(String((error as Error).message)).toMatch(message);
    expect(String((error as Error).message)).not.toContain('\n');
  }
});
