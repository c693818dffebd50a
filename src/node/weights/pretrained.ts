import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import type { WeightsProvenance } from '../../core/bundle/meta.js';
import { expected, isLesionlabError, type LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { truncateModel } from '../../core/models/backbones/common.js';
import { type BackboneSpec, getBackbone, type LocalWeights } from '../../core/models/registry.js';
import { lastCompleteBlockBefore } from '../../core/models/truncate.js';
import { assignWeights } from '../../core/models/weight-assign.js';
import { seedModelWeights } from '../../core/train/seed-weights.js';
import { at } from '../../core/util/at.js';
import { hashFile } from '../net/download.js';
import { cachedBackboneWeights, defaultWeightsCacheDir, ensureBackboneWeights } from './cache.js';
import { loadKerasH5Weights } from './h5.js';
import { readTfjsLayersWeights } from './tfjs-layers.js';

/** The lesionlab package root: registry `local` weight paths are relative to it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Options of {@link findBackboneWeights} and {@link loadPretrainedBackbone}. */
export interface PretrainedOptions {
  readonly logger?: Logger;
  /** A Keras .h5 weight file, or a TF.js layers-format folder / model.json (e.g. MobileNet v1). */
  readonly weightsPath?: string;
  /** When nothing local is found: fetch the official file into the cache (default: unless LESIONLAB_OFFLINE=1). */
  readonly download?: boolean;
  readonly cacheDir?: string;
  /** Mirror replacing the official URL's folder (default: LESIONLAB_WEIGHTS_MIRROR, else none). */
  readonly baseUrl?: string;
  readonly inputSize?: number;
  readonly onProgress?: ProgressHook;
  /** Environment to read the registry's weights variable from (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Root of the registry's relative `local` paths (default {@link PACKAGE_ROOT}). */
  readonly packageRoot?: string;
  /**
   * No ImageNet weights to be had: `random` (default) warns once, loudly, and returns seeded random
   * weights; `error` throws E_WEIGHTS naming the file to download and where to put it.
   */
  readonly fallback?: 'random' | 'error';
  /** Seed of the random weights of a fallback (default 0). */
  readonly seed?: number;
}

/** A weights file or folder that was found, and how. */
export interface FoundWeights {
  readonly path: string;
  readonly format: LocalWeights['format'];
  readonly origin: 'path' | 'env' | 'local' | 'download';
  /** sha256 when already computed (pinned local copies are verified on every find). */
  readonly sha256?: string;
}

/** A backbone ready for feature extraction or fine-tuning, with where its weights came from. */
export interface PretrainedBackbone {
  readonly spec: BackboneSpec;
  readonly model: tf.LayersModel;
  readonly weights: 'imagenet' | 'random';
  /** File, sha256 and cut of ImageNet weights, or the seed of random ones. */
  readonly provenance: WeightsProvenance;
  /** The weight file or folder used, or null for random weights. */
  readonly source: string | null;
  /** The layer the backbone was cut at (weights missing beyond it), or null when complete. */
  readonly outputLayer: string | null;
  /** Channels of the output feature map. */
  readonly featureWidth: number;
}

function formatOf(path: string): LocalWeights['format'] {
  return /\.(h5|hdf5)$/i.test(path) ? 'keras-h5' : 'tfjs-layers';
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function findLocal(spec: BackboneSpec, root: string): Promise<FoundWeights | null> {
  for (const local of spec.weights.local) {
    const path = resolve(root, local.path);
    const probe = local.format === 'tfjs-layers' ? join(path, 'model.json') : path;
    if (!(await exists(probe))) continue;
    if (local.sha256 === null) return { path, format: local.format, origin: 'local' };
    const actual = await hashFile(path, 'sha256');
    if (actual !== local.sha256) {
      throw expected({
        what: `sha256 ${local.sha256}`,
        where: path,
        received: actual,
        fix: 'restore the file (git checkout, or copy it again) or delete it',
        code: 'E_CHECKSUM',
      });
    }
    return { path, format: local.format, origin: 'local', sha256: actual };
  }
  return null;
}

/** Why no ImageNet weights were found, for the warning or the error. */
class NotFound {
  constructor(readonly reason: string) {}
}

/**
 * Where a backbone's ImageNet weights are, without loading them: `weightsPath`, else the registry's
 * environment variable, else its local copies (sha256-checked), else the official file in the cache
 * (downloaded when absent). When none can be had: null, or E_WEIGHTS with `fallback: 'error'`.
 */
export async function findBackboneWeights(
  name: string,
  o: PretrainedOptions = {},
): Promise<FoundWeights | null> {
  const spec = getBackbone(name);
  const found = await find(spec, o);
  if (!(found instanceof NotFound)) return found;
  if (o.fallback === 'error') throw missingWeightsError(spec, found.reason, o.cacheDir);
  (o.logger ?? silentLogger).debug?.(`${name}: no ImageNet weights (${found.reason})`);
  return null;
}

async function find(spec: BackboneSpec, o: PretrainedOptions): Promise<FoundWeights | NotFound> {
  const env = o.env ?? process.env;
  if (o.weightsPath !== undefined && o.weightsPath !== '')
    return { path: o.weightsPath, format: formatOf(o.weightsPath), origin: 'path' };
  const fromEnv = env[spec.weights.env];
  if (fromEnv !== undefined && fromEnv !== '')
    return { path: fromEnv, format: formatOf(fromEnv), origin: 'env' };
  const local = await findLocal(spec, o.packageRoot ?? PACKAGE_ROOT);
  if (local) return local;
  if (o.download === false || (o.download === undefined && env['LESIONLAB_OFFLINE'] === '1')) {
    const cached = await cachedBackboneWeights(spec.name, { cacheDir: o.cacheDir });
    if (cached) return { path: cached, format: 'keras-h5', origin: 'download' };
    return new NotFound('no local or cached copy, and downloads are off');
  }
  try {
    const baseUrl = o.baseUrl ?? (env['LESIONLAB_WEIGHTS_MIRROR'] || undefined);
    const path = await ensureBackboneWeights(spec.name, { ...o, baseUrl, logger: o.logger ?? silentLogger });
    return { path, format: 'keras-h5', origin: 'download' };
  } catch (error) {
    if (!isLesionlabError(error) || (error.code !== 'E_DOWNLOAD' && error.code !== 'E_CHECKSUM')) throw error;
    return new NotFound(error.message);
  }
}

/** The one-line refusal when ImageNet weights were required and none can be had. */
export function missingWeightsError(spec: BackboneSpec, reason: string, cacheDir?: string): LesionlabError {
  const official = spec.weights.official;
  const dest = join(cacheDir ?? defaultWeightsCacheDir(), official.fileName);
  const local = spec.weights.local[0];
  const or = local ? ` (or ${local.path} in the lesionlab folder)` : '';
  return expected({
    what: 'ImageNet weights',
    where: `the backbone ${spec.name}`,
    received: `none (${reason})`,
    fix: `download ${official.url} to ${dest}${or}, set ${spec.weights.env} to a local copy, or pass --weights auto to allow random weights`,
    code: 'E_WEIGHTS',
  });
}

/** sha256 of a TF.js layers folder: model.json, then each shard present, in manifest order. */
async function hashTfjsFolder(modelJson: string): Promise<string> {
  const hash = createHash('sha256');
  const text = await readFile(modelJson);
  hash.update(text);
  const manifest = (JSON.parse(text.toString('utf8')) as { weightsManifest: { paths: string[] }[] })
    .weightsManifest;
  for (const path of manifest.flatMap((group) => group.paths)) {
    const bytes = await readFile(join(dirname(modelJson), path)).catch(() => null);
    if (bytes) hash.update(bytes);
  }
  return hash.digest('hex');
}

function result(
  spec: BackboneSpec,
  model: tf.LayersModel,
  provenance: WeightsProvenance,
  source: string | null,
): PretrainedBackbone {
  const featureWidth = at(model.outputs, 0).shape[3] as number;
  const outputLayer = (provenance.kind === 'imagenet' && provenance.truncatedAt) || null;
  return { spec, model, weights: provenance.kind, provenance, source, outputLayer, featureWidth };
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
  const [first] = lacking;
  if (first !== undefined) {
    cut = lastCompleteBlockBefore(model, spec, new Set(lacking.map((m) => m.layer)));
    if (cut === null) {
      model.dispose();
      throw expected({
        what: `the weight file ${first.file}, or a complete block before ${first.layer}`,
        where: modelJson,
        received: 'neither (the file is missing)',
        fix: 'restore the file',
        code: 'E_WEIGHTS',
      });
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
  const sha256 = await hashTfjsFolder(modelJson);
  const provenance: WeightsProvenance = {
    kind: 'imagenet',
    file: modelJson,
    sha256,
    ...(cut ? { truncatedAt: cut } : {}),
  };
  return result(spec, model, provenance, modelJson);
}

async function fromH5(
  spec: BackboneSpec,
  found: FoundWeights,
  o: PretrainedOptions,
  logger: Logger,
): Promise<PretrainedBackbone> {
  const model = spec.build({ inputSize: o.inputSize });
  try {
    await loadKerasH5Weights(model, found.path, { logger });
    const sha256 = found.sha256 ?? (await hashFile(found.path, 'sha256'));
    return result(spec, model, { kind: 'imagenet', file: found.path, sha256 }, found.path);
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** A registry backbone with seeded random weights, as a {@link PretrainedBackbone}. */
export function randomPretrained(name: string, seed: number, inputSize?: number): PretrainedBackbone {
  const spec = getBackbone(name);
  const model = spec.build({ inputSize });
  seedModelWeights(model, seed);
  return result(spec, model, { kind: 'random', seed }, null);
}

/**
 * One call for a backbone with ImageNet weights, found as {@link findBackboneWeights} says (a TF.js
 * layers folder is cut before any missing weights). When none can be had it throws E_WEIGHTS
 * (`fallback: 'error'`) or warns once, loudly, and returns seeded random weights; broken or
 * mismatching weight files are always errors. `provenance` records which happened.
 */
export async function loadPretrainedBackbone(
  name: string,
  o: PretrainedOptions = {},
): Promise<PretrainedBackbone> {
  const spec = getBackbone(name);
  const logger = o.logger ?? silentLogger;
  const found = await find(spec, o);
  if (!(found instanceof NotFound)) {
    return found.format === 'keras-h5'
      ? fromH5(spec, found, o, logger)
      : fromTfjsLayers(spec, found.path, o, logger);
  }
  if (o.fallback === 'error') throw missingWeightsError(spec, found.reason, o.cacheDir);
  const seed = o.seed ?? 0;
  logger.warn(
    `${name}: NO IMAGENET WEIGHTS, using RANDOM weights (seed ${seed}; results will be far worse): ${found.reason}`,
  );
  return randomPretrained(name, seed, o.inputSize);
}
