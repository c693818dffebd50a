import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { findColumn, parseTable } from '../../core/data/csv.js';
import { LesionlabError } from '../../core/errors.js';

/** File extensions `predict` treats as images when it walks a folder. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

const PATH_COLUMNS = ['path', 'file', 'filename', 'image_path', 'image'];
const ID_COLUMNS = ['image_id', 'id'];

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Every image file under `dir`, recursively, sorted by path. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && isImageName(e.name))
    .map((e) => join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name))
    .sort();
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
      const p = (r.cells[pathCol] ?? '').trim();
      return isAbsolute(p) ? p : join(dir, p);
    });
  }
  const idCol = findColumn(table.header, ID_COLUMNS);
  if (idCol < 0) {
    throw new LesionlabError(
      'E_MISSING_COLUMN',
      `${csvPath}: no image column (found ${table.header.join(', ')}); add a "path" column or an "image_id" column`,
    );
  }
  return pathsFromIds(
    dir,
    table.rows.map((r) => (r.cells[idCol] ?? '').trim()),
  );
}

/** The images `predict` should classify for `target`: one image file, a folder (recursive) or a CSV. */
export async function resolvePredictInputs(target: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch {
    throw new LesionlabError(
      'E_MISSING_FILE',
      `${target}: no such file or folder; pass an image, a folder or a CSV`,
    );
  }
  if (info.isDirectory()) return listImageFiles(target);
  if (extname(target).toLowerCase() === '.csv') return listCsvImages(target);
  return [resolve(target)];
}
