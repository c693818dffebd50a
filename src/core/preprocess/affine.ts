import * as tf from '@tensorflow/tfjs';
import { expected } from '../errors.js';
import { at } from '../util/at.js';

/** How output pixels whose source lies outside the image are filled (as `tf.image.transform`). */
export type AffineFillMode = 'constant' | 'reflect' | 'nearest' | 'wrap';
/** How the source image is sampled between pixel centres. */
export type AffineInterpolation = 'bilinear' | 'nearest';

/** Options of {@link affineTransform}; the defaults are `tf.image.transform`'s. */
export interface AffineOptions {
  /** Default `nearest`. */
  readonly interpolation?: AffineInterpolation;
  /** Default `constant`. */
  readonly fillMode?: AffineFillMode;
  /** The value read outside the image (`constant`; and bilinear's zero-weight neighbours). Default 0. */
  readonly fillValue?: number;
}

/**
 * Where each output pixel reads: `index[p * corners + k]` is the row of the flattened batch that corner `k` of
 * output pixel `p` reads (`pixels`, one past the last, is the fill row), with weight `weight[p * corners + k]`.
 * Nearest sampling has one corner and no weights; bilinear has four.
 */
interface SamplingPlan {
  readonly pixels: number;
  readonly corners: 1 | 4;
  readonly index: Int32Array;
  readonly weight: Float32Array | null;
}

/**
 * Warps each image of a float NHWC batch by a projective map, with the semantics of `tf.image.transform`
 * (tfjs-backend-cpu's Transform kernel, itself TensorFlow's `ImageProjectiveTransformV3`): a row
 * `[a0, a1, a2, b0, b1, b2, c0, c1]` maps output pixel (x, y) to input
 * `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`. `transforms` holds one row for all
 * images or one per image. Unlike `tf.image.transform` it needs no `Transform` kernel (tfjs-node 4.22 has
 * none): the sampling grid is computed on the host, then applied with `gatherND`, `mul` and `matMul`, which
 * every backend has. On the cpu backend, whose gathers cost ~200 ns an element (6x the old kernel), the same
 * grid is applied to the tensor's values directly. Returns a new tensor of the input's shape; intermediates
 * are disposed.
 */
export function affineTransform(
  images: tf.Tensor4D,
  transforms: readonly (readonly number[])[],
  options: AffineOptions = {},
): tf.Tensor4D {
  checkInputs(images, transforms);
  const plan = samplingPlan(images.shape, transforms, options);
  const fillValue = options.fillValue ?? 0;
  if (tf.getBackend() === 'cpu') {
    return tf.tensor4d(applyOnHost(images.dataSync() as Float32Array, plan, fillValue), images.shape);
  }
  return applyWithOps(images, plan, fillValue);
}

/**
 * The plan as tensor ops: one gatherND of every corner, weighted, then the corners summed by a matMul with
 * stacked identities (`[pixels, corners * channels] x [corners * channels, channels]`).
 */
function applyWithOps(images: tf.Tensor4D, plan: SamplingPlan, fillValue: number): tf.Tensor4D {
  const { pixels, corners } = plan;
  const channels = images.shape[3];
  return tf.tidy(() => {
    const flat = tf.reshape(images, [pixels, channels]);
    const padded = tf.concat([flat, tf.fill([1, channels], fillValue, 'float32')]);
    const read = tf.gatherND(padded, tf.tensor2d(plan.index, [corners * pixels, 1], 'int32'));
    if (plan.weight === null) return tf.reshape(read, images.shape);
    const weighted = tf.mul(read, tf.tensor2d(plan.weight, [corners * pixels, 1]));
    const stacked = tf.tile(tf.eye(channels), [corners, 1]);
    return tf.reshape(tf.matMul(tf.reshape(weighted, [pixels, corners * channels]), stacked), images.shape);
  });
}

/** The plan applied to NHWC values on the host (what `applyWithOps` computes, without per-element op costs). */
function applyOnHost(values: Float32Array, plan: SamplingPlan, fillValue: number): Float32Array {
  const { pixels, corners, index, weight } = plan;
  const channels = values.length / pixels;
  const out = new Float32Array(values.length);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      // Hot loop: the plan holds `corners` entries per pixel, each a source pixel or `pixels` (the fill).
      for (let k = p * corners; k < (p + 1) * corners; k++) {
        const source = index[k]!;
        const v = source === pixels ? fillValue : values[source * channels + c]!;
        sum += weight === null ? v : weight[k]! * v;
      }
      out[p * channels + c] = sum;
    }
  }
  return out;
}

function checkInputs(images: tf.Tensor, transforms: readonly (readonly number[])[]): void {
  if (images.rank !== 4 || images.dtype !== 'float32') {
    throw expected({
      what: 'a float32 NHWC batch',
      where: 'the images of affineTransform',
      received: `${images.dtype} [${images.shape.join(', ')}]`,
      fix: "convert with tf.cast(x, 'float32')",
      code: 'E_INPUT',
    });
  }
  const rowsOk = transforms.length === 1 || transforms.length === images.shape[0];
  if (!rowsOk || transforms.some((row) => row.length !== 8)) {
    throw expected({
      what: `1 or ${images.shape[0]} transform rows of 8 numbers`,
      where: 'the transforms of affineTransform',
      received: `${transforms.length} rows of [${transforms.map((r) => r.length).join(', ')}]`,
      fix: 'pass [a0, a1, a2, b0, b1, b2, c0, c1] per image',
      code: 'E_INPUT',
    });
  }
}

/** The sampling plan of a batch, the source coordinates computed as the cpu Transform kernel computes them. */
function samplingPlan(
  shape: readonly [number, number, number, number],
  transforms: readonly (readonly number[])[],
  options: AffineOptions,
): SamplingPlan {
  const [n, height, width] = shape;
  const pixels = n * height * width;
  const corners = (options.interpolation ?? 'nearest') === 'bilinear' ? 4 : 1;
  const plan = {
    pixels,
    corners,
    index: new Int32Array(corners * pixels).fill(pixels),
    weight: corners === 4 ? new Float32Array(4 * pixels) : null,
  } as const;
  const fillMode = options.fillMode ?? 'constant';
  const size = { height, width };
  for (let b = 0; b < n; b++) {
    // The kernel reads the row from a float32 tensor: round as it does, so the coordinates agree exactly.
    const t = at(transforms, transforms.length === 1 ? 0 : b).map(Math.fround);
    // checkInputs made every row 8 long: [a0, a1, a2, b0, b1, b2, c0, c1].
    const [a0, a1, a2, b0, b1, b2, c0, c1] = [
      at(t, 0),
      at(t, 1),
      at(t, 2),
      at(t, 3),
      at(t, 4),
      at(t, 5),
      at(t, 6),
      at(t, 7),
    ];
    for (let outY = 0; outY < height; outY++) {
      for (let outX = 0; outX < width; outX++) {
        const p = (b * height + outY) * width + outX;
        const k = c0 * outX + c1 * outY + 1;
        if (k === 0) {
          // An infinite source coordinate: the fill value (every corner reads the fill row).
          if (plan.weight) plan.weight[4 * p] = 1;
          continue;
        }
        const x = mapCoord((a0 * outX + a1 * outY + a2) / k, width, fillMode);
        const y = mapCoord((b0 * outX + b1 * outY + b2) / k, height, fillMode);
        planPixel(plan, p, b, x, y, size);
      }
    }
  }
  return plan;
}

/** One output pixel's corners and weights (as the kernel's `nearestInterpolation`/`bilinearInterpolation`). */
function planPixel(plan: SamplingPlan, p: number, b: number, x: number, y: number, size: Size): void {
  const { pixels, index, weight } = plan;
  if (weight === null) {
    index[p] = rowOf(b, Math.round(y), Math.round(x), size, pixels);
    return;
  }
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const k = 4 * p;
  index[k] = rowOf(b, y0, x0, size, pixels);
  index[k + 1] = rowOf(b, y0, x0 + 1, size, pixels);
  index[k + 2] = rowOf(b, y0 + 1, x0, size, pixels);
  index[k + 3] = rowOf(b, y0 + 1, x0 + 1, size, pixels);
  weight[k] = (1 - fx) * (1 - fy);
  weight[k + 1] = fx * (1 - fy);
  weight[k + 2] = (1 - fx) * fy;
  weight[k + 3] = fx * fy;
}

interface Size {
  readonly height: number;
  readonly width: number;
}

/** The flattened-batch row of pixel (row, col) of image `b`; `fill` when it lies outside the image. */
function rowOf(b: number, row: number, col: number, size: Size, fill: number): number {
  const { height, width } = size;
  return row >= 0 && row < height && col >= 0 && col < width ? (b * height + row) * width + col : fill;
}

/** Maps a source coordinate into [0, len - 1] per the fill mode (`constant` leaves it as is). */
function mapCoord(v: number, len: number, mode: AffineFillMode): number {
  if (mode === 'constant') return v;
  if (mode === 'nearest' || len <= 1) return clamp(v, len);
  if (mode === 'reflect') return clamp(reflect(v, len), len);
  return clamp(wrap(v, len), len);
}

/** Reflects [abcd] to [dcba|abcd|dcba], as the cpu kernel's `mapCoordReflect`. */
function reflect(v: number, len: number): number {
  const sz2 = 2 * len;
  if (v < 0) {
    const u = v < sz2 ? sz2 * Math.trunc(-v / sz2) + v : v;
    return u < -len ? u + sz2 : -u - 1;
  }
  if (v <= len - 1) return v;
  const u = v - sz2 * Math.trunc(v / sz2);
  return u >= len ? sz2 - u - 1 : u;
}

/** Wraps [abcd] to [abcd|abcd|abcd], as the cpu kernel's `mapCoordWrap` (its quirks included). */
function wrap(v: number, len: number): number {
  const sz = len - 1;
  if (v < 0) return v + len * (Math.trunc(-v / sz) + 1);
  if (v <= len - 1) return v;
  return v - len * Math.trunc(v / sz);
}

function clamp(v: number, len: number): number {
  return Math.min(Math.max(v, 0), len - 1);
}
