/**
 * A robustness pass never credits a protocol requirement: the hostile-input
 * checks that only prove "some 4xx, and the target stays up" are filed under
 * ROB-* (the robustness area), never under the endpoints' own requirements
 * (SHR-4, NTF-1, INV-3, TOK-3), whose substance they do not test.
 */
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../harness/requirements.ts';

const SOURCE = readFileSync(fileURLToPath(new URL('./hostile-input.spec.ts', import.meta.url)), 'utf8');

test('every "refused with a 4xx" check of the hostile-input suite names robustness requirements only', () => {
  const catalogue = loadCatalogue();
  const checks = [...SOURCE.matchAll(/check\(\s*(\[[^\]]*\]|[\w.]+),\s*(`[^`]*`|'[^']*')/g)].map((m) => ({ ids: m[1]!, title: m[2]! }));
  const refusals = checks.filter((c) => c.title.includes('is refused with a 4xx'));
  expect(refusals.length).toBeGreaterThanOrEqual(4);
  for (const { ids, title } of refusals) {
    // The JSON endpoints' checks name `endpoint.id`: its values are listed in JSON_ENDPOINTS.
    const named =
      ids === 'endpoint.id' || ids === '[endpoint.id]'
        ? [...SOURCE.matchAll(/^ {4}id: '([A-Z]+-\d+)'/gm)].map((m) => m[1]!)
        : [...ids.matchAll(/'([A-Z0-9]+-\d+)'/g)].map((m) => m[1]!);
    expect(named.length, title).toBeGreaterThan(0);
    for (const id of named) expect(catalogue.byId.get(id)?.area, `${title} names ${id}`).toBe('robustness');
  }
  for (const protocolId of ['SHR-4', 'NTF-1', 'INV-3']) expect(SOURCE).not.toContain(`'${protocolId}'`);
});

test('the robustness requirements are their own catalogue entries, each citing the spec', () => {
  const robustness = loadCatalogue().requirements.filter((r) => r.area === 'robustness');
  expect(robustness.map((r) => r.id)).toEqual(['ROB-1', 'ROB-2', 'ROB-3', 'ROB-4', 'ROB-10']);
  for (const r of robustness) expect(r.section).toMatch(/^(spec\.yaml|draft) § /);
});
