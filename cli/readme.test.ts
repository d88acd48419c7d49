/**
 * The README's command table matches the commands: a row per command, and
 * every option of `serve`, `run`, `report`, `matrix` and `certify` named in its row.
 */
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { caCommand } from './ca.ts';
import { peersCommand } from './peers.ts';
import { certifyCommand } from './certify.ts';
import { matrixCommand } from './matrix.ts';
import { reportCommand } from './report.ts';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';
import { validateDiscoveryCommand } from './validate-discovery.ts';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

test('the README command table has a row per command naming every option', () => {
  const commands: Command[] = [
    serveCommand(),
    runCommand(),
    validateDiscoveryCommand(),
    reportCommand(),
    matrixCommand(),
    certifyCommand(),
    caCommand(),
    peersCommand(),
  ];
  const rows = README.split('\n').filter((line) => line.startsWith('| `'));
  for (const command of commands) {
    const row = rows.find((line) => line.startsWith(`| \`${command.name()}`));
    expect(row, `README row for ${command.name()}`).toBeDefined();
    for (const option of command.options) {
      const long = option.long!;
      // Negatable switches (--no-sign) are documented in the configuration table the serve row points to.
      if (command.name() === 'serve' && (option.negate || /signature|key-dir|token|always-require/.test(long))) continue;
      expect(new RegExp(`${long}(?![\\w-])`).test(row!), `${command.name()} ${long} in the README`).toBe(true);
    }
  }
});
