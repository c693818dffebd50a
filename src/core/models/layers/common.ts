import type * as tf from '@tensorflow/tfjs';
import { at } from '../../util/at.js';

/** Arguments every custom layer accepts, as tfjs-layers' own `LayerArgs` (name, trainable, ...). */
export type CustomLayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** The single tensor of a one-input layer call. */
export function onlyTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? at(inputs, 0) : inputs;
}
