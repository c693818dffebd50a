import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expected, shown } from '../../core/errors.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { writeFailure } from '../fs-errors.js';

/**
 * The shared shape of the caches derived from the image cache (pooled features, prefix activations): a
 * folder named by a hash of its key, holding one data file and an `index.json`, written into a temp
 * folder and renamed into place, so a killed build never leaves a cache that looks complete.
 */
const INDEX = 'index.json';

/** `<cacheRoot>/<kind>/<name>-<sha256(key)[0:16]>`: change anything in `key` and the folder changes. */
export function keyedCacheDir(cacheRoot: string, kind: string, name: string, key: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(cacheRoot, kind, `${name}-${digest}`);
}

/**
 * The index of a complete cache folder whose data file holds `dataBytes` bytes and whose index lists
 * exactly `ids` (in order); null when the folder, its index or its data is missing or does not match.
 */
export async function readCompleteIndex<Index extends object>(
  dir: string,
  dataFile: string,
  dataBytes: number,
  ids: readonly string[],
): Promise<Index | null> {
  const text = await readFile(join(dir, INDEX), 'utf8').catch(() => null);
  if (text === null) return null;
  const index = JSON.parse(text) as Index & { readonly ids?: readonly string[] };
  const size = await stat(join(dir, dataFile)).then(
    (s) => s.size,
    () => -1,
  );
  return size === dataBytes && (index.ids ?? []).join('\n') === ids.join('\n') ? index : null;
}

/**
 * Writes the cache folder `dir`: `fill` writes the data file into a temp folder, then `index` is written
 * beside it and the folder renamed into place (replacing an outdated one). A failed write removes the temp
 * folder; a filesystem failure becomes `E_WRITE` naming `dir`, a `LesionlabError` from `fill` passes unchanged.
 */
export async function writeCacheFolder(
  dir: string,
  index: object,
  fill: (temp: string) => Promise<void>,
): Promise<void> {
  const temp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(temp, { recursive: true });
    await fill(temp);
    await writeFile(join(temp, INDEX), JSON.stringify(index));
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    throw await writeFailure(error, dir);
  }
}

/**
 * Builds the cache folder `dir` ({@link writeCacheFolder}): extracts every batch ({@link extractInBatches})
 * and writes the values `stored` returns for it (the rows themselves, or e.g. their float16 bits; the caller
 * may keep the rows too) at the batch's place in `dataFile`, then writes `index`.
 */
export function buildCacheFolder(
  dir: string,
  index: object,
  dataFile: string,
  job: ExtractionJob,
  stored: (first: number, rows: Float32Array) => Float32Array | Uint16Array,
): Promise<void> {
  return writeCacheFolder(dir, index, async (temp) => {
    const handle = await open(join(temp, dataFile), 'w');
    try {
      await extractInBatches(job, async (first, rows) => {
        const values = stored(first, rows);
        const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
        const position = first * job.views * job.rowSize * values.BYTES_PER_ELEMENT;
        await handle.write(bytes, 0, bytes.byteLength, position);
      });
    } finally {
      await handle.close();
    }
  });
}

/** Computes the rows of cache items (positions) for one view: float32 [items.length·rowSize]. */
export type RowExtractor = (items: readonly number[], view: number) => Promise<Float32Array>;

/** What every derived cache's `loadOrBuild*` takes besides its key and row size. */
export interface CacheBuildOptions {
  /** The folder that holds every cache (`<cacheRoot>/<kind>/…`). */
  readonly cacheRoot: string;
  /** Image ids in cache order. */
  readonly ids: readonly string[];
  readonly extract: RowExtractor;
  /** Images per extractor call. */
  readonly batchSize: number;
  readonly onProgress?: ProgressHook;
  readonly logger?: Logger;
}

/** What to extract for a cache: every item at every view, a batch of items at a time. */
export interface ExtractionJob {
  /** Items (cache positions `0..count-1`). */
  readonly count: number;
  readonly views: number;
  readonly batchSize: number;
  /** Values per item and view: a feature width, an activation map's size. */
  readonly rowSize: number;
  /** The rows of `items` at one view: float32 [items.length·rowSize]. */
  readonly extract: RowExtractor;
  /** What the rows are, for the error when `extract` returns the wrong number of values. */
  readonly about: ExtractedRows;
  /** Called after every view of every batch with items·views done, of count·views, under `stage`. */
  readonly onProgress?: ProgressHook;
  readonly stage: string;
}

/** What an extractor computes, for the error when it returns the wrong number of values. */
export interface ExtractedRows {
  /** One row's name, plural: `features`, `activations`. */
  readonly unit: string;
  /** The step that extracted them: `feature extraction`, `the prefix cache`. */
  readonly where: string;
  readonly fix: string;
}

/**
 * Runs `job.extract` over the items in batches (in order) and every view, checking each result's length
 * (`E_CACHE` otherwise). `onBatch` gets the batch's first item and its rows in cache layout, row
 * (item·views + view) counted from that first item, before the next batch is extracted.
 */
export async function extractInBatches(
  job: ExtractionJob,
  onBatch: (first: number, rows: Float32Array) => Promise<void> | void,
): Promise<void> {
  const { count, views, batchSize, rowSize } = job;
  let done = 0;
  for (let first = 0; first < count; first += batchSize) {
    const items = Array.from({ length: Math.min(batchSize, count - first) }, (_, i) => first + i);
    const rows = new Float32Array(items.length * views * rowSize);
    for (let view = 0; view < views; view++) {
      const values = await job.extract(items, view);
      checkExtracted(values, items.length, rowSize, job.about);
      for (let row = 0; row < items.length; row++)
        rows.set(values.subarray(row * rowSize, (row + 1) * rowSize), (row * views + view) * rowSize);
      done += items.length;
      job.onProgress?.(done, count * views, job.stage);
    }
    await onBatch(first, rows);
  }
}

function checkExtracted(values: Float32Array, rows: number, rowSize: number, about: ExtractedRows): void {
  if (values.length === rows * rowSize) return;
  throw expected({
    what: `${rows}x${rowSize} ${about.unit} (${rows * rowSize} values)`,
    where: about.where,
    received: `${values.length} values`,
    fix: about.fix,
    code: 'E_CACHE',
  });
}

/** Position of an image id among a cache's `ids`; an unknown id is an `E_CACHE` error naming `cache`. */
export function cachePositions(cache: string, ids: readonly string[]): (id: string) => number {
  const positions = new Map(ids.map((id, i) => [id, i]));
  return (id) => {
    const position = positions.get(id);
    if (position === undefined)
      throw expected({
        what: `one of its ${ids.length} cached image ids`,
        where: cache,
        received: `${shown(id)} (no image ${id} in it)`,
        fix: 'delete the folder to rebuild it',
        code: 'E_CACHE',
      });
    return position;
  };
}
