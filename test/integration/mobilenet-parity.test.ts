import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { InputNormalization } from '../../src/core/models/layers/index.js';
import { MINUS_ONE_TO_ONE } from '../../src/core/preprocess/spec.js';
import { at } from '../../src/core/util/at.js';
import { loadPretrainedBackbone } from '../../src/node/weights/index.js';
import { hasMobileNet, loadTruncatedMobileNet, MOBILENET_DIR } from '../support/mobilenet-weights.js';
import { outputNamed } from '../support/onnx-output.js';
import { maxAbsDiff, runBoth } from '../support/onnx-parity.js';

const SAMPLE = join(
  process.cwd(),
  'data',
  'sample',
  'ham10000',
  'HAM10000_images_part_1',
  'ISIC_0024313.jpg',
);
const present = await hasMobileNet();
let lastFeatures: { pixels: Float32Array; features: Float32Array } | undefined;

describe.skipIf(!present)(
  'real MobileNet v1 weights (../shared/weights/mobilenet_v1_1.0_224, cut at conv_pw_12_relu)',
  () => {
    it('ONNX Runtime matches TF.js within 1e-4 on a real dermoscopic image', async () => {
      const mobilenet = await loadTruncatedMobileNet();
      const input = tf.input({ shape: [224, 224, 3], name: 'pixels' });
      const norm = new InputNormalization({
        mean: [...MINUS_ONE_TO_ONE.mean],
        std: [...MINUS_ONE_TO_ONE.std],
      });
      const features = mobilenet.apply(norm.apply(input)) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: features });
      const pixels = await sharp(SAMPLE).resize(224, 224, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      const { tfjs, ort, outputs } = await runBoth(model, Float32Array.from(pixels), [1, 224, 224, 3]);
      const got = outputNamed(ort, at(outputs, 0));
      expect(got.dims).toEqual([1, 7, 7, 1024]);
      const peak = at(tfjs, 0).reduce((a, b) => Math.max(a, b), 0);
      expect(peak).toBeGreaterThan(0.5); // real weights give real activations (ReLU6 range)
      expect(maxAbsDiff(got.data, at(tfjs, 0))).toBeLessThanOrEqual(1e-4);
      model.dispose();
      lastFeatures = { pixels: Float32Array.from(pixels), features: at(tfjs, 0) };
    });

    it("the registry's mobilenet_v1 with H3's loader gives the same features, in TF.js and ONNX", async () => {
      expect(lastFeatures).toBeDefined();
      const { pixels, features } = lastFeatures!;
      const loaded = await loadPretrainedBackbone('mobilenet_v1', {
        weightsPath: MOBILENET_DIR,
        download: false,
      });
      expect(loaded.outputLayer).toBe('conv_pw_12_relu');
      const { tfjs, ort, outputs } = await runBoth(loaded.model, pixels, [1, 224, 224, 3]);
      expect(maxAbsDiff(outputNamed(ort, at(outputs, 0)).data, at(tfjs, 0))).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(outputNamed(ort, at(outputs, 0)).data, features)).toBeLessThanOrEqual(1e-4);
      loaded.model.dispose();
    });
  },
);
