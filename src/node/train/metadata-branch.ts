import type { BundleMeta } from '../../core/bundle/meta.js';
import type { TrainConfig } from '../../core/config/train-config.js';
import { countLabels, labelIndices } from '../../core/data/class-index.js';
import type { ImageRecord } from '../../core/data/records.js';
import { foldAssignment, kfoldByGroup } from '../../core/data/split.js';
import { selectSplit } from '../../core/data/split-schema.js';
import type { Head } from '../../core/train/head.js';
import { posthocOffset } from '../../core/train/head-recipe.js';
import { fitMetadataOffsets, hasMetadata, logProbabilityRows } from '../../core/train/metadata.js';
import { metadataBranch, stackerBranch } from '../../core/train/metadata-fusion.js';
import { fitMetadataStacker } from '../../core/train/metadata-stacker.js';
import { predictSet } from '../../core/train/trainer.js';
import { at } from '../../core/util/at.js';
import { type PreparedData, recordMetadata, trainingOffset } from './data.js';
import type { FeatureCache } from './feature-cache.js';
import { featureItemSet } from './item-sets.js';

/** Trains a head as the run does (`fitHead`) on one fold's train part, early-stopping on its val part. */
export type FoldHeadTrainer = (
  parts: Pick<PreparedData['parts'], 'train' | 'val'>,
) => Promise<{ head: Head }>;

/** Default L2 of each metadata branch (chosen on validation by bench:metadata). */
const DEFAULT_METADATA_L2 = { 'late-fusion': 1e-2, stacker: 1e-3 } as const;

/**
 * The lesion-metadata branch of a run with `model.metadata: late-fusion | stacker`: class-logit offsets from
 * site, sex and age (never dx_type; linear, or the stacker's small network that also reads the image
 * log-probabilities), fitted on the training split over image logits held fixed (L2 `model.metadataL2`), as
 * `bundle.json` declares it. The image logits are the trained head's own (`model.metadataFit: in-sample`) or, by
 * default, out-of-fold (`out-of-fold`: 5 lesion-grouped folds of the training split, a head trained by
 * `trainFoldHead` on four scores the fifth), so the branch is not learnt against an image model that has already
 * fitted those very images. `undefined` when the config asks for none or the training images carry no metadata.
 * The head must take raw pooled features (standardisation folded in); after fine-tuning, `features` are the tuned
 * tail's pooled features (the fold heads are then out of fold, the tuned tail is not).
 */
export async function fitMetadataBranch(
  config: TrainConfig,
  data: PreparedData,
  features: FeatureCache,
  head: Head,
  trainFoldHead: FoldHeadTrainer,
): Promise<BundleMeta['metadata']> {
  const kind = config.model.metadata;
  if (kind === 'none') return undefined;
  const metadata = recordMetadata(data.parts.train);
  if (!metadata.some(hasMetadata)) return undefined;
  const labels = labelIndices(data.parts.train, data.classes);
  const offset = posthocOffset(config, countLabels(labels, data.classes.length));
  const logits =
    config.model.metadataFit === 'out-of-fold'
      ? await outOfFoldLogits(config, data, features, trainFoldHead, offset)
      : await imageLogits(config, data, features, head, data.parts.train, offset);
  const l2 = config.model.metadataL2 ?? DEFAULT_METADATA_L2[kind];
  const k = data.classes.length;
  if (kind === 'stacker') {
    const stacker = fitMetadataStacker(logits, metadata, labels, k, {
      l2,
      hidden: config.model.metadataHidden,
      seed: config.seed + 11,
    });
    return stackerBranch(stacker);
  }
  return metadataBranch(fitMetadataOffsets(logits, metadata, labels, k, { l2 }));
}

/**
 * The image model's logits (log of its post-hoc adjusted probabilities, as the bundle scores) for `records`, one
 * row per record, with the run's test-time views; `offset` is the run's post-hoc offset (default: from the
 * training split's counts).
 */
export async function imageLogits(
  config: TrainConfig,
  data: PreparedData,
  features: FeatureCache,
  head: Head,
  records: readonly ImageRecord[],
  offset = trainingOffset(config, data),
): Promise<Float32Array[]> {
  const set = featureItemSet(features, records, data.classes, config.features.views);
  const { probabilities } = await predictSet(head, set, { tta: config.features.tta, logitOffset: offset });
  return logProbabilityRows(probabilities, data.classes.length);
}

/** Folds of the training split for out-of-fold image logits. */
const METADATA_FOLDS = 5;

/**
 * Out-of-fold image logits of the training split (with the run's post-hoc `offset`, as {@link imageLogits}), in its
 * order: {@link METADATA_FOLDS} lesion-grouped, stratified
 * folds; for each, a head trained by `trainFoldHead` on the other folds (early stopping on a lesion-grouped 15%
 * of them) scores the fold.
 */
export async function outOfFoldLogits(
  config: TrainConfig,
  data: PreparedData,
  features: FeatureCache,
  trainFoldHead: FoldHeadTrainer,
  offset = trainingOffset(config, data),
): Promise<Float32Array[]> {
  const train = data.parts.train;
  const row = new Map(train.map((r, i) => [r.imageId, i]));
  const out: Float32Array[] = new Array(train.length);
  const folds = kfoldByGroup(train, { folds: METADATA_FOLDS, seed: config.seed + 2 });
  for (let f = 0; f < folds.length; f++) {
    const parts = selectSplit(train, foldAssignment(train, folds, f, { val: 0.15, seed: config.seed + 3 }));
    const { head } = await trainFoldHead(parts);
    const logits = await imageLogits(config, data, features, head, parts.test, offset);
    head.dispose();
    parts.test.forEach((r, i) => {
      out[row.get(r.imageId) ?? -1] = at(logits, i);
    });
  }
  return out;
}
