/**
 * The requirement texts and the exchange → requirement table, both data in
 * fixtures/ (requirements.yaml is the catalogue the suites judge by;
 * exchange-requirements.yaml names the requirements each operation, field
 * and signature speaks to). Read here without the suites' loader, so that
 * the inspector depends on neither the reference nor the suites.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export interface RequirementText {
  id: string;
  level: string;
  section: string;
  summary: string;
}

export interface OperationRequirements {
  touches: string[];
  request: Record<string, string[]>;
  response: Record<string, string[]>;
  signature: string[];
}

export interface RequirementMap {
  operations: Map<string, OperationRequirements>;
  surfaces: Map<string, string[]>;
  texts: Map<string, RequirementText>;
}

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

let loaded: RequirementMap | undefined;

/** The table and the texts (read once); throws when the table names an ID the catalogue lacks. */
export function requirementMap(): RequirementMap {
  if (loaded) return loaded;
  const catalogue = parseYaml(readFileSync(fixture('requirements.yaml'), 'utf8')) as { requirements: RequirementText[] };
  const texts = new Map(catalogue.requirements.map((r) => [r.id, { id: r.id, level: r.level, section: r.section, summary: r.summary }]));
  const table = parseYaml(readFileSync(fixture('exchange-requirements.yaml'), 'utf8')) as {
    operations: Record<string, Partial<OperationRequirements>>;
    surfaces: Record<string, string[]>;
  };
  const operations = new Map<string, OperationRequirements>();
  for (const [key, entry] of Object.entries(table.operations)) {
    operations.set(key, {
      touches: entry.touches ?? [],
      request: entry.request ?? {},
      response: entry.response ?? {},
      signature: entry.signature ?? [],
    });
  }
  const surfaces = new Map(Object.entries(table.surfaces ?? {}));
  const named = [...operations.values()].flatMap((o) => [
    ...o.touches,
    ...o.signature,
    ...Object.values(o.request).flat(),
    ...Object.values(o.response).flat(),
  ]);
  const unknown = [...new Set([...named, ...[...surfaces.values()].flat()])].filter((id) => !texts.has(id));
  if (unknown.length > 0)
    throw new Error(`fixtures/exchange-requirements.yaml names requirements the catalogue lacks: ${unknown.join(', ')}`);
  loaded = { operations, surfaces, texts };
  return loaded;
}

/** The requirements a violation of `field` speaks to: the longest dotted prefix in `byField`, else `*`. */
export function requirementsForField(byField: Record<string, string[]>, field: string): string[] {
  let best: string | undefined;
  for (const key of Object.keys(byField)) {
    if (key === '*') continue;
    if ((field === key || field.startsWith(`${key}.`)) && (best === undefined || key.length > best.length)) best = key;
  }
  return byField[best ?? '*'] ?? [];
}
