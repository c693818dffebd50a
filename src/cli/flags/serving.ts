import { TTA_CHOICES } from '../../node/infer/index.js';
import { booleanFlag, choiceFlag, intFlag, positional, textFlag } from './table.js';

/** The model a serving or scoring command loads. */
export const MODEL_ARG = positional('model bundle folder or training run folder');

/** Where `serve` and `web` listen. */
export const LISTEN_FLAGS = {
  port: intFlag('TCP port (0 picks a free one)', { min: 0, max: 65535, default: 8080 }),
  host: textFlag({ description: 'address to bind', default: '127.0.0.1' }),
} as const;

/** ONNX Runtime's thread count (`predict`, `evaluate`, `serve`, `worker`). */
export function threadsFlag(description = 'ONNX Runtime threads (default: automatic)') {
  return intFlag(description, { min: 1, max: 256 });
}

/** The `--tta` choices for a help text, `recipe` with a note: `recipe (note) | none | hflip | flips | dihedral`. */
export function ttaChoicesText(recipeNote: string): string {
  return TTA_CHOICES.map((c) => (c === 'recipe' ? `recipe (${recipeNote})` : c)).join(' | ');
}

/** The test-time views to average: the bundle's own recipe or a named set (choices from the views registry). */
export function ttaFlag<const D extends string | undefined = undefined>(
  description: string,
  options: { default?: D; code?: 'E_CONFIG' | 'E_USAGE' } = {},
) {
  const { default: fallback, code } = options;
  return choiceFlag(TTA_CHOICES, {
    description,
    ...(fallback === undefined ? {} : { default: fallback as Exclude<D, undefined> }),
    ...(code ? { code } : {}),
  });
}

/** Whether to apply the bundle's pixel-density rule (on by default; `--no-density` skips it). */
export function densityFlag(description: string) {
  return booleanFlag({ description, default: true });
}
