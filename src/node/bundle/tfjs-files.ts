import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expected } from '../../core/errors.js';
import '../../core/models/layers/index.js'; // registers lesionlab's custom layers for loading

const WEIGHTS_FILE = 'weights.bin';

/** Concatenates TF.js weight data (one buffer or a list of shards) into one buffer. */
function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  return new Uint8Array(tf.io.concatenateArrayBuffers(parts));
}

/**
 * Saves a TF.js layers model as `model.json` + `weights.bin` in `dir` (which must exist): the standard
 * TF.js layers format that `tf.loadLayersModel` reads over HTTP and {@link loadLayersModelFromDir} reads here.
 */
export async function saveLayersModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = joinWeightData(artifacts.weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: 'lesionlab',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, WEIGHTS_FILE), weights);
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

interface ModelJsonFile {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** Loads a TF.js layers model saved by {@link saveLayersModelToDir} (or any single-folder `model.json`). */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  const jsonPath = join(dir, 'model.json');
  let parsed: ModelJsonFile;
  try {
    parsed = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJsonFile;
  } catch (error) {
    throw expected({
      what: 'a readable TF.js model.json',
      where: jsonPath,
      received: `a file that cannot be read (${(error as Error).message})`,
      fix: 'was the bundle written with tfjs/?',
      code: 'E_MODEL_BUNDLE',
      cause: error,
    });
  }
  const shards = parsed.weightsManifest.flatMap((group) => group.paths);
  const buffers = await Promise.all(shards.map((p) => readFile(join(dir, p))));
  const weightData = tf.io.concatenateArrayBuffers(
    buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer),
  );
  const weightSpecs = parsed.weightsManifest.flatMap((group) => group.weights);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs, weightData }),
  );
}
