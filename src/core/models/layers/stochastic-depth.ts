import * as tf from '@tensorflow/tfjs';
import { at } from '../../util/at.js';
import { type CustomLayerArgs, onlyTensor } from './common.js';

/** Config of {@link StochasticDepth}. */
export interface StochasticDepthConfig {
  readonly rate: number;
}

/**
 * Drops a residual branch per sample with probability `rate` while training (scaling kept ones by
 * 1 / (1 - rate)); identity at inference, which is all the ONNX export sees.
 */
export class StochasticDepth extends tf.layers.Layer {
  static readonly className = 'StochasticDepth';
  readonly rate: number;

  constructor(args: StochasticDepthConfig & CustomLayerArgs) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`StochasticDepth: rate must be in [0, 1)`);
    this.rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = onlyTensor(inputs);
    if (kwargs?.training !== true || this.rate === 0) return tf.clone(x);
    return tf.tidy(() => {
      const keep = 1 - this.rate;
      const maskShape = [at(x.shape, 0), ...x.shape.slice(1).map(() => 1)];
      const mask = tf.floor(tf.add(tf.randomUniform(maskShape), keep));
      return tf.mul(tf.div(x, keep), mask);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(StochasticDepth);
