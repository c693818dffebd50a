import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { expected, isLesionlabError } from '../../core/errors.js';
import { writeFailure } from '../fs-errors.js';
import { swapInto } from '../write-atomic.js';

/** Every file an evaluation may write into its output folder; the folder is replaced as one set. */
export const EVALUATION_FILES: readonly string[] = [
  'predictions.csv',
  'predictions-tta.csv',
  'predictions-plain.csv',
  'report.html',
  'report.md',
  'report.json',
  'metrics.json',
  'report.png',
];

/**
 * Refuses an output folder that holds anything but an earlier evaluation's files (e.g. `--out` pointed at a
 * run folder or a home directory): the new set replaces the whole folder.
 */
export async function assertReplaceableOutDir(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch(() => [] as string[]);
  const others = entries.filter((name) => !EVALUATION_FILES.includes(name));
  if (others.length === 0) return;
  const listed = others.slice(0, 5).join(', ') + (others.length > 5 ? ', …' : '');
  throw expected({
    what: 'a new or empty folder, or an earlier evaluation',
    where: `--out ${outDir}`,
    received: `a folder that holds other files (${listed})`,
    fix: 'evaluate replaces its output folder as a whole, so choose a new or empty folder',
    code: 'E_CONFIG',
  });
}

/**
 * Writes a set of files as one: `write` fills a temp folder beside `outDir`, which then replaces `outDir`
 * (old folder renamed aside, new one renamed in, old one removed), so a reader sees the old set or the new
 * one, never a mix. On failure the temp folder is removed and `outDir` is left as it was; a failed write is
 * one `E_WRITE` line. Returns what `write` returned with its paths under `outDir`, see {@link relocate}.
 */
export async function writeOutputSet<T>(outDir: string, write: (dir: string) => Promise<T>): Promise<T> {
  let stage: string | undefined;
  try {
    await mkdir(dirname(outDir), { recursive: true });
    stage = await mkdtemp(join(dirname(outDir), `.${basename(outDir)}.tmp-${process.pid}-`));
    const result = await write(stage);
    await swapInto(stage, outDir);
    return relocate(result, stage, outDir);
  } catch (error) {
    if (stage) await rm(stage, { recursive: true, force: true }).catch(() => {});
    // a write inside the temp folder names the folder the user asked for
    const inStage = isLesionlabError(error) && error.code === 'E_WRITE' && error.cause !== undefined;
    throw await writeFailure(inStage ? error.cause : error, outDir);
  }
}

/** `value` with every string that starts with `from` (a path in the temp folder) moved under `to`. */
export function relocate<T>(value: T, from: string, to: string): T {
  if (typeof value === 'string')
    return (value === from || value.startsWith(`${from}/`) ? to + value.slice(from.length) : value) as T;
  if (Array.isArray(value)) return value.map((v) => relocate(v, from, to)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v, from, to)])) as T;
  }
  return value;
}
