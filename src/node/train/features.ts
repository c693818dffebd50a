import * as tf from '@tensorflow/tfjs';
import { DIHEDRAL_VIEWS, type DihedralView, type TrainConfig } from '../../core/config/train-config.js';
import type { ImageRecord } from '../../core/data/records.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { augmentBatch } from '../../core/preprocess/augment.js';
import { type AugmentConfig, parseAugmentConfig } from '../../core/preprocess/augment-config.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { dihedralView } from '../../core/preprocess/views.js';
import { buildFeatureExtractor } from '../../core/train/head.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import { prepareImageCache } from '../preprocess/prepare-image-cache.js';
import type { LoadedBackbone } from './backbone.js';
import {
  type FeatureCache,
  type FeatureCacheKey,
  hashIds,
  hashModelWeights,
  loadOrBuildFeatureCache,
} from './feature-cache.js';
import { createFeatureExtractor, type FeatureExtractor } from './feature-extractor.js';

/** Cached images and cached pooled features of every image of a run, with how long extraction took. */
export interface RunFeatures {
  readonly images: ImageCache;
  readonly features: FeatureCache;
  readonly engine: 'onnx' | 'tfjs' | 'cached';
  /** Seconds spent extracting features (0 when reused from the cache). */
  readonly extractSeconds: number;
}

/** The preprocessing of a run: the backbone's square input size plus the configured resize and colour steps. */
export function runPreprocess(config: TrainConfig, backbone: LoadedBackbone): PreprocessSpec {
  return {
    width: backbone.inputSize,
    height: backbone.inputSize,
    resize: config.preprocess.resize,
    colorConstancy: config.preprocess.colorConstancy,
  };
}

/**
 * Decodes every image once (image cache) and extracts pooled features of each image and view once (feature
 * cache, keyed by backbone + weights identity and values + the image cache's fingerprint, which covers every
 * file's size and times and the preprocessing + pooling, taps and views), with ONNX Runtime by default.
 */
export async function prepareRunFeatures(
  config: TrainConfig,
  backbone: LoadedBackbone,
  records: readonly ImageRecord[],
  options: { logger: Logger; onProgress?: ProgressHook },
): Promise<RunFeatures> {
  const preprocess = runPreprocess(config, backbone);
  const images = await runImageCache(config, records, preprocess, options);
  const views = featureViews(config);
  if (config.features.augment !== undefined && views.random === 0)
    options.logger.warn(
      'features.augment is not used: it shapes only random views and features.randomViews is 0 (set it, e.g. to 2, to use them; fine-tuning has its own fineTune.augment)',
    );
  const graph = buildFeatureExtractor(backbone.model, config.model);
  const extractor = lazyFeatureExtractor(config, graph, options.logger);
  const began = performance.now();
  const features = await loadOrBuildFeatureCache({
    cacheRoot: config.features.cacheRoot,
    key: featureCacheKey(config, backbone, preprocess, views, images),
    ids: images.ids,
    width: graph.outputs[0]?.shape[1] as number,
    batchSize: config.features.batchSize,
    logger: options.logger,
    onProgress: options.onProgress,
    extract: async (items, view) => {
      const run = await extractor.get();
      const pixels = viewPixels(await images.readBatch(items), items, images.width, view, views, config.seed);
      return run.run(pixels, items.length, images.width);
    },
  });
  await extractor.dispose();
  const extractSeconds = features.built ? (performance.now() - began) / 1000 : 0;
  if (features.built)
    logExtraction(options.logger, images.ids.length, views, extractSeconds, extractor.name());
  return { images, features, engine: extractor.name(), extractSeconds };
}

/** Every image of the run decoded once with its preprocessing (bad images left out only when the config says so). */
function runImageCache(
  config: TrainConfig,
  records: readonly ImageRecord[],
  preprocess: PreprocessSpec,
  options: { logger: Logger; onProgress?: ProgressHook },
): Promise<ImageCache> {
  return prepareImageCache(records, preprocess, {
    cacheRoot: config.features.cacheRoot,
    skipBadImages: config.data.skipBadImages,
    skipAdvice: 'pass --skip-bad-images (config data.skipBadImages: true) to leave bad images out',
    logger: options.logger,
    onProgress: options.onProgress,
  });
}

/** The views cached per image: the exact dihedral views first, then seeded random augmentation views. */
export interface FeatureViews {
  readonly exact: DihedralView[];
  readonly random: number;
  readonly augment?: AugmentConfig;
}

/** The views of `config`'s feature cache (`features.augment` checked by the augmentation schema). */
export function featureViews(config: TrainConfig): FeatureViews {
  const random = config.features.randomViews;
  const augment =
    random > 0 ? parseAugmentConfig(config.features.augment ?? {}, 'features.augment') : undefined;
  return { exact: DIHEDRAL_VIEWS.slice(0, config.features.views), random, ...(augment ? { augment } : {}) };
}

/**
 * The feature cache's key. Random views also depend on `features.batchSize` (each batch of cache items draws
 * its augmentation from one seed), so it is part of their key; without random views the key has no batch size,
 * so caches of exact views keep the key they always had.
 */
export function featureCacheKey(
  config: TrainConfig,
  backbone: LoadedBackbone,
  preprocess: PreprocessSpec,
  views: FeatureViews,
  images: Pick<ImageCache, 'fingerprint' | 'ids'>,
): FeatureCacheKey {
  const { augment } = views;
  const randomViews: FeatureCacheKey['randomViews'] & { batchSize?: number } = {
    count: views.random,
    seed: config.seed,
    ...(augment ? { augment } : {}),
    ...(views.random > 0 ? { batchSize: config.features.batchSize } : {}),
  };
  return {
    backbone: backbone.name,
    weights: backbone.weightsId,
    weightsHash: hashModelWeights(backbone.model),
    preprocess,
    pooling: config.model.pooling,
    ...(config.model.taps.length > 0 ? { taps: config.model.taps } : {}),
    views: views.exact,
    randomViews,
    images: images.fingerprint,
    ids: hashIds(images.ids),
  };
}

/** The feature extractor's runtime for `graph`, created on the first batch that needs it (never when all is cached). */
function lazyFeatureExtractor(config: TrainConfig, graph: tf.LayersModel, logger: Logger) {
  let extractor: FeatureExtractor | undefined;
  return {
    async get(): Promise<FeatureExtractor> {
      extractor ??= await createFeatureExtractor(config.features.engine, graph, {
        threads: config.features.threads,
        logger,
      });
      return extractor;
    },
    name: (): RunFeatures['engine'] => extractor?.name ?? 'cached',
    dispose: async () => extractor?.dispose(),
  };
}

/** The pixels of view `view` of a batch of cached images (an exact view, else a seeded random one). */
function viewPixels(
  batch: Uint8Array,
  items: readonly number[],
  size: number,
  view: number,
  views: FeatureViews,
  seed: number,
): Uint8Array {
  const exact = views.exact[view];
  if (exact !== undefined) return dihedralView(batch, items.length, size, exact);
  return randomView(batch, items.length, size, views.augment!, viewSeed(seed, view, items[0] ?? 0));
}

function logExtraction(
  logger: Logger,
  count: number,
  views: FeatureViews,
  seconds: number,
  engine: RunFeatures['engine'],
): void {
  const perImage = views.exact.length + views.random;
  const rate = (count * perImage) / Math.max(seconds, 1e-9);
  logger.info(
    `features: ${count} images x ${perImage} views in ${seconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${engine})`,
  );
}

/**
 * One random augmentation view of a batch (the data layer's `augmentBatch`: flips, rotation, zoom, colour
 * jitter), rounded back to uint8 pixels; the same seed gives the same view.
 */
export function randomView(
  pixels: Uint8Array,
  count: number,
  size: number,
  augment: AugmentConfig,
  seed: number,
): Uint8Array {
  const out = tf.tidy(() =>
    augmentBatch(tf.tensor4d(new Float32Array(pixels), [count, size, size, 3]), augment, seed).round(),
  );
  const values = Uint8Array.from(out.dataSync());
  out.dispose();
  return values;
}

/** Seed of the random view `view` of the batch starting at cache item `first` (fixed by the run seed). */
export function viewSeed(seed: number, view: number, first: number): number {
  return (
    (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(view + 1, 0x85ebca6b) ^ Math.imul(first + 1, 0xc2b2ae35)) >>>
    0
  );
}
