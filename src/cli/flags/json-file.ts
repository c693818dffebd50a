import { readFile } from 'node:fs/promises';
import { expected } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';

/**
 * Reads the JSON file a flag names (`--config`): a missing or unreadable file is `E_MISSING_FILE`, bad JSON
 * `E_CONFIG`, each naming the flag and the file. A UTF-8 byte-order mark (Windows editors) is accepted.
 */
export async function readJsonFlag(path: string, flag: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw expected({
      what: 'a readable JSON file',
      where: flag,
      received: `${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      fix: `check the ${flag} path`,
      code: 'E_MISSING_FILE',
      cause: error,
    });
  });
  return parseJsonText(text.replace(/^\uFEFF/, ''), {
    where: `${flag} ${path}`,
    fix: 'fix the JSON (no trailing commas or comments)',
    code: 'E_CONFIG',
  });
}
