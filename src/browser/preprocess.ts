import { preprocessDecoded } from '../core/preprocess/decoding.js';
import type { PreprocessSpec } from '../core/preprocess/spec.js';

// The size to draw a decoded image at before the exact resize is the core pre-shrink rule, shared with Node.
export { preshrinkSize } from '../core/preprocess/decoding.js';

/**
 * Turns decoded RGBA pixels (a canvas `ImageData`) into the model input exactly as the Node path does after
 * decoding (core `preprocessDecoded`: density rule, colour constancy, bilinear resize).
 * Returns HWC RGB uint8 at `spec.width` x `spec.height`.
 */
export function preprocessRgba(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  spec: PreprocessSpec,
): Uint8Array {
  return preprocessDecoded({ data: rgba, width, height, channels: 4 }, spec);
}

/**
 * How the page decodes an upload (`createImageBitmap(file, BITMAP_OPTIONS)`), as Node's sharp decode does:
 * - `colorSpaceConversion: 'default'` converts an embedded ICC profile (Display P3, Adobe RGB, …) to sRGB, like
 *   libvips; untagged and sRGB images are left as they are, so JPEG, PNG and semi-transparent images give the
 *   same bytes as Node. A non-sRGB profile still differs by ±1 level here and there (Skia's and lcms2's
 *   rounding; a Display P3 sample: max 1, mean 0.015 levels), so its probabilities agree closely, not bit for bit.
 *   (`'none'` ignored the profile: up to 12 levels off on Display P3.)
 * - `premultiplyAlpha: 'none'` keeps straight alpha until the canvas (see test/integration/alpha-browser-parity).
 */
export const BITMAP_OPTIONS: ImageBitmapOptions = {
  colorSpaceConversion: 'default',
  premultiplyAlpha: 'none',
};
