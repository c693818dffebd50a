import * as tf from '@tensorflow/tfjs';
import { type CustomLayerArgs, onlyTensor } from './common.js';

/** Config of {@link LayerScale}. */
export interface LayerScaleConfig {
  readonly initValue: number;
  readonly projectionDim: number;
}

/** `x * gamma` with one trainable weight `gamma` of shape [projectionDim] (ConvNeXt's LayerScale). */
export class LayerScale extends tf.layers.Layer {
  static readonly className = 'LayerScale';
  readonly initValue: number;
  readonly projectionDim: number;
  private gamma: tf.LayerVariable | null = null;

  constructor(args: LayerScaleConfig & CustomLayerArgs) {
    super(args);
    this.initValue = args.initValue;
    this.projectionDim = args.projectionDim;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels != null && channels !== this.projectionDim) {
      throw new Error(
        `LayerScale "${this.name}": input has ${channels} channels, expected ${this.projectionDim}`,
      );
    }
    const init = tf.initializers.constant({ value: this.initValue });
    this.gamma = this.addWeight('gamma', [this.projectionDim], 'float32', init, undefined, true);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mul(onlyTensor(inputs), this.gamma!.read()));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), initValue: this.initValue, projectionDim: this.projectionDim };
  }
}
tf.serialization.registerClass(LayerScale);
