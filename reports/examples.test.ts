import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Command } from 'commander';
import { runCommand } from '../cli/run.ts';
import { reportCommand } from '../cli/report.ts';
import { matrixCommand } from '../cli/matrix.ts';

const commands: Record<string, Command> = { run: runCommand(), report: reportCommand(), matrix: matrixCommand() };

/** Every `npx ocm-conformance <command> …` line of the example workflows uses options the command has. */
for (const name of ['github-actions.yml', 'github-actions-sharded.yml']) {
  test(`examples/${name} parses and calls ocm-conformance with options it has`, () => {
    const text = readFileSync(fileURLToPath(new URL(`../examples/${name}`, import.meta.url)), 'utf8');
    const workflow = parseYaml(text) as { jobs: Record<string, { steps: Array<{ run?: string }> }> };
    const scripts = Object.values(workflow.jobs)
      .flatMap((j) => j.steps.map((s) => s.run ?? ''))
      .join('\n')
      .replace(/\\\n\s*/g, ' ');
    const calls = [...scripts.matchAll(/npx ocm-conformance (\w+)([^\n|&]*)/g)];
    expect(calls.length).toBeGreaterThan(0);
    for (const [, command, rest] of calls) {
      const cmd = commands[command!];
      expect(cmd, `unknown command ${command}`).toBeDefined();
      const known = new Set(cmd!.options.map((o) => o.long));
      for (const flag of rest!.match(/--[a-z-]+/g) ?? []) expect(known.has(flag), `${command} ${flag}`).toBe(true);
    }
    expect(text).toContain('GITHUB_STEP_SUMMARY');
    expect(text).toContain('upload-artifact');
  });
}
