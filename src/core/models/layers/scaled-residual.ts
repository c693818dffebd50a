import * as tf from '@tensorflow/tfjs';
import type { CustomLayerArgs } from './common.js';

/** Config of {@link ScaledResidual}. */
export interface ScaledResidualConfig {
  readonly scale: number;
}

/**
 * `shortcut + scale * residual` for inputs `[shortcut, residual]`: InceptionResNetV2's residual
 * scaling, a `Lambda` / `CustomScaleLayer` in Keras (named `block35_1`, ... there). No weights.
 */
export class ScaledResidual extends tf.layers.Layer {
  static readonly className = 'ScaledResidual';
  readonly scale: number;

  constructor(args: ScaledResidualConfig & CustomLayerArgs) {
    super(args);
    this.scale = args.scale;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`ScaledResidual "${this.name}" needs exactly two inputs [shortcut, residual]`);
    }
    const [shortcut, residual] = inputs as [tf.Tensor, tf.Tensor];
    return tf.tidy(() => tf.add(shortcut, tf.mul(residual, this.scale)));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return Array.isArray(inputShape[0]) ? (inputShape[0] as tf.Shape) : inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}
tf.serialization.registerClass(ScaledResidual);
