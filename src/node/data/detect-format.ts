import { readdir, readFile } from 'node:fs/promises';
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

/** What {@link findMetadataTable} found: the table to read, if any, and table files whose header no layout matched. */
export interface MetadataSearch {
  readonly table?: MetadataTable;
  readonly unrecognised: readonly string[];
}

/**
 * Finds the metadata table of a dataset: `explicit` when given, else the table files directly in `root`
 * (HAM10000_metadata.csv/.tab first), choosing by header the HAM10000, ISIC one-hot or generic layout.
 * `table` is absent when there is none (a folder-per-class dataset). A file named like the HAM10000
 * metadata must have its columns (unless another layout was requested): else `E_MISSING_COLUMN`.
 */
export async function findMetadataTable(
  root: string,
  explicit: string | undefined,
  requested: DatasetFormat | 'auto',
): Promise<MetadataSearch> {
  if (explicit) return { table: await readExplicit(explicit, requested), unrecognised: [] };
  const names = (await readdir(root)).filter((n) => TABLE_FILE.test(n) && !n.startsWith('.'));
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const candidates: MetadataTable[] = [];
  const unrecognised: string[] = [];
  for (const name of names) {
    const text = await readFile(join(root, name), 'utf8');
    const header = headerOf(text);
    if (mustBeHam10000(name, requested)) assertHam10000Header(header, name);
    const format = detectTableFormat(header);
    if (format && (requested === 'auto' || requested === format))
      candidates.push({ path: join(root, name), text, format });
    else if (requested === 'generic-csv' && format === undefined)
      candidates.push({ path: join(root, name), text, format: 'generic-csv' });
    else if (format === undefined) unrecognised.push(name);
  }
  candidates.sort((a, b) => PRIORITY.indexOf(a.format) - PRIORITY.indexOf(b.format));
  return { table: candidates[0], unrecognised };
}

/** A HAM10000-named file is read as HAM10000 unless the user asked for another layout. */
function mustBeHam10000(name: string, requested: DatasetFormat | 'auto'): boolean {
  return isHam10000MetadataName(name) && (requested === 'auto' || requested === 'ham10000');
}

async function readExplicit(path: string, requested: DatasetFormat | 'auto'): Promise<MetadataTable> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw expected({
      what: 'a readable metadata table',
      where: path,
      received: `a file that cannot be read (${error.message})`,
      fix: 'check the path and its permissions',
      code: 'E_MISSING_FILE',
      cause: error,
    });
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
  const end = clean.search(/\r?\n/);
  const first = end < 0 ? clean : clean.slice(0, end);
  return first.split(detectDelimiter(first)).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
}

function rank(name: string): number {
  return isHam10000MetadataName(name) ? 0 : 1;
}
