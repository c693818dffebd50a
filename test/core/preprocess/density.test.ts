import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocessRgba } from '../../../src/browser/preprocess.js';
import { preshrinkSize } from '../../../src/core/preprocess/decoding.js';
import {
  applyDensity,
  areaResize,
  type DensityRule,
  densityTarget,
} from '../../../src/core/preprocess/density.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { at } from '../../../src/core/util/at.js';
import { decodeImage } from '../../../src/node/preprocess/decode-image.js';

// HAM10000 as published here: the 600x450 originals downscaled 3x to 200x150 (short side 150)
const HAM: DensityRule = { enabled: true, sourceWidth: 200, sourceHeight: 150, maxRatio: 1.25 };
const SAMPLE = 'data/sample/ham10000/HAM10000_images_part_1/ISIC_0024313.jpg';

describe('pixel-density rule', () => {
  it('brings inputs denser than 1.25x the training short side down to it, aspect kept', () => {
    expect(densityTarget(224, 224, HAM)).toEqual({ width: 150, height: 150 });
    expect(densityTarget(600, 450, HAM)).toEqual({ width: 200, height: 150 });
    expect(densityTarget(3000, 4000, HAM)).toEqual({ width: 150, height: 200 });
    expect(densityTarget(200, 150, HAM)).toBeUndefined(); // the training density itself
    expect(densityTarget(240, 187, HAM)).toBeUndefined(); // within 1.25x
    expect(densityTarget(224, 224, { ...HAM, enabled: false })).toBeUndefined();
    expect(densityTarget(224, 224, undefined)).toBeUndefined();
  });

  it('areaResize averages exactly the covered source area (box filter), channels kept', () => {
    const grey = [0, 0, 100, 100, 0, 0, 100, 100, 40, 40, 40, 40, 80, 80, 80, 80];
    const rgb = {
      data: Uint8Array.from(grey.flatMap((v) => [v, v, v])),
      width: 4,
      height: 4,
      channels: 3 as const,
    };
    const half = areaResize(rgb, 2, 2);
    expect(Array.from(half.data.filter((_, i) => i % 3 === 0))).toEqual([0, 100, 60, 60]);
    const third = areaResize(
      { data: Uint8Array.from([0, 0, 0, 90, 90, 90, 180, 180, 180]), width: 3, height: 1, channels: 3 },
      2,
      1,
    );
    // output pixel 0 covers source [0, 1.5): (0·1 + 90·0.5) / 1.5 = 30; pixel 1 covers [1.5, 3): 150
    expect(Array.from(third.data)).toEqual([30, 30, 30, 150, 150, 150]);
    const rgba = applyDensity(
      { data: new Uint8Array(400 * 400 * 4).fill(7), width: 400, height: 400, channels: 4 },
      HAM,
    );
    expect([rgba.width, rgba.height, rgba.channels, rgba.data[0]]).toEqual([150, 150, 4, 7]);
    expect(() => areaResize(rgb, 8, 8)).toThrow(
      'expected a size from 1x1 to 4x4 for the target of areaResize but received 8x8; the area filter only shrinks',
    );
  });

  it("areaResize by whole factors gives each block's exact mean rounded half up, as the general path does", () => {
    // 6x4 -> 3x2 (2x2 blocks) and 6x4 -> 2x1 (3x4 blocks), one channel of an RGB image shown
    const values = [
      0, 1, 10, 20, 255, 255, 2, 2, 30, 41, 0, 254, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
    ];
    const image = {
      data: Uint8Array.from(values.flatMap((v) => [v, 255 - v, v])),
      width: 6,
      height: 4,
      channels: 3 as const,
    };
    const red = (px: ArrayLike<number>) => Array.from(px).filter((_, i) => i % 3 === 0);
    // (0+1+2+2)/4 = 1.25, (10+20+30+41)/4 = 25.25, (255+255+0+254)/4 = 191, (7+8+13+14)/4 = 10.5 -> 11, ...
    expect(red(areaResize(image, 3, 2).data)).toEqual([1, 25, 191, 11, 13, 15]);
    // green = 255 - red: 244.5, 242.5 and 240.5 round up
    expect(Array.from(areaResize(image, 3, 2).data.filter((_, i) => i % 3 === 1))).toEqual([
      254, 230, 64, 245, 243, 241,
    ]);
    expect(red(areaResize(image, 2, 1).data)).toEqual([9, 76]); // 111 / 12 and 909 / 12
    // against a plain reference on noise, 4x4, 2x4 and 3x3 blocks (RGB by 3 has its own loop), RGB (sharp) and
    // RGBA (canvas)
    for (const channels of [3, 4] as const) {
      const noise = Uint8Array.from({ length: 12 * 12 * channels }, (_, i) => (i * 7919) % 256);
      for (const [w, h] of [
        [3, 3],
        [6, 3],
        [4, 4],
      ] as const) {
        const [kx, ky] = [12 / w, 12 / h];
        const reference = Array.from({ length: w * h * channels }, (_, i) => {
          const [x, y, c] = [Math.floor(i / channels) % w, Math.floor(i / channels / w), i % channels];
          let sum = 0;
          for (let dy = 0; dy < ky; dy++) {
            for (let dx = 0; dx < kx; dx++) {
              sum += at(noise, ((y * ky + dy) * 12 + x * kx + dx) * channels + c);
            }
          }
          return Math.round(sum / (kx * ky));
        });
        const image = { data: noise, width: 12, height: 12, channels };
        expect(Array.from(areaResize(image, w, h).data)).toEqual(reference);
      }
    }
  });

  it('Node and the browser run the same rule: a 600x450 input gives the same model input as its 200x150 version', async () => {
    const spec: PreprocessSpec = {
      width: 112,
      height: 112,
      resize: 'stretch',
      colorConstancy: false,
      density: HAM,
    };
    const big = await sharp(SAMPLE).resize(600, 450).png().toBuffer();
    const small = await sharp(big).resize(200, 150, { kernel: 'linear' }).png().toBuffer();
    const node = await decodeImage(big, spec);
    const { data, info } = await sharp(big).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    // both sides pre-shrink alike (not at all here: halving would leave a short side under 2 x 150) before
    // the rule's exact area filter
    expect(preshrinkSize(600, 450, spec)).toEqual({ width: 600, height: 450 });
    const page = preprocessRgba(new Uint8Array(data), info.width, info.height, spec);
    const reference = await decodeImage(small, { ...spec, density: undefined });
    const mad = (a: Uint8Array, b: Uint8Array) =>
      a.reduce((s, v, i) => s + Math.abs(v - at(b, i)), 0) / a.length;
    expect(mad(node, reference)).toBeLessThan(2);
    expect(mad(page, node)).toBeLessThan(2);
    const off = await decodeImage(big, { ...spec, density: { ...HAM, enabled: false } });
    expect(mad(off, node)).toBeGreaterThan(0); // the rule changes the input (sharper without it)
  });
});
