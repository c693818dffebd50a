import { DEFAULT_DENSITY_RATIO, type DensityRule } from '../../core/preprocess/density.js';
import { at } from '../../core/util/at.js';
import { loadSharp } from '../preprocess/decode-image.js';

/** Options of {@link measureDensityRule}. */
export interface DensityRuleOptions {
  /** Apply the rule at inference (default true). */
  readonly enabled?: boolean;
  /** See `DensityRule.maxRatio` (default {@link DEFAULT_DENSITY_RATIO}). */
  readonly maxRatio?: number;
  /** Training images whose headers are read (evenly spaced over `paths`; default 64). */
  readonly sample?: number;
}

/**
 * The density rule of a model trained on the images at `paths`: their median width and height (EXIF
 * orientation applied), read from the image headers of an even sample; `undefined` when none can be read.
 */
export async function measureDensityRule(
  paths: readonly string[],
  options: DensityRuleOptions = {},
): Promise<DensityRule | undefined> {
  const sample = Math.max(1, options.sample ?? 64);
  const step = Math.max(1, paths.length / sample);
  const picked = Array.from(
    { length: Math.min(sample, paths.length) },
    (_, i) => paths[Math.floor(i * step)],
  );
  const sharp = await loadSharp();
  const sizes: { width: number; height: number }[] = [];
  for (const path of picked) {
    const m = await sharp(path)
      .metadata()
      .catch(() => undefined);
    if (!m?.width || !m.height) continue;
    const turned = (m.orientation ?? 1) >= 5;
    sizes.push(turned ? { width: m.height, height: m.width } : { width: m.width, height: m.height });
  }
  if (sizes.length === 0) return undefined;
  return {
    enabled: options.enabled ?? true,
    sourceWidth: median(sizes.map((s) => s.width)),
    sourceHeight: median(sizes.map((s) => s.height)),
    maxRatio: options.maxRatio ?? DEFAULT_DENSITY_RATIO,
  };
}

/** The lower middle of `values` (the caller passes at least one). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return at(sorted, Math.floor((sorted.length - 1) / 2));
}
