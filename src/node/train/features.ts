import type * as tf from '@tensorflow/tfjs';
import { DIHEDRAL_VIEWS, type TrainConfig } from '../../core/config/train-config.js';
import type { ImageRecord } from '../../core/data/records.js';
import { LesionlabError } from '../../core/errors.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { buildFeatureExtractor } from '../../core/train/head.js';
import { dihedralView } from '../../core/train/views.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import { prepareImageCache } from '../preprocess/prepare-image-cache.js';
import type { LoadedBackbone } from './backbone.js';
import { createFeatureEngine } from './engines.js';
import { type FeatureCache, hashIds, loadOrBuildFeatureCache } from './feature-cache.js';

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
 * cache, keyed by backbone + weights + preprocessing + views), with ONNX Runtime by default.
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
    logger: options.logger,
    onProgress: options.onProgress,
  });
  if (config.features.randomViews > 0) {
    throw new LesionlabError(
      'E_CONFIG',
      `features.randomViews: random augmentation views are not wired yet (got ${config.features.randomViews}); use features.views (exact flips/rotations) instead`,
    );
  }
  const views = DIHEDRAL_VIEWS.slice(0, config.features.views);
  const extractor = buildFeatureExtractor(backbone.model, config.model.pooling);
  const width = extractor.outputs[0].shape[1] as number;
  const key = {
    backbone: backbone.name,
    weights: backbone.weightsId,
    preprocess,
    pooling: config.model.pooling,
    views,
    randomViews: { count: 0, seed: config.seed },
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
      const pixels = dihedralView(await images.readBatch(items), items.length, images.width, views[view]);
      return engine.run(pixels, items.length, images.width);
    },
  });
  await (engine as { dispose(): Promise<void> } | undefined)?.dispose();
  const extractSeconds = features.built ? (performance.now() - began) / 1000 : 0;
  if (features.built) {
    const rate = (images.ids.length * views.length) / Math.max(extractSeconds, 1e-9);
    options.logger.info(
      `features: ${images.ids.length} images x ${views.length} views in ${extractSeconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${engineName})`,
    );
  }
  return { images, features, engine: engineName, extractSeconds };
}
