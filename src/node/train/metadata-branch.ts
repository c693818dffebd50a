import type { BundleMeta } from '../../core/bundle/meta.js';
import type { TrainConfig } from '../../core/config/train-config.js';
import { countLabels } from '../../core/data/class-index.js';
import type { Head } from '../../core/train/head.js';
import { logPriorOffset } from '../../core/train/losses.js';
import { fitMetadataOffsets, HAM10000_SITES, hasMetadata } from '../../core/train/metadata.js';
import { predictSet } from '../../core/train/trainer.js';
import { type PreparedData, recordMetadata } from './data.js';
import type { FeatureCache } from './feature-cache.js';
import { featureItemSet } from './item-sets.js';

/**
 * The lesion-metadata branch of a run with `model.metadata: late-fusion`: class-logit offsets from site, sex and
 * age (never dx_type), fitted on the training split over the trained head's logits (held fixed; L2
 * `model.metadataL2`), as `bundle.json` declares it. `undefined` when the config asks for none or the training
 * images carry no metadata. The head must take raw pooled features (standardisation folded in).
 */
export async function fitMetadataBranch(
  config: TrainConfig,
  data: PreparedData,
  features: FeatureCache,
  head: Head,
): Promise<BundleMeta['metadata']> {
  if (config.model.metadata !== 'late-fusion') return undefined;
  const metadata = recordMetadata(data.parts.train);
  if (!metadata.some(hasMetadata)) return undefined;
  const set = featureItemSet(features, data.parts.train, data.classes, config.features.views);
  const k = data.classes.length;
  const la = config.train.logitAdjustment;
  const counts = countLabels(set.labels, k);
  const { probabilities } = await predictSet(head, set, {
    tta: config.features.tta,
    logitOffset: la.mode === 'posthoc' ? logPriorOffset(counts, -la.tau) : undefined,
  });
  const logits = Array.from({ length: set.labels.length }, (_, i) =>
    Float32Array.from(probabilities.subarray(i * k, (i + 1) * k), (p) => Math.log(Math.max(p, 1e-12))),
  );
  const offsets = fitMetadataOffsets(logits, metadata, set.labels, k, { l2: config.model.metadataL2 });
  return {
    fields: ['age', 'sex', 'localization'],
    sites: [...HAM10000_SITES],
    fusion: 'logit-offsets',
    weights: Array.from(offsets.weights),
  };
}
