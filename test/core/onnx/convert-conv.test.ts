import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { isLesionlabError } from '../../../src/core/errors.js';
import { exportOnnx } from '../../../src/core/onnx/export.js';

const L = tf.layers;

function depthwise(dilationRate: number | [number, number]): tf.LayersModel {
  const input = tf.input({ shape: [7, 7, 2] });
  const layer = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', dilationRate, name: 'dw' });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

describe('DepthwiseConv2D export', () => {
  it.each([{ rate: 2 }, { rate: [1, 2] as [number, number] }])(
    'refuses dilationRate $rate, which TF.js ignores, with one E_ONNX line',
    ({ rate }) => {
      const m = depthwise(rate);
      let error: unknown;
      try {
        exportOnnx(m);
      } catch (e) {
        error = e;
      }
      expect(isLesionlabError(error) && error.code).toBe('E_ONNX');
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain('"dw"');
      expect(message).toContain('TF.js computes this layer without dilation, Keras with it');
      m.dispose();
    },
  );

  it('exports dilationRate 1', () => {
    const m = depthwise(1);
    expect(exportOnnx(m).nodeCount).toBeGreaterThan(0);
    m.dispose();
  });
});
