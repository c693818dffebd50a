import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { DihedralView } from '../../core/config/train-config.js';
import { LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { at } from '../../core/util/at.js';
import { writeFailure } from '../fs-errors.js';

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
export type ViewExtractor = (itemIndices: readonly number[], view: number) => Promise<Float32Array>;

/** Options of `loadOrBuildFeatureCache`. */
export interface FeatureCacheOptions {
  readonly cacheRoot: string;
  readonly key: FeatureCacheKey;
  readonly ids: readonly string[];
  readonly width: number;
  readonly extract: ViewExtractor;
  readonly batchSize: number;
  readonly onProgress?: ProgressHook;
  readonly logger?: Logger;
}

const INDEX = 'index.json';
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
  const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(cacheRoot, 'features', `${key.backbone}-${digest}`);
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
  const data = await extractAll(options, views);
  await writeCacheAtomic(dir, options.key, options.ids, options.width, views, data);
  return { ...makeCache(dir, options.ids, views, options.width, data), built: true };
}

async function extractAll(options: FeatureCacheOptions, views: number): Promise<Float32Array> {
  const { ids, width, batchSize } = options;
  const data = new Float32Array(ids.length * views * width);
  const total = ids.length * views;
  let done = 0;
  options.onProgress?.(0, total, 'features'); // the start: the first batch also starts the engine (warm-up)
  for (let start = 0; start < ids.length; start += batchSize) {
    const items = Array.from({ length: Math.min(batchSize, ids.length - start) }, (_, i) => start + i);
    for (let view = 0; view < views; view++) {
      const features = await options.extract(items, view);
      if (features.length !== items.length * width) {
        throw new LesionlabError(
          'E_CACHE',
          `feature extraction: expected ${items.length}x${width} features, got ${features.length} values; does the backbone's feature width match?`,
        );
      }
      items.forEach((item, row) => {
        data.set(features.subarray(row * width, (row + 1) * width), (item * views + view) * width);
      });
      done += items.length;
      options.onProgress?.(done, total, 'features');
    }
  }
  return data;
}

async function writeCacheAtomic(
  dir: string,
  key: FeatureCacheKey,
  ids: readonly string[],
  width: number,
  views: number,
  data: Float32Array,
): Promise<void> {
  const temp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(temp, { recursive: true });
    await writeFile(join(temp, DATA), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    await writeFile(
      join(temp, INDEX),
      JSON.stringify({ format: 'lesionlab-features', version: 1, key, width, views, ids }),
    );
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    throw await writeFailure(error, dir);
  }
}

/** Reads a complete cache folder, or returns null when it is absent or does not match. */
export async function readFeatureCache(
  dir: string,
  ids: readonly string[],
  width: number,
  views: number,
): Promise<FeatureCache | null> {
  const indexText = await readFile(join(dir, INDEX), 'utf8').catch(() => null);
  if (indexText === null) return null;
  const index = JSON.parse(indexText) as { width: number; views: number; ids: string[] };
  const size = await stat(join(dir, DATA))
    .then((s) => s.size)
    .catch(() => -1);
  const expected = ids.length * views * width * 4;
  if (
    index.width !== width ||
    index.views !== views ||
    size !== expected ||
    index.ids.join('\n') !== ids.join('\n')
  )
    return null;
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

/** Position of an image id among a cache's `ids`; an unknown id is an E_CACHE error naming `cache`. */
export function cachePositions(cache: string, ids: readonly string[]): (id: string) => number {
  const positions = new Map(ids.map((id, i) => [id, i]));
  return (id) => {
    const at = positions.get(id);
    if (at === undefined)
      throw new LesionlabError('E_CACHE', `${cache}: no image ${id}; delete the folder to rebuild it`);
    return at;
  };
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
