/**
 * The one place that says how Keras weights map onto lesionlab's TF.js layers, read by every loader
 * (Keras .h5 and TF.js layers format). Everything else maps one to one: same layer order, same
 * weight order within a layer (kernel, bias; gamma, beta, moving_mean, moving_variance), same shapes.
 */

/** Source layers whose weights have no counterpart here and are skipped on load. */
export const SKIPPED_SOURCE_LAYERS: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  {
    // Keras ConvNeXt's PreStem `Normalization` may save mean/variance/count (non-trainable); our
    // InputNormalization keeps the same ImageNet constants in its config, so they are not weights.
    pattern: /_prestem_normalization$/,
    why: 'ImageNet mean/std are constants of InputNormalization',
  },
];

/** A shape change applied to a source weight so that it fits the target layer. */
export interface WeightReshape {
  readonly targetClass: string;
  readonly why: string;
  /** True when a source of `from` shape may be reshaped (same element order) to `to`. */
  fits(from: readonly number[], to: readonly number[]): boolean;
}

/** Reshapes the loaders may apply; element order never changes, only the shape. */
export const WEIGHT_RESHAPES: readonly WeightReshape[] = [
  {
    // Keras ConvNeXt: Conv2D(groups=C) 7x7 kernel [7,7,1,C]; TF.js has no grouped Conv2D, so the
    // layer is a DepthwiseConv2D of the same name with kernel [7,7,C,1] (same memory order).
    targetClass: 'DepthwiseConv2D',
    why: 'grouped Conv2D kernel [kh,kw,1,C] -> depthwise kernel [kh,kw,C,1]',
    fits: (from, to) =>
      from.length === 4 &&
      to.length === 4 &&
      from[0] === to[0] &&
      from[1] === to[1] &&
      from[2] === 1 &&
      to[3] === 1 &&
      from[3] === to[2],
  },
];

/**
 * Source weight names that stand for a differently named target weight of a layer class: Keras
 * ConvNeXt's grouped Conv2D saves `kernel`, which is our DepthwiseConv2D's `depthwise_kernel`.
 */
export const WEIGHT_NAME_ALIASES: readonly {
  readonly targetClass: string;
  readonly target: string;
  readonly source: string;
}[] = [{ targetClass: 'DepthwiseConv2D', target: 'depthwise_kernel', source: 'kernel' }];

/** The source weight name a target weight of `targetClass` named `target` is saved under, if it differs. */
export function sourceAlias(targetClass: string, target: string): string | undefined {
  return WEIGHT_NAME_ALIASES.find((a) => a.targetClass === targetClass && a.target === target)?.source;
}

/** True when the source layer is one the loaders skip. */
export function isSkippedSourceLayer(layerName: string): boolean {
  return SKIPPED_SOURCE_LAYERS.some((rule) => rule.pattern.test(layerName));
}

/** Whether a source shape fits a target weight of `targetClass`, directly or by a listed reshape. */
export function shapeFits(targetClass: string, from: readonly number[], to: readonly number[]): boolean {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return true;
  return WEIGHT_RESHAPES.some((r) => r.targetClass === targetClass && r.fits(from, to));
}
