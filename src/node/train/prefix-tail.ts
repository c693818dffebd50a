import * as tf from '@tensorflow/tfjs';
import { DIHEDRAL_VIEWS, type TrainConfig } from '../../core/config/train-config.js';
import { labelIndices } from '../../core/data/class-index.js';
import type { ImageRecord } from '../../core/data/records.js';
import { expected } from '../../core/errors.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import type { BackboneBlock } from '../../core/models/registry.js';
import { type AugmentConfig, parseAugmentConfig } from '../../core/preprocess/augment-config.js';
import { dihedralView } from '../../core/preprocess/views.js';
import { type BackboneSplit, splitAtBlock, unfreezeTopBlocks } from '../../core/train/finetune.js';
import { featureMaps, poolFeatures } from '../../core/train/head.js';
import type { ItemSet } from '../../core/train/trainer.js';
import { at } from '../../core/util/at.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import type { LoadedBackbone } from './backbone.js';
import { hashIds, hashModelWeights } from './feature-cache.js';
import { createFeatureExtractor, type FeatureExtractor } from './feature-extractor.js';
import { randomView, viewSeed } from './features.js';
import { loadOrBuildPrefixCache, type PrefixCache, type PrefixExtractor } from './prefix-cache.js';

/**
 * A backbone split for fine-tuning: the frozen prefix runs in ONNX Runtime (or TF.js), its activations come
 * from an on-disk cache (exact views) or are computed per batch (augmentation); the tail runs in TF.js.
 */
export interface PrefixTail {
  readonly split: BackboneSplit;
  /** Where prefix activations come from. */
  readonly source: 'cache' | 'on-the-fly';
  readonly cache?: PrefixCache;
  /** Cached random augmented views of the training images (`fineTune.augmentViews`), when configured. */
  readonly augmented?: PrefixCache;
  readonly engine: string;
  /** Seconds spent building the cache (0 when reused or on the fly). */
  readonly cacheSeconds: number;
  /** Items for the trainer: prefix maps [n, h, w, c] of `records` (augmented on the fly when `train` and configured). */
  itemSet(records: readonly ImageRecord[], train: boolean): ItemSet;
  /** Tail → pooling (taps inside the tail included): the pooled features the head takes. */
  features(training: boolean): (maps: tf.Tensor) => tf.Tensor2D;
  dispose(): Promise<void>;
}

/** Everything {@link openPrefixTail} needs. */
export interface PrefixTailOptions {
  readonly config: TrainConfig;
  readonly backbone: LoadedBackbone;
  readonly images: ImageCache;
  readonly classes: readonly string[];
  readonly logger: Logger;
  readonly onProgress?: ProgressHook;
  /** Training image ids: the images whose random views `fineTune.augmentViews` caches. */
  readonly trainIds?: readonly string[];
}

/** The blocks of a backbone (loaded override, else the registry's); E_CONFIG when it lists none. */
export function backboneBlocks(backbone: LoadedBackbone): readonly BackboneBlock[] {
  const blocks = backbone.blocks ?? backbone.spec?.blocks;
  if (!blocks)
    throw expected({
      what: 'a backbone that lists blocks to unfreeze',
      where: 'fineTune.enabled',
      received: `${backbone.name}, which lists none`,
      fix: 'add blocks to its registry entry or disable fine-tuning',
      code: 'E_CONFIG',
    });
  return blocks;
}

/**
 * Checks a fine-tuning config against the loaded backbone before any work (E_CONFIG naming the key): the
 * backbone lists blocks, `fineTune.blocks` leaves a prefix and cuts the graph cleanly, every tap lies in the
 * tail, and the tail holds the `fineTune.trainBlocks` to unfreeze. Nothing when fine-tuning is off. The trial
 * split's tail (copies of the top blocks' weights) is disposed; the backbone is left as it was.
 */
export function checkFineTuneSplit(config: TrainConfig, backbone: LoadedBackbone): void {
  const ft = config.fineTune;
  if (!ft.enabled) return;
  const blocks = backboneBlocks(backbone);
  const split = splitAtBlock(backbone.model, blocks, ft.blocks);
  try {
    checkTaps(split, config.model.taps);
    unfreezeTopBlocks(split.tail, blocks, ft.trainBlocks ?? ft.blocks);
  } finally {
    split.tail.dispose();
  }
}

/** Splits the backbone at `fineTune.blocks`, opens the prefix engine and (unless augmenting) the activation cache. */
export async function openPrefixTail(options: PrefixTailOptions): Promise<PrefixTail> {
  const { config, backbone, images, logger } = options;
  const ft = config.fineTune;
  const split = splitAtBlock(backbone.model, backboneBlocks(backbone), ft.blocks);
  checkTaps(split, config.model.taps);
  const engine = await createFeatureExtractor(ft.prefixEngine, split.prefix, {
    threads: config.features.threads,
    logger,
  });
  const augment = ft.augment ? parseAugmentConfig(ft.augment, 'fineTune.augment') : undefined;
  if (!augment && ft.augmentViews > 0)
    logger.warn(
      `fineTune.augmentViews (${ft.augmentViews}) is not used: it caches views of fineTune.augment, which is not set (set it, e.g. {"rotate": 180, "zoom": [1, 1.5]}, or drop augmentViews)`,
    );
  const views = DIHEDRAL_VIEWS.slice(0, config.features.views);
  const mapSize = split.mapShape.reduce((a, b) => a * b, 1);
  const viewMaps = (items: readonly number[], view: number, pixels?: Uint8Array) =>
    prefixMaps(engine, images, items, at(views, view), pixels);
  const weightsHash = hashModelWeights(split.prefix);
  /** The on-disk activations of `ids` at the named views (exact or random), built once per key. */
  const openCache = (viewNames: readonly string[], ids: readonly string[], extract: PrefixExtractor) =>
    loadOrBuildPrefixCache({
      cacheRoot: config.features.cacheRoot,
      key: {
        backbone: backbone.name,
        weights: backbone.weightsId,
        weightsHash,
        boundary: split.boundary,
        views: viewNames,
        images: images.fingerprint,
        ids: hashIds(ids),
        dtype: ft.cacheDtype,
      },
      ids,
      mapSize,
      batchSize: config.features.batchSize,
      extract,
      logger,
      onProgress: options.onProgress,
    });
  const began = performance.now();
  const trainIds = augment && ft.augmentViews > 0 ? options.trainIds : undefined;
  const cache =
    ft.cachePrefix && (!augment || trainIds)
      ? await openCache(views, images.ids, (items, view) => viewMaps(items, view))
      : undefined;
  let augmented: PrefixCache | undefined;
  if (augment && trainIds) {
    const positions = images.indicesOf(trainIds);
    augmented = await openCache(
      randomViewNames(augment, ft.augmentViews, config.seed, config.features.batchSize),
      trainIds,
      (items, view) =>
        augmentedMaps(
          engine,
          images,
          items.map((i) => at(positions, i)),
          augment,
          viewSeed(config.seed, view, at(items, 0)),
        ),
    );
  }
  const built = (cache?.built ?? false) || (augmented?.built ?? false);
  const cacheSeconds = built ? (performance.now() - began) / 1000 : 0;
  logger.info(
    `fine-tuning split at ${split.boundary} [${split.mapShape.join('x')}]: prefix in ${engine.name}, ` +
      (cache
        ? `activations cached (${(cache.bytes / 2 ** 20).toFixed(0)} MiB ${cache.dtype} on disk)`
        : 'activations on the fly') +
      (augmented
        ? `, ${ft.augmentViews} augmented views of ${augmented.ids.length} training images cached (${(augmented.bytes / 2 ** 20).toFixed(0)} MiB)`
        : ''),
  );
  const tapped =
    config.model.taps.length > 0
      ? tf.model({ inputs: split.tail.inputs, outputs: featureMaps(split.tail, config.model.taps) })
      : split.tail;
  const shape = [split.mapShape[0], split.mapShape[1], split.mapShape[2]] as const;
  return {
    split,
    source: cache ? 'cache' : 'on-the-fly',
    cache,
    augmented,
    engine: engine.name,
    cacheSeconds,
    itemSet: (records, train) => {
      const labels = labelIndices(records, options.classes);
      // with augmentation, training reads the cached random views; without them there is no exact-view cache either
      if (train && augmented) return cachedSet(augmented, records, labels, shape);
      if (cache) return cachedSet(cache, records, labels, shape);
      // the exact views, as the cache would hold them; augmented training batches are one (ever new) view
      return onTheFlySet(
        records,
        labels,
        images,
        shape,
        train && augment ? 1 : views.length,
        (items, view, seed) => {
          if (!(train && augment)) return viewMaps(items, view);
          return augmentedMaps(engine, images, items, augment, seed);
        },
        config.seed,
      );
    },
    features: (training) => (maps) =>
      poolFeatures(tapped.apply(maps, { training }) as tf.Tensor4D | tf.Tensor4D[], config.model.pooling),
    dispose: async () => {
      await cache?.close();
      await augmented?.close();
      await engine.dispose();
    },
  };
}

function checkTaps(split: BackboneSplit, taps: readonly string[]): void {
  const names = new Set(split.tail.layers.map((l) => l.name));
  const below = taps.filter((t) => !names.has(t));
  if (below.length > 0)
    throw expected({
      what: `taps above the frozen prefix (above ${split.boundary})`,
      where: 'model.taps',
      received: `${below.join(', ')}, which lie in it`,
      fix: 'with fine-tuning use taps inside the top fineTune.blocks blocks or none',
      code: 'E_CONFIG',
    });
}

async function prefixMaps(
  engine: FeatureExtractor,
  images: ImageCache,
  items: readonly number[],
  view: (typeof DIHEDRAL_VIEWS)[number],
  pixels?: Uint8Array,
): Promise<Float32Array> {
  const batch = pixels ?? (await images.readBatch(items));
  return engine.run(dihedralView(batch, items.length, images.width, view), items.length, images.width);
}

async function augmentedMaps(
  engine: FeatureExtractor,
  images: ImageCache,
  items: readonly number[],
  augment: AugmentConfig,
  seed: number,
): Promise<Float32Array> {
  const batch = await images.readBatch(items);
  const pixels = randomView(batch, items.length, images.width, augment, seed);
  return engine.run(pixels, items.length, images.width);
}

function cachedSet(
  cache: PrefixCache,
  records: readonly ImageRecord[],
  labels: Int32Array,
  shape: readonly [number, number, number],
): ItemSet {
  const positions = records.map((r) => cache.indexOf(r.imageId));
  return {
    labels,
    views: cache.views,
    batch: async (indices, views) => {
      const maps = await cache.read(
        indices.map((i) => at(positions, i)),
        views,
      );
      return tf.tensor4d(maps, [indices.length, ...shape]);
    },
  };
}

function onTheFlySet(
  records: readonly ImageRecord[],
  labels: Int32Array,
  images: ImageCache,
  shape: readonly [number, number, number],
  views: number,
  maps: (items: readonly number[], view: number, seed: number) => Promise<Float32Array>,
  seed: number,
): ItemSet {
  const positions = images.indicesOf(records.map((r) => r.imageId));
  const mapSize = shape[0] * shape[1] * shape[2];
  return {
    labels,
    views,
    batch: async (indices, viewOf) => {
      const items = indices.map((i) => at(positions, i));
      const batchSeedValue = batchSeed(seed, indices);
      // validation asks for one view per batch, training (several exact views) for a view per item: one pass per view
      const slotsOf = new Map<number, number[]>();
      indices.forEach((_, slot) => {
        const view = viewOf[slot] ?? 0;
        slotsOf.set(view, [...(slotsOf.get(view) ?? []), slot]);
      });
      if (slotsOf.size === 1) {
        const [view = 0] = slotsOf.keys();
        return tf.tensor4d(await maps(items, view, batchSeedValue), [indices.length, ...shape]);
      }
      const values = new Float32Array(indices.length * mapSize);
      for (const [view, slots] of slotsOf) {
        const part = await maps(
          slots.map((s) => at(items, s)),
          view,
          batchSeedValue,
        );
        slots.forEach((s, j) => {
          values.set(part.subarray(j * mapSize, (j + 1) * mapSize), s * mapSize);
        });
      }
      return tf.tensor4d(values, [indices.length, ...shape]);
    },
  };
}

/**
 * The cache key's names of `count` random views under `augment`, the run seed and the cache's batch size
 * (`features.batchSize`: each batch of items draws its augmentation from one seed); any change rebuilds them.
 */
export function randomViewNames(
  augment: AugmentConfig,
  count: number,
  seed: number,
  batchSize: number,
): string[] {
  return Array.from(
    { length: count },
    (_, v) => `random${v}:seed${seed}:batch${batchSize}:${JSON.stringify(augment)}`,
  );
}

/** A seed fixed by the run seed and the batch's items (so a resumed epoch draws the same augmentation). */
function batchSeed(seed: number, indices: readonly number[]): number {
  let h = Math.imul(seed + 1, 0x9e3779b1);
  for (const i of indices) h = Math.imul(h ^ (i + 1), 0x85ebca6b) >>> 0;
  return h >>> 0;
}
