import { type CommandDef, runCommand, runMain, showUsage } from 'citty';
import { isLesionlabError } from '../core/errors.js';
import { systemErrorCode } from '../node/fs-errors.js';
import { checkUnknownFlags } from './unknown-flags.js';

const BUILTIN_FLAGS = new Set(['--help', '-h', '--version', '-v']);

/**
 * Runs the CLI: a `LesionlabError` becomes one readable line and exit code 2 (no stack trace), and so does a
 * system error that no writer translated (ENOSPC, EACCES, …: Node's own one-line message); a usage error
 * prints the command's usage and exit code 1; any other error is a bug: its stack (only, not Node's dump of
 * the throwing source line, which for minified wasm glue runs to tens of KB) and exit code 1.
 * A flag the command does not define is a usage error naming the closest valid one (exit code 1).
 * citty's own `runMain` handles the no-argument, `--help` and `--version` cases.
 */
export async function runCli(main: CommandDef, rawArgs: string[] = process.argv.slice(2)): Promise<void> {
  if (rawArgs.length === 0 || rawArgs.some((arg) => BUILTIN_FLAGS.has(arg))) {
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
      await showUsage(main);
      process.stderr.write(`lesionlab: ${error.message}\n`);
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
