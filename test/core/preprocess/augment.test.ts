import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  augmentBatch,
  colourMatrix,
  drawAugmentParams,
  transformRow,
} from '../../../src/core/preprocess/augment.js';
import {
  DEFAULT_AUGMENT,
  IDENTITY_AUGMENT,
  parseAugmentConfig,
} from '../../../src/core/preprocess/augment-config.js';
import { at } from '../../../src/core/util/at.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A deterministic float32 batch [n, h, w, 3] with values in 0..255. */
function batch(n = 4, h = 12, w = 10): tf.Tensor4D {
  return tf.tidy(() =>
    tf.tensor4d(
      Float32Array.from({ length: n * h * w * 3 }, (_, i) => (i * 53) % 256),
      [n, h, w, 3],
    ),
  );
}

describe('augmentBatch', () => {
  it('is the same for the same seed and differs for another seed', () => {
    const x = batch();
    const a = augmentBatch(x, DEFAULT_AUGMENT, 7);
    const b = augmentBatch(x, DEFAULT_AUGMENT, 7);
    const c = augmentBatch(x, DEFAULT_AUGMENT, 8);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([x, a, b, c]);
  });

  it('keeps the shape and the 0..255 range under strong jitter', () => {
    const x = batch(3, 9, 7);
    const config = parseAugmentConfig({
      brightness: 1,
      contrast: 1,
      saturation: 1,
      hue: 0.5,
      zoom: [0.5, 2],
    });
    const y = augmentBatch(x, config, 1);
    expect(y.shape).toEqual([3, 9, 7, 3]);
    expect(y.dtype).toBe('float32');
    const values = y.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(255);
    tf.dispose([x, y]);
  });

  it('returns a copy of the input with the identity config', () => {
    const x = batch();
    const y = augmentBatch(x, IDENTITY_AUGMENT, 3);
    expect(y).not.toBe(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
  });

  it('leaks no tensors', () => {
    const x = batch();
    tf.dispose(augmentBatch(x, DEFAULT_AUGMENT, 1));
    const before = tf.memory().numTensors;
    tf.dispose(augmentBatch(x, DEFAULT_AUGMENT, 2));
    tf.dispose(augmentBatch(x, IDENTITY_AUGMENT, 2));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('flips exactly the images whose draw says so', () => {
    const x = batch(6, 5, 4);
    const config = { ...IDENTITY_AUGMENT, flip: true };
    const params = drawAugmentParams(6, config, 11);
    const y = augmentBatch(x, config, 11);
    const expected = tf.tidy(() =>
      tf.concat(
        params.map((p, i) => {
          let img = tf.slice(x, [i, 0, 0, 0], [1, 5, 4, 3]);
          if (p.flipH) img = tf.reverse(img, 2);
          if (p.flipV) img = tf.reverse(img, 1);
          return img;
        }),
      ),
    );
    expect(params.some((p) => p.flipH) && params.some((p) => !p.flipH)).toBe(true);
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, y, expected]);
  });

  it('rotates by 90 degrees about the centre', () => {
    const x = batch(1, 5, 5);
    const p = { ...at(drawAugmentParams(1, IDENTITY_AUGMENT, 0), 0), angle: Math.PI / 2 };
    const y = tf.tidy(() =>
      tf.image.transform(x, tf.tensor2d([transformRow(p, 5, 5)]), 'bilinear', 'reflect'),
    );
    // Output (row r, col c) shows input (row 4 - c, col r): the transpose, mirrored left-right.
    const expected = tf.tidy(() => tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 2));
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-3);
    tf.dispose([x, y, expected]);
  });

  it('jitters colour as saturation/hue matrix, then contrast about the mean, then brightness', () => {
    const x = batch(3, 4, 5);
    const config = parseAugmentConfig({
      flip: false,
      rotate: 0,
      zoom: [1, 1],
      brightness: 0.2,
      contrast: 0.5,
      saturation: 0.5,
      hue: 0.1,
    });
    const params = drawAugmentParams(3, config, 21);
    const y = augmentBatch(x, config, 21);
    const expected = tf.tidy(() =>
      tf.concat(
        params.map((p, i) => {
          const img = tf.slice(x, [i, 0, 0, 0], [1, 4, 5, 3]);
          const coloured = tf
            .matMul(tf.reshape(img, [20, 3]), tf.tensor2d(colourMatrix(p)), false, true)
            .reshape([1, 4, 5, 3]);
          const mean = tf.mean(coloured, [1, 2], true);
          const contrasted = tf.add(tf.mul(tf.sub(coloured, mean), p.contrast), mean);
          return tf.clipByValue(tf.add(contrasted, p.brightness), 0, 255);
        }),
      ),
    );
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-2);
    tf.dispose([x, y, expected]);
  });

  it('keeps grey pixels grey under hue and saturation changes', () => {
    const m = colourMatrix({
      ...at(drawAugmentParams(1, IDENTITY_AUGMENT, 0), 0),
      hue: 0.7,
      saturation: 1.3,
    });
    const grey = m.map((row) => row[0] * 100 + row[1] * 100 + row[2] * 100);
    for (const v of grey) expect(v).toBeCloseTo(100, 6);
  });

  it('rejects a non-float32 batch with E_INPUT', () => {
    const x = tf.zeros([1, 4, 4, 3], 'int32') as tf.Tensor4D;
    expect(() => augmentBatch(x, DEFAULT_AUGMENT, 1)).toThrow(
      "expected a float32 NHWC batch with 3 channels for the images of augmentBatch but received int32 [1, 4, 4, 3]; convert with tf.cast(x, 'float32')",
    );
    x.dispose();
  });
});
