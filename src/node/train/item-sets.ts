import * as tf from '@tensorflow/tfjs';
import { labelIndices } from '../../core/data/class-index.js';
import { mulberry32 } from '../../core/data/prng.js';
import type { ImageRecord } from '../../core/data/records.js';
import {
  dropMetadata,
  encodeMetadata,
  type LesionMetadata,
  METADATA_WIDTH,
  type MetadataDropout,
} from '../../core/train/metadata.js';
import type { ItemSet } from '../../core/train/trainer.js';
import { at } from '../../core/util/at.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import { type FeatureCache, gatherFeatures } from './feature-cache.js';

/**
 * Items backed by cached pooled features (one row per image and view). `views` limits them to the cache's
 * first views: validation and test use the exact views only, not the random augmentation views after them.
 */
export function featureItemSet(
  cache: FeatureCache,
  records: readonly ImageRecord[],
  classes: readonly string[],
  views = cache.views,
): ItemSet {
  const positions = records.map((r) => cache.indexOf(r.imageId));
  return {
    labels: labelIndices(records, classes),
    views: Math.min(views, cache.views),
    batch: (indices, views) => {
      const rows = gatherFeatures(
        cache,
        indices.map((i) => at(positions, i)),
        views,
      );
      return tf.tensor2d(rows, [indices.length, cache.width]);
    },
  };
}

/** Items backed by cached images (view 0 only): float32 NHWC 0..255 batches for a backbone forward pass. */
export function pixelItemSet(
  images: ImageCache,
  records: readonly ImageRecord[],
  classes: readonly string[],
): ItemSet {
  const positions = images.indicesOf(records.map((r) => r.imageId));
  return {
    labels: labelIndices(records, classes),
    views: 1,
    batch: async (indices) => {
      const pixels = await images.readBatch(indices.map((i) => at(positions, i)));
      return tf.tensor4d(new Float32Array(pixels), [indices.length, images.height, images.width, 3]);
    },
  };
}

/** Per-dimension mean and standard deviation (floored at 1e-3) of the cached features of `records`, all views. */
export function featureStats(
  cache: FeatureCache,
  records: readonly ImageRecord[],
): { mean: Float32Array; std: Float32Array } {
  const { width, views, data } = cache;
  const sum = new Float64Array(width);
  const squares = new Float64Array(width);
  for (const record of records) {
    const item = cache.indexOf(record.imageId);
    for (let view = 0; view < views; view++) {
      const row = (item * views + view) * width;
      // Per-feature loop: sum and squares have `width` entries, and the cache holds `width` per image and view.
      for (let d = 0; d < width; d++) {
        const x = data[row + d]!;
        sum[d] = sum[d]! + x;
        squares[d] = squares[d]! + x * x;
      }
    }
  }
  const n = Math.max(1, records.length * views);
  const mean = Float32Array.from(sum, (s) => s / n);
  const std = Float32Array.from(squares, (q, d) =>
    Math.max(1e-3, Math.sqrt(Math.max(0, q / n - at(mean, d) * at(mean, d)))),
  );
  return { mean, std };
}

/** The same items with features standardised as `(x - mean) / std`. */
export function standardizedItemSet(set: ItemSet, stats: { mean: Float32Array; std: Float32Array }): ItemSet {
  return {
    ...set,
    batch: async (indices, views) => {
      const x = await set.batch(indices, views);
      const y = tf.tidy(() => x.sub(tf.tensor1d(stats.mean)).div(tf.tensor1d(stats.std)));
      x.dispose();
      return y;
    },
  };
}

/** Options of {@link withMetadata}. */
export interface WithMetadataOptions {
  /** Hide metadata at random on each batch (training only), seeded by `seed`. */
  readonly dropout?: MetadataDropout;
  readonly seed?: number;
}

/**
 * The same items with each row's encoded lesion metadata appended after its features (the head's metadata
 * branch: site one-hot, sex, scaled age, explicit missing flags). `metadata[i]` belongs to item `i`; pass `{}`
 * rows for the metadata-free path. With `dropout`, fields are hidden at random on every batch.
 */
export function withMetadata(
  set: ItemSet,
  metadata: readonly LesionMetadata[],
  options: WithMetadataOptions = {},
): ItemSet {
  const rng = mulberry32(options.seed ?? 0);
  return {
    ...set,
    batch: async (indices, views) => {
      const x = await set.batch(indices, views);
      const rows = new Float32Array(indices.length * METADATA_WIDTH);
      indices.forEach((item, r) => {
        const m = options.dropout
          ? dropMetadata(at(metadata, item), options.dropout, rng)
          : at(metadata, item);
        rows.set(encodeMetadata(m), r * METADATA_WIDTH);
      });
      const y = tf.tidy(() =>
        tf.concat([x as tf.Tensor2D, tf.tensor2d(rows, [indices.length, METADATA_WIDTH])], 1),
      );
      x.dispose();
      return y;
    },
  };
}
