import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../../core/logger.js';
import { at } from '../../core/util/at.js';
import type { CacheBuildOptions, RowExtractor } from './cache-folder.js';
import { buildCacheFolder, cachePositions, keyedCacheDir, readCompleteIndex } from './cache-folder.js';

/** What identifies cached prefix activations: change any of it and they are recomputed. */
export interface PrefixCacheKey {
  readonly backbone: string;
  /** Weights identity of the backbone (`imagenet:<sha>:<shape>`, `random:<seed>`). */
  readonly weights: string;
  /** sha256 of the prefix's weight values. */
  readonly weightsHash: string;
  /** Layer the prefix ends at. */
  readonly boundary: string;
  /** Exact dihedral views, in cache order. */
  readonly views: readonly string[];
  /** Fingerprint of the image cache (files, times, preprocessing). */
  readonly images: string;
  readonly ids: string;
  readonly dtype: 'float16' | 'float32';
}

/** Prefix activations of every image and view on disk, read batch by batch (the page cache holds them, not the heap). */
export interface PrefixCache {
  readonly dir: string;
  readonly ids: readonly string[];
  readonly views: number;
  /** Values per activation map (h·w·c). */
  readonly mapSize: number;
  readonly dtype: 'float16' | 'float32';
  /** Bytes on disk. */
  readonly bytes: number;
  /** True when this call computed it. */
  readonly built: boolean;
  /** Position of `id` in the cache; E_CACHE when absent. */
  indexOf(id: string): number;
  /** Maps of items (cache positions) at views, as one float32 [n·mapSize] array. */
  read(items: readonly number[], views: readonly number[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Computes the prefix maps of cache items for one view: float32 [n·mapSize]. */
export type PrefixExtractor = RowExtractor;

/** Options of {@link loadOrBuildPrefixCache}: the shared ones, the key and the values per activation map. */
export interface PrefixCacheOptions extends CacheBuildOptions {
  readonly key: PrefixCacheKey;
  readonly mapSize: number;
}

const DATA = 'maps.bin';

/** The cache folder of a key: `<cacheRoot>/prefix/<backbone>-<boundary>-<sha256(key)[0:16]>`. */
export function prefixCacheDir(cacheRoot: string, key: PrefixCacheKey): string {
  return keyedCacheDir(cacheRoot, 'prefix', `${key.backbone}-${key.boundary}`, key);
}

/** Bytes a cache of `count` images x `views` views of `mapSize` values takes on disk. */
export function prefixCacheBytes(
  count: number,
  views: number,
  mapSize: number,
  dtype: PrefixCacheKey['dtype'],
): number {
  return count * views * mapSize * (dtype === 'float16' ? 2 : 4);
}

/**
 * Opens the cached activations for `key`, computing them first when absent (written into a temp folder and
 * renamed into place, so a killed build never leaves a cache that looks complete).
 */
export async function loadOrBuildPrefixCache(options: PrefixCacheOptions): Promise<PrefixCache> {
  const dir = prefixCacheDir(options.cacheRoot, options.key);
  const views = options.key.views.length;
  const bytes = prefixCacheBytes(options.ids.length, views, options.mapSize, options.key.dtype);
  const logger = options.logger ?? silentLogger;
  const complete = await isComplete(dir, options.ids, bytes);
  if (complete) logger.info(`prefix cache: reusing ${dir}`);
  else await buildCache(dir, options, views, bytes, logger);
  const handle = await open(join(dir, DATA), 'r');
  return makeCache(dir, options, views, bytes, handle, !complete);
}

async function isComplete(dir: string, ids: readonly string[], bytes: number): Promise<boolean> {
  return (await readCompleteIndex(dir, DATA, bytes, ids)) !== null;
}

async function buildCache(
  dir: string,
  options: PrefixCacheOptions,
  views: number,
  bytes: number,
  logger: Logger,
): Promise<void> {
  const { ids, mapSize, key } = options;
  logger.info(
    `prefix cache: ${ids.length} images x ${views} views of ${mapSize} values (${key.dtype}) = ${(bytes / 2 ** 30).toFixed(2)} GiB on disk in ${dir}`,
  );
  const index = { format: 'lesionlab-prefix', version: 1, key, mapSize, views, ids };
  const job = {
    count: ids.length,
    views,
    batchSize: options.batchSize,
    rowSize: mapSize,
    extract: options.extract,
  };
  const progress = { onProgress: options.onProgress, stage: 'prefix' };
  await buildCacheFolder(dir, index, DATA, { ...job, ...progress, about: EXTRACTED_MAPS }, (_, rows) =>
    key.dtype === 'float16' ? toFloat16(rows) : rows,
  );
}

const EXTRACTED_MAPS = {
  unit: 'activations',
  where: 'the prefix cache',
  fix: 'check that the prefix output matches the tail input',
};

function makeCache(
  dir: string,
  options: PrefixCacheOptions,
  views: number,
  bytes: number,
  handle: FileHandle,
  built: boolean,
): PrefixCache {
  const { ids, mapSize } = options;
  const dtype = options.key.dtype;
  const width = dtype === 'float16' ? 2 : 4;
  return {
    dir,
    ids,
    views,
    mapSize,
    dtype,
    bytes,
    built,
    indexOf: cachePositions(`prefix cache ${dir}`, ids),
    read: async (items, viewOf) => {
      const out = new Float32Array(items.length * mapSize);
      const raw = new Uint8Array(mapSize * width);
      for (let row = 0; row < items.length; row++) {
        const record = at(items, row) * views + at(viewOf, row);
        await handle.read(raw, 0, raw.byteLength, record * mapSize * width);
        const target = out.subarray(row * mapSize, (row + 1) * mapSize);
        if (width === 2) fromFloat16(new Uint16Array(raw.buffer), target);
        else target.set(new Float32Array(raw.buffer));
      }
      return out;
    },
    close: () => handle.close(),
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of each value (round to nearest even; overflow to ±Inf, NaN kept). */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  // Per-value loop: i < values.length, and u32 is f32's one element seen as bits.
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) out[i] = sign | 0x7c00;
    else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      let r = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      if (rest > half || (rest === half && r & 1)) r++;
      out[i] = sign | r;
    } else {
      let r = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
      out[i] = sign | r;
    }
  }
  return out;
}

let table: Float32Array | undefined;

/** Float32 values of IEEE half-precision bits, written into `out`. */
export function fromFloat16(bits: Uint16Array, out: Float32Array): Float32Array {
  table ??= buildHalfTable();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

function buildHalfTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return t;
}
