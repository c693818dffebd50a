// Stage 3 of fine-tuning. The head trained along with the tail in stage 2 is fragile: small moves of the tuned
// features swing its probabilities (measured on HAM10000: a tail step at lr 1e-7 moved probabilities by up to 0.28).
// A fresh head fitted on the tuned tail's pooled features with the stage-1 recipe does not inherit that; the run
// keeps whichever of the two, or of their logit average, scores best on validation.
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../core/config/train-config.js';
import type { ImageRecord } from '../../core/data/records.js';
import { argmaxRows, classificationScores } from '../../core/train/epoch-metrics.js';
import { Head } from '../../core/train/head.js';
import type { FittedHead } from '../../core/train/head-recipe.js';
import { predictSet } from '../../core/train/trainer.js';
import { at } from '../../core/util/at.js';
import type { PreparedData } from './data.js';
import type { FeatureCache } from './feature-cache.js';
import type { FineTuneScorer } from './finetune-stage.js';
import { featureItemSet } from './item-sets.js';

/** Rows pooled per forward pass of the tail. */
const POOL_BATCH = 64;

/**
 * Pooled features of `records` through the scorer's (tuned) tail, every cached view, as an in-memory feature
 * cache (records x views x width floats: 10,015 images x 2 views x 1,024 = 82 MB for MobileNet v1).
 */
export async function pooledFeatures(
  scorer: Pick<FineTuneScorer, 'itemSet' | 'features'>,
  records: readonly ImageRecord[],
  views: number,
): Promise<FeatureCache> {
  const ids = records.map((r) => r.imageId);
  const set = scorer.itemSet(records);
  let width = 0;
  let data = new Float32Array(0);
  for (let start = 0; start < ids.length; start += POOL_BATCH) {
    const indices = Array.from({ length: Math.min(POOL_BATCH, ids.length - start) }, (_, i) => start + i);
    for (let view = 0; view < views; view++) {
      const maps = await set.batch(
        indices,
        indices.map(() => view),
      );
      const pooled = tf.tidy(() => scorer.features(maps));
      const values = (await pooled.data()) as Float32Array;
      tf.dispose([maps, pooled]);
      if (width === 0) {
        width = at(pooled.shape, 1);
        data = new Float32Array(ids.length * views * width);
      }
      for (const [row, item] of indices.entries())
        data.set(values.subarray(row * width, (row + 1) * width), (item * views + view) * width);
    }
  }
  const positions = new Map(ids.map((id, i) => [id, i]));
  return {
    dir: '(memory)',
    ids,
    views,
    width,
    data,
    indexOf: (id) => {
      const i = positions.get(id);
      if (i === undefined) throw new Error(`pooledFeatures: ${id} was not pooled`);
      return i;
    },
  };
}

/** The stage-3 head on the tuned features, and the features it reads (train, val and any `extra` records). */
export interface RefittedHead extends FittedHead {
  readonly features: FeatureCache;
}

/**
 * Fits a fresh head with `fitFresh` (the run's recipe: `fitHead` on the train and val splits) on the tuned tail's
 * pooled features of the train and val splits and any `extra` records.
 */
export async function refitTunedHead(
  config: TrainConfig,
  data: Pick<PreparedData, 'parts'>,
  scorer: FineTuneScorer,
  fitFresh: (features: FeatureCache) => Promise<FittedHead>,
  extra: readonly ImageRecord[] = [],
): Promise<RefittedHead> {
  const records = [...data.parts.train, ...data.parts.val, ...extra];
  const features = await pooledFeatures(scorer, records, config.features.views);
  return { ...(await fitFresh(features)), features };
}

/** The heads stage 3 chooses from: the stage-2 head, the re-fitted one, and the average of their logits. */
export type Stage3Choice = 'stage2' | 'refit' | 'average';

/**
 * Stage 3's candidates: the stage-2 head, the re-fitted head and, when both are linear, one head averaging
 * their logits ({@link Head.averageOf}; both read the same pooled features, so it exports as one dense layer).
 */
export function stage3Candidates(stage2: Head, refit: Head): Map<Stage3Choice, Head> {
  const candidates = new Map<Stage3Choice, Head>([
    ['stage2', stage2],
    ['refit', refit],
  ]);
  if (stage2.spec.hidden === 0 && refit.spec.hidden === 0)
    candidates.set('average', Head.averageOf([stage2, refit]));
  return candidates;
}

/** The candidate with the highest score; on ties the earlier in `scores`' order (the stage-2 head first). */
export function bestStage3Choice(scores: ReadonlyMap<Stage3Choice, number>): Stage3Choice {
  let best: [Stage3Choice, number] = ['stage2', Number.NEGATIVE_INFINITY];
  for (const entry of scores) if (entry[1] > best[1]) best = entry;
  return best[0];
}

/**
 * Validation balanced accuracy of each candidate head on the re-fit's pooled validation features (what the
 * stage-2 head reads through the tuned tail too: no second pass of the tail).
 */
export async function compareOnValidation(
  config: TrainConfig,
  data: Pick<PreparedData, 'parts' | 'classes'>,
  candidates: ReadonlyMap<Stage3Choice, Head>,
  features: FeatureCache,
  logitOffset: Float32Array | undefined,
): Promise<Map<Stage3Choice, number>> {
  const k = data.classes.length;
  const val = featureItemSet(features, data.parts.val, data.classes, config.features.views);
  const scores = new Map<Stage3Choice, number>();
  for (const [choice, head] of candidates) {
    const { probabilities } = await predictSet(head, val, { tta: config.features.tta, logitOffset });
    scores.set(choice, classificationScores(val.labels, argmaxRows(probabilities, k), k).balancedAccuracy);
  }
  return scores;
}
