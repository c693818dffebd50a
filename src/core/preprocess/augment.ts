import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../data/prng.js';
import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { affineTransform } from './affine.js';
import { type AugmentConfig, hasGeometry, hasPixelOps } from './augment-config.js';
import { pixelAugment } from './pixel-augment.js';

/** The random draw for one image (angles in radians). */
export interface AugmentParams {
  readonly flipH: boolean;
  readonly flipV: boolean;
  readonly angle: number;
  readonly zoom: number;
  /** Added to every pixel (0..255 scale). */
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  /** Hue rotation in radians. */
  readonly hue: number;
}

/**
 * Draws the augmentation of each of `count` images from `seed`. Eight numbers are drawn per image whatever
 * the config, so turning one augmentation off does not change the others' draws.
 */
export function drawAugmentParams(count: number, config: AugmentConfig, seed: number): AugmentParams[] {
  const rng = mulberry32(seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * rng();
  return Array.from({ length: count }, () => {
    const flipH = rng() < 0.5;
    const flipV = rng() < 0.5;
    return {
      flipH: config.flip && flipH,
      flipV: config.flip && flipV,
      angle: (between(-config.rotate, config.rotate) * Math.PI) / 180,
      zoom: between(config.zoom[0], config.zoom[1]),
      brightness: between(-config.brightness, config.brightness) * 255,
      contrast: between(1 - config.contrast, 1 + config.contrast),
      saturation: between(1 - config.saturation, 1 + config.saturation),
      hue: between(-config.hue, config.hue) * 2 * Math.PI,
    };
  });
}

/**
 * The inverse map of `tf.image.transform` (output pixel -> input pixel) for a flip, rotation and zoom about
 * the image centre: `p_in = c + F R(-angle) (p_out - c) / zoom`.
 */
export function transformRow(p: AugmentParams, height: number, width: number): number[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const fx = p.flipH ? -1 : 1;
  const fy = p.flipV ? -1 : 1;
  const cos = Math.cos(p.angle) / p.zoom;
  const sin = Math.sin(p.angle) / p.zoom;
  const [m00, m01, m10, m11] = [fx * cos, fx * sin, -fy * sin, fy * cos];
  return [m00, m01, cx - m00 * cx - m01 * cy, m10, m11, cy - m10 * cx - m11 * cy, 0, 0];
}

/** A row of a 3x3 colour matrix, and the matrix: tuples, so that every element access is in range. */
type Vec3 = [number, number, number];
type Mat3 = [Vec3, Vec3, Vec3];

const LUMA: Vec3 = [0.299, 0.587, 0.114];
const RGB_TO_YIQ: Mat3 = [
  [0.299, 0.587, 0.114],
  [0.596, -0.274, -0.322],
  [0.211, -0.523, 0.312],
];
const YIQ_TO_RGB = invert3(RGB_TO_YIQ);

/** The 3x3 colour matrix (acting on RGB column vectors) of a hue rotation after a saturation change. */
export function colourMatrix(p: AugmentParams): Mat3 {
  const s = p.saturation;
  const satRow = (i: number): Vec3 => {
    const [r, g, b] = LUMA;
    return [
      (i === 0 ? s : 0) + (1 - s) * r,
      (i === 1 ? s : 0) + (1 - s) * g,
      (i === 2 ? s : 0) + (1 - s) * b,
    ];
  };
  const sat: Mat3 = [satRow(0), satRow(1), satRow(2)];
  const c = Math.cos(p.hue);
  const n = Math.sin(p.hue);
  const rot: Mat3 = [
    [1, 0, 0],
    [0, c, -n],
    [0, n, c],
  ];
  return mul3(mul3(mul3(YIQ_TO_RGB, rot), RGB_TO_YIQ), sat);
}

/**
 * Randomly augments a batch of images: flips, rotation and zoom as one bilinear affine warp per image
 * (`affineTransform`, border per `config.fill`), then saturation and hue (one 3x3 colour matrix per image), contrast,
 * brightness, a clip to [0, 255], then the pixel-level scale ops when asked (Shades-of-Gray, down-then-up
 * resolution, sharpen/blur; on rounded pixels, see `pixelAugment`). `images` is float32 NHWC on the 0..255 scale; the result is a new tensor of the same
 * shape, the same for the same seed. All intermediates are disposed.
 */
export function augmentBatch(images: tf.Tensor4D, config: AugmentConfig, seed: number): tf.Tensor4D {
  checkBatch(images);
  const params = drawAugmentParams(images.shape[0], config, seed);
  const moved = tf.tidy(() => {
    let x: tf.Tensor4D = images;
    if (hasGeometry(config)) x = transformEach(x, params, config.fill);
    x = jitterColour(x, params, config);
    return x === images ? images.clone() : tf.clipByValue(x, 0, 255);
  });
  return hasPixelOps(config) ? withPixelOps(moved, config, seed) : moved;
}

/** The pixel-level ops (resolution, sharpness, Shades-of-Gray; see `pixelAugment`) on rounded pixels; disposes `x`. */
function withPixelOps(x: tf.Tensor4D, config: AugmentConfig, seed: number): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const values = x.dataSync();
  // a plain loop: Uint8Array.from with a map function took ~26 ms per 224x224 image (generic iteration)
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = Math.round(values[i]!);
  x.dispose();
  return tf.tensor4d(new Float32Array(pixelAugment(pixels, n, w, h, config, seed)), [n, h, w, 3]);
}

/**
 * The geometric step as one {@link affineTransform} of the batch (bilinear, border per `fill`): the same
 * semantics as `tf.image.transform`, whose Transform kernel tfjs-node does not register.
 */
function transformEach(
  images: tf.Tensor4D,
  params: readonly AugmentParams[],
  fill: AugmentConfig['fill'],
): tf.Tensor4D {
  const [, height, width] = images.shape;
  const rows = params.map((p) => transformRow(p, height, width));
  return affineTransform(images, rows, { interpolation: 'bilinear', fillMode: fill, fillValue: 0 });
}

/**
 * Saturation, hue, contrast and brightness as one affine colour map per image, `x -> k C x + o` with
 * `o = (1 - k) C mean(x) + delta`, done with batched matMuls only: the tfjs cpu backend's broadcasting
 * element-wise ops and reductions over inner axes run ~50x slower than its matMul on image-sized tensors.
 */
function jitterColour(
  images: tf.Tensor4D,
  params: readonly AugmentParams[],
  config: AugmentConfig,
): tf.Tensor4D {
  const colour = config.saturation > 0 || config.hue > 0;
  if (!colour && config.contrast === 0 && config.brightness === 0) return images;
  const [n, height, width] = images.shape;
  const pixels = height * width;
  const flat = tf.reshape(images, [n, pixels, 3]);
  // Transposed colour matrices (x is a row vector: x' = x C^T), scaled by the contrast factor.
  const matrices = params.map((p) => (colour ? colourMatrix(p) : IDENTITY3));
  const ctFlat = matrices.flatMap((m) => transpose3(m).flat());
  const contrast = params.map((p) => (config.contrast > 0 ? p.contrast : 1));
  const scaled = tf.tensor3d(
    ctFlat.map((v, i) => v * at(contrast, Math.floor(i / 9))),
    [n, 3, 3],
  );
  let offset = tf.tensor3d(
    params.map((p) => (config.brightness > 0 ? p.brightness : 0)).flatMap((b) => [b, b, b]),
    [n, 1, 3],
  );
  if (config.contrast > 0) {
    const mean = tf.div(tf.matMul(tf.ones([n, 1, pixels]), flat), pixels);
    const shifted = tf.matMul(mean, tf.tensor3d(ctFlat, [n, 3, 3]));
    offset = tf.add(
      offset,
      tf.mul(
        shifted,
        tf.tensor3d(
          contrast.map((k) => 1 - k),
          [n, 1, 1],
        ),
      ),
    );
  }
  const mapped = tf.add(tf.matMul(flat, scaled), tf.matMul(tf.ones([n, pixels, 1]), offset));
  return tf.reshape(mapped, [n, height, width, 3]);
}

const IDENTITY3: Mat3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

function checkBatch(images: tf.Tensor): void {
  if (images.rank !== 4 || images.shape[3] !== 3 || images.dtype !== 'float32') {
    throw expected({
      what: 'a float32 NHWC batch with 3 channels',
      where: 'the images of augmentBatch',
      received: `${images.dtype} [${images.shape.join(', ')}]`,
      fix: "convert with tf.cast(x, 'float32')",
      code: 'E_INPUT',
    });
  }
}

function mul3(a: Mat3, b: Mat3): Mat3 {
  const [[b00, b01, b02], [b10, b11, b12], [b20, b21, b22]] = b;
  const row = ([x, y, z]: Vec3): Vec3 => [
    x * b00 + y * b10 + z * b20,
    x * b01 + y * b11 + z * b21,
    x * b02 + y * b12 + z * b22,
  ];
  return [row(a[0]), row(a[1]), row(a[2])];
}

function transpose3([[a, b, c], [d, e, f], [g, h, i]]: Mat3): Mat3 {
  return [
    [a, d, g],
    [b, e, h],
    [c, f, i],
  ];
}

function invert3(m: Mat3): Mat3 {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}
