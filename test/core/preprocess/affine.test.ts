import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/core/data/prng.js';
import { LesionlabError } from '../../../src/core/errors.js';
import {
  type AffineFillMode,
  type AffineInterpolation,
  affineTransform,
} from '../../../src/core/preprocess/affine.js';
import { at } from '../../../src/core/util/at.js';
import { probeNativeBackend } from '../../support/native-backend.js';

// The native backend (tfjs-node) registers no Transform kernel, which is why affineTransform exists; when it
// loads (`npm run native:build`), the last test checks affineTransform runs there and equals the cpu result.
const native = await probeNativeBackend('infer');
const SKIP_NOTE = `no native backend to run on (${native})`;

const FILLS: readonly AffineFillMode[] = ['constant', 'reflect', 'nearest', 'wrap'];
const INTERPOLATIONS: readonly AffineInterpolation[] = ['bilinear', 'nearest'];

/** A seeded float32 batch [n, h, w, 3] of values in 0..255. */
function randomBatch(n: number, h: number, w: number, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  return tf.tensor4d(
    Float32Array.from({ length: n * h * w * 3 }, () => rng() * 255),
    [n, h, w, 3],
  );
}

/** Rotation by `angle`, zoom `zoom` about the centre, then a shift by (dx, dy) pixels: the inverse map row. */
function row(angle: number, zoom: number, dx: number, dy: number, h: number, w: number): number[] {
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  const [cos, sin] = [Math.cos(angle) / zoom, Math.sin(angle) / zoom];
  return [cos, sin, cx - cos * cx - sin * cy - dx, -sin, cos, cy + sin * cx - cos * cy - dy, 0, 0];
}

/** Rotations, zooms in and out, translations, a flip, their mixes and one projective row. */
function matrices(h: number, w: number): number[][] {
  return [
    row(0, 1, 0, 0, h, w),
    row(0.35, 1, 0, 0, h, w),
    row(-Math.PI / 2, 1, 0, 0, h, w),
    row(0, 1.3, 0, 0, h, w),
    row(0, 0.6, 0, 0, h, w),
    row(0, 1, 2.5, -3.25, h, w),
    row(0, 1, -40, 25, h, w),
    row(2.5, 0.45, 1.5, 0.5, h, w),
    [-1, 0, w - 1, 0, 1, 0, 0, 0],
    [0.9, 0.1, 1, -0.05, 1.1, -2, 0.01, -0.02],
  ];
}

/** `tf.image.transform` one image at a time (the cpu kernel stops after a batch's first image). */
function reference(
  x: tf.Tensor4D,
  rows: number[][],
  interpolation: AffineInterpolation,
  fill: AffineFillMode,
  fillValue: number,
): tf.Tensor4D {
  return tf.tidy(() =>
    tf.concat(
      tf
        .split<tf.Tensor4D>(x, rows.length, 0)
        .map((image, i) =>
          tf.image.transform(image, tf.tensor2d([at(rows, i)]), interpolation, fill, fillValue),
        ),
    ),
  );
}

/** The largest gap between affineTransform on `backend` and on cpu (bilinear; the op path against the host path). */
async function backendGap(backend: string, fillMode: AffineFillMode): Promise<number> {
  const [h, w] = [11, 9];
  const rows = matrices(h, w);
  const source = randomBatch(rows.length, h, w, 7);
  const values = await source.data();
  source.dispose();
  const run = async (name: string): Promise<Float32Array> => {
    await tf.setBackend(name);
    const x = tf.tensor4d(values, [rows.length, h, w, 3]);
    const y = affineTransform(x, rows, { interpolation: 'bilinear', fillMode, fillValue: 3 });
    const out = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    return out;
  };
  try {
    const other = await run(backend);
    const cpu = await run('cpu');
    return Math.max(...other.map((v, i) => Math.abs(v - at(cpu, i))));
  } finally {
    await tf.setBackend('cpu');
  }
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => at(tf.max(tf.abs(tf.sub(a, b))).dataSync(), 0));
}

describe('affineTransform', () => {
  describe.each(INTERPOLATIONS)('%s interpolation', (interpolation) => {
    it.each(FILLS)('equals tf.image.transform on cpu with fill %s', (fillMode) => {
      const [h, w] = [13, 17];
      const rows = matrices(h, w);
      const x = randomBatch(rows.length, h, w, 5);
      const y = affineTransform(x, rows, { interpolation, fillMode, fillValue: 37 });
      const expected = reference(x, rows, interpolation, fillMode, 37);
      expect(y.shape).toEqual(x.shape);
      expect(maxAbsDiff(y, expected)).toBeLessThan(1e-4);
      tf.dispose([x, y, expected]);
    });
  });

  it('applies one row to every image of the batch', () => {
    const x = randomBatch(3, 6, 5, 9);
    const one = row(0.7, 1.1, 0.5, 0, 6, 5);
    const y = affineTransform(x, [one], { interpolation: 'bilinear', fillMode: 'reflect' });
    const expected = reference(x, [one, one, one], 'bilinear', 'reflect', 0);
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-4);
    tf.dispose([x, y, expected]);
  });

  it('leaves the image unchanged, bit for bit, under the identity', () => {
    const x = randomBatch(2, 5, 4, 1);
    const y = affineTransform(x, [row(0, 1, 0, 0, 5, 4)], { interpolation: 'bilinear' });
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
  });

  it('leaks no tensors', () => {
    const x = randomBatch(2, 8, 8, 3);
    const rows = [row(0.3, 1.2, 1, 0, 8, 8), row(-0.3, 0.8, 0, 1, 8, 8)];
    tf.dispose(affineTransform(x, rows, { interpolation: 'bilinear', fillMode: 'nearest' }));
    const before = tf.memory().numTensors;
    tf.dispose(affineTransform(x, rows, { interpolation: 'bilinear', fillMode: 'nearest' }));
    tf.dispose(affineTransform(x, rows, { interpolation: 'nearest', fillMode: 'constant' }));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('names the bad argument and the fix', () => {
    const x = randomBatch(2, 4, 4, 2);
    expect(() => affineTransform(x, [[1, 0, 0, 0, 1, 0, 0, 0]].concat([[1], [1]]))).toThrow(
      'expected 1 or 2 transform rows of 8 numbers for the transforms of affineTransform but received 3 rows of [8, 1, 1]; pass [a0, a1, a2, b0, b1, b2, c0, c1] per image',
    );
    const ints = tf.zeros([1, 2, 2, 3], 'int32') as tf.Tensor4D;
    expect(() => affineTransform(ints, [[1, 0, 0, 0, 1, 0, 0, 0]])).toThrow(LesionlabError);
    tf.dispose([x, ints]);
  });

  it('runs on wasm and equals the cpu result', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    for (const fill of FILLS) expect(await backendGap('wasm', fill), fill).toBeLessThan(1e-4);
  });

  it('runs on the native tensorflow backend and equals the cpu result', async (ctx) => {
    if (native !== null) ctx.skip(SKIP_NOTE);
    for (const fill of FILLS) expect(await backendGap('tensorflow', fill), fill).toBeLessThan(1e-4);
  });
});
