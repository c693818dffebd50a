import * as tf from '@tensorflow/tfjs';
import { DIHEDRAL_VIEWS, type TrainConfig } from '../../core/config/train-config.js';
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
import { createFeatureEngine } from './engines.js';
import {
  type FeatureCache,
  type FeatureCacheKey,
  hashIds,
  hashModelWeights,
  loadOrBuildFeatureCache,
} from './feature-cache.js';

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
  const images = await prepareImageCache(records, preprocess, {
    cacheRoot: config.features.cacheRoot,
    skipBadImages: config.data.skipBadImages,
    skipAdvice: 'pass --skip-bad-images (config data.skipBadImages: true) to leave bad images out',
    logger: options.logger,
    onProgress: options.onProgress,
  });
  const views = DIHEDRAL_VIEWS.slice(0, config.features.views);
  const random = config.features.randomViews;
  const augment =
    random > 0 ? parseAugmentConfig(config.features.augment ?? {}, 'features.augment') : undefined;
  const extractor = buildFeatureExtractor(backbone.model, config.model);
  const width = extractor.outputs[0].shape[1] as number;
  const key: FeatureCacheKey = {
    backbone: backbone.name,
    weights: backbone.weightsId,
    weightsHash: hashModelWeights(backbone.model),
    preprocess,
    pooling: config.model.pooling,
    ...(config.model.taps.length > 0 ? { taps: config.model.taps } : {}),
    views,
    randomViews: { count: random, seed: config.seed, ...(augment ? { augment } : {}) },
    images: images.fingerprint,
    ids: hashIds(images.ids),
  };
  let engineName: RunFeatures['engine'] = 'cached';
  let engine: Awaited<ReturnType<typeof createFeatureEngine>> | undefined;
  const began = performance.now();
  const features = await loadOrBuildFeatureCache({
    cacheRoot: config.features.cacheRoot,
    key,
    ids: images.ids,
    width,
    batchSize: config.features.batchSize,
    logger: options.logger,
    onProgress: options.onProgress,
    extract: async (items, view) => {
      engine ??= await createFeatureEngine(config.features.engine, extractor as tf.LayersModel, {
        threads: config.features.threads,
        logger: options.logger,
      });
      engineName = engine.name;
      const batch = await images.readBatch(items);
      const pixels =
        view < views.length
          ? dihedralView(batch, items.length, images.width, views[view])
          : randomView(batch, items.length, images.width, augment!, viewSeed(config.seed, view, items[0]));
      return engine.run(pixels, items.length, images.width);
    },
  });
  await (engine as { dispose(): Promise<void> } | undefined)?.dispose();
  const extractSeconds = features.built ? (performance.now() - began) / 1000 : 0;
  if (features.built) {
    const rate = (images.ids.length * (views.length + random)) / Math.max(extractSeconds, 1e-9);
    options.logger.info(
      `features: ${images.ids.length} images x ${views.length + random} views in ${extractSeconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${engineName})`,
    );
  }
  return { images, features, engine: engineName, extractSeconds };
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
    augmentBatch(tf.tensor4d(Float32Array.from(pixels), [count, size, size, 3]), augment, seed).round(),
  );
  const values = Uint8Array.from(out.dataSync());
  out.dispose();
  return values;
}

/** Seed of the random view `view` of the batch starting at cache item `first` (fixed by the run seed). */
function viewSeed(seed: number, view: number, first: number): number {
  return (
    (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(view + 1, 0x85ebca6b) ^ Math.imul(first + 1, 0xc2b2ae35)) >>>
    0
  );
}
