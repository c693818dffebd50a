import { MAX_INPUT_SIDE, PreprocessSpecSchema } from '../../core/preprocess/spec-schema.js';
import { booleanFlag, intFlag } from './table.js';

/** An image side in pixels, within the preprocessing spec's limits. */
export function sideFlag<const D extends number | undefined = undefined>(description: string, fallback?: D) {
  return intFlag(description, {
    min: 1,
    max: MAX_INPUT_SIDE,
    ...(fallback === undefined ? {} : { default: fallback }),
  });
}

/** The preprocessing flags that `prepare` and `augment-preview` share (aspect policies from the spec schema). */
export const PREPROCESS_FLAGS = {
  resize: {
    kind: 'enum',
    choices: PreprocessSpecSchema.shape.resize.options,
    default: 'stretch',
    description: 'Aspect policy',
  },
  'color-constancy': booleanFlag({
    default: false,
    description: 'Shades-of-Gray colour constancy (p = 6), applied before resizing',
  }),
} as const;
