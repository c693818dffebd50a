import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKBONE_NAMES, BACKBONES, getBackbone } from '../../../src/core/models/registry.js';
import { at } from '../../../src/core/util/at.js';
import { expectInferenceFeatures, FULL_SIZE_BACKBONES } from '../../support/backbone-forward.js';

// The full-size networks run in test/integration/backbone-forward-heavy.test.ts.
describe.each(BACKBONE_NAMES.filter((n) => !FULL_SIZE_BACKBONES.has(n)))(
  'backbone %s forward pass (32 px)',
  (name) => {
    it('gives per-image features that vary with the image, leaks nothing, frees everything on dispose', () => {
      const baseline = tf.memory().numTensors;
      const model = BACKBONES[name].build({ inputSize: 32 });
      const built = tf.memory().numTensors;
      expectInferenceFeatures(model, 32, BACKBONES[name].featureWidth);
      expect(tf.memory().numTensors).toBe(built);
      model.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(baseline + 8); // tfjs keeps a few cached scalars
    });
  },
);

describe('build({ outputLayer })', () => {
  it('cuts MobileNet v1 after conv_pw_12_relu and disposes the layers that fell off', () => {
    const full = getBackbone('mobilenet_v1').build({ inputSize: 64 });
    const fullParams = full.countParams();
    full.dispose();
    const before = tf.memory().numTensors;
    const cut = getBackbone('mobilenet_v1').build({ inputSize: 64, outputLayer: 'conv_pw_12_relu' });
    expect(cut.layers.at(-1)!.name).toBe('conv_pw_12_relu');
    expect(at(cut.outputs, 0).shape).toEqual([null, 2, 2, 1024]);
    // conv_dw_13 (3*3*1024) + conv_pw_13 (1024*1024) + two BN (4*1024 each) fell off
    expect(fullParams - cut.countParams()).toBe(9 * 1024 + 1024 * 1024 + 8 * 1024);
    expect(tf.memory().numTensors - before).toBe(cut.weights.length);
    cut.dispose();
  });

  it('rejects an unknown layer name', () => {
    expect(() => getBackbone('mobilenet_v2').build({ inputSize: 32, outputLayer: 'nope' })).toThrow(
      /^expected a layer name of .* to cut at \(\d+ layers, last ones: .*\) for .* but received "nope"; use a layer name from model\.layers$/,
    );
  });

  it('rejects an input smaller than the Keras minimum', () => {
    expect(() => getBackbone('inception_resnet_v2').build({ inputSize: 64 })).toThrow(
      'expected an integer input size >= 75 for the backbone inception_resnet_v2 but received 64; e.g. its native size 299',
    );
  });
});
