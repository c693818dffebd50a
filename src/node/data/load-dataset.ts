import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { issueProblem } from '../../core/config/zod-issue.js';
import { parseTable } from '../../core/data/csv.js';
import {
  assertColumnOverrides,
  normaliseLabels,
  type ParsedRows,
  parseGenericRows,
  parseHam10000Rows,
  parseIsicOnehotRows,
} from '../../core/data/formats.js';
import { formatOfName, type LoadOptions, LoadOptionsSchema } from '../../core/data/options.js';
import type { DataIssue, Dataset, DatasetFormat, DatasetGrouping } from '../../core/data/records.js';
import { assertNoIssues, countIssues, matchRowsToFiles } from '../../core/data/validate.js';
import { expected } from '../../core/errors.js';
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
  const { parsed, tablePath } = await readRows(located, imagesRoot, files, opts, logger);
  const source = tablePath ? basename(tablePath) : imagesRoot;
  logger.info(`${source}: ${parsed.rows.length} rows as ${parsed.format}`);
  if (parsed.grouping.by === 'image') logger.warn(groupingWarning(source, parsed.grouping));
  const index = indexImageFiles(files);
  const matched = matchRowsToFiles(
    parsed.rows,
    index.byId,
    (opts.orphans ?? true) && tablePath !== undefined,
    parsed.skippedIds,
  );
  const paths = matched.records.map((r) => r.path);
  const corrupt =
    opts.checkImages === false
      ? new Map<string, string>()
      : await checkImageFiles(paths, {
          concurrency: opts.concurrency,
          decode: opts.checkImages === 'decode',
          onProgress,
        });
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
  const { format, classes, grouping } = parsed;
  // the split fingerprint covers the matched rows whatever the image check left out (see Dataset.matchedIds)
  const matchedIds = matched.records.map((r) => r.imageId);
  return { root: imagesRoot, format, classes, grouping, records, issues, matchedIds };
}

function groupingWarning(source: string, grouping: Extract<DatasetGrouping, { by: 'image' }>): string {
  const looked = grouping.searched ? ` (looked for ${grouping.searched.join(', ')})` : '';
  return (
    `${source}: NO LESION GROUPING: ${grouping.reason}${looked}; each image is its own group, so a split may put ` +
    'one lesion in both train and test; name the column with --group-column, or confirm with `split --group-by image`'
  );
}

function parseLoadOptions(plain: unknown): LoadOptions {
  const parsed = LoadOptionsSchema.safeParse(plain);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const problem = issue
    ? issueProblem(issue, plain)
    : { what: 'valid options', key: '(root)', received: 'others' };
  throw expected({
    what: problem.what,
    where: `loadDataset option ${problem.key}`,
    received: problem.received,
    fix: 'see LoadOptions for the accepted keys and values',
    code: 'E_CONFIG',
  });
}

/** Reads the rows from the metadata table, or from the class folders when there is no table. */
async function readRows(
  located: { readonly dir: string; readonly metadataFile?: string },
  imagesRoot: string,
  files: readonly ImageFile[],
  opts: LoadOptions,
  logger: Logger,
): Promise<{ parsed: ParsedRows; tablePath?: string }> {
  const requested = formatOfName(opts.format ?? 'auto');
  if (requested === 'folder-per-class')
    return { parsed: folderRows(files, imagesRoot, logger, opts.columns) };
  const { table, unrecognised, unreadable } = await findMetadataTable(
    located.dir,
    located.metadataFile,
    requested,
  );
  for (const file of unreadable)
    logger.warn(`${file}: cannot be read, left out of the search for the metadata table`);
  if (table)
    return { parsed: parseRows(table.text, table.path, table.format, opts.columns), tablePath: table.path };
  if (requested !== 'auto') {
    throw expected({
      what: `a metadata table of format ${requested}`,
      where: located.dir,
      received: 'none',
      fix: 'pass the CSV path as the root or with --metadata',
      code: 'E_MISSING_FILE',
    });
  }
  const parsed = folderRows(files, imagesRoot, logger, opts.columns);
  if (parsed.rows.length > 0 && unrecognised.length > 0)
    logger.warn(
      `${unrecognised.join(', ')}: header matches no metadata layout (need image + label columns, or --format csv with --image-column/--label-column); reading class folders instead`,
    );
  if (parsed.rows.length > 0) return { parsed };
  throw expected({
    what: 'a metadata table (HAM10000_metadata.csv/.tab, ISIC ground-truth or image,label CSV) or class folders with images',
    where: imagesRoot,
    received: 'neither',
    fix: 'is this the dataset root?',
    code: 'E_MISSING_FILE',
  });
}

async function resolveRoot(
  root: string,
  metadata: string | undefined,
): Promise<{ dir: string; metadataFile?: string }> {
  const info = await stat(root).catch(() => undefined);
  if (!info) {
    throw expected({
      what: 'a dataset folder or metadata file',
      where: 'the dataset root',
      received: `${root}, which does not exist`,
      fix: 'pass the dataset folder (get HAM10000 with `lesionlab fetch ham10000 --dest DIR`)',
      code: 'E_MISSING_FILE',
    });
  }
  if (info.isFile()) return { dir: dirname(root), metadataFile: root };
  return { dir: root, metadataFile: metadata ? resolve(metadata) : undefined };
}

async function resolveImages(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw expected({
      what: 'a folder',
      where: '--images',
      received: `${dir}, which is not one`,
      fix: 'check --images',
      code: 'E_MISSING_FILE',
    });
  return dir;
}

function parseRows(
  text: string,
  path: string,
  format: DatasetFormat,
  columns: LoadOptions['columns'],
): ParsedRows {
  const table = parseTable(text, basename(path));
  if (format === 'ham10000') return parseHam10000Rows(table, basename(path), columns);
  if (format === 'isic-onehot') return parseIsicOnehotRows(table, basename(path), columns);
  return parseGenericRows(table, basename(path), columns);
}

/** Image folders of the HAM10000 download: never class folders. */
const HAM10000_IMAGE_DIR = /^ham10000_images(_part_\d+)?$/i;

function folderRows(
  files: readonly ImageFile[],
  imagesRoot: string,
  logger: Logger,
  columns: LoadOptions['columns'] = {},
): ParsedRows {
  assertColumnOverrides(columns, {
    name: imagesRoot,
    layout: 'a folder per class, without a metadata table',
    supported: [],
    fix: 'drop the column flags, or read a table: --format csv, with --metadata TABLE when it is elsewhere',
  });
  const inClassDir = files.filter((f) => f.topDir !== '');
  const hamDirs = [...new Set(inClassDir.map((f) => f.topDir).filter((d) => HAM10000_IMAGE_DIR.test(d)))];
  const rows = inClassDir
    .filter((f) => !HAM10000_IMAGE_DIR.test(f.topDir))
    .map((f) => ({ imageId: f.imageId, label: f.topDir, groupId: f.imageId, source: f.path }));
  if (hamDirs.length > 0 && rows.length === 0) {
    throw expected({
      what: 'HAM10000_metadata.csv/.tab next to the HAM10000 image folders (it holds their labels and lesions)',
      where: imagesRoot,
      received: `the image folders ${hamDirs.join(', ')} without it`,
      fix: 'put it in this folder or pass it with --metadata',
      code: 'E_MISSING_FILE',
    });
  }
  if (hamDirs.length > 0)
    logger.warn(`${hamDirs.join(', ')}: HAM10000 image folders, not classes; their images are left out`);
  const grouping = {
    by: 'image' as const,
    reason: 'a folder per class has no lesion information',
  };
  return normaliseLabels({ format: 'folder-per-class', classes: [], rows, issues: [], grouping });
}
