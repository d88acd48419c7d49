/**
 * The GitHub Action (action.yml) and the example workflows. No actionlint
 * runs here (it lints workflows, not action metadata, and is not installed;
 * decisions/0011), so action.yml is checked against a JSON Schema of the
 * action metadata format for composite actions, plus what a schema cannot
 * say: expressions name declared inputs and earlier steps, inputs never get
 * spliced into a script, and every flag the action passes exists on `run`.
 */
import { test, expect } from '@playwright/test';
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Command } from 'commander';
import { runCommand } from '../cli/run.ts';
import { reportCommand } from '../cli/report.ts';
import { matrixCommand } from '../cli/matrix.ts';

const commands: Record<string, Command> = { run: runCommand(), report: reportCommand(), matrix: matrixCommand() };
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8');

/** Flags the action passes that another issue adds to `run` (empty: every flag exists). */
const PENDING_RUN_FLAGS: string[] = [];

const NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';
/** The action metadata syntax (docs.github.com: "Metadata syntax for GitHub Actions"), composite runs only. */
const ACTION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'runs'],
  properties: {
    name: { type: 'string', minLength: 1 },
    author: { type: 'string' },
    description: { type: 'string', minLength: 1 },
    branding: {
      type: 'object',
      additionalProperties: false,
      properties: {
        icon: { type: 'string' },
        color: { enum: ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'] },
      },
    },
    inputs: {
      type: 'object',
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['description'],
        properties: {
          description: { type: 'string', minLength: 1 },
          required: { type: 'boolean' },
          default: { type: 'string' },
          deprecationMessage: { type: 'string' },
        },
      },
    },
    outputs: {
      type: 'object',
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['description', 'value'],
        properties: { description: { type: 'string' }, value: { type: 'string' } },
      },
    },
    runs: {
      type: 'object',
      additionalProperties: false,
      required: ['using', 'steps'],
      properties: {
        using: { const: 'composite' },
        steps: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              id: { type: 'string', pattern: NAME },
              name: { type: 'string' },
              if: { type: 'string' },
              run: { type: 'string' },
              shell: { type: 'string' },
              uses: { type: 'string', pattern: '^[\\w.-]+/[\\w.-]+(/[\\w./-]+)?@v\\d+$' },
              with: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
              env: { type: 'object', additionalProperties: { type: 'string' } },
              'working-directory': { type: 'string' },
              'continue-on-error': { type: ['boolean', 'string'] },
            },
            oneOf: [{ required: ['run', 'shell'] }, { required: ['uses'], not: { required: ['run'] } }],
          },
        },
      },
    },
  },
};

interface Action {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { steps: Array<{ id?: string; run?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string> }> };
}

test('action.yml is a valid composite action with the inputs of the issue', () => {
  const text = read('action.yml');
  const action = parseYaml(text) as Action;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(ACTION_SCHEMA);
  expect(validate(action), JSON.stringify(validate.errors, null, 2)).toBe(true);
  for (const input of ['target-config', 'profile', 'fail-on', 'expectations', 'report-dir', 'only', 'version'])
    expect(Object.keys(action.inputs), input).toContain(input);
  // Every expression names a declared input or a step before it.
  const steps = action.runs.steps;
  const ids: string[] = [];
  const seenIds = (i: number) => steps.slice(0, i).flatMap((s) => (s.id ? [s.id] : []));
  steps.forEach((step, i) => {
    const exprs = JSON.stringify(step).match(/\$\{\{[^}]*\}\}/g) ?? [];
    for (const expr of exprs) {
      for (const [, name] of expr.matchAll(/inputs\.([\w-]+)/g)) expect(Object.keys(action.inputs), expr).toContain(name);
      for (const [, id] of expr.matchAll(/steps\.([\w-]+)\./g)) expect(seenIds(i), expr).toContain(id);
    }
    // Inputs reach scripts through env only: an input spliced into `run:` could inject shell.
    expect(step.run ?? '', `step ${step.id ?? i}`).not.toContain('${{');
    if (step.id) ids.push(step.id);
  });
  for (const [name, output] of Object.entries(action.outputs)) {
    const [, id] = /steps\.([\w-]+)\./.exec(output.value) ?? [];
    expect(ids, `output ${name}`).toContain(id);
  }
  // Every flag the action passes to `run` exists there; the summary and the artifact are handled.
  const script = steps.map((s) => s.run ?? '').join('\n');
  const known = new Set(commands.run!.options.map((o) => o.long));
  for (const flag of new Set(
    script
      .match(/\(--[a-z-]+|args=\(run[^)]*\)/g)
      ?.join(' ')
      .match(/--[a-z-]+/g) ?? [],
  )) {
    // A flag another issue adds to `run` is listed here until it exists; then this fails until it is removed from the list.
    if (PENDING_RUN_FLAGS.includes(flag)) expect(known.has(flag), `${flag} exists now: remove it from PENDING_RUN_FLAGS`).toBe(false);
    else expect(known.has(flag), `run ${flag}`).toBe(true);
  }
  expect(script).toContain('--annotations github');
  expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@'))).toBe(true);
});

/** The example workflows: the action with inputs it has, and `npx ocm-conformance` calls with options that exist. */
for (const name of ['github-actions.yml', 'github-actions-sharded.yml']) {
  test(`examples/${name} parses and uses the action and the commands as they are`, () => {
    const action = parseYaml(read('action.yml')) as Action;
    const workflow = parseYaml(read(`examples/${name}`)) as {
      jobs: Record<string, { 'runs-on': string; steps: Array<{ run?: string; uses?: string; with?: Record<string, string> }> }>;
    };
    const steps = Object.values(workflow.jobs).flatMap((j) => {
      expect(j['runs-on']).toBeTruthy();
      return j.steps;
    });
    const uses = steps.filter((s) => s.uses && /\/ocm-conformance@/.test(s.uses));
    expect(uses.length).toBeGreaterThan(0);
    for (const step of uses) {
      for (const input of Object.keys(step.with ?? {})) expect(Object.keys(action.inputs), input).toContain(input);
      for (const [input, spec] of Object.entries(action.inputs))
        if (spec.required) expect(Object.keys(step.with ?? {}), input).toContain(input);
    }
    const scripts = steps
      .map((s) => s.run ?? '')
      .join('\n')
      .replace(/\\\n\s*/g, ' ');
    for (const [, command, rest] of scripts.matchAll(/npx ocm-conformance (\w+)([^\n|&]*)/g)) {
      const cmd = commands[command!];
      expect(cmd, `unknown command ${command}`).toBeDefined();
      const known = new Set(cmd!.options.map((o) => o.long));
      for (const flag of rest!.match(/--[a-z-]+/g) ?? []) expect(known.has(flag), `${command} ${flag}`).toBe(true);
    }
  });
}

test('the pull-request example uses the pr preset and the nightly one a matrix over profiles', () => {
  const workflow = parseYaml(read('examples/github-actions.yml')) as {
    jobs: Record<string, { strategy?: { matrix?: { profile?: string[] } }; steps: Array<{ with?: Record<string, string> }> }>;
  };
  const jobs = Object.values(workflow.jobs);
  expect(jobs.some((j) => j.steps.some((s) => s.with?.preset === 'pr'))).toBe(true);
  expect(jobs.some((j) => (j.strategy?.matrix?.profile?.length ?? 0) > 1)).toBe(true);
});
