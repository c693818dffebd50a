import { shadesOfGray } from '../core/preprocess/color-constancy.js';
import { applyDensity, densityPreshrinkSide, densityTarget } from '../core/preprocess/density.js';
import { type RawImage, resizeImage } from '../core/preprocess/resize.js';
import type { PreprocessSpec, ResizePolicy } from '../core/preprocess/spec.js';

/**
 * Size to draw a decoded image at before the exact resize, mirroring the Node decoder: images larger than
 * twice the model box are first shrunk to about twice the box (keeping the policy's aspect handling);
 * smaller images keep their size, so Node and browser then run the same bilinear resize on the same pixels.
 */
export function preshrinkSize(
  width: number,
  height: number,
  spec: PreprocessSpec,
): { width: number; height: number } {
  if (spec.density && densityTarget(width, height, spec.density) !== undefined) {
    // as Node's sharp pre-shrink when the density rule will shrink this image: aspect kept, short side down to
    // the rule's pre-shrink side; an image the rule leaves alone is pre-shrunk as in training (below)
    return scaled(width, height, Math.min(1, densityPreshrinkSide(spec.density) / Math.min(width, height)));
  }
  const bw = 2 * spec.width;
  const bh = 2 * spec.height;
  if (width <= bw && height <= bh) return { width, height };
  const fits: Record<ResizePolicy, () => { width: number; height: number }> = {
    stretch: () => ({ width: Math.min(width, bw), height: Math.min(height, bh) }),
    pad: () => scaled(width, height, Math.min(bw / width, bh / height)),
    crop: () => scaled(width, height, Math.min(1, Math.max(bw / width, bh / height))),
  };
  return fits[spec.resize]();
}

function scaled(width: number, height: number, s: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * Turns decoded RGBA pixels (a canvas `ImageData`) into the model input exactly as the Node path does
 * after decoding: the pixel-density rule (when the bundle records one and it is on), Shades-of-Gray when the bundle asks for it, then the shared bilinear resize.
 * Returns HWC RGB uint8 at `spec.width` x `spec.height`.
 */
export function preprocessRgba(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  spec: PreprocessSpec,
): Uint8Array {
  const image = applyDensity({ data: rgba, width, height, channels: 4 }, spec.density);
  const balanced: RawImage = spec.colorConstancy ? { ...image, data: shadesOfGray(image.data, 4) } : image;
  return resizeImage(balanced, spec);
}
