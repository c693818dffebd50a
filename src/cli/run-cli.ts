import { type CommandDef, runCommand, runMain, showUsage } from 'citty';
import { isLesionlabError } from '../core/errors.js';

const BUILTIN_FLAGS = new Set(['--help', '-h', '--version', '-v']);

/**
 * Runs the CLI: a `LesionlabError` becomes one readable line and exit code 2 (no stack trace); a usage
 * error prints the command's usage and exit code 1; any other error is a bug and keeps its stack.
 * citty's own `runMain` handles the no-argument, `--help` and `--version` cases.
 */
export async function runCli(main: CommandDef, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  if (rawArgs.length === 0 || rawArgs.some((arg) => BUILTIN_FLAGS.has(arg))) {
    await runMain(main, { rawArgs });
    return;
  }
  try {
    await runCommand(main, { rawArgs });
  } catch (error) {
    if (isLesionlabError(error)) {
      process.stderr.write(`lesionlab: ${error.message} [${error.code}]\n`);
      process.exitCode = 2;
    } else if (error instanceof Error && error.name === 'CLIError') {
      await showUsage(main);
      process.stderr.write(`lesionlab: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}
