import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  InputNormalization,
  LayerScale,
  ScaledResidual,
  StochasticDepth,
} from '../../../src/core/models/layers/index.js';
import { at } from '../../../src/core/util/at.js';
import { outputNamed } from '../../support/onnx-output.js';
import { maxAbsDiff, randomData, randomizeWeights, runBoth } from '../../support/onnx-parity.js';

const L = tf.layers;
type Sym = tf.SymbolicTensor;
type Build = (x: Sym) => Sym;

/** A functional model: input [h, w, c] -> build. */
function model(shape: number[], build: Build): tf.LayersModel {
  const input = tf.input({ shape });
  return tf.model({ inputs: input, outputs: build(input) });
}

const call = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;
const conv = (filters: number, k: number, extra: Record<string, unknown> = {}) =>
  L.conv2d({ filters, kernelSize: k, padding: 'same', ...extra });

/** One tiny model per layer type / configuration; input shape [H, W, C] (batch 2 in the test). */
const CASES: Record<string, [number[], Build]> = {
  'Conv2D same s1 bias relu': [[9, 9, 3], (x) => call(conv(4, 3, { activation: 'relu' }), x)],
  'Conv2D same s2 no bias (even size)': [
    [8, 8, 3],
    (x) => call(conv(4, 3, { strides: 2, useBias: false }), x),
  ],
  'Conv2D same s2 (odd size)': [[9, 7, 3], (x) => call(conv(4, 3, { strides: 2 }), x)],
  'Conv2D same 1x1 s2': [[8, 8, 3], (x) => call(conv(5, 1, { strides: 2 }), x)],
  'Conv2D valid s2 2x3 kernel': [
    [9, 10, 3],
    (x) => call(conv(4, [2, 3] as unknown as number, { padding: 'valid', strides: 2 }), x),
  ],
  'Conv2D valid dilation 2': [[9, 9, 3], (x) => call(conv(4, 3, { padding: 'valid', dilationRate: 2 }), x)],
  'DepthwiseConv2D same s2 mult 2 relu6': [
    [8, 8, 3],
    (x) =>
      call(
        L.depthwiseConv2d({
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          depthMultiplier: 2,
          activation: 'relu6',
        }),
        x,
      ),
  ],
  'DepthwiseConv2D valid no bias': [
    [7, 7, 4],
    (x) => call(L.depthwiseConv2d({ kernelSize: 3, padding: 'valid', useBias: false }), x),
  ],
  'SeparableConv2D same': [
    [8, 8, 3],
    (x) => call(L.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2 }), x),
  ],
  'BatchNormalization after conv': [
    [6, 6, 3],
    (x) => call(L.batchNormalization({ epsilon: 1.001e-5 }), call(conv(4, 3), x)),
  ],
  'BatchNormalization on NHWC input, no scale/center': [
    [6, 6, 3],
    (x) => call(L.batchNormalization({ center: false, scale: false }), x),
  ],
  'BatchNormalization on 2D': [[6, 6, 3], (x) => call(L.batchNormalization({}), call(L.flatten(), x))],
  'ReLU maxValue 6 and plain': [
    [6, 6, 3],
    (x) => call(L.reLU({ maxValue: 6 }), call(L.reLU({}), call(conv(4, 3), x))),
  ],
  'LeakyReLU + ELU + Softmax layer': [
    [5, 5, 3],
    (x) =>
      call(L.softmax({ axis: -1 }), call(L.elu({}), call(L.leakyReLU({ alpha: 0.2 }), call(conv(4, 3), x)))),
  ],
  'ZeroPadding2D asymmetric + MaxPooling2D valid 3/2': [
    [8, 8, 3],
    (x) =>
      call(
        L.maxPooling2d({ poolSize: 3, strides: 2 }),
        call(
          L.zeroPadding2d({
            padding: [
              [1, 2],
              [0, 2],
            ],
          }),
          call(conv(4, 3), x),
        ),
      ),
  ],
  'ZeroPadding2D -> MaxPooling2D on negative inputs (ORT pad-fusion trap)': [
    [8, 7, 3],
    (x) =>
      call(
        L.maxPooling2d({ poolSize: 3, strides: 2 }),
        call(L.zeroPadding2d({ padding: 1 }), call(L.rescaling({ scale: 1, offset: -5 }), x)),
      ),
  ],
  'MaxPooling2D same 3/2': [
    [9, 8, 3],
    (x) => call(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x),
  ],
  'AveragePooling2D same 3/1 and valid 2/2': [
    [7, 8, 3],
    (x) =>
      call(
        L.averagePooling2d({ poolSize: 2, strides: 2 }),
        call(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x),
      ),
  ],
  'GlobalAveragePooling2D -> Dense softmax': [
    [6, 6, 3],
    (x) =>
      call(
        L.dense({ units: 7, activation: 'softmax' }),
        call(L.globalAveragePooling2d({}), call(conv(8, 3), x)),
      ),
  ],
  'GlobalMaxPooling2D -> Dense no bias': [
    [6, 6, 3],
    (x) => call(L.dense({ units: 3, useBias: false }), call(L.globalMaxPooling2d({}), call(conv(8, 3), x))),
  ],
  'Concatenate (channels) + Add + Multiply': [
    [6, 6, 3],
    (x) => {
      const a = call(conv(4, 3), x);
      const b = call(conv(4, 1), x);
      const cat = call(L.concatenate({ axis: -1 }), [a, b, x]);
      const sum = call(L.add({}), [a, b, call(conv(4, 3), x)]);
      const prod = call(L.multiply({}), [a, sum]);
      return call(L.concatenate({}), [cat, prod]);
    },
  ],
  'Average + Maximum + Minimum': [
    [5, 5, 3],
    (x) => {
      const a = call(conv(4, 3), x);
      const b = call(conv(4, 3), x);
      return call(L.add({}), [
        call(L.average({}), [a, b]),
        call(L.maximum({}), [a, b]),
        call(L.minimum({}), [a, b]),
      ]);
    },
  ],
  'Dense on 4D after conv (NCHW path) + gelu': [
    [5, 5, 3],
    (x) => call(L.dense({ units: 6, activation: 'gelu' }), call(conv(4, 3), x)),
  ],
  'LayerNormalization 4D -> Dense 4D (NHWC path) -> Dense': [
    [5, 5, 3],
    (x) =>
      call(
        L.dense({ units: 4 }),
        call(
          L.dense({ units: 6, activation: 'gelu' }),
          call(L.layerNormalization({ epsilon: 1e-6 }), call(conv(4, 3), x)),
        ),
      ),
  ],
  'LayerNormalization 2D no center': [
    [4, 4, 3],
    (x) => call(L.layerNormalization({ center: false }), call(L.flatten(), x)),
  ],
  'Flatten after conv + Dense': [
    [5, 4, 3],
    (x) => call(L.dense({ units: 3 }), call(L.flatten(), call(conv(4, 3), x))),
  ],
  'Reshape + Dense': [
    [4, 4, 3],
    (x) => call(L.dense({ units: 3 }), call(L.reshape({ targetShape: [16, 3] }), call(conv(3, 3), x))),
  ],
  'Rescaling + Dropout': [
    [5, 5, 3],
    (x) => call(L.dropout({ rate: 0.5 }), call(L.rescaling({ scale: 1 / 127.5, offset: -1 }), x)),
  ],
  'InputNormalization + conv': [
    [6, 6, 3],
    (x) => call(conv(4, 3), call(new InputNormalization({ mean: [120, 110, 100], std: [60, 55, 50] }), x)),
  ],
  'ScaledResidual + LayerScale + StochasticDepth': [
    [6, 6, 4],
    (x) => {
      const r = call(new LayerScale({ initValue: 0.5, projectionDim: 4 }), call(conv(4, 3), x));
      const s = call(new StochasticDepth({ rate: 0.2 }), r);
      return call(new ScaledResidual({ scale: 0.17 }), [x, s]);
    },
  ],
  'LayerScale on NHWC (after LayerNormalization)': [
    [6, 6, 4],
    (x) => call(new LayerScale({ initValue: 0.5, projectionDim: 4 }), call(L.layerNormalization({}), x)),
  ],
};

const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'hardSigmoid',
  'tanh',
  'softmax',
  'logSoftmax',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
];
for (const a of ACTIVATIONS) {
  CASES[`Activation ${a} (NCHW)`] = [
    [4, 4, 3],
    (x) => call(L.activation({ activation: a as 'relu' }), call(conv(5, 3), x)),
  ];
}
CASES['Activation softmax on 2D'] = [
  [3, 3, 2],
  (x) => call(L.activation({ activation: 'softmax' }), call(L.flatten(), x)),
];

describe('exportOnnx parity with TF.js per layer type (max abs diff <= 1e-4)', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const [shape, build] = CASES[name]!;
    const m = model(shape, build);
    randomizeWeights(m, name.length);
    const dims = [2, ...shape];
    const input = randomData(
      dims.reduce((a, b) => a * b, 1),
      42,
      -2,
      2,
    );
    const { tfjs, ort, outputs } = await runBoth(m, input, dims);
    const got = outputNamed(ort, at(outputs, 0));
    expect(got.dims).toEqual([2, ...(at(m.outputs, 0).shape.slice(1) as number[])]);
    expect(maxAbsDiff(got.data, at(tfjs, 0))).toBeLessThanOrEqual(1e-4);
    m.dispose();
  });
});
