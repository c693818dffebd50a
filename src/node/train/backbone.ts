import type * as tf from '@tensorflow/tfjs';
import type { WeightsProvenance } from '../../core/bundle/meta.js';
import type { TrainConfig } from '../../core/config/train-config.js';
import type { Logger } from '../../core/logger.js';
import { type BackboneBlock, type BackboneSpec, getBackbone } from '../../core/models/registry.js';
import type { Normalization } from '../../core/preprocess/spec.js';
import { seedModelWeights } from '../../core/train/seed-weights.js';
import { at } from '../../core/util/at.js';
import {
  findBackboneWeights,
  loadPretrainedBackbone,
  type PretrainedBackbone,
} from '../weights/pretrained.js';

/** A backbone ready for training: the model (raw 0..255 NHWC → feature map) and what describes it. */
export interface LoadedBackbone {
  readonly model: tf.LayersModel;
  readonly name: string;
  readonly inputSize: number;
  readonly normalization: Normalization;
  /** Registry spec when the backbone comes from the registry. */
  readonly spec?: BackboneSpec;
  /** Blocks for partial unfreezing (default: `spec.blocks`). */
  readonly blocks?: readonly BackboneBlock[];
  /** Identity of the weights, part of the feature-cache key (`imagenet:<sha256>:<shape>` or `random:<seed>`). */
  readonly weightsId: string;
  /** Where the weights came from, recorded in results.json, the bundle and the report. */
  readonly weights: WeightsProvenance;
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
    weights: { kind: 'random', seed },
  };
}

/**
 * Stops a run before any work when `model.weights` is `imagenet` (required) and no ImageNet weights can
 * be had (E_WEIGHTS, one line naming the file to download and where to put it). May download the
 * official file into the cache. `auto` and `random` pass without looking.
 */
export async function checkBackboneWeights(config: TrainConfig, logger: Logger): Promise<void> {
  const { backbone, weights, weightsPath } = config.model;
  if (weights !== 'imagenet') return;
  await findBackboneWeights(backbone, { logger, weightsPath, fallback: 'error' });
}

/**
 * The default loader, by `model.weights`: `random` → seeded random weights; `imagenet` → ImageNet
 * weights or E_WEIGHTS; `auto` → ImageNet weights when they can be had, else seeded random weights
 * with one loud warning. Where the weights are looked for comes from the registry.
 */
export const loadRunBackbone: BackboneLoader = async (config, logger) => {
  const { backbone, weights, weightsPath } = config.model;
  if (weights === 'random') {
    logger.info(`backbone ${backbone}: random init (seed ${config.seed}), as configured`);
    return randomBackbone(backbone, config.seed);
  }
  const loaded = await loadPretrainedBackbone(backbone, {
    logger,
    weightsPath,
    seed: config.seed,
    fallback: weights === 'imagenet' ? 'error' : 'random',
  });
  // a random fallback was already warned about, once, by the weights module
  if (loaded.weights === 'imagenet') {
    const cut = loaded.outputLayer ? `, truncated after ${loaded.outputLayer}` : '';
    logger.info(`backbone ${backbone}: ImageNet weights from ${loaded.source}${cut}`);
  }
  return fromPretrained(loaded);
};

/** A {@link PretrainedBackbone} as a run uses it. */
export function fromPretrained(loaded: PretrainedBackbone): LoadedBackbone {
  const { spec, model, provenance } = loaded;
  // Content hash + output shape ([null,7,7,1024] → "x7x7x1024"): changes when the weights or the cut change.
  const weightsId =
    provenance.kind === 'random'
      ? `random:${provenance.seed}`
      : `imagenet:${provenance.sha256}:${at(model.outputs, 0).shape.join('x')}`;
  return {
    model,
    name: spec.name,
    inputSize: spec.inputSize,
    normalization: spec.normalization,
    spec,
    weightsId,
    weights: provenance,
  };
}
