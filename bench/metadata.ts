/**
 * bench:metadata — what lesion metadata (age, sex, anatomical site from HAM10000_metadata.csv; never dx_type) adds
 * to the frozen bench recipe (bench/recipe.ts), on the same lesion-grouped split (seed 42) and the same cached
 * image features:
 *   image_only           the recipe's linear head on image features
 *   with_metadata        the metadata model (below, chosen on validation) given the test images' metadata
 *   metadata_model_none  the SAME metadata model given no metadata at all (every field missing)
 *   recalibration_control the image logits recalibrated for balanced accuracy WITHOUT metadata: the stacker's
 *                        network fitted on the same out-of-fold logits with every field hidden and no gate
 * Three metadata branches are trained: a head on features ++ metadata (site one-hot, sex, age/100, explicit missing
 * flags; with metadata dropout), late fusion (class-logit offsets W·enc(metadata), no bias, added to the image
 * head's logits: exactly zero without metadata; fitted over the head's own training logits or over out-of-fold ones,
 * model.metadataFit, and L2 chosen on validation) and the stacker (model.metadata: stacker; a 16-unit ReLU network
 * on the metadata and the image log-probabilities whose output is added to the image logits, gated to zero without
 * metadata, fitted over the out-of-fold logits with field dropout, L2 chosen on validation). The one reported as
 * "the metadata model" is the best on validation among those whose metadata-free validation score is within 0.01
 * of the image-only head's.
 * Metadata dropout of the concat head (probability that all of an image's metadata is hidden in a training batch)
 * is chosen on the validation split among DROPOUTS the same way. Balanced accuracy with lesion-bootstrap 95%
 * intervals; gains as paired lesion-bootstrap intervals. Targets: gain >= 0.03, loss without metadata <= 0.01.
 * A metadata branch fitted for balanced accuracy also recalibrates the image model; the gain over the control
 * is the part the metadata itself adds.
 *
 *   npm run bench:metadata
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainConfig } from '../src/core/config/train-config.js';
import { countLabels } from '../src/core/data/class-index.js';
import type { ImageRecord } from '../src/core/data/records.js';
import {
  bootstrapMetrics,
  createRng,
  indexGroups,
  percentile,
  resampleGroupWeights,
  weightedHeadline,
} from '../src/core/eval/bootstrap.js';
import { argmaxRows, classificationScores } from '../src/core/train/epoch-metrics.js';
import { Head } from '../src/core/train/head.js';
import { headSchedule, runLossOptions } from '../src/core/train/head-recipe.js';
import { logPriorOffset } from '../src/core/train/losses.js';
import {
  fitMetadataOffsets,
  type LesionMetadata,
  logProbabilityRows,
  METADATA_WIDTH,
  type MetadataDropout,
} from '../src/core/train/metadata.js';
import {
  type BundleMetadataBranch,
  fuseMetadataRows,
  metadataBranch,
  softmaxRow,
  stackerBranch,
} from '../src/core/train/metadata-fusion.js';
import { fitMetadataStacker, stackerOffsets } from '../src/core/train/metadata-stacker.js';
import { Prng } from '../src/core/train/prng.js';
import { type ItemSet, predictSet, trainHead } from '../src/core/train/trainer.js';
import { selectBackend } from '../src/node/backend/backend.js';
import { loadRunBackbone } from '../src/node/train/backbone.js';
import { type PreparedData, prepareRunData, recordMetadata } from '../src/node/train/data.js';
import type { FeatureCache } from '../src/node/train/feature-cache.js';
import { prepareRunFeatures } from '../src/node/train/features.js';
import {
  featureItemSet,
  featureStats,
  standardizedItemSet,
  withMetadata,
} from '../src/node/train/item-sets.js';
import { outOfFoldLogits } from '../src/node/train/metadata-branch.js';
import { fitHead } from '../src/node/train/pipeline.js';
import { featuresOnly } from './lib/features-only.js';
import { benchLogger, benchRecipe, round4 } from './recipe.js';

const began = performance.now();
/** Hidden units of the stacker (the product default, model.metadataHidden). */
const STACKER_HIDDEN = 16;
const DROPOUTS: readonly MetadataDropout[] = [
  { all: 0.25, field: 0.1 },
  { all: 0.5, field: 0.1 },
];
const config = await benchRecipe();
await selectBackend(config.train.backend, 'head', benchLogger);
const backbone = await loadRunBackbone(config, benchLogger);
const scratch = await mkdtemp(join(tmpdir(), 'bench-metadata-'));
const data = await prepareRunData(config, scratch, { logger: benchLogger });
await rm(scratch, { recursive: true, force: true });
const cache = await featuresOnly(
  prepareRunFeatures(config, backbone, data.dataset.records, { logger: benchLogger }),
);
const { parts, classes } = data;
const k = classes.length;
const meta = {
  train: recordMetadata(parts.train),
  val: recordMetadata(parts.val),
  test: recordMetadata(parts.test),
};
const none = (n: number): LesionMetadata[] => Array.from({ length: n }, () => ({}));
const present = meta.train.filter((m) => m.age !== undefined && m.sex && m.site).length;
process.stdout.write(
  `metadata (age, sex, localization; never dx_type): complete for ${present} of ${meta.train.length} training images\n`,
);
const tau = config.train.logitAdjustment.mode === 'posthoc' ? config.train.logitAdjustment.tau : 0;
const views = config.features.views;
const stats = featureStats(cache, parts.train);
const std = (records: readonly ImageRecord[], v?: number) =>
  standardizedItemSet(featureItemSet(cache, records, classes, v), stats);

// image-only head: the recipe as the run trains it
const image = await fitHead(config, cache, parts, classes);
const offset = tau > 0 ? logPriorOffset(image.counts, -tau) : undefined;
const scoreImage = async (records: readonly ImageRecord[]) =>
  (
    await predictSet(image.head, featureItemSet(cache, records, classes, views), {
      tta: true,
      logitOffset: offset,
    })
  ).probabilities;
const valImage = await scoreImage(parts.val);
const valImageBa = balanced(valImage, parts.val);

// metadata heads, one per dropout; chosen on validation
process.stdout.write(
  `\nmetadata dropout chosen on validation (image-only val bal_acc ${valImageBa.toFixed(3)})\n  all  field  val_bal_acc_meta  val_bal_acc_none\n`,
);
let chosen: { dropout: MetadataDropout; head: Head; val: number; valNone: number } | undefined;
for (const dropout of DROPOUTS) {
  const head = await fitMetadataHead(config, parts, cache, dropout);
  const val = balanced(await scoreMeta(head, parts.val, meta.val), parts.val);
  const valNone = balanced(await scoreMeta(head, parts.val, none(parts.val.length)), parts.val);
  process.stdout.write(
    `  ${dropout.all.toFixed(2)} ${dropout.field.toFixed(2)}  ${val.toFixed(3).padStart(16)}  ${valNone.toFixed(3).padStart(16)}\n`,
  );
  const eligible = valNone >= valImageBa - 0.01;
  const better = !chosen || (eligible && (!(chosen.valNone >= valImageBa - 0.01) || val > chosen.val));
  if (better) {
    chosen?.head.dispose();
    chosen = { dropout, head, val, valNone };
  } else head.dispose();
}
if (!chosen) throw new Error('bench:metadata: no metadata head trained');
process.stdout.write(`chosen: all ${chosen.dropout.all}, field ${chosen.dropout.field}\n`);

// late fusion: metadata logit offsets on top of the image head's logits (zero without metadata), L2 on validation
// scored as the bundle scores: fuseMetadataRows (the image probabilities as they are when a row has no metadata)
const fused = (branch: BundleMetadataBranch, p: Float32Array, metadata: readonly LesionMetadata[]) =>
  fuseMetadataRows(branch, p, metadata, k);
const trainLabels = featureItemSet(cache, parts.train, classes).labels;
// the image logits the offsets are fitted over (model.metadataFit): the head's own on its training images, or
// out-of-fold (5 lesion-grouped folds of the training split, each scored by a head trained on the others)
const fits = {
  'in-sample': logProbabilityRows(await scoreImage(parts.train), k),
  'out-of-fold': await outOfFoldLogits(config, data, cache, (split) =>
    fitHead(config, cache, split, classes),
  ),
} as const;
process.stdout.write(
  '\nlate fusion (metadata logit offsets, zero without metadata): fit and L2 chosen on validation\n  fit          l2      val_bal_acc_meta\n',
);
let late: { fit: keyof typeof fits; l2: number; branch: BundleMetadataBranch; val: number } | undefined;
for (const [fit, logits] of Object.entries(fits) as [keyof typeof fits, Float32Array[]][]) {
  for (const l2 of [1e-3, 1e-2, 3e-2, 1e-1]) {
    const branch = metadataBranch(fitMetadataOffsets(logits, meta.train, trainLabels, k, { l2 }));
    const val = balanced(fused(branch, valImage, meta.val), parts.val);
    process.stdout.write(`  ${fit.padEnd(12)} ${l2.toExponential(0)}  ${val.toFixed(3)}\n`);
    if (!late || val > late.val) late = { fit, l2, branch, val };
  }
}
if (!late) throw new Error('bench:metadata: no late-fusion model fitted');
// the stacker (a small ReLU network on the metadata and the image log-probabilities, gated: zero without
// metadata), over the out-of-fold logits, L2 chosen on validation
const oof = fits['out-of-fold'];
process.stdout.write(
  `\nstacker (${STACKER_HIDDEN} hidden units, out-of-fold logits): L2 chosen on validation\n  l2      val_bal_acc_meta\n`,
);
let stacker: { l2: number; branch: BundleMetadataBranch; val: number } | undefined;
for (const l2 of [1e-4, 1e-3, 1e-2]) {
  const fitted = fitMetadataStacker(oof, meta.train, trainLabels, k, {
    l2,
    hidden: STACKER_HIDDEN,
    seed: 11,
  });
  const branch = stackerBranch(fitted);
  const val = balanced(fused(branch, valImage, meta.val), parts.val);
  process.stdout.write(`  ${l2.toExponential(0)}  ${val.toFixed(3)}\n`);
  if (!stacker || val > stacker.val) stacker = { l2, branch, val };
}
if (!stacker) throw new Error('bench:metadata: no stacker fitted');

// the metadata model: the branch with the best validation score with metadata among those whose metadata-free
// validation score is within 0.01 of the image-only head (late fusion's and the stacker's are the image-only
// head's by construction)
const concatEligible = chosen.valNone >= valImageBa - 0.01;
const candidates = [
  ...(concatEligible ? [{ kind: 'concat_head' as const, val: chosen.val }] : []),
  { kind: 'late_fusion' as const, val: late.val },
  { kind: 'stacker' as const, val: stacker.val },
];
const kind = candidates.reduce((a, b) => (b.val > a.val ? b : a)).kind;
const branchOf = { late_fusion: late.branch, stacker: stacker.branch } as const;
process.stdout.write(
  `metadata model chosen on validation: ${kind} (concat head val ${chosen.val.toFixed(3)} / without metadata ${chosen.valNone.toFixed(3)}${concatEligible ? '' : ', not eligible'}; late fusion val ${late.val.toFixed(3)}, ${late.fit}, l2 ${late.l2}; stacker val ${stacker.val.toFixed(3)}, l2 ${stacker.l2})\n`,
);

// control: the same stacker fitted on the same out-of-fold logits with every image's metadata hidden and no gate,
// i.e. a recalibration of the image logits for balanced accuracy that uses no metadata. A metadata model also
// recalibrates, so its gain over this control is what the metadata itself adds (L2 chosen on validation).
const recalibrate = (branch: ReturnType<typeof fitMetadataStacker>, p: Float32Array) => {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length / k; i++) {
    const logp = Array.from(p.subarray(i * k, (i + 1) * k), (v) => Math.log(Math.max(v, 1e-12)));
    out.set(softmaxRow(stackerOffsets(branch, logp, {}).map((o, c) => o + (logp[c] ?? 0))), i * k);
  }
  return out;
};
let control: { l2: number; fitted: ReturnType<typeof fitMetadataStacker>; val: number } | undefined;
for (const l2 of [1e-4, 1e-3, 1e-2]) {
  const fitted = fitMetadataStacker(oof, none(oof.length), trainLabels, k, {
    l2,
    hidden: STACKER_HIDDEN,
    seed: 11,
    gate: false,
    fieldDropout: 0,
  });
  const val = balanced(recalibrate(fitted, valImage), parts.val);
  if (!control || val > control.val) control = { l2, fitted, val };
}
if (!control) throw new Error('bench:metadata: no recalibration control fitted');
process.stdout.write(
  `control (recalibration without metadata, same stacker): val ${control.val.toFixed(3)}, l2 ${control.l2}\n`,
);

// test split: the three conditions
const testImage = await scoreImage(parts.test);
const testMeta =
  kind === 'concat_head'
    ? await scoreMeta(chosen.head, parts.test, meta.test)
    : fused(branchOf[kind], testImage, meta.test);
const testNone =
  kind === 'concat_head'
    ? await scoreMeta(chosen.head, parts.test, none(parts.test.length))
    : fused(branchOf[kind], testImage, none(parts.test.length));
const testControl = recalibrate(control.fitted, testImage);
const concatMeta = await scoreMeta(chosen.head, parts.test, meta.test);
const concatNone = await scoreMeta(chosen.head, parts.test, none(parts.test.length));
const labels = Array.from(featureItemSet(cache, parts.test, classes).labels);
const groups = parts.test.map((r) => r.groupId);
const rows = (p: Float32Array) =>
  Array.from({ length: labels.length }, (_, i) => p.subarray(i * k, (i + 1) * k));
const ci = (p: Float32Array) => bootstrapMetrics(labels, rows(p), groups, k, { resamples: 1000, seed: 0 });
const [cImage, cMeta, cNone, cControl] = [ci(testImage), ci(testMeta), ci(testNone), ci(testControl)];
const gain = pairedDelta(rows(testMeta), rows(testImage));
const gainOverControl = pairedDelta(rows(testMeta), rows(testControl));
const loss = pairedDelta(rows(testImage), rows(testNone));
const fmt = (c: ReturnType<typeof ci>) =>
  `${c.balancedAccuracy.estimate.toFixed(3)} (${c.balancedAccuracy.lower.toFixed(3)}–${c.balancedAccuracy.upper.toFixed(3)})`;
process.stdout.write(`
| test split (${labels.length} images, ${cImage.groups} lesions) | balanced accuracy (95% lesion CI) | accuracy |
|---|---|---|
| image only                          | ${fmt(cImage)} | ${cImage.accuracy.estimate.toFixed(3)} |
| metadata model (${kind}), with metadata | ${fmt(cMeta)} | ${cMeta.accuracy.estimate.toFixed(3)} |
| metadata model (${kind}), no metadata   | ${fmt(cNone)} | ${cNone.accuracy.estimate.toFixed(3)} |
| (concat head, with / without metadata)  | ${fmt(ci(concatMeta))} / ${fmt(ci(concatNone))} | |
| control: image logits recalibrated, no metadata | ${fmt(cControl)} | ${cControl.accuracy.estimate.toFixed(3)} |
| gain with metadata (paired)         | ${gain.estimate.toFixed(3)} (${gain.lower.toFixed(3)}–${gain.upper.toFixed(3)}) | |
| gain over the control (paired)      | ${gainOverControl.estimate.toFixed(3)} (${gainOverControl.lower.toFixed(3)}–${gainOverControl.upper.toFixed(3)}) | |
| loss without metadata vs image-only | ${loss.estimate.toFixed(3)} (${loss.lower.toFixed(3)}–${loss.upper.toFixed(3)}) | |
`);
const flat = (name: string, c: ReturnType<typeof ci>) => ({
  [`balanced_accuracy_${name}`]: round4(c.balancedAccuracy.estimate),
  [`balanced_accuracy_${name}_ci_low`]: round4(c.balancedAccuracy.lower),
  [`balanced_accuracy_${name}_ci_high`]: round4(c.balancedAccuracy.upper),
  [`accuracy_${name}`]: round4(c.accuracy.estimate),
});
process.stdout.write(
  `${JSON.stringify({
    ...flat('image_only', cImage),
    ...flat('with_metadata', cMeta),
    ...flat('metadata_model_none', cNone),
    ...flat('recalibration_control', cControl),
    metadata_gain: round4(gain.estimate),
    metadata_gain_ci_low: round4(gain.lower),
    metadata_gain_ci_high: round4(gain.upper),
    metadata_gain_over_control: round4(gainOverControl.estimate),
    metadata_gain_over_control_ci_low: round4(gainOverControl.lower),
    metadata_gain_over_control_ci_high: round4(gainOverControl.upper),
    no_metadata_loss: round4(loss.estimate),
    no_metadata_loss_ci_low: round4(loss.lower),
    no_metadata_loss_ci_high: round4(loss.upper),
    target_gain_met: gain.estimate >= 0.03,
    target_no_metadata_met: loss.estimate <= 0.01,
    metadata_model: kind,
    late_fusion_l2: late.l2,
    late_fusion_fit: late.fit,
    stacker_l2: stacker.l2,
    stacker_hidden: STACKER_HIDDEN,
    control_l2: control.l2,
    concat_head_balanced_accuracy_with_metadata: round4(ci(concatMeta).balancedAccuracy.estimate),
    concat_head_balanced_accuracy_no_metadata: round4(ci(concatNone).balancedAccuracy.estimate),
    metadata_dropout_all: chosen.dropout.all,
    metadata_dropout_field: chosen.dropout.field,
    metadata_width: METADATA_WIDTH,
    test_images: labels.length,
    views,
    posthoc_tau: tau,
    total_s: Math.round((performance.now() - began) / 1000),
  })}\n`,
);

function balanced(probabilities: Float32Array, records: readonly ImageRecord[]): number {
  const y = featureItemSet(cache, records, classes).labels;
  return classificationScores(y, argmaxRows(probabilities, k), k).balancedAccuracy;
}

async function scoreMeta(
  head: Head,
  records: readonly ImageRecord[],
  metadata: readonly LesionMetadata[],
): Promise<Float32Array> {
  const { probabilities } = await predictSet(head, withMetadata(std(records, views), metadata), {
    tta: true,
    logitOffset: offset,
  });
  return probabilities;
}

/** The recipe's head (as `fitHead`) on standardised features ++ encoded metadata, with metadata dropout. */
async function fitMetadataHead(
  cfg: TrainConfig,
  split: PreparedData['parts'],
  features: FeatureCache,
  dropout: MetadataDropout,
): Promise<Head> {
  const train: ItemSet = withMetadata(std(split.train), meta.train, { dropout, seed: cfg.seed + 7 });
  const val: ItemSet = withMetadata(std(split.val, cfg.features.views), meta.val);
  const counts = countLabels(train.labels, classes.length);
  const head = Head.create(
    {
      inputWidth: features.width + METADATA_WIDTH,
      hidden: cfg.model.hidden,
      numClasses: classes.length,
      dropout: cfg.model.dropout,
    },
    new Prng(cfg.seed),
  );
  await trainHead({ head, train, val, loss: runLossOptions(cfg, counts), ...headSchedule(cfg) });
  return head;
}

/** Paired lesion-bootstrap 95% interval of balanced accuracy(a) − balanced accuracy(b) on the same images. */
function pairedDelta(
  a: Float32Array[],
  b: Float32Array[],
): { estimate: number; lower: number; upper: number } {
  const { groupOfImage, groupCount } = indexGroups(groups);
  const rng = createRng(1);
  const ones = new Float64Array(labels.length).fill(1);
  const estimate =
    weightedHeadline(labels, a, k, ones).balancedAccuracy -
    weightedHeadline(labels, b, k, ones).balancedAccuracy;
  const deltas: number[] = [];
  for (let r = 0; r < 1000; r++) {
    const w = resampleGroupWeights(groupOfImage, groupCount, rng);
    deltas.push(
      weightedHeadline(labels, a, k, w).balancedAccuracy - weightedHeadline(labels, b, k, w).balancedAccuracy,
    );
  }
  deltas.sort((x, y) => x - y);
  return { estimate, lower: percentile(deltas, 0.025), upper: percentile(deltas, 0.975) };
}
