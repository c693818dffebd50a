import { mulberry32 } from '../data/prng.js';
import type { AugmentConfig } from './augment-config.js';
import { shadesOfGray } from './color-constancy.js';
import { areaResize } from './density.js';
import { resizeImage } from './resize.js';

/** The pixel-level draw for one image: Shades-of-Gray or not, resolution factor, sharpen (+) / blur (−) amount. */
export interface PixelAugmentParams {
  readonly shadesOfGray: boolean;
  readonly resolution: number;
  readonly sharpness: number;
}

/**
 * Draws the pixel-level augmentation of `count` images from `seed`, on a stream of its own (three numbers per
 * image), so the geometric and colour draws of `drawAugmentParams` stay what they were.
 */
export function drawPixelParams(count: number, config: AugmentConfig, seed: number): PixelAugmentParams[] {
  const rng = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  return Array.from({ length: count }, () => {
    const [sog, res, sharp] = [rng(), rng(), rng()];
    const [lo, hi] = config.resolution;
    return {
      shadesOfGray: sog < config.shadesOfGray,
      resolution: lo + (hi - lo) * res,
      sharpness: (2 * sharp - 1) * config.sharpness,
    };
  });
}

/**
 * Scale, resolution and colour-constancy augmentation of a batch of NHWC uint8 RGB images of `width` x
 * `height`: per image, Shades-of-Gray (with probability `shadesOfGray`), down-then-up sampling (area filter
 * down by the drawn factor, bilinear back), then sharpen/blur. Returns a new array; the same seed, the same result.
 */
export function pixelAugment(
  pixels: Uint8Array,
  count: number,
  width: number,
  height: number,
  config: AugmentConfig,
  seed: number,
): Uint8Array {
  const params = drawPixelParams(count, config, seed);
  const plane = width * height * 3;
  const out = new Uint8Array(pixels.length);
  params.forEach((p, i) => {
    let image: Uint8Array = pixels.slice(i * plane, (i + 1) * plane);
    if (p.shadesOfGray) image = shadesOfGray(image, 3);
    if (p.resolution < 0.999) image = downUp(image, width, height, p.resolution);
    if (Math.abs(p.sharpness) > 1e-3) image = unsharp(image, width, height, p.sharpness);
    out.set(image, i * plane);
  });
  return out;
}

function downUp(image: Uint8Array, width: number, height: number, factor: number): Uint8Array {
  const small = areaResize(
    { data: image, width, height, channels: 3 },
    Math.max(1, Math.round(width * factor)),
    Math.max(1, Math.round(height * factor)),
  );
  return resizeImage(small, { width, height, resize: 'stretch' });
}

/** x + a·(x − box3x3(x)), edges clamped, rounded and clipped to 0..255 (separable box sums). */
function unsharp(image: Uint8Array, width: number, height: number, a: number): Uint8Array {
  const row = width * 3;
  const h = new Float32Array(image.length);
  // Hot loops: l, m, r and up, mid, down are clamped to the image, a width x height x 3 buffer like h.
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const l = base + Math.max(0, x - 1) * 3;
      const m = base + x * 3;
      const r = base + Math.min(width - 1, x + 1) * 3;
      h[m] = image[l]! + image[m]! + image[r]!;
      h[m + 1] = image[l + 1]! + image[m + 1]! + image[r + 1]!;
      h[m + 2] = image[l + 2]! + image[m + 2]! + image[r + 2]!;
    }
  }
  const out = new Uint8Array(image.length);
  for (let y = 0; y < height; y++) {
    const up = Math.max(0, y - 1) * row;
    const mid = y * row;
    const down = Math.min(height - 1, y + 1) * row;
    for (let i = 0; i < row; i++) {
      const v = image[mid + i]!;
      const blur = (h[up + i]! + h[mid + i]! + h[down + i]!) / 9;
      out[mid + i] = Math.min(255, Math.max(0, Math.round(v + a * (v - blur))));
    }
  }
  return out;
}
