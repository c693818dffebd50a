import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseTable } from '../../core/data/csv.js';
import {
  normaliseLabels,
  type ParsedRows,
  parseGenericRows,
  parseHam10000Rows,
  parseIsicOnehotRows,
} from '../../core/data/formats.js';
import { FORMAT_ALIASES, type LoadOptions, LoadOptionsSchema } from '../../core/data/options.js';
import type { DataIssue, Dataset, DatasetFormat } from '../../core/data/records.js';
import { assertNoIssues, countIssues, matchRowsToFiles } from '../../core/data/validate.js';
import { LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { checkImageFiles } from './check-images.js';
import { findMetadataTable } from './detect-format.js';
import { type ImageFile, indexImageFiles, scanImageFiles } from './scan.js';

/** Options of {@link loadDataset}: the validated plain options plus a logger and progress hook. */
export interface LoadDatasetOptions extends LoadOptions {
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
}

/**
 * Reads and validates a dataset: HAM10000 (metadata .csv/.tab + image folders), ISIC one-hot ground truth,
 * a generic CSV, or a folder per class. `root` is the dataset folder or the metadata file itself; images are
 * looked up under `images` (default: that folder) by image id. Bad rows and
 * images are skipped and listed in `issues`; with `strict` any issue throws one `E_DATA_INVALID` error.
 */
export async function loadDataset(root: string, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const { logger = silentLogger, onProgress, ...plain } = options;
  const opts = parseLoadOptions(plain);
  const located = await resolveRoot(resolve(root), opts.metadata);
  const imagesRoot = opts.images ? await resolveImages(resolve(opts.images)) : located.dir;
  const files = await scanImageFiles(imagesRoot);
  const { parsed, tablePath } = await readRows(located, imagesRoot, files, opts);
  logger.info(
    `${tablePath ? basename(tablePath) : imagesRoot}: ${parsed.rows.length} rows as ${parsed.format}`,
  );
  const index = indexImageFiles(files);
  const matched = matchRowsToFiles(
    parsed.rows,
    index.byId,
    (opts.orphans ?? true) && tablePath !== undefined,
  );
  const paths = matched.records.map((r) => r.path);
  const corrupt =
    opts.checkImages === false
      ? new Map<string, string>()
      : await checkImageFiles(paths, { concurrency: opts.concurrency, onProgress });
  const issues: DataIssue[] = [
    ...parsed.issues,
    ...(tablePath ? index.issues : []),
    ...matched.issues,
    ...[...corrupt].map(([path, detail]) => ({ kind: 'corrupt-image' as const, subject: path, detail })),
  ];
  if (opts.strict) assertNoIssues(tablePath ?? imagesRoot, issues);
  if (issues.length > 0) {
    const counts = Object.entries(countIssues(issues)).map(([k, n]) => `${n} ${k}`);
    logger.warn(`${issues.length} data issues, affected rows skipped (${counts.join(', ')})`);
  }
  const records = matched.records.filter((r) => !corrupt.has(r.path));
  return { root: imagesRoot, format: parsed.format, classes: parsed.classes, records, issues };
}

function parseLoadOptions(plain: unknown): LoadOptions {
  const parsed = LoadOptionsSchema.safeParse(plain);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new LesionlabError('E_CONFIG', `loadDataset options: ${problems}`);
}

/** Reads the rows from the metadata table, or from the class folders when there is no table. */
async function readRows(
  located: { readonly dir: string; readonly metadataFile?: string },
  imagesRoot: string,
  files: readonly ImageFile[],
  opts: LoadOptions,
): Promise<{ parsed: ParsedRows; tablePath?: string }> {
  const requested = FORMAT_ALIASES[opts.format ?? 'auto'];
  if (requested === 'folder-per-class') return { parsed: folderRows(files) };
  const table = await findMetadataTable(located.dir, located.metadataFile, requested);
  if (table)
    return { parsed: parseRows(table.text, table.path, table.format, opts.columns), tablePath: table.path };
  if (requested !== 'auto') {
    throw new LesionlabError(
      'E_MISSING_FILE',
      `${located.dir}: no metadata table for format ${requested}; pass the CSV path as the root or with --metadata`,
    );
  }
  const parsed = folderRows(files);
  if (parsed.rows.length > 0) return { parsed };
  throw new LesionlabError(
    'E_MISSING_FILE',
    `${imagesRoot}: no metadata table (HAM10000_metadata.csv/.tab, ISIC ground-truth or image,label CSV) and no class folders with images; is this the dataset root?`,
  );
}

async function resolveRoot(
  root: string,
  metadata: string | undefined,
): Promise<{ dir: string; metadataFile?: string }> {
  const info = await stat(root).catch(() => undefined);
  if (!info) {
    throw new LesionlabError(
      'E_MISSING_FILE',
      `${root}: no such file or folder; pass the dataset folder (get HAM10000 with \`lesionlab fetch ham10000 --dest DIR\`)`,
    );
  }
  if (info.isFile()) return { dir: dirname(root), metadataFile: root };
  return { dir: root, metadataFile: metadata ? resolve(metadata) : undefined };
}

async function resolveImages(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new LesionlabError('E_MISSING_FILE', `${dir}: the images folder does not exist; check --images`);
  return dir;
}

function parseRows(
  text: string,
  path: string,
  format: DatasetFormat,
  columns: LoadOptions['columns'],
): ParsedRows {
  const table = parseTable(text, basename(path));
  if (format === 'ham10000') return parseHam10000Rows(table, basename(path));
  if (format === 'isic-onehot') return parseIsicOnehotRows(table, basename(path));
  return parseGenericRows(table, basename(path), columns);
}

function folderRows(files: readonly ImageFile[]): ParsedRows {
  const rows = files
    .filter((f) => f.topDir !== '')
    .map((f) => ({ imageId: f.imageId, label: f.topDir, groupId: f.imageId, source: f.path }));
  return normaliseLabels({ format: 'folder-per-class', classes: [], rows, issues: [] });
}
