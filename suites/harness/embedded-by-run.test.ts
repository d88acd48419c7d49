/**
 * `ocm-conformance run` starts the embedded pair in its own process while
 * Playwright starts up; the global setup waits for its marker in the run
 * folder. The marker says where the pair's config is, or why it did not
 * start: the setup then fails with that reason, never waits forever.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markEmbeddedPair, waitForEmbeddedPair } from './global-setup.ts';

let dir: string;
test.beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-embedded-by-run-'));
});
test.afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the setup waits for the pair the run started and takes its config', async () => {
  const waiting = waitForEmbeddedPair(dir, 5000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await markEmbeddedPair(dir, { configFile: join(dir, 'embedded-target.yaml') });
  expect(await waiting).toBe(join(dir, 'embedded-target.yaml'));
});

test('a pair that did not start fails the setup with its reason', async () => {
  await markEmbeddedPair(dir, { failure: 'listen EADDRINUSE: address already in use 127.0.0.2:8080' });
  await expect(waitForEmbeddedPair(dir, 5000)).rejects.toThrow(
    'setup failed: the embedded reference pair did not start: listen EADDRINUSE: address already in use 127.0.0.2:8080',
  );
});

test('no marker at all: the setup gives up within its bound', async () => {
  await expect(waitForEmbeddedPair(dir, 300)).rejects.toThrow('setup failed: the embedded reference pair was not ready within 0.3 s');
});
