import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { isLesionlabError } from '../../../src/core/errors.js';
import { placeImage, type RawImage, resizeImage } from '../../../src/core/preprocess/resize.js';
import { at } from '../../../src/core/util/at.js';

/** A w x h RGB image whose pixel (x, y) is (x, y, 7). */
function ramp(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  }
  return { data, width, height, channels: 3 };
}

const pixel = (out: Uint8Array, width: number, x: number, y: number): number[] =>
  Array.from(out.slice((y * width + x) * 3, (y * width + x) * 3 + 3));

describe('placeImage', () => {
  it('stretch maps the whole source onto the whole output', () => {
    expect(placeImage(200, 150, { width: 224, height: 224, resize: 'stretch' })).toEqual({
      x: { outStart: 0, outLength: 224, srcStart: 0, srcLength: 200 },
      y: { outStart: 0, outLength: 224, srcStart: 0, srcLength: 150 },
    });
  });

  it('crop covers the output and keeps the centre', () => {
    const p = placeImage(200, 150, { width: 224, height: 224, resize: 'crop' });
    expect(p.y).toEqual({ outStart: 0, outLength: 224, srcStart: 0, srcLength: 150 });
    expect(p.x.srcLength).toBeCloseTo(150, 10);
    expect(p.x.srcStart).toBeCloseTo(25, 10);
  });

  it('pad fits inside and centres the content', () => {
    const p = placeImage(200, 150, { width: 224, height: 224, resize: 'pad' });
    expect(p.x).toEqual({ outStart: 0, outLength: 224, srcStart: 0, srcLength: 200 });
    expect(p.y).toEqual({ outStart: 28, outLength: 168, srcStart: 0, srcLength: 150 });
  });
});

describe('resizeImage', () => {
  it('returns the same pixels at the same size', () => {
    const img = ramp(5, 4);
    for (const resize of ['stretch', 'pad', 'crop'] as const) {
      expect(resizeImage(img, { width: 5, height: 4, resize })).toEqual(img.data);
    }
  });

  it('matches tf.image.resizeBilinear with half-pixel centres (stretch)', () => {
    const data = Uint8Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 37) % 256);
    const out = resizeImage(
      { data, width: 7, height: 5, channels: 3 },
      { width: 11, height: 9, resize: 'stretch' },
    );
    const ref = tf.tidy(() =>
      tf.image
        .resizeBilinear(tf.tensor4d(data, [1, 5, 7, 3], 'float32'), [9, 11], false, true)
        .round()
        .dataSync(),
    );
    const diff = Math.max(...Array.from(out, (v, i) => Math.abs(v - at(ref, i))));
    expect(diff).toBeLessThanOrEqual(1);
  });

  it('pads with black bars outside the content', () => {
    const img = { data: new Uint8Array(8 * 4 * 3).fill(200), width: 8, height: 4, channels: 3 as const };
    const out = resizeImage(img, { width: 8, height: 8, resize: 'pad' });
    expect(pixel(out, 8, 3, 0)).toEqual([0, 0, 0]);
    expect(pixel(out, 8, 3, 1)).toEqual([0, 0, 0]);
    expect(pixel(out, 8, 3, 2)).toEqual([200, 200, 200]);
    expect(pixel(out, 8, 3, 5)).toEqual([200, 200, 200]);
    expect(pixel(out, 8, 3, 6)).toEqual([0, 0, 0]);
  });

  it('crop keeps the centre columns of a wide image', () => {
    const out = resizeImage(ramp(8, 4), { width: 4, height: 4, resize: 'crop' });
    expect(pixel(out, 4, 0, 0)).toEqual([2, 0, 7]);
    expect(pixel(out, 4, 3, 3)).toEqual([5, 3, 7]);
  });

  it('reads RGBA (canvas ImageData) and drops alpha', () => {
    const rgba = new Uint8ClampedArray([10, 20, 30, 255, 10, 20, 30, 0]);
    const out = resizeImage(
      { data: rgba, width: 2, height: 1, channels: 4 },
      { width: 4, height: 2, resize: 'stretch' },
    );
    expect(out.length).toBe(4 * 2 * 3);
    expect(pixel(out, 4, 3, 1)).toEqual([10, 20, 30]);
  });

  it('rejects a buffer of the wrong length with E_INPUT', () => {
    const bad = { data: new Uint8Array(10), width: 2, height: 2, channels: 3 as const };
    try {
      resizeImage(bad, { width: 4, height: 4, resize: 'stretch' });
      expect.unreachable();
    } catch (error) {
      expect(isLesionlabError(error) && error.code).toBe('E_INPUT');
      expect((error as Error).message).toContain('expected 2x2x3 = 12');
    }
  });
});
