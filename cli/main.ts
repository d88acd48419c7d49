/**
 * The `ocm-conformance` command. Each subcommand lives in its own module;
 * this file only wires them to commander and turns failures into one line.
 */
import { Command, CommanderError } from 'commander';
import { serveCommand } from './serve.ts';
import { runCommand } from './run.ts';
import { validateDiscoveryCommand } from './validate-discovery.ts';
import { reportCommand } from './report.ts';
import { matrixCommand } from './matrix.ts';
import { certifyCommand } from './certify.ts';
import { caCommand } from './ca.ts';
import { peersCommand } from './peers.ts';

const program = new Command()
  .name('ocm-conformance')
  .description('A strict reference Open Cloud Mesh server and conformance suites for any OCM implementation')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

program.addCommand(serveCommand());
program.addCommand(runCommand());
program.addCommand(validateDiscoveryCommand());
program.addCommand(reportCommand());
program.addCommand(matrixCommand());
program.addCommand(certifyCommand());
program.addCommand(caCommand());
program.addCommand(peersCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  // A setup stop (exit 2) is one line of its own: the cause and what to pass.
  if ((error as { exitCode?: unknown }).exitCode === 2) {
    console.error((error as Error).message);
    process.exit(2);
  }
  console.error(`ocm-conformance: ${(error as Error).message}`);
  // An inconclusive run (exit 3) is never reported as a plain failure.
  process.exit((error as { exitCode?: unknown }).exitCode === 3 ? 3 : 1);
}
