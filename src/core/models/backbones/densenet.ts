import * as tf from '@tensorflow/tfjs';
import { IMAGENET_MEAN_STD } from '../../preprocess/spec.js';
import {
  apply,
  type BuildOptions,
  finishModel,
  normalizedInput,
  resolveInputSize,
  type Sym,
} from './common.js';

// Layer for layer like keras.applications.densenet (DenseNet121: blocks [6, 12, 24, 16]).
// BatchNorm epsilon 1.001e-5; the two unnamed ZeroPadding2D layers get Keras 2 names.

const EPS = 1.001e-5;
const DENSENET121_BLOCKS = [6, 12, 24, 16] as const;

function bnRelu(x: Sym, bnName: string, reluName: string): Sym {
  const y = apply(tf.layers.batchNormalization({ axis: 3, epsilon: EPS, momentum: 0.99, name: bnName }), x);
  return apply(tf.layers.activation({ activation: 'relu', name: reluName }), y);
}

function convBlock(x: Sym, growthRate: number, name: string): Sym {
  let x1 = bnRelu(x, `${name}_0_bn`, `${name}_0_relu`);
  x1 = apply(
    tf.layers.conv2d({ filters: 4 * growthRate, kernelSize: 1, useBias: false, name: `${name}_1_conv` }),
    x1,
  );
  x1 = bnRelu(x1, `${name}_1_bn`, `${name}_1_relu`);
  x1 = apply(
    tf.layers.conv2d({
      filters: growthRate,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      name: `${name}_2_conv`,
    }),
    x1,
  );
  return apply(tf.layers.concatenate({ axis: 3, name: `${name}_concat` }), [x, x1]);
}

function transitionBlock(x: Sym, reduction: number, name: string): Sym {
  let y = bnRelu(x, `${name}_bn`, `${name}_relu`);
  const filters = Math.floor((y.shape[3] as number) * reduction);
  y = apply(tf.layers.conv2d({ filters, kernelSize: 1, useBias: false, name: `${name}_conv` }), y);
  return apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `${name}_pool` }), y);
}

/** Builds DenseNet121 without its top: [N, s, s, 3] in 0..255 -> [N, 7, 7, 1024] at s = 224. */
export function buildDenseNet121(options: BuildOptions = {}): tf.LayersModel {
  const size = resolveInputSize('densenet121', 224, 32, options.inputSize);
  const [input, normalized] = normalizedInput(size, IMAGENET_MEAN_STD);
  let x = apply(
    tf.layers.zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'zero_padding2d_1',
    }),
    normalized,
  );
  x = apply(
    tf.layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, useBias: false, name: 'conv1/conv' }),
    x,
  );
  x = bnRelu(x, 'conv1/bn', 'conv1/relu');
  x = apply(
    tf.layers.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'zero_padding2d_2',
    }),
    x,
  );
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1' }), x);
  DENSENET121_BLOCKS.forEach((count, stage) => {
    for (let i = 1; i <= count; i++) x = convBlock(x, 32, `conv${stage + 2}_block${i}`);
    if (stage < 3) x = transitionBlock(x, 0.5, `pool${stage + 2}`);
  });
  x = bnRelu(x, 'bn', 'relu');
  return finishModel(input, x, 'densenet121', options.outputLayer);
}

/** Blocks of DenseNet121 from input to output, each named by its last layer. */
export function denseNet121Blocks(): { name: string; lastLayer: string }[] {
  const blocks = [{ name: 'conv1', lastLayer: 'pool1' }];
  DENSENET121_BLOCKS.forEach((count, stage) => {
    for (let i = 1; i <= count; i++) {
      const name = `conv${stage + 2}_block${i}`;
      blocks.push({ name, lastLayer: `${name}_concat` });
    }
    if (stage < 3) blocks.push({ name: `pool${stage + 2}`, lastLayer: `pool${stage + 2}_pool` });
  });
  blocks.push({ name: 'bn', lastLayer: 'relu' });
  return blocks;
}
