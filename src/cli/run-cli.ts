import { isLesionlabError } from '../core/errors.js';

/**
 * Runs the CLI body and turns a `LesionlabError` into one readable line and exit code 2, with no
 * stack trace; any other error is a bug and keeps its stack.
 */
export async function runCli(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (isLesionlabError(error)) {
      process.stderr.write(`lesionlab: ${error.message} [${error.code}]\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
