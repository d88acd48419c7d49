import { test, expect } from '@playwright/test';
import { destinationPath } from './destination.ts';

test('a Destination on this server gives its raw path, dot segments kept for the confinement check', () => {
  expect(destinationPath('http://127.0.0.2:8080/dav/ocm/s/a%20b/../c?x=1', '127.0.0.2:8080')).toEqual({
    ok: true,
    rawPath: '/dav/ocm/s/a%20b/../c',
  });
  expect(destinationPath('HTTP://127.0.0.2:8080', '127.0.0.2:8080')).toEqual({ ok: true, rawPath: '/' });
  expect(destinationPath('/dav/ocm/s/b.txt#frag', '127.0.0.2:8080')).toEqual({ ok: true, rawPath: '/dav/ocm/s/b.txt' });
  // A port left out on either side matches (proxies disagree on writing the default port).
  expect(destinationPath('https://Example.ORG/x', 'example.org:8443')).toEqual({ ok: true, rawPath: '/x' });
});

test('a Destination on another host or port, not a URL, or relative is refused by kind', () => {
  expect(destinationPath('http://127.0.0.3:8080/x', '127.0.0.2:8080')).toEqual({ ok: false, problem: 'other-server' });
  expect(destinationPath('http://127.0.0.2:9090/x', '127.0.0.2:8080')).toEqual({ ok: false, problem: 'other-server' });
  expect(destinationPath('http://[::1/x', '127.0.0.2:8080')).toEqual({ ok: false, problem: 'not-a-url' });
  expect(destinationPath('b.txt', '127.0.0.2:8080')).toEqual({ ok: false, problem: 'not-absolute' });
});
