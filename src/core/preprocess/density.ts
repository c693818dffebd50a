import { z } from 'zod';
import { expected } from '../errors.js';
import type { RawImage } from './resize.js';

/**
 * Pixel density of the training images and the rule that brings denser inputs down to it. "Density" is
 * concrete: the short side, in pixels, of the images the model was trained on (HAM10000: the originals
 * downscaled 3x to 200x150, so 150). An input whose short side is more than `maxRatio` times that is first
 * downscaled with an area (box) filter, aspect kept, to exactly that short side, before the model's own
 * resize/crop; smaller inputs are left alone.
 */
export const DensityRuleSchema = z
  .object({
    /** Apply the rule (`--no-density` or config `preprocess.density.enabled: false` turn it off). */
    enabled: z.boolean(),
    /** Typical (median) width and height of the training images before preprocessing. */
    sourceWidth: z.number().int().positive(),
    sourceHeight: z.number().int().positive(),
    /** Inputs whose short side exceeds `maxRatio` x the training short side are brought down to it. */
    maxRatio: z.number().min(1).max(16),
  })
  .strict();

/** See {@link DensityRuleSchema}. */
export type DensityRule = z.infer<typeof DensityRuleSchema>;

/** Default `maxRatio`: sharper than 1.25x the training density is brought down (jpeg-size jitter is not). */
export const DEFAULT_DENSITY_RATIO = 1.25;

/** The training images' short side in pixels: the density the rule brings inputs to. */
export function trainingShortSide(rule: DensityRule): number {
  return Math.min(rule.sourceWidth, rule.sourceHeight);
}

/**
 * Size an image of `width` x `height` is brought to under `rule` (aspect kept, short side = the training
 * short side), or `undefined` when the rule is off or the image is not denser than `maxRatio` allows.
 */
export function densityTarget(
  width: number,
  height: number,
  rule: DensityRule | undefined,
): { width: number; height: number } | undefined {
  if (!rule?.enabled) return undefined;
  const target = trainingShortSide(rule);
  const short = Math.min(width, height);
  if (short <= rule.maxRatio * target) return undefined;
  const scale = target / short;
  return {
    width: width <= height ? target : Math.max(1, Math.round(width * scale)),
    height: height < width ? target : Math.max(1, Math.round(height * scale)),
  };
}

/**
 * Decoders may shrink a large image before {@link applyDensity} (JPEG shrink-on-load, canvas draw) as long
 * as its short side stays at least this: twice the training short side, still over `maxRatio` x it.
 */
export function densityPreshrinkSide(rule: DensityRule): number {
  return Math.ceil(Math.max(2, rule.maxRatio + 0.5) * trainingShortSide(rule));
}

/**
 * The density rule on decoded pixels (RGB or RGBA, channels kept): a denser image is area-downscaled to the
 * training short side; others are returned as they are. The same function runs in Node and in the browser.
 */
export function applyDensity(image: RawImage, rule: DensityRule | undefined): RawImage {
  const size = densityTarget(image.width, image.height, rule);
  return size ? areaResize(image, size.width, size.height) : image;
}

/**
 * Area (box) filter downscale: each output pixel is the mean of the source area it covers, partial pixels
 * weighted by their overlap. Separable (rows, then columns) in float32; by whole factors (600x450 to 200x150) the
 * exact integer mean instead. For shrinking only.
 */
export function areaResize(image: RawImage, width: number, height: number): RawImage {
  const { data, channels } = image;
  if (width > image.width || height > image.height || width < 1 || height < 1) {
    throw expected({
      what: `a size from 1x1 to ${image.width}x${image.height}`,
      where: 'the target of areaResize',
      received: `${width}x${height}`,
      fix: 'the area filter only shrinks',
      code: 'E_INPUT',
    });
  }
  if (image.width % width === 0 && image.height % height === 0) {
    const thirds = channels === 3 && image.width === 3 * width && image.height === 3 * height;
    return thirds ? boxShrinkRgb3(image, width, height) : boxShrink(image, width, height);
  }
  const xw = areaWeights(image.width, width);
  const yw = areaWeights(image.height, height);
  const rows = new Float32Array(image.height * width * channels);
  // Hot loops: taps point inside the source (from < image.width / image.height) and the output (out < width /
  // height), and data holds image.width x image.height x channels values.
  const xTaps = xw.weight.length;
  for (let y = 0; y < image.height; y++) {
    const src = y * image.width * channels;
    const dst = y * width * channels;
    for (let t = 0; t < xTaps; t++) {
      const to = dst + xw.out[t]! * channels;
      const from = src + xw.from[t]! * channels;
      const weight = xw.weight[t]!;
      for (let c = 0; c < channels; c++) rows[to + c] = rows[to + c]! + data[from + c]! * weight;
    }
  }
  const result = new Float32Array(width * height * channels);
  const rowLen = width * channels;
  for (let t = 0; t < yw.weight.length; t++) {
    const s = yw.from[t]! * rowLen;
    const d = yw.out[t]! * rowLen;
    const weight = yw.weight[t]!;
    for (let k = 0; k < rowLen; k++) result[d + k] = result[d + k]! + rows[s + k]! * weight;
  }
  const pixels = new Uint8Array(result.length);
  for (let i = 0; i < result.length; i++) pixels[i] = Math.min(255, Math.max(0, Math.round(result[i]!)));
  return { data: pixels, width, height, channels };
}

/**
 * {@link areaResize} by whole factors (each output pixel the mean of a kx x ky block), in integers: the exact
 * mean, rounded half up (the general path's float32 sums can round an exact half the other way). Each output
 * pixel sums its block straight from the source into locals (one read per source value, no intermediate
 * buffer), and rounds by table lookup: 600x450 to 200x150 in ~1.3 ms, against ~3.6 ms summing rows into a column
 * buffer first.
 */
function boxShrink(image: RawImage, width: number, height: number): RawImage {
  const { data, channels } = image;
  const kx = image.width / width;
  const ky = image.height / height;
  const area = kx * ky;
  const mean = roundedMeans(area);
  const srcRow = image.width * channels;
  const step = kx * channels;
  const pixels = new Uint8Array(height * width * channels);
  let q = 0;
  // Hot loops: block (x, y) covers rows y*ky .. y*ky+ky-1 and values x*step .. x*step+step-1 of each, all
  // inside the image.width x image.height x channels values of data; q runs over the output once.
  for (let y = 0; y < height; y++) {
    const top = y * ky * srcRow;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let row = top + x * step, last = row + ky * srcRow; row < last; row += srcRow) {
        const end = row + step;
        if (channels === 3) {
          for (let i = row; i < end; i += 3) {
            r += data[i]!;
            g += data[i + 1]!;
            b += data[i + 2]!;
          }
        } else {
          for (let i = row; i < end; i += 4) {
            r += data[i]!;
            g += data[i + 1]!;
            b += data[i + 2]!;
            a += data[i + 3]!;
          }
        }
      }
      pixels[q] = mean[r]!;
      pixels[q + 1] = mean[g]!;
      pixels[q + 2] = mean[b]!;
      if (channels === 4) pixels[q + 3] = mean[a]!;
      q += channels;
    }
  }
  return { data: pixels, width, height, channels };
}

/**
 * {@link boxShrink} of RGB by exactly 3 in both directions (the HAM10000 originals, 600x450, to the training
 * 200x150), with each block's nine reads written out: the same sums and table, so the same bytes, in about 55% of
 * the general loop's time (0.53 against 0.96 ms for 600x450).
 */
function boxShrinkRgb3(image: RawImage, width: number, height: number): RawImage {
  const { data } = image;
  const mean = roundedMeans(9);
  const srcRow = image.width * 3;
  const pixels = new Uint8Array(height * width * 3);
  // Hot loop: a, b, c start one channel of a block's three source rows, whose 3 pixels are inside the image.
  let q = 0;
  for (let y = 0; y < height; y++) {
    let a = 3 * y * srcRow;
    let b = a + srcRow;
    let c = b + srcRow;
    for (let x = 0; x < width; x++) {
      pixels[q] = mean[sum9(data, a, b, c)]!;
      pixels[q + 1] = mean[sum9(data, a + 1, b + 1, c + 1)]!;
      pixels[q + 2] = mean[sum9(data, a + 2, b + 2, c + 2)]!;
      q += 3;
      a += 9;
      b += 9;
      c += 9;
    }
  }
  return { data: pixels, width, height, channels: 3 };
}

/** One channel of a 3x3 RGB block: rows from `a`, `b` and `c`, three pixels (9 values) apart by 3. */
function sum9(data: RawImage['data'], a: number, b: number, c: number): number {
  return (
    data[a]! +
    data[a + 3]! +
    data[a + 6]! +
    data[b]! +
    data[b + 3]! +
    data[b + 6]! +
    data[c]! +
    data[c + 3]! +
    data[c + 6]!
  );
}

/**
 * round(sum / area) half up for every block sum 0 .. 255 * area, as floor((2 sum + area) / (2 area)) (exact in
 * doubles): a table lookup per output value instead of a division. The last area's table is kept (images of one
 * size in a row reuse it; 255 * area + 1 bytes).
 */
function roundedMeans(area: number): Uint8Array {
  if (lastMeans.area !== area) {
    const table = new Uint8Array(255 * area + 1);
    for (let sum = 0; sum < table.length; sum++) table[sum] = Math.floor((2 * sum + area) / (2 * area));
    lastMeans = { area, table };
  }
  return lastMeans.table;
}
let lastMeans = { area: 0, table: new Uint8Array(0) };

/** Overlap taps as parallel typed arrays (tap t adds source pixel from[t] x weight[t] to output pixel out[t]). */
interface Taps {
  readonly out: Int32Array;
  readonly from: Int32Array;
  /** float64, so each product is the same as with a plain number */
  readonly weight: Float64Array;
}

/** Overlap weights of source pixels with each output pixel's span of `src / dst` source pixels. */
function areaWeights(src: number, dst: number): Taps {
  const scale = src / dst;
  const out: number[] = [];
  const from: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < dst; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    for (let s = Math.floor(lo); s < Math.min(src, Math.ceil(hi)); s++) {
      const overlap = Math.min(hi, s + 1) - Math.max(lo, s);
      if (overlap > 1e-9) {
        out.push(o);
        from.push(s);
        weight.push(overlap / scale);
      }
    }
  }
  return { out: Int32Array.from(out), from: Int32Array.from(from), weight: Float64Array.from(weight) };
}
