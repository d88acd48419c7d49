/**
 * The `ocm-conformance` command. Each subcommand lives in its own module;
 * this file only wires them to commander and turns failures into one line.
 */
import { Command, CommanderError } from 'commander';

const program = new Command()
  .name('ocm-conformance')
  .description('A strict reference Open Cloud Mesh server and conformance suites for any OCM implementation')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

// Each command's module is loaded only when that command runs (the others pull in the
// reference server, the inspector, certificate code...: seconds of start-up on a small
// machine); help and an unknown command load them all, in this order.
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand(),
  run: async () => (await import('./run.ts')).runCommand(),
  'validate-discovery': async () => (await import('./validate-discovery.ts')).validateDiscoveryCommand(),
  report: async () => (await import('./report.ts')).reportCommand(),
  matrix: async () => (await import('./matrix.ts')).matrixCommand(),
  certify: async () => (await import('./certify.ts')).certifyCommand(),
  ca: async () => (await import('./ca.ts')).caCommand(),
  peers: async () => (await import('./peers.ts')).peersCommand(),
};
const named = process.argv[2];
const needed = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const command of await Promise.all(needed.map((name) => COMMANDS[name]!()))) program.addCommand(command);

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
