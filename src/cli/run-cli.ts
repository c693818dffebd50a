import { stripVTControlCharacters } from 'node:util';
import { type CommandDef, renderUsage, runCommand, runMain } from 'citty';
import { isLesionlabError } from '../core/errors.js';
import { systemErrorCode } from '../node/fs-errors.js';
import { checkUnknownFlags, resolveCommand } from './unknown-flags.js';

const HELP_FLAGS = new Set(['--help', '-h']);
const VERSION_FLAGS = new Set(['--version', '-v']);

/**
 * What citty's `runMain` answers itself: `--help` (or `-h`) before any `--`, and `--version` (or `-v`) alone.
 * runMain runs anything else without our error handling (a stack trace, exit 1, no flag check), so a stray
 * `-v` after a command goes through {@link runCli}'s checks instead, as an unknown flag.
 */
function forCitty(rawArgs: readonly string[]): boolean {
  const end = rawArgs.indexOf('--');
  const options = end < 0 ? rawArgs : rawArgs.slice(0, end);
  if (options.some((arg) => HELP_FLAGS.has(arg))) return true;
  return rawArgs.length === 1 && VERSION_FLAGS.has(rawArgs[0] ?? '');
}

/**
 * Runs the CLI: a `LesionlabError` becomes one readable line and exit code 2 (no stack trace), and so does a
 * system error that no writer translated (ENOSPC, EACCES, …: Node's own one-line message); a usage error
 * citty reports (a missing argument, a value not among an enum's choices, an unknown command) prints the usage
 * of the command named (not the whole command list) and then the error, both on stderr, and exit code 1; any other
 * error is a bug: its stack (only, not Node's dump of the throwing source line, which for minified wasm glue runs
 * to tens of KB) and exit code 1.
 * A flag the command does not define, a yes/no flag given a value, or an extra argument is a usage error naming
 * it and the fix (`E_USAGE`, exit code 1). citty's own `runMain` handles `--help` and a lone `--version`.
 */
export async function runCli(main: CommandDef, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  if (forCitty(rawArgs)) {
    await runMain(main, { rawArgs });
    return;
  }
  try {
    await checkUnknownFlags(main, rawArgs); // loads the command's module, and with it TF.js if it uses it
    quietTensorflow();
    await runCommand(main, { rawArgs });
  } catch (error) {
    const code = systemErrorCode(error);
    if (isLesionlabError(error)) {
      process.stderr.write(`lesionlab: ${error.message} [${error.code}]\n`);
      process.exitCode = error.code === 'E_USAGE' ? 1 : 2;
    } else if (error instanceof Error && error.name === 'CLIError') {
      await printUsage(main, rawArgs);
      process.stderr.write(`lesionlab: ${forStderr(error.message)}\n`);
      process.exitCode = 1;
    } else if (code !== undefined) {
      process.stderr.write(`lesionlab: ${(error as Error).message} [${code}]\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`lesionlab: internal error (a bug; please report it):\n${stackOf(error)}\n`);
      process.exitCode = 1;
    }
  }
}

/** The usage of the command `rawArgs` names, on stderr (citty's `showUsage` writes the given command's to stdout). */
async function printUsage(main: CommandDef, rawArgs: readonly string[]): Promise<void> {
  const { command, parent } = await resolveCommand(main, rawArgs);
  const usage = forStderr(await renderUsage(command, parent)).replace(/[ \t]+$/gm, ''); // citty pads columns
  process.stderr.write(`${usage}\n\n`);
}

/** citty's text without its colours when stderr is not a terminal (citty itself only looks at NO_COLOR, CI, …). */
function forStderr(text: string): string {
  return process.stderr.isTTY ? text : stripVTControlCharacters(text);
}

/**
 * Sets TF.js's PROD flag when the command loaded TF.js (its engine lives on `globalThis._tfengine`), which
 * silences its console output: the cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js"
 * banner. Commands that choose a backend set it there too (node/backend/backend.ts); this covers the rest
 * (evaluate, export, augment-preview, web) without loading TF.js for commands that never use it.
 */
function quietTensorflow(): void {
  type TfGlobal = { _tfengine?: { ENV?: { set(flag: string, value: boolean): void } } };
  (globalThis as TfGlobal)._tfengine?.ENV?.set('PROD', true);
}

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
