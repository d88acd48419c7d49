/**
 * One mapping from a requested profile and the target's apiVersion to the
 * profile judged, shared by `run` (suite context, CLI) and
 * `validate-discovery`: a pre-1.1 or non-release apiVersion is judged under
 * 1.1, and the reason says so.
 */
import { test, expect } from '@playwright/test';
import { profileFromApiVersion, profileLine } from './profile.ts';

test('auto maps a release to its profile, and the line names the apiVersion', () => {
  const judged = profileFromApiVersion('auto', '1.2.0');
  expect(judged).toEqual({ profile: '1.2', release: '1.2.0', reason: 'from apiVersion "1.2.0"' });
  expect(profileLine(judged)).toBe('profile 1.2 (from apiVersion "1.2.0")');
  expect(profileFromApiVersion('auto', 'v1.3.0').profile).toBe('1.3');
});

test('a non-release or pre-1.1 apiVersion is judged under 1.1, the first version that defines discovery', () => {
  const proposal = profileFromApiVersion('auto', '1.0-proposal1');
  expect(proposal.profile).toBe('1.1');
  expect(proposal.reason).toBe(
    'from apiVersion "1.0-proposal1": not a release number; judged as 1.1, the first version that defines discovery',
  );
  expect(proposal.warning).toBeUndefined();
  const old = profileFromApiVersion('auto', '1.0.0');
  expect(old.profile).toBe('1.1');
  expect(old.reason).toContain('older than 1.1');
});

test('no or an unknown apiVersion gives main, as a guess with a warning', () => {
  for (const missing of [undefined, '', 42]) {
    const judged = profileFromApiVersion('auto', missing);
    expect(judged.profile).toBe('main');
    expect(judged.warning).toMatch(/no apiVersion/);
  }
  const unknown = profileFromApiVersion('auto', '7.0.0');
  expect(unknown.profile).toBe('main');
  expect(unknown.warning).toMatch(/not a known OCM release/);
});

test('an explicit profile wins over the apiVersion and names its source; an unknown one throws', () => {
  expect(profileFromApiVersion('1.3', '1.2.0')).toEqual({ profile: '1.3', reason: '--profile 1.3' });
  expect(profileFromApiVersion('main', '1.0-proposal1', 'target config:')).toEqual({ profile: 'main', reason: 'target config: main' });
  expect(profileFromApiVersion('1.2.1', undefined)).toMatchObject({ profile: '1.2', release: '1.2.1' });
  expect(() => profileFromApiVersion('9.9', '1.2.0')).toThrow(/unknown profile "9.9"/);
});
