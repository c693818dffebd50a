/**
 * bench:shift — does the model hold on sharper and rescaled images? Trains the frozen bench recipe
 * (bench/recipe.ts: MobileNet v1 from ../shared, cached features, lesion-grouped 70/15/15 split, seed 42) on the
 * 200x150 HAM10000 images through `trainRun` (run folder + bundle), then scores the SAME bundle, through the
 * same classifier as `predict` (its recorded test views), on the test-split lesions that have a 224x224 crop in
 * ../shared/data/ham10000-crops224 (one image per lesion, the crop's image id), four ways:
 *   images200      the 200x150 images
 *   crops_direct   the 224x224 crops, density rule off (--no-density)
 *   crops_density  the 224x224 crops through the bundle's density rule (default inference)
 *   half_res       the 200x150 images at 0.5x resolution: down to 100x75 (area) and back up (bilinear)
 * Balanced accuracy with lesion-bootstrap 95% intervals and the gap to images200; target: |gap| <= 0.03 each.
 *
 *   npm run bench:shift            # BENCH_VIEWS=2 (see bench/recipe.ts)
 *
 * The last line of stdout is one JSON object.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageRecord } from '../src/core/data/records.js';
import { bootstrapMetrics } from '../src/core/eval/bootstrap.js';
import { type Classifier, createClassifier } from '../src/node/infer/classifier.js';
import { mapLimit } from '../src/node/infer/limit.js';
import { labelIndices, loadRunData } from '../src/node/train/data.js';
import { trainRun } from '../src/node/train/pipeline.js';
import { benchLogger, benchRecipe, CROPS_ROOT, HAM_ROOT, round4 } from './recipe.js';

const began = performance.now();
await Promise.all([access(join(HAM_ROOT, 'HAM10000_metadata.csv')), access(CROPS_ROOT)]).catch(() => {
  process.stderr.write(`bench:shift: needs ${HAM_ROOT} and ${CROPS_ROOT} (the real HAM10000 in ../shared)\n`);
  process.exit(1);
});

// 1. Train the recipe on the 200x150 training split (features cached; the bundle records views and density).
const config = await benchRecipe();
const run = await trainRun(config, { logger: benchLogger });
if (!run.bundleDir || !run.test)
  throw new Error('bench:shift: the training run produced no bundle or test split');
const bundleDir = run.bundleDir;
process.stdout.write(
  `trained ${run.runDir}: test balanced accuracy ${run.test.scores.balancedAccuracy.toFixed(3)} on ${run.test.count} images (all test images)\n`,
);

// 2. Test-split lesions with a crop (the crop's image id is one of the lesion's images).
const crops = new Set(
  (await readdir(CROPS_ROOT)).filter((f) => f.endsWith('.jpg')).map((f) => f.slice(0, -4)),
);
const data = await loadRunData(config, { logger: benchLogger, splitPath: join(run.runDir, 'split.json') });
const test = data.parts.test.filter((r) => crops.has(r.imageId));
process.stdout.write(
  `test-split lesions with a crop: ${test.length} images, ${new Set(test.map((r) => r.groupId)).size} lesions\n`,
);

// 3. The same bundle four ways.
const withRule = await createClassifier(bundleDir, { threads: 1 });
const withoutRule = await createClassifier(bundleDir, { threads: 1, density: false });
process.stdout.write(
  `bundle: views ${withRule.views?.join('+')}, density rule ${JSON.stringify(withRule.meta.preprocess.density)}\n`,
);
const cropPath = (r: ImageRecord) => join(CROPS_ROOT, `${r.imageId}.jpg`);
const halfRes = async (r: ImageRecord) => {
  const { width = 200, height = 150 } = await sharp(r.path).metadata();
  const down = await sharp(r.path)
    .resize(Math.round(width / 2), Math.round(height / 2), { kernel: 'mitchell' })
    .toBuffer();
  return sharp(down).resize(width, height, { kernel: 'linear' }).png().toBuffer();
};
const CONDITIONS: readonly {
  id: string;
  classifier: Classifier;
  source: (r: ImageRecord) => Promise<string | Uint8Array>;
}[] = [
  { id: 'images200', classifier: withRule, source: async (r) => r.path },
  { id: 'crops_direct', classifier: withoutRule, source: async (r) => cropPath(r) },
  { id: 'crops_density', classifier: withRule, source: async (r) => cropPath(r) },
  { id: 'half_res', classifier: withRule, source: halfRes },
];
const labels = Array.from(labelIndices(test, data.classes));
const groups = test.map((r) => r.groupId);
const results: Record<string, { ba: number; lo: number; hi: number; acc: number }> = {};
for (const condition of CONDITIONS) {
  const t0 = performance.now();
  const probs = await scoreAll(condition.classifier, test, condition.source);
  const b = bootstrapMetrics(labels, probs, groups, data.classes.length, { resamples: 1000, seed: 0 });
  results[condition.id] = {
    ba: b.balancedAccuracy.estimate,
    lo: b.balancedAccuracy.lower,
    hi: b.balancedAccuracy.upper,
    acc: b.accuracy.estimate,
  };
  process.stderr.write(`  ${condition.id}: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
await Promise.all([withRule.dispose(), withoutRule.dispose()]);

const base = results.images200.ba;
process.stdout.write(
  '\n| condition      | balanced accuracy (95% lesion-bootstrap CI) | accuracy | gap to images200 |\n|---|---|---|---|\n',
);
for (const [id, r] of Object.entries(results)) {
  process.stdout.write(
    `| ${id.padEnd(14)} | ${r.ba.toFixed(3)} (${r.lo.toFixed(3)}–${r.hi.toFixed(3)}) | ${r.acc.toFixed(3)} | ${(r.ba - base).toFixed(3)} |\n`,
  );
}
const gaps = Object.fromEntries(
  Object.entries(results)
    .filter(([id]) => id !== 'images200')
    .map(([id, r]) => [`gap_${id}`, round4(r.ba - base)]),
);
process.stdout.write(
  `${JSON.stringify({
    images: test.length,
    lesions: new Set(groups).size,
    views: withRule.views,
    ...Object.fromEntries(
      Object.entries(results).flatMap(([id, r]) => [
        [`balanced_accuracy_${id}`, round4(r.ba)],
        [`balanced_accuracy_${id}_ci_low`, round4(r.lo)],
        [`balanced_accuracy_${id}_ci_high`, round4(r.hi)],
        [`accuracy_${id}`, round4(r.acc)],
      ]),
    ),
    ...gaps,
    target_met: Object.values(gaps).every((g) => Math.abs(g) <= 0.03),
    run_dir: run.runDir,
    total_s: Math.round((performance.now() - began) / 1000),
  })}\n`,
);

/** Probabilities of every record under one condition, in record order (the classifier's own views). */
async function scoreAll(
  classifier: Classifier,
  records: readonly ImageRecord[],
  source: (r: ImageRecord) => Promise<string | Uint8Array>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const { width, height } = classifier.meta.preprocess;
  const size = width * height * 3;
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
