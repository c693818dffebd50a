import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseSplitFile, type SplitFile, SplitFileSchema } from '../../core/data/split-schema.js';
import { LesionlabError } from '../../core/errors.js';
import { writeFailure } from '../fs-errors.js';

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

/**
 * Writes `data` to `path` via a temp file and rename, creating the folder; never leaves a half-written file
 * nor its temp file. A full disk, read-only folder, … throws one `E_WRITE` line naming `path`.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw await writeFailure(error, path);
  }
}
