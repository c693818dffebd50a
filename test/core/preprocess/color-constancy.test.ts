import { describe, expect, it } from 'vitest';
import {
  estimateIlluminant,
  grayWorldGains,
  shadesOfGray,
} from '../../../src/core/preprocess/color-constancy.js';
import { at } from '../../../src/core/util/at.js';

/** `n` pixels of one RGB colour. */
function solid(rgb: [number, number, number], n = 4): Uint8Array {
  return Uint8Array.from({ length: n * 3 }, (_, i) => at(rgb, i % 3));
}

describe('Shades-of-Gray colour constancy', () => {
  it('estimates the illuminant as the per-channel p=6 Minkowski mean', () => {
    // Two pixels: red channel 0 and 255 -> (mean(0, 1) )^(1/6) * 255 = 255 * 0.5^(1/6).
    const pixels = Uint8Array.from([0, 100, 50, 255, 100, 50]);
    const [r, g, b] = estimateIlluminant(pixels);
    expect(r).toBeCloseTo(255 * 0.5 ** (1 / 6), 6);
    expect(g).toBeCloseTo(100, 6);
    expect(b).toBeCloseTo(50, 6);
  });

  it('leaves a grey image unchanged', () => {
    const grey = solid([120, 120, 120], 10);
    expect(shadesOfGray(grey)).toEqual(grey);
  });

  it('scales each channel by mean(e)/e_c so a tinted uniform image becomes grey', () => {
    const out = shadesOfGray(solid([200, 100, 50]));
    // e = (200, 100, 50), mean 116.67: every channel maps to 116.67 -> 117.
    expect(Array.from(out.slice(0, 3))).toEqual([117, 117, 117]);
  });

  it('clips to 255', () => {
    // e_r = e_g = 250 * 0.5^(1/6) ~ 222.7 < e_b = 255, so red and green gain ~1.05 and 250 clips.
    const pixels = Uint8Array.from([250, 250, 255, 0, 0, 255]);
    const gains = grayWorldGains(estimateIlluminant(pixels));
    expect(gains[0]).toBeGreaterThan(1.04);
    const out = shadesOfGray(pixels);
    expect(Array.from(out.slice(0, 2))).toEqual([255, 255]);
    expect(out[2]).toBeLessThan(255);
  });

  it('keeps gain 1 for an all-black image and copies alpha of RGBA input', () => {
    expect(grayWorldGains([0, 0, 0])).toEqual([1, 1, 1]);
    const rgba = Uint8Array.from([200, 100, 50, 7, 200, 100, 50, 9]);
    const out = shadesOfGray(rgba, 4);
    expect(Array.from(out)).toEqual([117, 117, 117, 7, 117, 117, 117, 9]);
  });
});
