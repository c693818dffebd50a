/**
 * The frozen recipe shared by bench:train and bench:shift: `configs/best-mobilenet-v1.json` (ImageNet MobileNet v1
 * from ../shared, frozen, multi-scale taps, linear head, post-hoc τ) on the real HAM10000, with one override made
 * from configuration, never from the machine's measured speed: `features.views` = BENCH_VIEWS (default 2: the
 * image and its mirror; 10,015 images x K views are extracted once and cached, and K = 4 takes over an hour on
 * the 2 shared cores of the bench machine). Both benches read the same feature cache.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseTrainConfig, type TrainConfig } from '../src/core/config/train-config.js';

/** Where the real HAM10000 and its sharper crops live. */
export const HAM_ROOT = resolve('../shared/data/ham10000');
export const CROPS_ROOT = resolve('../shared/data/ham10000-crops224');
export const RECIPE_FILE = 'configs/best-mobilenet-v1.json';

/**
 * The bench recipe with top-level `overrides` applied, reading its split from `splitFile` when given (a second
 * split seed keeps the config's seed, so the feature cache, keyed by it, is shared); every value from configuration.
 */
export async function benchRecipe(
  overrides: Record<string, unknown> = {},
  splitFile?: string,
): Promise<TrainConfig> {
  const raw = JSON.parse(await readFile(RECIPE_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
  const views = Number(process.env.BENCH_VIEWS ?? 2);
  return parseTrainConfig(
    {
      ...raw,
      ...overrides,
      data: { ...raw.data, root: HAM_ROOT, ...(splitFile ? { splitFile } : {}) },
      features: { ...raw.features, views, cacheRoot: resolve('.cache/lesionlab'), threads: 1 },
      output: { runsDir: resolve('runs') },
    },
    `${RECIPE_FILE} (bench)`,
  );
}

/** Rounds to 4 decimals for the JSON line. */
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** Progress and warnings on stderr, so stdout keeps tables and the last JSON line. */
export const benchLogger = {
  info: (m: string) => process.stderr.write(`  ${m}\n`),
  warn: (m: string) => process.stderr.write(`  warning: ${m}\n`),
};
