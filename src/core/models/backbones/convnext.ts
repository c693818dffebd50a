import * as tf from '@tensorflow/tfjs';
import { IMAGENET_MEAN_STD } from '../../preprocess/spec.js';
import { at } from '../../util/at.js';
import { onlyTensor } from '../layers/common.js';
import { LayerScale, StochasticDepth } from '../layers/index.js';
import {
  apply,
  type BuildOptions,
  finishModel,
  normalizedInput,
  resolveInputSize,
  type Sym,
} from './common.js';

// Layer for layer like keras.applications.convnext, flattened:
// - Keras's PreStem `Normalization` (mean/variance as constants, no weights) is our InputNormalization
//   named `<model>_prestem_normalization`.
// - The nested Sequential stem/downsampling blocks are inlined (their inner layer names are kept).
// - Keras's grouped Conv2D(groups=dim) 7x7 is a DepthwiseConv2D with the same name; the weight loader
//   reshapes [7,7,1,C] -> [7,7,C,1] (see ../weight-mapping.ts).
// - The residual `inputs + x` (an op, not a layer, in Keras) is an Add layer named `<block>_add`.
// - The final LayerNormalization of the notop model (Keras: unnamed `layer_normalization`) is kept and
//   applied per position on the [N, 7, 7, C] map (what Keras does with pooling=None).

const EPS = 1e-6;

/** Sizes of a ConvNeXt variant. */
export interface ConvNeXtConfig {
  readonly name: string;
  readonly depths: readonly number[];
  readonly dims: readonly number[];
  readonly dropPathRate?: number;
  readonly layerScaleInit?: number;
}

/** ConvNeXt-Small as in keras.applications (ImageNet-1k weights, drop path 0). */
export const CONVNEXT_SMALL: ConvNeXtConfig = {
  name: 'convnext_small',
  depths: [3, 3, 27, 3],
  dims: [96, 192, 384, 768],
};

function layerNorm(x: Sym, name: string): Sym {
  return apply(tf.layers.layerNormalization({ axis: -1, epsilon: EPS, name }), x);
}

/**
 * TF.js's Dense on a 4D input runs through a full (identity) Transpose of its kernel on every call,
 * which dominates ConvNeXt's CPU time. This instance-level patch computes the same thing as
 * reshape -> matMul -> reshape. It only changes speed, not the layer class or config, so saved
 * models and the ONNX export see a plain Dense; a reloaded model is just slower.
 */
export function fastDenseOnFeatureMaps(layer: tf.layers.Layer): tf.layers.Layer {
  const original = layer.call.bind(layer);
  type Kwargs = Parameters<typeof original>[1];
  layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => {
    const x = onlyTensor(inputs);
    const [kernel, bias] = layer.weights.map((w) => w.read());
    if (x.rank <= 2 || kernel === undefined || layer.getConfig()['activation'] !== 'linear')
      return original(inputs, kwargs);
    return tf.tidy(() => {
      const units = at(kernel.shape, 1);
      const flat = tf.matMul(tf.reshape(x, [-1, at(x.shape, x.rank - 1)]), kernel);
      const withBias = bias === undefined ? flat : tf.add(flat, bias);
      return tf.reshape(withBias, [...x.shape.slice(0, -1), units]);
    });
  };
  return layer;
}

function convnextBlock(x: Sym, dim: number, dropRate: number, scaleInit: number, name: string): Sym {
  let y = apply(
    tf.layers.depthwiseConv2d({
      kernelSize: 7,
      padding: 'same',
      useBias: true,
      name: `${name}_depthwise_conv`,
    }),
    x,
  );
  y = layerNorm(y, `${name}_layernorm`);
  y = apply(fastDenseOnFeatureMaps(tf.layers.dense({ units: 4 * dim, name: `${name}_pointwise_conv_1` })), y);
  y = apply(tf.layers.activation({ activation: 'gelu', name: `${name}_gelu` }), y);
  y = apply(fastDenseOnFeatureMaps(tf.layers.dense({ units: dim, name: `${name}_pointwise_conv_2` })), y);
  y = apply(new LayerScale({ initValue: scaleInit, projectionDim: dim, name: `${name}_layer_scale` }), y);
  const drop =
    dropRate > 0
      ? new StochasticDepth({ rate: dropRate, name: `${name}_stochastic_depth` })
      : tf.layers.activation({ activation: 'linear', name: `${name}_identity` });
  y = apply(drop, y);
  return apply(tf.layers.add({ name: `${name}_add` }), [x, y]);
}

/** Builds a ConvNeXt without its top: [N, s, s, 3] in 0..255 -> [N, s/32, s/32, dims[3]]. */
export function buildConvNeXt(config: ConvNeXtConfig, options: BuildOptions = {}): tf.LayersModel {
  const { name, depths, dims } = config;
  const size = resolveInputSize(name, 224, 32, options.inputSize);
  const [input, normalized] = normalizedInput(size, IMAGENET_MEAN_STD, `${name}_prestem_normalization`);
  let x = apply(
    tf.layers.conv2d({ filters: at(dims, 0), kernelSize: 4, strides: 4, name: `${name}_stem_conv` }),
    normalized,
  );
  x = layerNorm(x, `${name}_stem_layernorm`);
  const total = depths.reduce((a, b) => a + b, 0);
  const maxRate = config.dropPathRate ?? 0;
  let cur = 0;
  depths.forEach((depth, stage) => {
    const width = at(dims, stage);
    if (stage > 0) {
      x = layerNorm(x, `${name}_downsampling_layernorm_${stage - 1}`);
      const conv = {
        filters: width,
        kernelSize: 2,
        strides: 2,
        name: `${name}_downsampling_conv_${stage - 1}`,
      };
      x = apply(tf.layers.conv2d(conv), x);
    }
    for (let j = 0; j < depth; j++) {
      const rate = total > 1 ? (maxRate * (cur + j)) / (total - 1) : 0;
      x = convnextBlock(x, width, rate, config.layerScaleInit ?? 1e-6, `${name}_stage_${stage}_block_${j}`);
    }
    cur += depth;
  });
  x = layerNorm(x, 'layer_normalization');
  return finishModel(input, x, name, options.outputLayer);
}

/** Blocks of a ConvNeXt from input to output, each named by its last layer. */
export function convNeXtBlocks(config: ConvNeXtConfig): { name: string; lastLayer: string }[] {
  const blocks = [{ name: `${config.name}_stem`, lastLayer: `${config.name}_stem_layernorm` }];
  config.depths.forEach((depth, stage) => {
    if (stage > 0) {
      const name = `${config.name}_downsampling_block_${stage - 1}`;
      blocks.push({ name, lastLayer: `${config.name}_downsampling_conv_${stage - 1}` });
    }
    for (let j = 0; j < depth; j++) {
      const name = `${config.name}_stage_${stage}_block_${j}`;
      blocks.push({ name, lastLayer: `${name}_add` });
    }
  });
  blocks.push({ name: 'layer_normalization', lastLayer: 'layer_normalization' });
  return blocks;
}
