import { describe, expect, it } from 'vitest';
import {
  fitInBox,
  flattenOnBlack,
  preprocessDecoded,
  preshrinkBox,
  preshrinkSize,
} from '../../../src/core/preprocess/decoding.js';
import type { DensityRule } from '../../../src/core/preprocess/density.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';

const HAM: DensityRule = { enabled: true, sourceWidth: 200, sourceHeight: 150, maxRatio: 1.25 };
const BOX: PreprocessSpec = { width: 100, height: 100, resize: 'pad', colorConstancy: false };

describe('the pre-shrink rule (one rule for sharp in Node and the canvas in the browser)', () => {
  it('boxes about twice the model input under the policy fit, or the density rule short side', () => {
    expect(preshrinkBox(BOX)).toEqual({ width: 200, height: 200, fit: 'inside' });
    expect(preshrinkBox({ ...BOX, resize: 'crop' })).toEqual({ width: 200, height: 200, fit: 'outside' });
    expect(preshrinkBox({ ...BOX, resize: 'stretch' })).toEqual({ width: 200, height: 200, fit: 'fill' });
    // an image the rule brings down: the largest shrink by 2, 4 or 8 that keeps the short side at least
    // ceil(max(2, 1.25 + 0.5) x 150) = 300 (JPEG shrink-on-load), or none; unknown size: short side 300
    const dense = (width: number, height: number) =>
      preshrinkBox({ ...BOX, density: HAM }, { width, height });
    expect(dense(600, 450)).toEqual({ width: 600, height: 450, fit: 'fill' });
    expect(dense(1200, 900)).toEqual({ width: 600, height: 450, fit: 'fill' });
    expect(dense(1199, 899)).toEqual({ width: 599, height: 449, fit: 'fill' });
    expect(dense(1000, 599)).toEqual({ width: 1000, height: 599, fit: 'fill' });
    expect(dense(4032, 3024)).toEqual({ width: 504, height: 378, fit: 'fill' });
    expect(dense(4033, 3025)).toEqual({ width: 504, height: 378, fit: 'fill' });
    expect(dense(30000, 2400)).toEqual({ width: 3750, height: 300, fit: 'fill' });
    expect(preshrinkBox({ ...BOX, density: HAM })).toEqual({ width: 300, height: 300, fit: 'outside' });
    // an image at the training density, or a rule turned off: exactly as in training
    expect(preshrinkBox({ ...BOX, density: HAM }, { width: 200, height: 150 })).toEqual(preshrinkBox(BOX));
    expect(
      preshrinkBox({ ...BOX, density: { ...HAM, enabled: false } }, { width: 600, height: 450 }),
    ).toEqual(preshrinkBox(BOX));
  });

  it('fits sizes into a box without enlarging', () => {
    const box = { width: 200, height: 200 };
    expect(fitInBox(600, 450, { ...box, fit: 'inside' })).toEqual({ width: 200, height: 150 });
    expect(fitInBox(600, 450, { ...box, fit: 'outside' })).toEqual({ width: 267, height: 200 });
    expect(fitInBox(600, 450, { ...box, fit: 'fill' })).toEqual({ width: 200, height: 200 });
    expect(fitInBox(600, 150, { ...box, fit: 'fill' })).toEqual({ width: 200, height: 150 });
    expect(fitInBox(600, 150, { ...box, fit: 'outside' })).toEqual({ width: 600, height: 150 });
    for (const fit of ['inside', 'outside', 'fill'] as const) {
      expect(fitInBox(120, 90, { ...box, fit })).toEqual({ width: 120, height: 90 });
    }
  });

  it('gives the browser its draw size: only images over twice the box shrink, aspect kept for pad and crop', () => {
    expect(preshrinkSize(200, 150, BOX)).toEqual({ width: 200, height: 150 });
    expect(preshrinkSize(600, 450, BOX)).toEqual({ width: 200, height: 150 });
    expect(preshrinkSize(600, 450, { ...BOX, resize: 'crop' })).toEqual({ width: 267, height: 200 });
    expect(preshrinkSize(600, 450, { ...BOX, resize: 'stretch' })).toEqual({ width: 200, height: 200 });
    expect(preshrinkSize(600, 450, { ...BOX, density: HAM })).toEqual({ width: 600, height: 450 });
    expect(preshrinkSize(4000, 3000, { ...BOX, density: HAM })).toEqual({ width: 500, height: 375 });
    expect(preshrinkSize(200, 150, { ...BOX, density: HAM })).toEqual(preshrinkSize(200, 150, BOX));
  });
});

describe('preprocessDecoded', () => {
  const image = (w: number, h: number, channels: 3 | 4, v: (i: number) => number) => ({
    data: Uint8Array.from({ length: w * h * channels }, (_, i) =>
      channels === 4 && i % 4 === 3 ? 255 : v(i),
    ),
    width: w,
    height: h,
    channels,
  });

  it('gives the same RGB input from RGB and RGBA pixels, with colour constancy and the density rule', () => {
    const spec: PreprocessSpec = { width: 8, height: 8, resize: 'crop', colorConstancy: true, density: HAM };
    // a reddish cast (channel c around 40·(3 - c)) that colour constancy takes out
    const value = (pixel: number, c: number) => 40 * (3 - c) + ((pixel * 13) % 40);
    const rgb = image(400, 300, 3, (i) => value(Math.floor(i / 3), i % 3));
    const rgba = image(400, 300, 4, (i) => value(Math.floor(i / 4), i % 4));
    const fromRgb = preprocessDecoded(rgb, spec);
    expect(fromRgb).toHaveLength(8 * 8 * 3);
    expect(Array.from(preprocessDecoded(rgba, spec))).toEqual(Array.from(fromRgb));
    expect(Array.from(preprocessDecoded(rgb, { ...spec, colorConstancy: false }))).not.toEqual(
      Array.from(fromRgb),
    );
  });

  it('composites semi-transparent RGBA onto black first: round(c x alpha / 255)', () => {
    // every alpha 0..255 with a few colour values each, 64 x 4 pixels per row of alpha
    const width = 256;
    const height = 16;
    const rgba = new Uint8Array(width * height * 4);
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      const alpha = i % 256;
      const colour = [(i * 7) % 256, 255 - ((i * 3) % 256), (i >> 8) * 17] as const;
      rgba.set([...colour, alpha], i * 4);
      rgb.set(
        colour.map((c) => Math.round((c * alpha) / 255)),
        i * 3,
      );
    }
    const spec: PreprocessSpec = { width: 256, height: 16, resize: 'stretch', colorConstancy: false };
    const fromRgba = preprocessDecoded({ data: rgba, width, height, channels: 4 }, spec);
    expect(Buffer.from(fromRgba).equals(Buffer.from(rgb))).toBe(true);
    const shrunk = { ...spec, width: 40, height: 10, colorConstancy: true, density: HAM };
    expect(
      Array.from(
        preprocessDecoded({ data: new Uint8ClampedArray(rgba), width, height, channels: 4 }, shrunk),
      ),
    ).toEqual(Array.from(preprocessDecoded({ data: rgb, width, height, channels: 3 }, shrunk)));
  });

  it('gives the same RGB after a canvas round trip (premultiplied storage, un-premultiplied getImageData)', () => {
    // what a 2D canvas does to straight RGBA: stores p = round(c x a / 255), hands back round(p x 255 / a)
    const roundTrip = (c: number, a: number) => {
      const p = Math.round((c * a) / 255);
      return a === 0 ? 0 : Math.min(255, Math.round((p * 255) / a));
    };
    const width = 256;
    const height = 256;
    const straight = new Uint8Array(width * height * 4);
    const canvas = new Uint8ClampedArray(width * height * 4);
    for (let a = 0; a < 256; a++) {
      for (let v = 0; v < 256; v++) {
        const colour = [v, 255 - v, (v * 5) % 256];
        straight.set([...colour, a], (a * width + v) * 4);
        canvas.set([...colour.map((c) => roundTrip(c, a)), a], (a * width + v) * 4);
      }
    }
    expect(Buffer.from(canvas).equals(Buffer.from(straight))).toBe(false);
    const flat = (data: Uint8Array | Uint8ClampedArray) =>
      Buffer.from(flattenOnBlack({ data, width, height, channels: 4 }).data);
    expect(flat(canvas).equals(flat(straight))).toBe(true);
  });

  it('pads with black under pad', () => {
    const wide = image(4, 2, 3, () => 200);
    const out = preprocessDecoded(wide, { width: 4, height: 4, resize: 'pad', colorConstancy: false });
    expect(Array.from(out.subarray(0, 12))).toEqual(new Array(12).fill(0));
    expect(out[4 * 4 * 3 - 1]).toBe(0);
    expect(out[(4 * 1 + 1) * 3]).toBe(200);
  });
});
