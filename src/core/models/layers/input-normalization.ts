import * as tf from '@tensorflow/tfjs';
import { type CustomLayerArgs, onlyTensor } from './common.js';

/** Config of {@link InputNormalization}: per-channel mean and std on the [0, 255] scale. */
export interface InputNormalizationConfig {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * `(x - mean) / std` per channel (last axis). No weights, so it never changes a Keras weight count;
 * it puts each backbone's input normalisation inside the graph so callers always feed 0..255 RGB.
 */
export class InputNormalization extends tf.layers.Layer {
  static readonly className = 'InputNormalization';
  readonly mean: number[];
  readonly std: number[];

  constructor(args: InputNormalizationConfig & CustomLayerArgs) {
    super(args);
    if (args.mean.length !== args.std.length || args.std.some((s) => s === 0)) {
      throw new Error(`InputNormalization: mean and std need equal lengths and non-zero std`);
    }
    this.mean = [...args.mean];
    this.std = [...args.std];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = onlyTensor(inputs);
      return tf.div(tf.sub(x, tf.tensor1d(this.mean)), tf.tensor1d(this.std));
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: this.mean, std: this.std };
  }
}
tf.serialization.registerClass(InputNormalization);
