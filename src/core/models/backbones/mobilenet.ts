import * as tf from '@tensorflow/tfjs';
import { MINUS_ONE_TO_ONE } from '../../preprocess/spec.js';
import { at } from '../../util/at.js';
import {
  apply,
  type BuildOptions,
  finishModel,
  normalizedInput,
  resolveInputSize,
  type Sym,
  spatial,
} from './common.js';

// Layer for layer like keras.applications.mobilenet (v1, alpha 1.0, depth multiplier 1): ReLU(6) layers,
// BatchNorm eps 1e-3, stride-2 depthwise convs preceded by ZeroPadding2D((0,1),(0,1)) `conv_pad_N`.

const V1_BLOCKS: readonly [filters: number, stride: number][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

function bn(x: Sym, name: string, momentum = 0.99): Sym {
  return apply(tf.layers.batchNormalization({ axis: 3, epsilon: 1e-3, momentum, name }), x);
}

function relu6(x: Sym, name: string): Sym {
  return apply(tf.layers.reLU({ maxValue: 6, name }), x);
}

function depthwiseBlock(x: Sym, filters: number, stride: number, id: number): Sym {
  let y = x;
  if (stride === 2)
    y = apply(
      tf.layers.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: `conv_pad_${id}`,
      }),
      y,
    );
  const padding = stride === 1 ? 'same' : 'valid';
  const dw = { kernelSize: 3, padding, strides: stride, useBias: false, name: `conv_dw_${id}` } as const;
  y = relu6(bn(apply(tf.layers.depthwiseConv2d(dw), y), `conv_dw_${id}_bn`), `conv_dw_${id}_relu`);
  const pw = { filters, kernelSize: 1, padding: 'same', useBias: false, name: `conv_pw_${id}` } as const;
  return relu6(bn(apply(tf.layers.conv2d(pw), y), `conv_pw_${id}_bn`), `conv_pw_${id}_relu`);
}

/** Builds MobileNet v1 (1.0) without its top: [N, s, s, 3] in 0..255 -> [N, 7, 7, 1024] at s = 224. */
export function buildMobileNetV1(options: BuildOptions = {}): tf.LayersModel {
  const size = resolveInputSize('mobilenet_v1', 224, 32, options.inputSize);
  const [input, normalized] = normalizedInput(size, MINUS_ONE_TO_ONE);
  const conv1 = {
    filters: 32,
    kernelSize: 3,
    padding: 'same',
    strides: 2,
    useBias: false,
    name: 'conv1',
  } as const;
  let x = relu6(bn(apply(tf.layers.conv2d(conv1), normalized), 'conv1_bn'), 'conv1_relu');
  V1_BLOCKS.forEach(([filters, stride], i) => {
    x = depthwiseBlock(x, filters, stride, i + 1);
  });
  return finishModel(input, x, 'mobilenet_1.00_224', options.outputLayer);
}

/** Blocks of MobileNet v1 from input to output, each named by its last layer. */
export function mobileNetV1Blocks(): { name: string; lastLayer: string }[] {
  const blocks = [{ name: 'conv1', lastLayer: 'conv1_relu' }];
  V1_BLOCKS.forEach((_, i) => {
    blocks.push({ name: `conv_dw_${i + 1}`, lastLayer: `conv_pw_${i + 1}_relu` });
  });
  return blocks;
}

// keras.applications.mobilenet_v2 (alpha 1.0): BatchNorm eps 1e-3 momentum 0.999, ReLU(6).
const V2_BLOCKS: readonly [filters: number, stride: number, expansion: number][] = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6],
];

/** Keras's `imagenet_utils.correct_pad` for a 3x3 stride-2 convolution. */
function correctPad(x: Sym): [[number, number], [number, number]] {
  const [h, w] = spatial(x);
  return [
    [h % 2, 1],
    [w % 2, 1],
  ];
}

function invertedResBlock(x: Sym, filters: number, stride: number, expansion: number, id: number): Sym {
  const inChannels = x.shape[3] as number;
  const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
  let y = x;
  if (id !== 0) {
    const expand = {
      filters: expansion * inChannels,
      kernelSize: 1,
      padding: 'same',
      useBias: false,
    } as const;
    y = apply(tf.layers.conv2d({ ...expand, name: `${prefix}expand` }), y);
    y = relu6(bn(y, `${prefix}expand_BN`, 0.999), `${prefix}expand_relu`);
  }
  if (stride === 2) y = apply(tf.layers.zeroPadding2d({ padding: correctPad(y), name: `${prefix}pad` }), y);
  const padding = stride === 1 ? 'same' : 'valid';
  const dw = { kernelSize: 3, strides: stride, useBias: false, padding, name: `${prefix}depthwise` } as const;
  y = relu6(
    bn(apply(tf.layers.depthwiseConv2d(dw), y), `${prefix}depthwise_BN`, 0.999),
    `${prefix}depthwise_relu`,
  );
  const project = {
    filters,
    kernelSize: 1,
    padding: 'same',
    useBias: false,
    name: `${prefix}project`,
  } as const;
  y = bn(apply(tf.layers.conv2d(project), y), `${prefix}project_BN`, 0.999);
  if (inChannels === filters && stride === 1) return apply(tf.layers.add({ name: `${prefix}add` }), [x, y]);
  return y;
}

/** Builds MobileNetV2 (1.0) without its top: [N, s, s, 3] in 0..255 -> [N, 7, 7, 1280] at s = 224. */
export function buildMobileNetV2(options: BuildOptions = {}): tf.LayersModel {
  const size = resolveInputSize('mobilenet_v2', 224, 32, options.inputSize);
  const [input, normalized] = normalizedInput(size, MINUS_ONE_TO_ONE);
  const conv1 = {
    filters: 32,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    useBias: false,
    name: 'Conv1',
  } as const;
  let x = relu6(bn(apply(tf.layers.conv2d(conv1), normalized), 'bn_Conv1', 0.999), 'Conv1_relu');
  V2_BLOCKS.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(x, filters, stride, expansion, id);
  });
  x = apply(tf.layers.conv2d({ filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = relu6(bn(x, 'Conv_1_bn', 0.999), 'out_relu');
  return finishModel(input, x, 'mobilenetv2_1.00_224', options.outputLayer);
}

/** Blocks of MobileNetV2 from input to output, each named by its last layer. */
export function mobileNetV2Blocks(): { name: string; lastLayer: string }[] {
  const blocks = [{ name: 'Conv1', lastLayer: 'Conv1_relu' }];
  V2_BLOCKS.forEach(([filters, stride], id) => {
    const prefix = id === 0 ? 'expanded_conv' : `block_${id}`;
    const inChannels = id === 0 ? 32 : at(V2_BLOCKS, id - 1)[0];
    const residual = inChannels === filters && stride === 1;
    blocks.push({ name: prefix, lastLayer: residual ? `${prefix}_add` : `${prefix}_project_BN` });
  });
  blocks.push({ name: 'Conv_1', lastLayer: 'out_relu' });
  return blocks;
}
