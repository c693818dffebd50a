import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { findColumn, parseTable } from '../../core/data/csv.js';
import { expected, isLesionlabError } from '../../core/errors.js';
import { csvText } from '../../core/format/csv.js';
import { type LesionMetadata, METADATA_COLUMNS, parseLesionMetadata } from '../../core/train/metadata.js';

/** File extensions `predict` classifies when it walks a folder: the raster formats sharp decodes. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
];

/** Image formats found in a folder that `predict` cannot classify, with why: listed as skipped, never silently. */
export const UNSUPPORTED_IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  '.bmp': 'BMP is not supported; convert it to PNG',
  '.dib': 'BMP is not supported; convert it to PNG',
  '.svg': 'vector image (SVG); rasterise it to PNG first',
  '.heic': 'HEIC is not supported; convert it to JPEG or PNG',
  '.heif': 'HEIF is not supported; convert it to JPEG or PNG',
  '.avif': 'AVIF is not supported; convert it to JPEG or PNG',
  '.jp2': 'JPEG 2000 is not supported; convert it to PNG',
  '.jxl': 'JPEG XL is not supported; convert it to PNG',
  '.ico': 'icon files are not supported; convert it to PNG',
  '.psd': 'Photoshop files are not supported; export a PNG',
  '.dng': 'raw camera files are not supported; export a JPEG or PNG',
};

/** A file `predict` found but could not classify, and why. */
export interface SkippedInput {
  readonly path: string;
  readonly reason: string;
}

/** What `predict` will classify for a target, and what it found but cannot classify. */
export interface PredictInputs {
  /** Files to classify, in order. */
  readonly paths: string[];
  /** Image files of unsupported formats and broken symbolic links found in a folder. */
  readonly skipped: SkippedInput[];
  /** Other files in a folder (not images by their extension), not classified. */
  readonly ignored: string[];
  /** True when the target is one image file (not a folder or CSV). */
  readonly single: boolean;
  /** Lesion metadata per path (a CSV with `age`, `sex` or `localization` columns; never `dx_type`). */
  readonly metadata?: readonly LesionMetadata[];
}

const PATH_COLUMNS = ['path', 'file', 'filename', 'image_path', 'image'];
const ID_COLUMNS = ['image_id', 'id'];

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Every image file under `dir`, recursively, sorted by path (symbolic links to files included). */
export async function listImageFiles(dir: string): Promise<string[]> {
  return (await scanFolder(dir)).paths;
}

/** What a folder holds for `predict`: {@link PredictInputs} without `single`. */
export type FolderScan = Omit<PredictInputs, 'single'>;

/**
 * Walks `dir` recursively (sorted by path): images to classify, unsupported image formats and broken
 * symbolic links (skipped, with why), and other files (ignored). Hidden files are neither.
 */
export async function scanFolder(dir: string): Promise<FolderScan> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const found: FolderScan = { paths: [], skipped: [], ignored: [] };
  const sorted = entries
    .map((e) => [join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name), e] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [path, entry] of sorted) await sortEntry(path, entry, found);
  return found;
}

async function sortEntry(path: string, entry: Dirent, into: FolderScan): Promise<void> {
  if (entry.isDirectory()) return;
  if (entry.isSymbolicLink()) {
    const target = await stat(path).catch(() => undefined);
    if (target === undefined)
      into.skipped.push({ path, reason: 'broken symbolic link (its target is missing)' });
    else if (target.isFile()) sortFile(path, into);
    return;
  }
  if (entry.isFile()) sortFile(path, into);
}

function sortFile(path: string, into: FolderScan): void {
  const name = basename(path);
  const unsupported = UNSUPPORTED_IMAGE_EXTENSIONS[extname(name).toLowerCase()];
  if (isImageName(name)) into.paths.push(path);
  else if (unsupported) into.skipped.push({ path, reason: unsupported });
  else if (!name.startsWith('.')) into.ignored.push(path);
}

async function pathsFromIds(csvDir: string, ids: readonly string[]): Promise<string[]> {
  const byStem = new Map<string, string>();
  for (const file of await listImageFiles(csvDir)) {
    const name = basename(file);
    byStem.set(name.slice(0, name.length - extname(name).length), file);
  }
  return ids.map((id) => byStem.get(id) ?? join(csvDir, id));
}

/**
 * Image paths listed by a CSV: a `path`/`file`/`image` column (relative paths resolve against the CSV's
 * folder), or an `image_id` column whose ids are looked up as file stems under the CSV's folder
 * (so `HAM10000_metadata.csv` works as is).
 */
export async function listCsvImages(csvPath: string): Promise<string[]> {
  const table = parseTable(await readFile(csvPath, 'utf8'), csvPath);
  const dir = dirname(resolve(csvPath));
  const pathCol = findColumn(table.header, PATH_COLUMNS);
  if (pathCol >= 0) {
    return table.rows.map((r) => {
      // csvText: a path predict wrote behind a spreadsheet guard (`'=x.jpg`) reads back as itself
      const p = csvText((r.cells[pathCol] ?? '').trim());
      return isAbsolute(p) ? p : join(dir, p);
    });
  }
  const idCol = findColumn(table.header, ID_COLUMNS);
  if (idCol < 0) {
    throw expected({
      what: `an image column (${[...PATH_COLUMNS, ...ID_COLUMNS].join(', ')})`,
      where: csvPath,
      received: `the columns ${table.header.join(', ')}`,
      fix: 'add a "path" column or an "image_id" column',
      code: 'E_MISSING_COLUMN',
    });
  }
  return pathsFromIds(
    dir,
    table.rows.map((r) => csvText((r.cells[idCol] ?? '').trim())),
  );
}

/**
 * Lesion metadata of each row of a CSV that has `age`, `sex` or `localization` columns (HAM10000's names; other
 * columns, `dx_type` included, are ignored), in row order; `undefined` when it has none of them.
 */
export async function listCsvMetadata(csvPath: string): Promise<LesionMetadata[] | undefined> {
  const table = parseTable(await readFile(csvPath, 'utf8'), csvPath);
  const cols = METADATA_COLUMNS.map((name) => [name, findColumn(table.header, [name])] as const);
  if (cols.every(([, c]) => c < 0)) return undefined;
  return table.rows.map((r, i) => {
    const row = Object.fromEntries(cols.flatMap(([name, c]) => (c >= 0 ? [[name, r.cells[c] ?? '']] : [])));
    try {
      return parseLesionMetadata(row, { strict: true });
    } catch (error) {
      if (!isLesionlabError(error)) throw error;
      throw expected({
        what: 'lesion metadata lesionlab accepts',
        where: `${csvPath} row ${i + 2}`,
        received: `a row it refuses (${error.message})`,
        fix: 'correct that row',
        code: 'E_INPUT',
        cause: error,
      });
    }
  });
}

/** The images `predict` should classify for `target`: one image file, a folder (recursive) or a CSV. */
export async function resolvePredictInputs(target: string): Promise<string[]> {
  return (await collectPredictInputs(target)).paths;
}

/**
 * What `predict` classifies for `target` (one image file, a folder walked recursively, or a CSV of paths or
 * image ids) and, for a folder, what it skips and ignores. An explicit file is always tried, whatever its name.
 */
export async function collectPredictInputs(target: string): Promise<PredictInputs> {
  const info = await stat(target).catch(async () => {
    const link = await lstat(target).catch(() => undefined);
    const what = link?.isSymbolicLink()
      ? 'a broken symbolic link (its target is missing)'
      : 'no such file or folder';
    throw expected({
      what: 'an image, a folder or a CSV',
      where: target,
      received: what,
      fix: 'check the path',
      code: 'E_MISSING_FILE',
    });
  });
  if (info.isDirectory()) return { ...(await scanFolder(target)), single: false };
  if (extname(target).toLowerCase() === '.csv') {
    const metadata = await listCsvMetadata(target);
    return {
      paths: await listCsvImages(target),
      skipped: [],
      ignored: [],
      single: false,
      ...(metadata ? { metadata } : {}),
    };
  }
  return { paths: [resolve(target)], skipped: [], ignored: [], single: true };
}

/** Throws `E_INPUT` naming `target` when it holds nothing `predict` can classify. */
export function assertInputsToClassify(target: string, inputs: PredictInputs): void {
  if (inputs.paths.length > 0) return;
  throw expected({
    what: 'images to classify',
    where: target,
    received: `none (${inputs.skipped.length} skipped, ${inputs.ignored.length} other files)`,
    fix: `pass images (${IMAGE_EXTENSIONS.join(' ')}), a folder of them or a CSV`,
    code: 'E_INPUT',
  });
}
