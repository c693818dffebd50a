import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { DihedralView } from '../../core/config/train-config.js';
import { silentLogger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { at } from '../../core/util/at.js';
import type { CacheBuildOptions, RowExtractor } from './cache-folder.js';
import { buildCacheFolder, cachePositions, keyedCacheDir, readCompleteIndex } from './cache-folder.js';

/** What identifies a feature cache: change any of it and the features are recomputed. */
export interface FeatureCacheKey {
  readonly backbone: string;
  /** Weights identity, e.g. `imagenet:<source>` or `random:<seed>`. */
  readonly weights: string;
  /** sha256 of the backbone's weight values ({@link hashModelWeights}): the same name can hold other weights. */
  readonly weightsHash: string;
  readonly preprocess: PreprocessSpec;
  readonly pooling: string;
  /** Layers pooled before the output (absent when none, so older caches keep their keys). */
  readonly taps?: readonly string[];
  readonly views: readonly DihedralView[];
  /** Random augmentation views: count, config and seed (count 0 = none). */
  readonly randomViews: { readonly count: number; readonly seed: number; readonly augment?: unknown };
  /** Fingerprint of the image cache the features come from: every image's id, size, mtime, ctime + preprocessing. */
  readonly images: string;
  /** Hash of the image ids, in cache order. */
  readonly ids: string;
}

/** Pooled features of every image and view: row (item·views + view) of a [items·views, width] float32 matrix. */
export interface FeatureCache {
  readonly dir: string;
  readonly ids: readonly string[];
  readonly views: number;
  readonly width: number;
  readonly data: Float32Array;
  indexOf(id: string): number;
}

/** Computes the features of `count` images (NHWC uint8) for one view: [count·width] float32. */
export type ViewExtractor = RowExtractor;

/** Options of `loadOrBuildFeatureCache`: the shared ones, the key and the feature width. */
export interface FeatureCacheOptions extends CacheBuildOptions {
  readonly key: FeatureCacheKey;
  readonly width: number;
}

const DATA = 'features.f32';

/** Hash of a list of ids (part of the cache key). */
export function hashIds(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 16);
}

/**
 * sha256 (hex, 16 digits) of a model's weights: shapes and values in order (not the variable names, which
 * TF.js makes unique per process). It tells apart weights that share a name or path (a replaced file).
 */
export function hashModelWeights(model: tf.LayersModel): string {
  const hash = createHash('sha256');
  for (const weight of model.weights) {
    const values = weight.read().dataSync() as Float32Array;
    hash.update(`${weight.shape.join('x')}:${weight.dtype}\n`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The cache folder of a key: `<cacheRoot>/features/<backbone>-<sha256(key)[0:16]>`. */
export function featureCacheDir(cacheRoot: string, key: FeatureCacheKey): string {
  return keyedCacheDir(cacheRoot, 'features', key.backbone, key);
}

/**
 * Returns the cached features for `key`, extracting them first when absent (one file + index, written in a
 * temp folder and renamed into place, so a killed extraction never leaves a cache that looks complete).
 */
export async function loadOrBuildFeatureCache(
  options: FeatureCacheOptions,
): Promise<FeatureCache & { built: boolean }> {
  const dir = featureCacheDir(options.cacheRoot, options.key);
  const existing = await readFeatureCache(
    dir,
    options.ids,
    options.width,
    options.key.views.length + options.key.randomViews.count,
  );
  if (existing) {
    (options.logger ?? silentLogger).info(`feature cache: reusing ${dir}`);
    return { ...existing, built: false };
  }
  const views = options.key.views.length + options.key.randomViews.count;
  const data = await buildFeatureCache(dir, options, views);
  return { ...makeCache(dir, options.ids, views, options.width, data), built: true };
}

/** Extracts every image's features at every view into memory and into the cache folder `dir`. */
async function buildFeatureCache(
  dir: string,
  options: FeatureCacheOptions,
  views: number,
): Promise<Float32Array> {
  const { ids, width, batchSize, key } = options;
  const data = new Float32Array(ids.length * views * width);
  options.onProgress?.(0, ids.length * views, 'features'); // the start: the first batch also starts the engine (warm-up)
  const index = { format: 'lesionlab-features', version: 1, key, width, views, ids };
  const job = { count: ids.length, views, batchSize, rowSize: width, extract: options.extract };
  const progress = { onProgress: options.onProgress, stage: 'features' };
  await buildCacheFolder(
    dir,
    index,
    DATA,
    { ...job, ...progress, about: EXTRACTED_FEATURES },
    (first, rows) => {
      data.set(rows, first * views * width);
      return rows;
    },
  );
  return data;
}

const EXTRACTED_FEATURES = {
  unit: 'features',
  where: 'feature extraction',
  fix: "check that the backbone's feature width matches",
};

/** Reads a complete cache folder, or returns null when it is absent or does not match. */
export async function readFeatureCache(
  dir: string,
  ids: readonly string[],
  width: number,
  views: number,
): Promise<FeatureCache | null> {
  const size = ids.length * views * width * 4;
  const index = await readCompleteIndex<{ width: number; views: number }>(dir, DATA, size, ids);
  if (index === null || index.width !== width || index.views !== views) return null;
  const bytes = await readFile(join(dir, DATA));
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return makeCache(dir, ids, views, width, data);
}

function makeCache(
  dir: string,
  ids: readonly string[],
  views: number,
  width: number,
  data: Float32Array,
): FeatureCache {
  return { dir, ids, views, width, data, indexOf: cachePositions(`feature cache ${dir}`, ids) };
}

/** Rows of `cache` for items (cache positions) and views, as one [n·width] array. */
export function gatherFeatures(
  cache: FeatureCache,
  items: readonly number[],
  views: readonly number[],
): Float32Array {
  const { width } = cache;
  const out = new Float32Array(items.length * width);
  items.forEach((item, row) => {
    const start = (item * cache.views + at(views, row)) * width;
    out.set(cache.data.subarray(start, start + width), row * width);
  });
  return out;
}
