import * as tf from '@tensorflow/tfjs';
import { MINUS_ONE_TO_ONE } from '../../preprocess/spec.js';
import { ScaledResidual } from '../layers/index.js';
import {
  apply,
  autoNamer,
  type BuildOptions,
  finishModel,
  normalizedInput,
  resolveInputSize,
  type Sym,
} from './common.js';

// Layer for layer like keras.applications.inception_resnet_v2 (Keras 2 naming: unnamed layers get
// conv2d_1, batch_normalization_1, activation_1, ... in creation order; the residual scaling
// Lambda is the custom layer ScaledResidual named block35_1, ...). BatchNorm: scale=False, eps 1e-3.

interface ConvBnOptions {
  readonly strides?: number;
  readonly padding?: 'same' | 'valid';
  readonly activation?: 'relu' | null;
  readonly useBias?: boolean;
  readonly name?: string;
}

type Namer = (prefix: string) => string;

function conv2dBn(
  n: Namer,
  x: Sym,
  filters: number,
  kernel: number | [number, number],
  o: ConvBnOptions = {},
): Sym {
  const useBias = o.useBias ?? false;
  let y = apply(
    tf.layers.conv2d({
      filters,
      kernelSize: kernel,
      strides: o.strides ?? 1,
      padding: o.padding ?? 'same',
      useBias,
      name: o.name ?? n('conv2d'),
    }),
    x,
  );
  if (!useBias) {
    const name = o.name === undefined ? n('batch_normalization') : `${o.name}_bn`;
    y = apply(
      tf.layers.batchNormalization({ axis: 3, scale: false, epsilon: 1e-3, momentum: 0.99, name }),
      y,
    );
  }
  if ((o.activation === undefined ? 'relu' : o.activation) !== null) {
    const name = o.name === undefined ? n('activation') : `${o.name}_ac`;
    y = apply(tf.layers.activation({ activation: 'relu', name }), y);
  }
  return y;
}

type BlockType = 'block35' | 'block17' | 'block8';

function branches(n: Namer, x: Sym, type: BlockType): Sym[] {
  if (type === 'block35') {
    const b0 = conv2dBn(n, x, 32, 1);
    const b1 = conv2dBn(n, conv2dBn(n, x, 32, 1), 32, 3);
    const b2 = conv2dBn(n, conv2dBn(n, conv2dBn(n, x, 32, 1), 48, 3), 64, 3);
    return [b0, b1, b2];
  }
  if (type === 'block17') {
    const b0 = conv2dBn(n, x, 192, 1);
    const b1 = conv2dBn(n, conv2dBn(n, conv2dBn(n, x, 128, 1), 160, [1, 7]), 192, [7, 1]);
    return [b0, b1];
  }
  const b0 = conv2dBn(n, x, 192, 1);
  const b1 = conv2dBn(n, conv2dBn(n, conv2dBn(n, x, 192, 1), 224, [1, 3]), 256, [3, 1]);
  return [b0, b1];
}

function resnetBlock(n: Namer, x: Sym, scale: number, type: BlockType, idx: number, activate = true): Sym {
  const blockName = `${type}_${idx}`;
  const mixed = apply(tf.layers.concatenate({ axis: 3, name: `${blockName}_mixed` }), branches(n, x, type));
  const channels = x.shape[3] as number;
  const up = conv2dBn(n, mixed, channels, 1, { activation: null, useBias: true, name: `${blockName}_conv` });
  let y = apply(new ScaledResidual({ scale, name: blockName }), [x, up]);
  if (activate) y = apply(tf.layers.activation({ activation: 'relu', name: `${blockName}_ac` }), y);
  return y;
}

function maxPool(n: Namer, x: Sym): Sym {
  return apply(
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: n('max_pooling2d') }),
    x,
  );
}

function stem(n: Namer, x: Sym): Sym {
  let y = conv2dBn(n, x, 32, 3, { strides: 2, padding: 'valid' });
  y = conv2dBn(n, y, 32, 3, { padding: 'valid' });
  y = conv2dBn(n, y, 64, 3);
  y = maxPool(n, y);
  y = conv2dBn(n, y, 80, 1, { padding: 'valid' });
  y = conv2dBn(n, y, 192, 3, { padding: 'valid' });
  return maxPool(n, y);
}

function mixed5b(n: Namer, x: Sym): Sym {
  const b0 = conv2dBn(n, x, 96, 1);
  const b1 = conv2dBn(n, conv2dBn(n, x, 48, 1), 64, 5);
  const b2 = conv2dBn(n, conv2dBn(n, conv2dBn(n, x, 64, 1), 96, 3), 96, 3);
  const pool = apply(
    tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: n('average_pooling2d') }),
    x,
  );
  const b3 = conv2dBn(n, pool, 64, 1);
  return apply(tf.layers.concatenate({ axis: 3, name: 'mixed_5b' }), [b0, b1, b2, b3]);
}

function mixed6a(n: Namer, x: Sym): Sym {
  const b0 = conv2dBn(n, x, 384, 3, { strides: 2, padding: 'valid' });
  const b1a = conv2dBn(n, conv2dBn(n, x, 256, 1), 256, 3);
  const b1 = conv2dBn(n, b1a, 384, 3, { strides: 2, padding: 'valid' });
  const pool = maxPool(n, x);
  return apply(tf.layers.concatenate({ axis: 3, name: 'mixed_6a' }), [b0, b1, pool]);
}

function mixed7a(n: Namer, x: Sym): Sym {
  const b0 = conv2dBn(n, conv2dBn(n, x, 256, 1), 384, 3, { strides: 2, padding: 'valid' });
  const b1 = conv2dBn(n, conv2dBn(n, x, 256, 1), 288, 3, { strides: 2, padding: 'valid' });
  const b2a = conv2dBn(n, conv2dBn(n, x, 256, 1), 288, 3);
  const b2 = conv2dBn(n, b2a, 320, 3, { strides: 2, padding: 'valid' });
  const pool = maxPool(n, x);
  return apply(tf.layers.concatenate({ axis: 3, name: 'mixed_7a' }), [b0, b1, b2, pool]);
}

/** Builds InceptionResNetV2 without its top: [N, s, s, 3] in 0..255 -> [N, 8, 8, 1536] at s = 299. */
export function buildInceptionResNetV2(options: BuildOptions = {}): tf.LayersModel {
  const size = resolveInputSize('inception_resnet_v2', 299, 75, options.inputSize);
  const n = autoNamer();
  const [input, normalized] = normalizedInput(size, MINUS_ONE_TO_ONE);
  let x = mixed5b(n, stem(n, normalized));
  for (let i = 1; i <= 10; i++) x = resnetBlock(n, x, 0.17, 'block35', i);
  x = mixed6a(n, x);
  for (let i = 1; i <= 20; i++) x = resnetBlock(n, x, 0.1, 'block17', i);
  x = mixed7a(n, x);
  for (let i = 1; i <= 9; i++) x = resnetBlock(n, x, 0.2, 'block8', i);
  x = resnetBlock(n, x, 1.0, 'block8', 10, false);
  x = conv2dBn(n, x, 1536, 1, { name: 'conv_7b' });
  return finishModel(input, x, 'inception_resnet_v2', options.outputLayer);
}

/** Blocks of InceptionResNetV2 from input to output, each named by its last layer. */
export function inceptionResNetV2Blocks(): { name: string; lastLayer: string }[] {
  const blocks = [
    { name: 'stem', lastLayer: 'max_pooling2d_2' },
    { name: 'mixed_5b', lastLayer: 'mixed_5b' },
  ];
  for (let i = 1; i <= 10; i++) blocks.push({ name: `block35_${i}`, lastLayer: `block35_${i}_ac` });
  blocks.push({ name: 'mixed_6a', lastLayer: 'mixed_6a' });
  for (let i = 1; i <= 20; i++) blocks.push({ name: `block17_${i}`, lastLayer: `block17_${i}_ac` });
  blocks.push({ name: 'mixed_7a', lastLayer: 'mixed_7a' });
  for (let i = 1; i <= 9; i++) blocks.push({ name: `block8_${i}`, lastLayer: `block8_${i}_ac` });
  blocks.push({ name: 'block8_10', lastLayer: 'block8_10' }, { name: 'conv_7b', lastLayer: 'conv_7b_ac' });
  return blocks;
}
