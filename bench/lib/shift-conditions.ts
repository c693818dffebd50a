/**
 * The distribution-shift conditions of bench:shift (issue #16), shared with bench:finetune: one exported bundle is
 * scored through the classifier `predict` uses on lesions that have a 224x224 crop in ../shared, four ways:
 *   images200      the 200x150 images
 *   crops_direct   the 224x224 crops, density rule off (--no-density)
 *   crops_density  the 224x224 crops through the bundle's density rule (default inference)
 *   half_res       the 200x150 images at 0.5x resolution: down to 100x75 and back up (bilinear)
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { labelIndices } from '../../src/core/data/class-index.js';
import type { ImageRecord } from '../../src/core/data/records.js';
import { bootstrapMetrics } from '../../src/core/eval/bootstrap.js';
import { type Classifier, createClassifier } from '../../src/node/infer/classifier.js';
import { mapLimit } from '../../src/node/infer/limit.js';
import { CROPS_ROOT } from '../recipe.js';

export const CONDITIONS = ['images200', 'crops_direct', 'crops_density', 'half_res'] as const;
export type Condition = (typeof CONDITIONS)[number];

/** The shift target (issue #16): every condition's balanced accuracy within 0.03 of the 200x150 images'. */
export function shiftTargetMet(results: Record<Condition, { readonly ba: number }>): boolean {
  return CONDITIONS.every((c) => Math.abs(results[c].ba - results.images200.ba) <= 0.03);
}

/** Balanced accuracy with its lesion-bootstrap 95% interval, and accuracy, under one condition. */
export interface ConditionResult {
  readonly ba: number;
  readonly lo: number;
  readonly hi: number;
  readonly acc: number;
}

/** Only the records whose image has a 224x224 crop in ../shared (one per lesion). */
export async function cropFilter(): Promise<(records: readonly ImageRecord[]) => ImageRecord[]> {
  const crops = new Set(
    (await readdir(CROPS_ROOT)).filter((f) => f.endsWith('.jpg')).map((f) => f.slice(0, -4)),
  );
  return (records) => records.filter((r) => crops.has(r.imageId));
}

/** What the model is given for a record under a condition: a file path or encoded image bytes. */
export async function sourceOf(condition: Condition, r: ImageRecord): Promise<string | Uint8Array> {
  if (condition === 'images200') return r.path;
  if (condition === 'half_res') {
    const { width = 200, height = 150 } = await sharp(r.path).metadata();
    const down = await sharp(r.path)
      .resize(Math.round(width / 2), Math.round(height / 2), { kernel: 'mitchell' })
      .toBuffer();
    return sharp(down).resize(width, height, { kernel: 'linear' }).png().toBuffer();
  }
  return join(CROPS_ROOT, `${r.imageId}.jpg`);
}

/** Probabilities of every record through `classifier` (its own views and density rule), in record order. */
export async function scoreAll(
  classifier: Classifier,
  records: readonly ImageRecord[],
  source: (r: ImageRecord) => Promise<string | Uint8Array>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const size = classifier.meta.preprocess.width * classifier.meta.preprocess.height * 3;
  for (let start = 0; start < records.length; start += 32) {
    const chunk = records.slice(start, start + 32);
    const pixels = await mapLimit(chunk, 2, async (r) => classifier.decode(await source(r)));
    const batch = new Uint8Array(pixels.length * size);
    pixels.forEach((p, i) => {
      batch.set(p, i * size);
    });
    out.push(...(await classifier.classifyPixels(batch, chunk.length)));
  }
  return out;
}

/** The bundle in `bundleDir` scored on `records` under each of `conditions` (lesion bootstrap, 1,000 resamples). */
export async function scoreConditions(
  bundleDir: string,
  records: readonly ImageRecord[],
  classes: readonly string[],
  conditions: readonly Condition[] = CONDITIONS,
  onDone?: (condition: Condition, seconds: number) => void,
): Promise<Record<Condition, ConditionResult>> {
  const withRule = await createClassifier(bundleDir, { threads: 1 });
  const withoutRule = await createClassifier(bundleDir, { threads: 1, density: false });
  const labels = Array.from(labelIndices(records, classes));
  const groups = records.map((r) => r.groupId);
  const results = {} as Record<Condition, ConditionResult>;
  try {
    for (const condition of conditions) {
      const t0 = performance.now();
      const classifier = condition === 'crops_direct' ? withoutRule : withRule;
      const probs = await scoreAll(classifier, records, (r) => sourceOf(condition, r));
      const b = bootstrapMetrics(labels, probs, groups, classes.length, { resamples: 1000, seed: 0 });
      results[condition] = {
        ba: b.balancedAccuracy.estimate,
        lo: b.balancedAccuracy.lower,
        hi: b.balancedAccuracy.upper,
        acc: b.accuracy.estimate,
      };
      onDone?.(condition, (performance.now() - t0) / 1000);
    }
  } finally {
    await Promise.all([withRule.dispose(), withoutRule.dispose()]);
  }
  return results;
}
