import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../core/config/train-config.js';
import type { Logger } from '../../core/logger.js';
import { type BackboneSpec, getBackbone } from '../../core/models/registry.js';
import type { Normalization } from '../../core/preprocess/spec.js';
import type { BlockRef } from '../../core/train/finetune.js';
import { seedModelWeights } from '../../core/train/seed-weights.js';
import { loadPretrainedBackbone } from '../weights/pretrained.js';

/** A backbone ready for training: the model (raw 0..255 NHWC → feature map) and what describes it. */
export interface LoadedBackbone {
  readonly model: tf.LayersModel;
  readonly name: string;
  readonly inputSize: number;
  readonly normalization: Normalization;
  /** Registry spec when the backbone comes from the registry. */
  readonly spec?: BackboneSpec;
  /** Blocks for partial unfreezing (default: `spec.blocks`). */
  readonly blocks?: readonly BlockRef[];
  /** Identity of the weights, part of the feature-cache key (`imagenet:<source>` or `random:<seed>`). */
  readonly weightsId: string;
}

/** Loads a backbone for a run (injectable, so tests can train a tiny backbone). */
export type BackboneLoader = (config: TrainConfig, logger: Logger) => Promise<LoadedBackbone>;

/** A registry backbone with seeded random weights (reproducible without any download). */
export function randomBackbone(name: string, seed: number): LoadedBackbone {
  const spec = getBackbone(name);
  const model = spec.build();
  seedModelWeights(model, seed);
  return {
    model,
    name,
    inputSize: spec.inputSize,
    normalization: spec.normalization,
    spec,
    weightsId: `random:${seed}`,
  };
}

/**
 * The default loader: ImageNet weights through the weights module when asked and available; otherwise
 * seeded random weights with one loud warning (never a crash for want of a network).
 */
export const loadRunBackbone: BackboneLoader = async (config, logger) => {
  const { backbone, weights, weightsPath } = config.model;
  if (weights === 'random') {
    logger.info(`backbone ${backbone}: random init (seed ${config.seed}), as configured`);
    return randomBackbone(backbone, config.seed);
  }
  const loaded = await loadPretrained(backbone, weightsPath, logger);
  if (loaded) return loaded;
  logger.warn(
    `backbone ${backbone}: ImageNet weights unavailable; training on RANDOM weights (seed ${config.seed}) — expect poor accuracy`,
  );
  return randomBackbone(backbone, config.seed);
};

/** Local copies of ImageNet weights (TF.js layers format) tried when no `model.weightsPath` is given. */
const LOCAL_WEIGHTS: Readonly<Record<string, string>> = {
  mobilenet_v1: '../shared/weights/mobilenet_v1_1.0_224',
};

async function loadPretrained(
  name: string,
  weightsPath: string | undefined,
  logger: Logger,
): Promise<LoadedBackbone | null> {
  const local = LOCAL_WEIGHTS[name];
  const path =
    weightsPath ?? (local && (await isFile(join(resolve(local), 'model.json'))) ? local : undefined);
  const loaded = await loadPretrainedBackbone(name, { logger, weightsPath: path });
  if (loaded.weights === 'random') {
    loaded.model.dispose();
    return null;
  }
  const cut = loaded.outputLayer ? `, truncated after ${loaded.outputLayer}` : '';
  logger.info(`backbone ${name}: ImageNet weights from ${loaded.source}${cut}`);
  const { spec, model } = loaded;
  return {
    model,
    name,
    inputSize: spec.inputSize,
    normalization: spec.normalization,
    spec,
    // Source folder + output shape ([null,7,7,1024] → "x7x7x1024"): changes when the weights or the cut change.
    weightsId: `imagenet:${resolve((loaded.source ?? '').replace(/[/\\]model\.json$/, ''))}:${model.outputs[0].shape.join('x')}`,
  };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
