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
