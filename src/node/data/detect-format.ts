import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { detectDelimiter } from '../../core/data/csv.js';
import { assertHam10000Header, detectTableFormat, isHam10000MetadataName } from '../../core/data/formats.js';
import type { DatasetFormat } from '../../core/data/records.js';
import { expected } from '../../core/errors.js';

/** A metadata table found for a dataset: its path, text and detected (or requested) layout. */
export interface MetadataTable {
  readonly path: string;
  readonly text: string;
  readonly format: DatasetFormat;
}

const TABLE_FILE = /\.(csv|tab|tsv)$/i;
const PRIORITY: readonly DatasetFormat[] = ['ham10000', 'isic-onehot', 'generic-csv'];

/**
 * What {@link findMetadataTable} found: the table to read, if any, table files whose header no layout matched,
 * and table files that could not be read (each `name (why)`), which the caller reports as warnings.
 */
export interface MetadataSearch {
  readonly table?: MetadataTable;
  readonly unrecognised: readonly string[];
  readonly unreadable: readonly string[];
}

/** A table file of the root that may be the metadata: `detected` when its header matched the layout. */
interface Candidate extends MetadataTable {
  readonly name: string;
  readonly detected: boolean;
}

/**
 * Finds the metadata table of a dataset: `explicit` when given, else the table files directly in `root`
 * (HAM10000_metadata.csv/.tab first), choosing by header the HAM10000, ISIC one-hot or generic layout.
 * `table` is absent when there is none (a folder-per-class dataset). A file named like the HAM10000
 * metadata must have its columns (unless another layout was requested): else `E_MISSING_COLUMN`. Folders
 * and other non-files named like tables are passed over; other tables that cannot be read are listed in
 * `unreadable` (a HAM10000-named one is `E_MISSING_FILE`: it would be the table). Two or more equally good
 * tables (e.g. two image,label CSVs) are `E_CONFIG`, naming them: the user picks one with --metadata.
 */
export async function findMetadataTable(
  root: string,
  explicit: string | undefined,
  requested: DatasetFormat | 'auto',
): Promise<MetadataSearch> {
  if (explicit) return { table: await readExplicit(explicit, requested), unrecognised: [], unreadable: [] };
  const names = (await readdir(root)).filter((n) => TABLE_FILE.test(n) && !n.startsWith('.'));
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const candidates: Candidate[] = [];
  const unrecognised: string[] = [];
  const unreadable: string[] = [];
  for (const name of names) {
    const path = join(root, name);
    const read = await readTableFile(path);
    if (read.kind === 'not-a-file') continue;
    if (read.kind === 'unreadable') {
      if (mustBeHam10000(name, requested)) throw unreadableTable(path, read.error);
      unreadable.push(`${name} (${read.error.message})`);
      continue;
    }
    const { text } = read;
    const header = headerOf(text);
    if (mustBeHam10000(name, requested)) assertHam10000Header(header, name);
    const format = detectTableFormat(header);
    if (format && (requested === 'auto' || requested === format))
      candidates.push({ name, path, text, format, detected: true });
    else if (requested === 'generic-csv' && format === undefined)
      candidates.push({ name, path, text, format: 'generic-csv', detected: false });
    else if (format === undefined) unrecognised.push(name);
  }
  candidates.sort((a, b) => preference(a).localeCompare(preference(b)));
  const [best] = candidates;
  if (best === undefined) return { unrecognised, unreadable };
  const tied = candidates.filter((c) => preference(c) === preference(best));
  if (tied.length > 1) {
    throw expected({
      what: 'one metadata table',
      where: root,
      received: `${tied.length} ${best.format} tables, ${tied.map((c) => c.name).join(', ')}`,
      fix: 'pass the one to read with --metadata (or as the dataset root)',
      code: 'E_CONFIG',
    });
  }
  return { table: { path: best.path, text: best.text, format: best.format }, unrecognised, unreadable };
}

/** Sort key of a candidate: layout (HAM10000, ISIC one-hot, generic), then HAM10000-named, then detected. */
function preference(c: Candidate): string {
  return `${PRIORITY.indexOf(c.format)}${rank(c.name)}${c.detected ? 0 : 1}`;
}

type TableFileRead =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'not-a-file' }
  | { readonly kind: 'unreadable'; readonly error: Error };

/** Reads a table file of the root; a folder (or another non-file) named like a table is `not-a-file`. */
async function readTableFile(path: string): Promise<TableFileRead> {
  try {
    // stat follows links: a dangling one fails here and is reported as unreadable
    if (!(await stat(path)).isFile()) return { kind: 'not-a-file' };
    return { kind: 'text', text: await readFile(path, 'utf8') };
  } catch (error) {
    return { kind: 'unreadable', error: error as Error };
  }
}

function unreadableTable(path: string, error: Error) {
  return expected({
    what: 'a readable metadata table',
    where: path,
    received: `a file that cannot be read (${error.message})`,
    fix: 'check the path and its permissions',
    code: 'E_MISSING_FILE',
    cause: error,
  });
}

/** A HAM10000-named file is read as HAM10000 unless the user asked for another layout. */
function mustBeHam10000(name: string, requested: DatasetFormat | 'auto'): boolean {
  return isHam10000MetadataName(name) && (requested === 'auto' || requested === 'ham10000');
}

async function readExplicit(path: string, requested: DatasetFormat | 'auto'): Promise<MetadataTable> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw unreadableTable(path, error);
  });
  const header = headerOf(text);
  if (mustBeHam10000(path, requested)) assertHam10000Header(header, basename(path));
  const format = requested === 'auto' ? detectTableFormat(header) : requested;
  if (!format || format === 'folder-per-class') {
    throw expected({
      what: 'a HAM10000 (lesion_id, image_id, dx, ...), ISIC one-hot (image, MEL, NV, ...) or image,label header',
      where: basename(path),
      received: `the header ${header.join(', ')}`,
      fix: 'set --format and the column names',
      code: 'E_BAD_CSV',
    });
  }
  return { path, text, format };
}

function headerOf(text: string): string[] {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const end = clean.search(/\r\n|\r|\n/);
  const first = end < 0 ? clean : clean.slice(0, end);
  return first.split(detectDelimiter(first)).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
}

function rank(name: string): number {
  return isHam10000MetadataName(name) ? 0 : 1;
}
