/**
 * Peer addresses (peer-addresses.ts): the config and flag forms, port 0, the
 * public origin a peer advertises, and the bind preflight that stops a run
 * when a peer address is taken.
 */
import { test, expect } from '@playwright/test';
import { createServer, type Server } from 'node:net';
import {
  PeerAddressError,
  PeerBindError,
  parsePeerPairs,
  peerOrigin,
  peerPairsFromFlags,
  peersUseTls,
  preflightPeerPairs,
} from './peer-addresses.ts';

const SUBNET = process.env.OCM_SUBNET ?? '127.0.0';

test("today's pairs, a flat list taken two by two and {bind, publicUrl} entries all give pairs", () => {
  expect(parsePeerPairs([['127.0.0.10:9400', '127.0.0.11:9400']])).toEqual([[{ bind: '127.0.0.10:9400' }, { bind: '127.0.0.11:9400' }]]);
  expect(
    parsePeerPairs([
      { bind: '0.0.0.0:9400', publicUrl: 'https://peer-a:9400/' },
      { bind: '0.0.0.0:9401', publicUrl: 'https://peer-b:9401' },
      '127.0.0.12:0',
      '127.0.0.13:0',
    ]),
  ).toEqual([
    [
      { bind: '0.0.0.0:9400', publicUrl: 'https://peer-a:9400' },
      { bind: '0.0.0.0:9401', publicUrl: 'https://peer-b:9401' },
    ],
    [{ bind: '127.0.0.12:0' }, { bind: '127.0.0.13:0' }],
  ]);
  expect(peerPairsFromFlags('127.0.0.20:0,127.0.0.21:0', 'http://a.test,http://b.test')).toEqual([
    [
      { bind: '127.0.0.20:0', publicUrl: 'http://a.test' },
      { bind: '127.0.0.21:0', publicUrl: 'http://b.test' },
    ],
  ]);
});

test('bad peer settings are refused with one line naming the problem', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parsePeerPairs(['127.0.0.10:9400']), /must come in pairs/],
    [() => parsePeerPairs([['127.0.0.10:9400', '127.0.0.11:9400'], '127.0.0.12:1']), /not a mix/],
    [() => parsePeerPairs([{ bind: 'peer-a:9400' }, '127.0.0.11:1']), /with an IP address/],
    [() => parsePeerPairs([{ bind: '127.0.0.10:1', publicUrl: 'https://a/ocm' }, '127.0.0.11:1']), /no path/],
    [() => parsePeerPairs([{ bind: '127.0.0.10:1', port: 3 }, '127.0.0.11:1']), /unknown peer key "port"/],
    [() => parsePeerPairs([{ bind: '127.0.0.10:0', publicUrl: 'https://a:9400' }, '127.0.0.11:1']), /must not name a port/],
    [() => peerPairsFromFlags('127.0.0.10:1,127.0.0.11:1', 'http://a'), /1 URLs for 2 --peers addresses/],
    [() => peerOrigin({ bind: '127.0.0.10:1', publicUrl: 'http://a:1' }, true), /is http but the peers serve https/],
    [() => peerOrigin({ bind: '0.0.0.0:9400' }, false), /give its publicUrl/],
  ];
  for (const [step, message] of cases) {
    let error: unknown;
    try {
      step();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PeerAddressError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  }
});

test('a peer advertises its public URL, or its bind address with the scheme of the TLS setting; auto follows the target', () => {
  expect(peerOrigin({ bind: '127.0.0.10:9400' }, false)).toBe('http://127.0.0.10:9400');
  expect(peerOrigin({ bind: '127.0.0.10:9400' }, true)).toBe('https://127.0.0.10:9400');
  expect(peerOrigin({ bind: '0.0.0.0:9400', publicUrl: 'https://peer-a.test:9400' }, true)).toBe('https://peer-a.test:9400');
  expect(peerOrigin({ bind: '0.0.0.0:0', publicUrl: 'https://peer-a.test' }, true, 41234)).toBe('https://peer-a.test:41234');
  expect(peersUseTls('auto', 'https://cloud.example.org')).toBe(true);
  expect(peersUseTls('auto', 'http://127.0.0.2:8080')).toBe(false);
  expect(peersUseTls('on', 'http://127.0.0.2:8080')).toBe(true);
  expect(peersUseTls('off', 'https://cloud.example.org')).toBe(false);
});

test('the preflight gives port-0 peers distinct free ports (and their public URLs the same port)', async () => {
  const [pair] = await preflightPeerPairs([[{ bind: `${SUBNET}.40:0`, publicUrl: 'http://peer-a.test' }, { bind: `${SUBNET}.40:0` }]]);
  const [a, b] = pair!;
  const portA = Number(a.bind.split(':')[1]);
  expect(portA).toBeGreaterThan(0);
  expect(a.publicUrl).toBe(`http://peer-a.test:${portA}`);
  expect(b.bind).not.toBe(a.bind);
  expect(b.bind).toMatch(new RegExp(`^${SUBNET.replaceAll('.', '\\.')}\\.40:[1-9]\\d*$`));
});

test('the preflight names a taken peer address and its error code, in one line', async () => {
  const holder: Server = createServer();
  await new Promise<void>((done) => holder.listen({ host: `${SUBNET}.41`, port: 0 }, done));
  const taken = `${SUBNET}.41:${(holder.address() as { port: number }).port}`;
  try {
    const error = await preflightPeerPairs([[{ bind: `${SUBNET}.42:0` }, { bind: taken }]]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerBindError);
    expect((error as Error).message).toBe(`setup: cannot listen on ${taken}: EADDRINUSE`);
  } finally {
    await new Promise<void>((done) => holder.close(() => done()));
  }
});
