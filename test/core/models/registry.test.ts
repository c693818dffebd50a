import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import { isLesionlabError } from '../../../src/core/errors.js';
import {
  BACKBONE_NAMES,
  BACKBONES,
  type BackboneName,
  getBackbone,
} from '../../../src/core/models/registry.js';
import { countMacs } from '../../../src/core/onnx/macs.js';
import { at } from '../../../src/core/util/at.js';

// Layer names, order and shapes as keras.applications builds them (Keras 2 names, as in the .h5 files).
const EXPECTED: Record<
  BackboneName,
  { first: string[]; contains: [string, string][]; last: string; output: number[] }
> = {
  inception_resnet_v2: {
    first: [
      'input_1',
      'input_normalization',
      'conv2d_1',
      'batch_normalization_1',
      'activation_1',
      'conv2d_2',
    ],
    contains: [
      ['mixed_5b', 'Concatenate'],
      ['block35_1_conv', 'Conv2D'],
      ['block35_1', 'ScaledResidual'],
      ['block35_1_ac', 'Activation'],
      ['block17_20', 'ScaledResidual'],
      ['block8_10', 'ScaledResidual'],
      ['conv_7b_bn', 'BatchNormalization'],
      ['max_pooling2d_4', 'MaxPooling2D'],
      ['average_pooling2d_1', 'AveragePooling2D'],
    ],
    last: 'conv_7b_ac',
    output: [8, 8, 1536],
  },
  densenet121: {
    first: [
      'input_1',
      'input_normalization',
      'zero_padding2d_1',
      'conv1/conv',
      'conv1/bn',
      'conv1/relu',
      'zero_padding2d_2',
      'pool1',
      'conv2_block1_0_bn',
    ],
    contains: [
      ['conv2_block6_concat', 'Concatenate'],
      ['pool2_conv', 'Conv2D'],
      ['pool4_pool', 'AveragePooling2D'],
      ['conv5_block16_2_conv', 'Conv2D'],
      ['bn', 'BatchNormalization'],
    ],
    last: 'relu',
    output: [7, 7, 1024],
  },
  convnext_small: {
    first: [
      'input_1',
      'convnext_small_prestem_normalization',
      'convnext_small_stem_conv',
      'convnext_small_stem_layernorm',
      'convnext_small_stage_0_block_0_depthwise_conv',
    ],
    contains: [
      ['convnext_small_stage_0_block_0_pointwise_conv_1', 'Dense'],
      ['convnext_small_stage_0_block_0_gelu', 'Activation'],
      ['convnext_small_stage_0_block_0_layer_scale', 'LayerScale'],
      ['convnext_small_stage_2_block_26_add', 'Add'],
      ['convnext_small_downsampling_conv_2', 'Conv2D'],
      ['convnext_small_downsampling_layernorm_0', 'LayerNormalization'],
    ],
    last: 'layer_normalization',
    output: [7, 7, 768],
  },
  mobilenet_v1: {
    first: [
      'input_1',
      'input_normalization',
      'conv1',
      'conv1_bn',
      'conv1_relu',
      'conv_dw_1',
      'conv_dw_1_bn',
      'conv_dw_1_relu',
      'conv_pw_1',
      'conv_pw_1_bn',
      'conv_pw_1_relu',
      'conv_pad_2',
    ],
    contains: [
      ['conv_dw_13', 'DepthwiseConv2D'],
      ['conv_pw_12_relu', 'ReLU'],
      ['conv_pad_12', 'ZeroPadding2D'],
    ],
    last: 'conv_pw_13_relu',
    output: [7, 7, 1024],
  },
  mobilenet_v2: {
    first: [
      'input_1',
      'input_normalization',
      'Conv1',
      'bn_Conv1',
      'Conv1_relu',
      'expanded_conv_depthwise',
      'expanded_conv_depthwise_BN',
      'expanded_conv_depthwise_relu',
      'expanded_conv_project',
      'expanded_conv_project_BN',
      'block_1_expand',
    ],
    contains: [
      ['block_1_pad', 'ZeroPadding2D'],
      ['block_2_add', 'Add'],
      ['block_16_project_BN', 'BatchNormalization'],
      ['Conv_1', 'Conv2D'],
    ],
    last: 'out_relu',
    output: [7, 7, 1280],
  },
};

describe('getBackbone', () => {
  it('returns the spec of a registered name', () => {
    expect(getBackbone('densenet121').inputSize).toBe(224);
    expect(getBackbone('inception_resnet_v2').inputSize).toBe(299);
  });

  it('rejects an unknown name with E_UNKNOWN_MODEL listing every valid one', () => {
    let error: unknown;
    try {
      getBackbone('resnet50');
    } catch (e) {
      error = e;
    }
    expect(isLesionlabError(error) && error.code).toBe('E_UNKNOWN_MODEL');
    expect((error as Error).message).toBe(
      'expected one of inception_resnet_v2, densenet121, convnext_small, mobilenet_v1, mobilenet_v2 for the backbone but received "resnet50"; check the spelling',
    );
  });

  it('lists official weight files with Keras hashes where Keras gives them', () => {
    expect(BACKBONES.inception_resnet_v2.weights.official).toMatchObject({
      hash: 'd19885ff4a710c122648d3b5c3b684e4',
      hashAlgorithm: 'md5',
    });
    expect(BACKBONES.convnext_small.weights.official.hashAlgorithm).toBe('sha256');
    expect(BACKBONES.densenet121.weights.official.url).toBe(
      'https://storage.googleapis.com/tensorflow/keras-applications/densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5',
    );
  });
});

describe.each(BACKBONE_NAMES)('backbone %s', (name) => {
  const spec = BACKBONES[name];
  const expected = EXPECTED[name];
  let model: tf.LayersModel;
  beforeAll(() => {
    model = spec.build();
  });
  afterAll(() => model?.dispose());

  it('has exactly the Keras parameter count without top', () => {
    expect(model.countParams()).toBe(spec.kerasParams);
  });

  it('keeps Keras layer names and order', () => {
    expect(model.layers.slice(0, expected.first.length).map((l) => l.name)).toEqual(expected.first);
    for (const [layerName, cls] of expected.contains)
      expect(model.getLayer(layerName).getClassName()).toBe(cls);
    expect(model.layers.at(-1)!.name).toBe(expected.last);
    expect(new Set(model.layers.map((l) => l.name)).size).toBe(model.layers.length);
  });

  it('takes [N, s, s, 3] and normalises inside the graph first', () => {
    expect(at(model.inputs, 0).shape).toEqual([null, spec.inputSize, spec.inputSize, 3]);
    const norm = at(model.layers, 1);
    expect(norm.getClassName()).toBe('InputNormalization');
    expect(norm.getConfig()).toMatchObject({
      mean: [...spec.normalization.mean],
      std: [...spec.normalization.std],
    });
  });

  it('outputs the last feature map with featureWidth channels', () => {
    expect(at(model.outputs, 0).shape).toEqual([null, ...expected.output]);
    expect(expected.output[2]).toBe(spec.featureWidth);
  });

  it('has blocks in graph order that end at real layers', () => {
    const index = spec.blocks.map((b) => model.layers.findIndex((l) => l.name === b.lastLayer));
    expect(index.every((i) => i > 0)).toBe(true);
    expect([...index].sort((a, b) => a - b)).toEqual(index);
    expect(spec.blocks.at(-1)!.lastLayer).toBe(expected.last);
  });

  it('has a GMACs figure within 2 % of the counted multiply-accumulates', () => {
    expect(Math.abs(countMacs(model) / 1e9 - spec.gmacs) / spec.gmacs).toBeLessThan(0.02);
  });
});

describe('weight sources and test views (the registry owns them)', () => {
  it('gives every backbone its own environment variable, relative local paths and sane test views', () => {
    const envs = BACKBONE_NAMES.map((n) => BACKBONES[n].weights.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(BACKBONES.mobilenet_v1.weights.env).toBe('LESIONLAB_MOBILENET_DIR');
    for (const name of BACKBONE_NAMES) {
      const { weights, testViews } = BACKBONES[name];
      expect(testViews).toBeGreaterThanOrEqual(1);
      expect(testViews).toBeLessThanOrEqual(8);
      for (const local of weights.local) {
        expect(local.path).not.toMatch(/^\//);
        if (local.sha256 !== null) expect(local.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    expect(BACKBONES.mobilenet_v2.weights.local.map((l) => l.path)).toEqual([
      'weights/mobilenet_v2_1.0_224/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
      '../shared/weights/mobilenet_v2_1.0_224/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
    ]);
    expect(BACKBONES.mobilenet_v1.weights.local).toEqual([
      { path: '../shared/weights/mobilenet_v1_1.0_224', format: 'tfjs-layers', sha256: null },
    ]);
  });

  it('is where the config takes its backbone names from: a typo fails at parse time, listing them', () => {
    expect(parseTrainConfig({ model: { backbone: 'mobilenet_v2' } }).model.backbone).toBe('mobilenet_v2');
    expect(() => parseTrainConfig({ model: { backbone: 'mobilenet_v3' } })).toThrow(
      `expected one of ${BACKBONE_NAMES.join(', ')} for config model.backbone but received "mobilenet_v3"`,
    );
    expect(parseTrainConfig({}).model.weights).toBe('auto');
  });
});
