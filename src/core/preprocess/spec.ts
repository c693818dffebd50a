import type { DensityRule } from './density.js';

/** How an image of another aspect ratio is fitted to the model's input size. */
export type ResizePolicy = 'stretch' | 'pad' | 'crop';

/** Everything that turns an image file into the model's uint8 RGB input; part of the cache key. */
export interface PreprocessSpec {
  readonly width: number;
  readonly height: number;
  readonly resize: ResizePolicy;
  /** Shades-of-Gray colour constancy (Minkowski norm p = 6) before resizing. */
  readonly colorConstancy: boolean;
  /**
   * Optional pixel-density rule (inference only; see `density.ts`): denser inputs are area-downscaled to the
   * training images' short side before colour constancy and the resize. Not part of cache keys.
   */
  readonly density?: DensityRule;
}

/**
 * Per-channel input normalisation applied to RGB values in [0, 255]: `(x - mean) / std`.
 * It lives inside every exported model graph, so callers always feed raw 0..255 pixels.
 */
export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** Maps [0, 255] to [-1, 1] (Keras "tf" mode: InceptionResNetV2, MobileNet). */
export const MINUS_ONE_TO_ONE: Normalization = { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] };

/** ImageNet mean/std on the 0..255 scale (Keras "torch" mode: DenseNet, ConvNeXt's built-in layer). */
export const IMAGENET_MEAN_STD: Normalization = {
  mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
  std: [0.229 * 255, 0.224 * 255, 0.225 * 255],
};
