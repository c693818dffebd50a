import { configKeyNames } from '../core/config/train-config.js';

/** The recipe's fixed parts, which no key changes: said in `train --help` and `run --help`. */
export const RECIPE_SUMMARY =
  'Recipe: Adam optimizer; sparse categorical cross-entropy on integer labels (train.loss: cross-entropy | focal), ' +
  'weighted by train.classWeights; early stopping on validation loss that restores the best weights; ' +
  'reduce-LR on plateau.';

/**
 * `train --help`'s description: what the command does, the recipe's fixed parts, and every config key by
 * section (read from the schema, so it never drifts), with how to set and print them.
 */
export function trainDescription(what: string): string {
  const sections = new Map<string, string[]>();
  for (const key of configKeyNames()) {
    const [section = key, ...rest] = key.split('.');
    sections.set(section, [...(sections.get(section) ?? []), rest.join('.')].filter(Boolean));
  }
  const lines = [...sections].map(([section, keys]) =>
    keys.length > 0 ? `  ${section}: ${keys.join(', ')}` : `  ${section}`,
  );
  return [
    what,
    RECIPE_SUMMARY,
    'Config keys (--config file.json, e.g. configs/seed-inception-resnet-v2.json; flags and --set key=value override it; --print-config prints every resolved value):',
    ...lines,
  ].join('\n');
}
