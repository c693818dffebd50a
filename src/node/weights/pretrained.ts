import type * as tf from '@tensorflow/tfjs';
import { isLesionlabError, LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { truncateModel } from '../../core/models/backbones/common.js';
import { type BackboneSpec, getBackbone } from '../../core/models/registry.js';
import { lastCompleteBlockBefore } from '../../core/models/truncate.js';
import { assignWeights } from '../../core/models/weight-assign.js';
import { ensureBackboneWeights } from './download.js';
import { loadKerasH5Weights } from './h5.js';
import { readTfjsLayersWeights } from './tfjs-layers.js';

/** Options of {@link loadPretrainedBackbone}. */
export interface PretrainedOptions {
  readonly logger?: Logger;
  /** A Keras .h5 weight file, or a TF.js layers-format folder / model.json (e.g. MobileNet v1). */
  readonly weightsPath?: string;
  /** Without `weightsPath`: fetch the official file into the cache (default true). */
  readonly download?: boolean;
  readonly cacheDir?: string;
  readonly baseUrl?: string;
  readonly inputSize?: number;
  readonly onProgress?: ProgressHook;
  /** Environment to read `LESIONLAB_MOBILENET_DIR` from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Per-backbone environment variables naming a local weights folder or file, used when no
 * `weightsPath` is passed (e.g. LESIONLAB_MOBILENET_DIR=../shared/weights/mobilenet_v1_1.0_224).
 */
export const WEIGHTS_ENV: Readonly<Partial<Record<string, string>>> = {
  mobilenet_v1: 'LESIONLAB_MOBILENET_DIR',
};

/** A backbone ready for feature extraction or fine-tuning, with where its weights came from. */
export interface PretrainedBackbone {
  readonly spec: BackboneSpec;
  readonly model: tf.LayersModel;
  readonly weights: 'imagenet' | 'random';
  /** The weight file or folder used, or null for random weights. */
  readonly source: string | null;
  /** The layer the backbone was cut at (weights missing beyond it), or null when complete. */
  readonly outputLayer: string | null;
  /** Channels of the output feature map. */
  readonly featureWidth: number;
}

function result(
  spec: BackboneSpec,
  model: tf.LayersModel,
  source: string | null,
  outputLayer: string | null = null,
): PretrainedBackbone {
  const featureWidth = model.outputs[0]!.shape[3] as number;
  return { spec, model, weights: source === null ? 'random' : 'imagenet', source, outputLayer, featureWidth };
}

async function fromTfjsLayers(
  spec: BackboneSpec,
  path: string,
  o: PretrainedOptions,
  logger: Logger,
): Promise<PretrainedBackbone> {
  const { modelJson, present, missing } = await readTfjsLayersWeights(path);
  let model = spec.build({ inputSize: o.inputSize });
  const layerNames = new Set(model.layers.map((l) => l.name));
  const lacking = missing.filter((m) => layerNames.has(m.layer));
  let cut: string | null = null;
  if (lacking.length > 0) {
    cut = lastCompleteBlockBefore(model, spec, new Set(lacking.map((m) => m.layer)));
    if (cut === null) {
      model.dispose();
      throw new LesionlabError(
        'E_WEIGHTS',
        `${modelJson}: ${lacking[0]!.file} is missing and no complete block precedes ${lacking[0]!.layer}; restore the file`,
      );
    }
    model = truncateModel(model, cut);
    logger.warn(
      `${spec.name}: ${lacking.map((m) => m.file).join(', ')} missing in ${modelJson}; using the backbone up to ${cut}`,
    );
  }
  try {
    assignWeights(model, present, { source: modelJson, match: 'name', allowUnused: true, logger });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return result(spec, model, modelJson, cut);
}

async function fromH5(
  spec: BackboneSpec,
  path: string,
  o: PretrainedOptions,
  logger: Logger,
): Promise<PretrainedBackbone> {
  const model = spec.build({ inputSize: o.inputSize });
  try {
    await loadKerasH5Weights(model, path, { logger });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return result(spec, model, path);
}

/**
 * One call for a backbone with ImageNet weights: from `weightsPath` (Keras .h5, or a TF.js layers
 * folder, cut before any missing weights), else from the official file (cached download). When the
 * download fails (offline, checksum) it warns once, loudly, and returns random weights; broken or
 * mismatching weight files are errors.
 */
export async function loadPretrainedBackbone(
  name: string,
  o: PretrainedOptions = {},
): Promise<PretrainedBackbone> {
  const spec = getBackbone(name);
  const logger = o.logger ?? silentLogger;
  const envVar = WEIGHTS_ENV[name];
  const weightsPath = o.weightsPath ?? (envVar === undefined ? undefined : (o.env ?? process.env)[envVar]);
  if (weightsPath !== undefined && weightsPath !== '') {
    const isH5 = /\.(h5|hdf5)$/i.test(weightsPath);
    return isH5 ? fromH5(spec, weightsPath, o, logger) : fromTfjsLayers(spec, weightsPath, o, logger);
  }
  if (o.download !== false) {
    try {
      const path = await ensureBackboneWeights(name, { ...o, logger });
      return await fromH5(spec, path, o, logger);
    } catch (error) {
      if (!isLesionlabError(error) || (error.code !== 'E_DOWNLOAD' && error.code !== 'E_CHECKSUM'))
        throw error;
      logger.warn(
        `${name}: NO IMAGENET WEIGHTS, using RANDOM weights (results will be far worse): ${error.message}`,
      );
      return result(spec, spec.build({ inputSize: o.inputSize }), null);
    }
  }
  logger.warn(`${name}: NO IMAGENET WEIGHTS (download disabled and no weights path), using RANDOM weights`);
  return result(spec, spec.build({ inputSize: o.inputSize }), null);
}
