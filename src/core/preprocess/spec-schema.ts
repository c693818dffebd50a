import { z } from 'zod';
import { issueProblem } from '../config/zod-issue.js';
import { expected } from '../errors.js';
import { at } from '../util/at.js';
import type { PreprocessSpec } from './spec.js';

/** Largest side lesionlab resizes to; bigger inputs are a typo more often than a wish. */
export const MAX_INPUT_SIDE = 4096;

const side = z.number().int().min(1).max(MAX_INPUT_SIDE);

/** Zod schema of a {@link PreprocessSpec} (strict: unknown keys are rejected). */
export const PreprocessSpecSchema = z
  .object({
    width: side,
    height: side,
    resize: z.enum(['stretch', 'pad', 'crop']),
    colorConstancy: z.boolean(),
  })
  .strict();

/**
 * Validates a preprocessing spec and returns it with its keys in canonical order (so that hashing its JSON
 * is stable). Throws `E_CONFIG` naming the bad key, e.g. `expected a number <= 4096 for preprocess spec width but received 5000; …`.
 */
export function parsePreprocessSpec(input: unknown, source = 'preprocess spec'): PreprocessSpec {
  const result = PreprocessSpecSchema.safeParse(input);
  if (!result.success) {
    const issue = at(result.error.issues, 0);
    const { what, key, received } = issueProblem(issue, input);
    throw expected({
      what,
      where: `${source} ${key}`,
      received,
      fix: 'a preprocess spec is { width, height, resize: stretch|pad|crop, colorConstancy }',
      code: 'E_CONFIG',
    });
  }
  const { width, height, resize, colorConstancy } = result.data;
  return { width, height, resize, colorConstancy };
}

/** Short readable name of a spec, e.g. `224x224-crop-sog`; used in cache folder names and logs. */
export function describePreprocessSpec(spec: PreprocessSpec): string {
  return `${spec.width}x${spec.height}-${spec.resize}${spec.colorConstancy ? '-sog' : ''}`;
}
