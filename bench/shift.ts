/**
 * bench:shift-frozen — does the FROZEN model hold on sharper and rescaled images? (`npm run bench:shift` measures
 * the fine-tuned model the same way, through bench/finetune.ts; this is the frozen recipe's version.) The frozen bench recipe (bench/recipe.ts:
 * MobileNet v1 from ../shared, cached multi-scale features, linear head, lesion-grouped 70/15/15 split, seed 42)
 * is trained on the 200x150 HAM10000 training split and exported as a bundle (recorded test views and density
 * rule); the SAME bundle is then scored through the classifier `predict` uses on the test-split lesions that have a
 * 224x224 crop in ../shared/data/ham10000-crops224 (one image per lesion: the crop's image id), four ways:
 *   images200      the 200x150 images
 *   crops_direct   the 224x224 crops, density rule off (--no-density)
 *   crops_density  the 224x224 crops through the bundle's density rule (default inference)
 *   half_res       the 200x150 images at 0.5x resolution: down to 100x75 and back up (bilinear)
 * Scale augmentation is measured on VALIDATION first: the head is trained without and with one extra seeded
 * random view (AUGMENT: down-then-up resolution, sharpen/blur, Shades-of-Gray) for a hashed AUG_FRACTION of the
 * training images, both scored on the validation lesions with a crop under images200, crops_density and half_res
 * (what default inference sees); the augmentation is kept only if it raises the
 * mean validation balanced accuracy over the conditions without costing the 200x150 validation figure more
 * than 0.01. Balanced accuracy with lesion-bootstrap 95% intervals, gaps to images200; target |gap| <= 0.03.
 *
 *   npm run bench:shift-frozen     # BENCH_VIEWS=2 (see bench/recipe.ts); BENCH_SHIFT_AUG=0 skips the experiment
 *
 * The last line of stdout is one JSON object.
 */
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../src/core/config/train-config.js';
import { countLabels, labelIndices } from '../src/core/data/class-index.js';
import type { ImageRecord } from '../src/core/data/records.js';
import { IDENTITY_AUGMENT } from '../src/core/preprocess/augment-config.js';
import { type DihedralView, expandViews } from '../src/core/preprocess/views.js';
import { argmaxRows, classificationScores } from '../src/core/train/epoch-metrics.js';
import { buildFeatureExtractor, buildTrainedClassifier, Head } from '../src/core/train/head.js';
import { headSchedule, posthocOffset, recipeViews, runLossOptions } from '../src/core/train/head-recipe.js';
import { logPriorOffset } from '../src/core/train/losses.js';
import { Prng } from '../src/core/train/prng.js';
import { type ItemSet, predictSet, trainHead } from '../src/core/train/trainer.js';
import { at } from '../src/core/util/at.js';
import { selectBackend } from '../src/node/backend/backend.js';
import { measureDensityRule } from '../src/node/bundle/density.js';
import { readModelBundle } from '../src/node/bundle/read.js';
import { writeModelBundle } from '../src/node/bundle/write.js';
import { mapLimit } from '../src/node/infer/limit.js';
import { resolveViews } from '../src/node/infer/tta.js';
import { decodeImage } from '../src/node/preprocess/decode-image.js';
import { loadRunBackbone } from '../src/node/train/backbone.js';
import { prepareRunData } from '../src/node/train/data.js';
import { type FeatureCache, gatherFeatures } from '../src/node/train/feature-cache.js';
import { createFeatureExtractor } from '../src/node/train/feature-extractor.js';
import { prepareRunFeatures, runPreprocess } from '../src/node/train/features.js';
import { featureItemSet, featureStats, standardizedItemSet } from '../src/node/train/item-sets.js';
import { featuresOnly } from './lib/features-only.js';
import {
  CONDITIONS,
  type Condition,
  cropFilter,
  scoreConditions,
  shiftTargetMet,
  sourceOf,
} from './lib/shift-conditions.js';
import { benchLogger, benchRecipe, CROPS_ROOT, HAM_ROOT, round4 } from './recipe.js';

const began = performance.now();
await Promise.all([access(join(HAM_ROOT, 'HAM10000_metadata.csv')), access(CROPS_ROOT)]).catch(() => {
  process.stderr.write(`bench:shift: needs ${HAM_ROOT} and ${CROPS_ROOT} (the real HAM10000 in ../shared)\n`);
  process.exit(1);
});
/**
 * The one scale-augmentation candidate: down-then-up resolution, sharpen/blur, Shades-of-Gray; geometry (zoom)
 * and colour jitter off. (Zoom was left out when the measurement was made: tf.image.transform had no native
 * kernel then and ran at ~3 images/s on tfjs-cpu; our own affine warp now runs natively.)
 */
const CANDIDATES = {
  scale: { ...IDENTITY_AUGMENT, resolution: [0.4, 1], sharpness: 0.6, shadesOfGray: 0.3 },
  /** zoom in by up to 1.25x (no border to fill): a lesion seen closer, as in the 224 crops */
  zoom: { ...IDENTITY_AUGMENT, zoom: [1, 1.25] },
  /** resolution alone: down to 0.5-0.75x and back up (bilinear), no sharpening or colour change */
  resolution: { ...IDENTITY_AUGMENT, resolution: [0.5, 0.75] },
  /**
   * lower resolution alone: 0.3-0.5x of the 224 model input. The factor applies after the model resize, and a
   * 200x150 image has only 150 rows there, so 0.5-0.75x keeps 0.75-1.1x of its rows (barely a change; its
   * features moved less than under a horizontal flip); 0.3-0.5x keeps 0.45-0.75x, a 100x75 image's 0.5x among them.
   */
  lowres: { ...IDENTITY_AUGMENT, resolution: [0.3, 0.5] },
} as const;
/** BENCH_SHIFT_CANDIDATE=scale (default) | zoom | resolution: which augmentation the experiment measures on validation. */
const CANDIDATE = (process.env.BENCH_SHIFT_CANDIDATE ?? 'scale') as keyof typeof CANDIDATES;
if (!(CANDIDATE in CANDIDATES)) {
  process.stderr.write(
    `bench:shift: BENCH_SHIFT_CANDIDATE must be one of ${Object.keys(CANDIDATES).join(', ')}\n`,
  );
  process.exit(1);
}
const AUGMENT = CANDIDATES[CANDIDATE];
/** Validation conditions of the augmentation choice: what default inference sees (crops_direct is opt-out). */
const VAL_CONDITIONS: readonly Condition[] = ['images200', 'crops_density', 'half_res'];
/**
 * Share of training images (by a hash of the image id) that get the random scale view: extraction of one more
 * view of every training image takes ~40 min on the 2 shared cores of the bench machine.
 */
const AUG_FRACTION = Number(process.env.BENCH_SHIFT_AUG_FRACTION ?? 0.35);

const config = await benchRecipe();
await selectBackend(config.train.backend, 'head', benchLogger);
const backbone = await loadRunBackbone(config, benchLogger);
const scratch = await mkdtemp(join(tmpdir(), 'bench-shift-'));
const prepared = await prepareRunData(config, scratch, { logger: benchLogger });
// BENCH_SHIFT_SMOKE=1: a few hundred images per split, to check the bench end to end in minutes (figures meaningless)
const SMOKE = process.env.BENCH_SHIFT_SMOKE === '1';
const data = SMOKE
  ? {
      ...prepared,
      parts: {
        train: prepared.parts.train.slice(0, 400),
        val: prepared.parts.val.slice(0, 150),
        test: prepared.parts.test.slice(0, 150),
      },
    }
  : prepared;
const { classes } = data;
const k = classes.length;
const base = await featuresOnly(
  prepareRunFeatures(config, backbone, data.dataset.records, { logger: benchLogger }),
);
const withCrop = await cropFilter();
const valShift = withCrop(data.parts.val);
const testShift = withCrop(data.parts.test);
const lesions = (records: readonly ImageRecord[]) => new Set(records.map((r) => r.groupId)).size;
process.stdout.write(
  `lesions with a crop: validation ${valShift.length} images / ${lesions(valShift)} lesions, test ${testShift.length} / ${lesions(testShift)}\n`,
);
const density = await measureDensityRule(
  data.parts.train.map((r) => r.path),
  config.preprocess.density,
);
if (!density) throw new Error('bench:shift: could not read the training images to measure their density');
const spec = { ...runPreprocess(config, backbone), density };
const views = recipeViews(config);

// 1. Scale augmentation, measured on validation.
const useAug = process.env.BENCH_SHIFT_AUG !== '0';
let chosenAug = false;
let augTable: Record<string, Record<Condition, number>> = {};
let augCache: FeatureCache | undefined;
if (useAug) {
  const augConfig: TrainConfig = {
    ...config,
    features: { ...config.features, views: 1, randomViews: 1, augment: AUGMENT },
  };
  const augmented = data.parts.train.filter((r) => unitHash(r.imageId) < AUG_FRACTION);
  process.stdout.write(
    `${CANDIDATE} augmentation: one random view for ${augmented.length} of ${data.parts.train.length} training images (BENCH_SHIFT_AUG_FRACTION ${AUG_FRACTION})\n`,
  );
  augCache = await featuresOnly(prepareRunFeatures(augConfig, backbone, augmented, { logger: benchLogger }));
  const valSets = await conditionFeatureSets(valShift, VAL_CONDITIONS);
  for (const aug of [false, true]) {
    const head = await fitShiftHead(aug);
    augTable[aug ? 'scale_aug' : 'no_aug'] = Object.fromEntries(
      await Promise.all(
        VAL_CONDITIONS.map(async (c) => [
          c,
          balanced(await predictHead(head.head, valSets[c], head.counts), valShift),
        ]),
      ),
    ) as Record<Condition, number>;
    head.head.dispose();
  }
  const mean = (r: Record<Condition, number>) =>
    VAL_CONDITIONS.reduce((sum, c) => sum + r[c], 0) / VAL_CONDITIONS.length;
  const [a, b] = [augTable.no_aug, augTable.scale_aug];
  if (a === undefined || b === undefined) throw new Error('bench:shift: both heads were measured just above');
  chosenAug = mean(b) > mean(a) && b.images200 >= a.images200 - 0.01;
  process.stdout.write(
    `\n${CANDIDATE} augmentation on VALIDATION (balanced accuracy, lesions with a crop; one random view/image: ${JSON.stringify(AUGMENT)})\n| head | ${VAL_CONDITIONS.join(' | ')} | mean |\n|---|---|---|---|---|\n`,
  );
  for (const [name, r] of Object.entries(augTable))
    process.stdout.write(
      `| ${name} | ${VAL_CONDITIONS.map((c) => r[c].toFixed(3)).join(' | ')} | ${mean(r).toFixed(3)} |\n`,
    );
  process.stdout.write(`kept: ${chosenAug ? `${CANDIDATE} augmentation` : 'no augmentation'}\n`);
} else augTable = {};

// 2. The final model: the chosen head, exported as a bundle with its views and density rule.
const final = await fitShiftHead(chosenAug);
const bundleDir = join(scratch, 'model');
const model = buildTrainedClassifier(
  backbone.model,
  final.head,
  config.model,
  posthocOffset(config, final.counts),
);
await writeModelBundle(bundleDir, {
  model,
  name: `bench-shift-${basename(scratch)}`,
  backbone: backbone.name,
  classes,
  preprocess: spec,
  normalization: backbone.normalization,
  testViews: views,
  ...(config.train.logitAdjustment.mode === 'posthoc'
    ? { posthocTau: config.train.logitAdjustment.tau }
    : {}),
  weights: backbone.weights,
  cam: false,
  tfjs: false,
});
final.head.dispose();

// 3. The same bundle four ways on the test lesions with a crop.
const { meta } = await readModelBundle(bundleDir);
process.stdout.write(
  `bundle ${bundleDir}: views ${resolveViews('recipe', meta).join('+')}, density ${JSON.stringify(meta.preprocess.density)}\n`,
);
const results = await scoreConditions(bundleDir, testShift, classes, CONDITIONS, (c, s) =>
  process.stderr.write(`  ${c}: ${s.toFixed(0)} s\n`),
);

const ref = results.images200.ba;
process.stdout.write(
  `\ntest lesions with a crop (${testShift.length} images, ${lesions(testShift)} lesions), one bundle:\n| condition | balanced accuracy (95% lesion-bootstrap CI) | accuracy | gap to images200 |\n|---|---|---|---|\n`,
);
for (const c of CONDITIONS) {
  const r = results[c];
  process.stdout.write(
    `| ${c} | ${r.ba.toFixed(3)} (${r.lo.toFixed(3)}–${r.hi.toFixed(3)}) | ${r.acc.toFixed(3)} | ${(r.ba - ref).toFixed(3)} |\n`,
  );
}
const gaps = Object.fromEntries(CONDITIONS.slice(1).map((c) => [`gap_${c}`, round4(results[c].ba - ref)]));
process.stdout.write(
  `${JSON.stringify({
    images: testShift.length,
    lesions: lesions(testShift),
    views,
    density_short_side: Math.min(density.sourceWidth, density.sourceHeight),
    density_max_ratio: density.maxRatio,
    ...Object.fromEntries(
      CONDITIONS.flatMap((c) => [
        [`balanced_accuracy_${c}`, round4(results[c].ba)],
        [`balanced_accuracy_${c}_ci_low`, round4(results[c].lo)],
        [`balanced_accuracy_${c}_ci_high`, round4(results[c].hi)],
        [`accuracy_${c}`, round4(results[c].acc)],
      ]),
    ),
    ...gaps,
    target_met: shiftTargetMet(results),
    augmentation_candidate: CANDIDATE,
    scale_augmentation_kept: chosenAug,
    ...Object.fromEntries(
      Object.entries(augTable).flatMap(([name, r]) =>
        VAL_CONDITIONS.map((c) => [`val_balanced_accuracy_${name}_${c}`, round4(r[c])]),
      ),
    ),
    total_s: Math.round((performance.now() - began) / 1000),
  })}\n`,
);

/**
 * Pooled features (the recipe's views) of `records` under every condition, as item sets: images200 from the
 * cache, the others extracted here with the decode the classifier uses (density rule on, or off for crops_direct).
 */
async function conditionFeatureSets(
  records: readonly ImageRecord[],
  conditions: readonly Condition[],
): Promise<Record<Condition, ItemSet>> {
  const engine = await createFeatureExtractor('onnx', buildFeatureExtractor(backbone.model, config.model), {
    threads: 1,
    logger: benchLogger,
  });
  const sets = { images200: featureItemSet(base, records, classes, views.length) } as Record<
    Condition,
    ItemSet
  >;
  for (const c of conditions.filter((x) => x !== 'images200')) {
    const decodeSpec = c === 'crops_direct' ? { ...spec, density: { ...density!, enabled: false } } : spec;
    const rows = await extract(engine, records, views, async (r) =>
      decodeImage(await sourceOf(c, r), decodeSpec),
    );
    sets[c] = memoryItemSet(rows, base.width, views.length, labelIndices(records, classes));
  }
  await engine.dispose();
  return sets;
}

async function extract(
  engine: Awaited<ReturnType<typeof createFeatureExtractor>>,
  records: readonly ImageRecord[],
  v: readonly DihedralView[],
  decode: (r: ImageRecord) => Promise<Uint8Array>,
): Promise<Float32Array> {
  const width = base.width;
  const out = new Float32Array(records.length * v.length * width);
  const size = spec.width;
  for (let start = 0; start < records.length; start += 16) {
    const chunk = records.slice(start, start + 16);
    const pixels = await mapLimit(chunk, 2, decode);
    const batch = new Uint8Array(chunk.length * size * size * 3);
    pixels.forEach((p, i) => {
      batch.set(p, i * p.length);
    });
    const expanded = expandViews(batch, chunk.length, size, size, v);
    out.set(await engine.run(expanded, chunk.length * v.length, size), start * v.length * width);
  }
  return out;
}

/** Items over in-memory features laid out image-major, `views` rows per image. */
function memoryItemSet(rows: Float32Array, width: number, viewCount: number, labels: Int32Array): ItemSet {
  return {
    labels,
    views: viewCount,
    batch: (indices, v) => {
      const out = new Float32Array(indices.length * width);
      indices.forEach((item, r) => {
        const offset = (item * viewCount + at(v, r)) * width;
        out.set(rows.subarray(offset, offset + width), r * width);
      });
      return tf.tensor2d(out, [indices.length, width]);
    },
  };
}

/** The recipe's head (as `fitHead`), optionally with each training image's random scale view as one more view. */
async function fitShiftHead(aug: boolean): Promise<{ head: Head; counts: number[] }> {
  const stats = featureStats(base, data.parts.train);
  const exact = featureItemSet(base, data.parts.train, classes);
  const train: ItemSet = aug && augCache ? withExtraView(exact, base, augCache, data.parts.train) : exact;
  const val = featureItemSet(base, data.parts.val, classes, views.length);
  const counts = countLabels(train.labels, k);
  const m = config.model;
  const head = Head.create(
    { inputWidth: base.width, hidden: m.hidden, numClasses: k, dropout: m.dropout },
    new Prng(config.seed),
  );
  await trainHead({
    head,
    train: standardizedItemSet(train, stats),
    val: standardizedItemSet(val, stats),
    loss: runLossOptions(config, counts),
    ...headSchedule(config),
  });
  head.foldInputStandardization(stats.mean, stats.std);
  return { head, counts };
}

/**
 * `exact`'s views plus, as the last view, view 1 (the random view) of `extra`'s cache for the same records;
 * records without a random view fall back to an exact view there.
 */
function withExtraView(
  exact: ItemSet,
  cache: FeatureCache,
  extra: FeatureCache,
  records: readonly ImageRecord[],
): ItemSet {
  const inBase = records.map((r) => cache.indexOf(r.imageId));
  const has = new Set(extra.ids);
  const inExtra = records.map((r) => (has.has(r.imageId) ? extra.indexOf(r.imageId) : -1));
  return {
    labels: exact.labels,
    views: exact.views + 1,
    batch: (indices, v) => {
      const out = new Float32Array(indices.length * cache.width);
      indices.forEach((item, r) => {
        const view = at(v, r);
        const row =
          view < exact.views || at(inExtra, item) < 0
            ? gatherFeatures(cache, [at(inBase, item)], [view % exact.views])
            : gatherFeatures(extra, [at(inExtra, item)], [1]);
        out.set(row, r * cache.width);
      });
      return tf.tensor2d(out, [indices.length, cache.width]);
    },
  };
}

async function predictHead(head: Head, set: ItemSet, counts: number[]): Promise<Float32Array> {
  const tau = config.train.logitAdjustment.mode === 'posthoc' ? config.train.logitAdjustment.tau : 0;
  const offset = tau > 0 ? logPriorOffset(counts, -tau) : undefined;
  return (await predictSet(head, set, { tta: true, logitOffset: offset })).probabilities;
}

function balanced(probabilities: Float32Array, records: readonly ImageRecord[]): number {
  return classificationScores(labelIndices(records, classes), argmaxRows(probabilities, k), k)
    .balancedAccuracy;
}

/** A stable number in [0, 1) from an image id (FNV-1a), to pick the augmented subset. */
function unitHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32;
}
