import { z } from 'zod';
import { issueProblem } from '../config/zod-issue.js';
import { expected } from '../errors.js';
import { at } from '../util/at.js';

/**
 * Random augmentation of training batches. Every key is optional; the defaults suit dermoscopy, which has no
 * up or down: any rotation, both flips, mild zoom and colour jitter.
 */
export const AugmentConfigSchema = z
  .object({
    /** Random horizontal and vertical flips, each with probability 0.5. */
    flip: z.boolean().default(true),
    /** Largest rotation in degrees; the angle is uniform in [-rotate, rotate]. */
    rotate: z.number().min(0).max(180).default(180),
    /** Scale range [min, max]: > 1 zooms in, < 1 zooms out (the border is filled per `fill`). */
    zoom: z
      .tuple([z.number().min(0.25).max(4), z.number().min(0.25).max(4)])
      .refine(([lo, hi]) => lo <= hi, 'a range [min, max] with min <= max')
      .default([0.8, 1.2]),
    /** Largest brightness shift, as a fraction of 255. */
    brightness: z.number().min(0).max(1).default(0.1),
    /** Largest contrast change: factor uniform in [1 - contrast, 1 + contrast] around each channel's mean. */
    contrast: z.number().min(0).max(1).default(0.1),
    /** Largest saturation change: factor uniform in [1 - saturation, 1 + saturation] (blend with luma). */
    saturation: z.number().min(0).max(1).default(0.1),
    /** Largest hue rotation, as a fraction of the colour circle (0.5 = 180 degrees), done in YIQ space. */
    hue: z.number().min(0).max(0.5).default(0.02),
    /** How pixels that rotation or zoom-out bring in from outside are filled (`constant` = black). */
    fill: z.enum(['reflect', 'constant', 'nearest', 'wrap']).default('reflect'),
    /**
     * Resolution range [min, max]: each image is area-downscaled by a factor uniform in the range and resized
     * back up (bilinear), as a lower-density camera would see it; [1, 1] = off.
     */
    resolution: z
      .tuple([z.number().min(0.2).max(1), z.number().min(0.2).max(1)])
      .refine(([lo, hi]) => lo <= hi, 'a range [min, max] with min <= max')
      .default([1, 1]),
    /**
     * Largest sharpen/blur amount: `a` uniform in [-sharpness, sharpness]; x + a·(x − box3x3(x)) sharpens for
     * a > 0 and blurs for a < 0 (a = -1: the 3x3 box blur); 0 = off.
     */
    sharpness: z.number().min(0).max(1).default(0),
    /** Probability of Shades-of-Gray colour constancy (p = 6) on an image; 0 = off. */
    shadesOfGray: z.number().min(0).max(1).default(0),
  })
  .strict();

/** A resolved augmentation config (every key filled). */
export type AugmentConfig = z.output<typeof AugmentConfigSchema>;
/** An augmentation config as a user writes it (every key optional). */
export type AugmentConfigInput = z.input<typeof AugmentConfigSchema>;

/** The default augmentation: `parseAugmentConfig({})`. */
export const DEFAULT_AUGMENT: AugmentConfig = AugmentConfigSchema.parse({});

/** Augmentation that changes nothing: `augmentBatch` with it returns a copy of its input. */
export const IDENTITY_AUGMENT: AugmentConfig = {
  flip: false,
  rotate: 0,
  zoom: [1, 1],
  brightness: 0,
  contrast: 0,
  saturation: 0,
  hue: 0,
  fill: 'reflect',
  resolution: [1, 1],
  sharpness: 0,
  shadesOfGray: 0,
};

/**
 * Validates an augmentation config and fills defaults. Throws `E_CONFIG` naming the key, what it got and the
 * allowed keys, e.g. `expected a number <= 180 for augment rotate but received 500; allowed keys: flip, …`.
 */
export function parseAugmentConfig(input: unknown, source = 'augment'): AugmentConfig {
  const result = AugmentConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = at(result.error.issues, 0);
  const allowed = Object.keys(AugmentConfigSchema.shape).join(', ');
  const { what, key, received } = issueProblem(issue, input ?? {}, () => allowed);
  const fix =
    issue.code === 'unrecognized_keys' ? 'remove it or fix the spelling' : `allowed keys: ${allowed}`;
  throw expected({ what, where: `${source} ${key}`, received, fix, code: 'E_CONFIG' });
}

/** True when the config moves pixels (flip, rotation or zoom), i.e. needs a geometric transform. */
export function hasGeometry(config: AugmentConfig): boolean {
  return config.flip || config.rotate > 0 || config.zoom[0] !== 1 || config.zoom[1] !== 1;
}

/** True when the config asks for pixel-level scale or colour-constancy augmentation (resolution, sharpness, Shades-of-Gray). */
export function hasPixelOps(config: AugmentConfig): boolean {
  return config.resolution[0] < 1 || config.sharpness > 0 || config.shadesOfGray > 0;
}
