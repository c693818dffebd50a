// The decoder-independent halves of turning an image into a model input, shared by Node (sharp) and the
// browser (canvas): the pre-shrink rule a decoder follows, and the exact steps on the decoded pixels.
import { shadesOfGray } from './color-constancy.js';
import { applyDensity, densityPreshrinkSide, densityTarget } from './density.js';
import { type RawImage, resizeImage } from './resize.js';
import type { PreprocessSpec, ResizePolicy } from './spec.js';

/** How a box bounds an image: `fill` each side on its own, `inside` aspect kept within, `outside` aspect kept over. */
export type PreshrinkFit = 'fill' | 'inside' | 'outside';

/**
 * The box a decoder may shrink an image into before the exact preprocessing (JPEG shrink-on-load in Node,
 * the canvas draw in the browser); an image is never enlarged into it.
 */
export interface PreshrinkBox {
  readonly width: number;
  readonly height: number;
  readonly fit: PreshrinkFit;
}

/** The fit that keeps each resize policy's aspect handling while pre-shrinking. */
const POLICY_FIT: Readonly<Record<ResizePolicy, PreshrinkFit>> = {
  stretch: 'fill',
  crop: 'outside',
  pad: 'inside',
};

/**
 * Whole-number shrinks a JPEG decoder does in the DCT (shrink-on-load: no resampling filter, and cheaper than a
 * full decode), largest first.
 */
const PRESHRINK_FACTORS = [8, 4, 2] as const;

/**
 * The pre-shrink rule, the same in Node and the browser. When the density rule is on and will bring this image
 * down: the largest shrink by 8, 4 or 2 that keeps the short side at least `densityPreshrinkSide`, or none (the
 * rule's area filter, not the decoder, then sets the training density; an unknown size gets short side
 * `densityPreshrinkSide`, aspect kept). Otherwise about twice the model input under the resize policy's fit, so
 * the bilinear resize never shrinks by more than 2x and an image the rule leaves alone decodes exactly as in
 * training. `size` is the image's upright size; unknown (`undefined`) counts as one the rule shrinks.
 */
export function preshrinkBox(
  spec: Pick<PreprocessSpec, 'width' | 'height' | 'resize' | 'density'>,
  size?: { readonly width: number; readonly height: number },
): PreshrinkBox {
  const rule = spec.density;
  if (rule?.enabled && (!size || densityTarget(size.width, size.height, rule) !== undefined)) {
    const side = densityPreshrinkSide(rule);
    if (!size) return { width: side, height: side, fit: 'outside' };
    const factor = PRESHRINK_FACTORS.find((f) => Math.min(size.width, size.height) / f >= side) ?? 1;
    return { width: Math.floor(size.width / factor), height: Math.floor(size.height / factor), fit: 'fill' };
  }
  return { width: 2 * spec.width, height: 2 * spec.height, fit: POLICY_FIT[spec.resize] };
}

/** The size an image of `width` x `height` takes in `box` (never larger than it was). */
export function fitInBox(
  width: number,
  height: number,
  box: PreshrinkBox,
): { width: number; height: number } {
  if (box.fit === 'fill') return { width: Math.min(width, box.width), height: Math.min(height, box.height) };
  const across = [box.width / width, box.height / height] as const;
  const scale = box.fit === 'inside' ? Math.min(...across) : Math.max(...across);
  if (scale >= 1) return { width, height };
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * The size to decode an image of `width` x `height` at before the exact preprocessing, for decoders that
 * resize to a size (the browser's canvas): {@link preshrinkBox} applied to it.
 */
export function preshrinkSize(
  width: number,
  height: number,
  spec: Pick<PreprocessSpec, 'width' | 'height' | 'resize' | 'density'>,
): { width: number; height: number } {
  return fitInBox(width, height, preshrinkBox(spec, { width, height }));
}

/**
 * Straight (un-premultiplied) RGBA composited onto black as RGB: each channel becomes round(c × alpha / 255).
 * Node (sharp decodes RGBA, `decodeRaw` calls this) and the page (a canvas `ImageData`) both flatten here.
 * Rounding, not flooring as sharp's own `flatten` does, because a canvas stores pixels premultiplied,
 * p = round(c × alpha / 255), and `getImageData` un-premultiplies p to a c' that is often not c; but
 * round(c' × alpha / 255) is p again, so the page's RGB is Node's byte for byte. RGB comes back as it is.
 */
export function flattenOnBlack(image: RawImage): RawImage {
  if (image.channels !== 4) return image;
  const { data, width, height } = image;
  const n = width * height;
  if (data.length !== n * 4) return image; // resizeImage names the bad buffer
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    const a = data[p + 3]!;
    // (c × a + 127) / 255, truncated by the Uint8Array store, is round(c × a / 255): c × a / 255 is never
    // a half (2 × c × a is even, 255 × odd is odd).
    rgb[q] = (data[p]! * a + 127) / 255;
    rgb[q + 1] = (data[p + 1]! * a + 127) / 255;
    rgb[q + 2] = (data[p + 2]! * a + 127) / 255;
  }
  return { data: rgb, width, height, channels: 3 };
}

/**
 * The exact preprocessing of decoded pixels (RGB from sharp or RGBA from a canvas): RGBA composited onto black
 * ({@link flattenOnBlack}, as Node's `decodeRaw` does), the pixel-density rule when `spec.density` is on (denser
 * inputs area-downscaled to the training short side), Shades-of-Gray colour constancy when
 * `spec.colorConstancy`, then the bilinear resize under `spec.resize` (`pad` pads with black).
 * Returns HWC RGB uint8 at `spec.width` x `spec.height`, byte for byte the same on every platform.
 */
export function preprocessDecoded(image: RawImage, spec: PreprocessSpec): Uint8Array {
  const dense = applyDensity(flattenOnBlack(image), spec.density);
  const balanced = spec.colorConstancy ? { ...dense, data: shadesOfGray(dense.data, dense.channels) } : dense;
  return resizeImage(balanced, spec);
}
