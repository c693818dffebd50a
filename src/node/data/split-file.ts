import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseSplitFile, type SplitFile, SplitFileSchema } from '../../core/data/split-schema.js';
import { LesionlabError } from '../../core/errors.js';
import { writeFileAtomic } from '../write-atomic.js';

/** Reads and validates a split file written by {@link writeSplitFile}. */
export async function readSplitFile(path: string): Promise<SplitFile> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new LesionlabError(
      'E_MISSING_FILE',
      `${path}: cannot read the split file (${error.message}); create one with \`lesionlab split <root> --out ${basename(path)}\``,
    );
  });
  return parseSplitFile(text, basename(path));
}

/** Validates and writes a split file atomically (temp file in the same folder, then rename). */
export async function writeSplitFile(path: string, split: SplitFile): Promise<void> {
  const valid = SplitFileSchema.parse(split);
  await writeFileAtomic(path, `${JSON.stringify(valid, null, 1)}\n`);
}
