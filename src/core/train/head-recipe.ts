import { DIHEDRAL_VIEWS, type DihedralView, type TrainConfig } from '../config/train-config.js';
import { countLabels } from '../data/class-index.js';
import { classWeightsFromCounts } from '../data/class-weights.js';
import { floorStandardization, Head, STD_FLOOR_FRACTION, type Standardization } from './head.js';
import { type LossOptions, logPriorOffset } from './losses.js';
import { Prng } from './prng.js';
import { type ItemSet, type TrainHeadOptions, type TrainHeadResult, trainHead } from './trainer.js';

// The platform-neutral head recipe of a training config: loss, schedule, standardisation, test views and
// post-hoc offsets. Node's run (node/train/pipeline.ts) and the benches feed it items from the feature cache.

/**
 * The loss options of a run: class weights from the training split, focal γ, label smoothing, logit adjustment in
 * training.
 */
export function runLossOptions(config: TrainConfig, counts: readonly number[]): LossOptions {
  const t = config.train;
  return {
    classWeights: classWeightsFromCounts(counts, t.classWeights, t.classWeightPower, t.effectiveBeta),
    kind: t.loss,
    focalGamma: t.focalGamma,
    ...(t.labelSmoothing > 0 ? { labelSmoothing: t.labelSmoothing } : {}),
    ...(t.logitAdjustment.mode === 'train'
      ? { logitOffset: logPriorOffset(counts, t.logitAdjustment.tau) }
      : {}),
  };
}

/** The config's schedule for head training: epochs, batch, Adam, sampling, views, early stopping, LR plateau, seed. */
export function headSchedule(config: TrainConfig) {
  const t = config.train;
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    weightDecay: t.weightDecay,
    sampling: config.features.sampling,
    tta: config.features.tta,
    earlyStopping: t.earlyStopping,
    reduceLr: t.reduceLr,
    seed: config.seed + 1,
  };
}

/** The exact views the recipe averages at validation/test time (`features.views` with `features.tta`). */
export function recipeViews(config: TrainConfig): DihedralView[] {
  return config.features.tta ? DIHEDRAL_VIEWS.slice(0, config.features.views) : ['identity'];
}

/** Post-hoc logit adjustment (−τ·log prior), folded into the exported model's last bias. */
export function posthocOffset(config: TrainConfig, counts: readonly number[]): Float32Array | undefined {
  const la = config.train.logitAdjustment;
  return la.mode === 'posthoc' ? logPriorOffset(counts, -la.tau) : undefined;
}

/** What a head is fitted on: pooled-feature items of the training and validation splits. */
export interface HeadTrainingData {
  readonly train: ItemSet;
  readonly val: ItemSet;
  /** Width of one pooled-feature row. */
  readonly width: number;
  /** Per-feature mean and std of the training features (read only when `model.standardize`). */
  readonly trainStats: () => Standardization;
}

/** What `fitRecipeHead` hands back: the trained head (taking raw pooled features) and what trained it. */
export interface FittedHead {
  readonly head: Head;
  readonly loss: LossOptions;
  /** Training images per class. */
  readonly counts: number[];
  readonly result: TrainHeadResult;
}

/** Hooks of head training a caller may add (checkpoints, progress, resuming). */
export type HeadTrainingHooks = Pick<TrainHeadOptions, 'resume' | 'onBatch' | 'interruptAfter' | 'onEpoch'>;

/**
 * Trains a fresh head on `data.train`, early-stopping on `data.val`, with the config's recipe
 * (standardisation, loss, class weights, schedule, seeds).
 */
export async function fitRecipeHead(
  config: TrainConfig,
  data: HeadTrainingData,
  numClasses: number,
  hooks: HeadTrainingHooks = {},
): Promise<FittedHead> {
  const stats = config.model.standardize ? recipeStandardization(config, data.trainStats()) : undefined;
  const counts = countLabels(data.train.labels, numClasses);
  const loss = runLossOptions(config, counts);
  const m = config.model;
  const head = Head.create(
    { inputWidth: data.width, hidden: m.hidden, numClasses, dropout: m.dropout },
    new Prng(config.seed),
  );
  if (stats) head.standardizeInputs(stats);
  const { train, val } = data;
  const result = await trainHead({ head, train, val, loss, ...headSchedule(config), ...hooks });
  return { head, loss, counts, result };
}

/**
 * Standardisation is a fixed first step of the head (kept through fine-tuning, folded only at export). Before
 * fine-tuning, stds are floored relative to the median so near-constant features are never amplified up to
 * 1000x once the tail moves them; a frozen run keeps the measured recipe's absolute floor (bench:train).
 */
function recipeStandardization(config: TrainConfig, stats: Standardization): Standardization {
  return floorStandardization(stats, config.fineTune.enabled ? STD_FLOOR_FRACTION : 0);
}
