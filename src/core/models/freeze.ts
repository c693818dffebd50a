import type * as tf from '@tensorflow/tfjs';
import { expected, shown } from '../errors.js';
import { at } from '../util/at.js';
import type { BackboneSpec } from './registry.js';

function isBatchNorm(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

const PATCHED = new WeakSet<tf.layers.Layer>();

/**
 * Makes every BatchNormalization layer of `model` with `trainable = false` run in inference mode
 * (moving statistics, no updates) even inside `fit`, as Keras does; TF.js otherwise normalises with
 * batch statistics and updates the moving averages of frozen layers. Idempotent; not serialised, so
 * call it again after loading a saved model that will be trained.
 */
export function keepFrozenBatchNormInInference(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (!isBatchNorm(layer) || PATCHED.has(layer)) continue;
    const original = layer.call.bind(layer);
    type Kwargs = Parameters<typeof original>[1];
    layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) =>
      original(inputs, layer.trainable ? kwargs : { ...kwargs, training: false });
    PATCHED.add(layer);
  }
}

/**
 * Partial unfreezing: the top `nBlocks` blocks of the backbone (by `spec.blocks`) and the head (layers named
 * `head_*`) become trainable, everything below stays frozen, and BatchNorm layers stay frozen everywhere
 * (Keras's fine-tuning advice). Compile the model again afterwards: TF.js collects trainable weights at
 * compile. Returns the number of trainable layers with weights.
 */
export function setTrainableTop(model: tf.LayersModel, spec: BackboneSpec, nBlocks: number): number {
  if (!Number.isInteger(nBlocks) || nBlocks < 0 || nBlocks > spec.blocks.length) {
    throw expected({
      what: `an integer in 0..${spec.blocks.length} (${spec.name} has ${spec.blocks.length} blocks)`,
      where: 'setTrainableTop nBlocks',
      received: shown(nBlocks),
      fix: `pass 0 to freeze all or ${spec.blocks.length} to train every block`,
      code: 'E_CONFIG',
    });
  }
  const boundary = nBlocks < spec.blocks.length ? boundaryIndex(model, spec, nBlocks) : 0;
  let count = 0;
  model.layers.forEach((layer, i) => {
    const isHead = layer.name.startsWith('head_');
    layer.trainable = isHead || (nBlocks > 0 && i > boundary && !isBatchNorm(layer));
    if (layer.trainable && layer.weights.length > 0) count++;
  });
  keepFrozenBatchNormInInference(model);
  return count;
}

/** Index of the last layer that stays frozen when the top `nBlocks` blocks train. */
function boundaryIndex(model: tf.LayersModel, spec: BackboneSpec, nBlocks: number): number {
  const last = at(spec.blocks, spec.blocks.length - nBlocks - 1).lastLayer;
  const boundary = model.layers.findIndex((l) => l.name === last);
  if (boundary < 0) {
    throw expected({
      what: `a model with the layer "${last}" of ${spec.name}`,
      where: 'setTrainableTop',
      received: `the model ${model.name}, which has no such layer`,
      fix: `was it built from ${spec.name}?`,
      code: 'E_CONFIG',
    });
  }
  return boundary;
}
