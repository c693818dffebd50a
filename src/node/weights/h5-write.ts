import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import type { SourceWeight } from '../../core/models/weight-assign.js';
import { loadH5wasm } from './h5.js';

/** One layer as stored in a Keras 2 HDF5 weights file. */
export interface H5Layer {
  readonly name: string;
  readonly weights: readonly Omit<SourceWeight, 'layer'>[];
}

type H5Group = Awaited<ReturnType<typeof loadH5wasm>>['Group']['prototype'];

/** Opens or creates each component of a `/`-separated group path under `parent`. */
function ensureGroup(parent: H5Group, path: string): H5Group {
  let group = parent;
  for (const part of path.split('/')) {
    group = (group.get(part) as H5Group | null) ?? group.create_group(part);
  }
  return group;
}

/**
 * Writes layers in Keras 2's `save_weights` HDF5 layout (root `layer_names`; per layer group
 * `weight_names` = `<layer>/<weight>:0`, datasets at those paths), atomically (temp file + rename).
 */
export async function writeKerasH5(path: string, layers: readonly H5Layer[]): Promise<void> {
  const h5 = await loadH5wasm();
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const file = new h5.File(tmp, 'w');
  try {
    file.create_attribute(
      'layer_names',
      layers.map((l) => l.name),
    );
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.15.0');
    for (const layer of layers) {
      const group = ensureGroup(file, layer.name);
      if (layer.weights.length === 0) continue;
      const named = layer.weights.map((weight) => ({ weight, full: `${layer.name}/${weight.name}:0` }));
      group.create_attribute(
        'weight_names',
        named.map((n) => n.full),
      );
      for (const { weight, full } of named) {
        const dir = full.slice(0, full.lastIndexOf('/'));
        ensureGroup(group, dir).create_dataset({
          name: full.slice(dir.length + 1),
          data: weight.data,
          shape: [...weight.shape],
          dtype: '<f',
        });
      }
    }
  } catch (error) {
    file.close();
    await rm(tmp, { force: true });
    throw error;
  }
  file.close();
  await rename(tmp, path);
}

/** Saves a TF.js model's weights as a Keras 2 HDF5 weights file (layer order of `model.layers`). */
export async function writeKerasH5Weights(model: tf.LayersModel, path: string): Promise<void> {
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    weights: layer.weights.map((v) => ({
      name: v.originalName.slice(v.originalName.lastIndexOf('/') + 1),
      shape: v.shape as number[],
      data: v.read().dataSync() as Float32Array,
    })),
  }));
  await writeKerasH5(path, layers);
}
