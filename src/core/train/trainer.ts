import * as tf from '@tensorflow/tfjs';
import type { ProgressHook } from '../logger.js';
import { at } from '../util/at.js';
import { Adam, type AdamState } from './adam.js';
import {
  EarlyStopping,
  type EarlyStoppingState,
  ReduceLrOnPlateau,
  type ReduceLrState,
  type WeightSnapshot,
} from './callbacks.js';
import { argmaxRows, classificationScores } from './epoch-metrics.js';
import { type Head, type NamedVariable, restoreVariables, snapshotVariables } from './head.js';
import { useLeanGradients } from './lean-gradients.js';
import { classificationLoss, type LossOptions } from './losses.js';
import { type CosineSchedule, cosineFactor, warmupFactor } from './lr-schedule.js';
import { Prng } from './prng.js';
import { WeightAverage } from './weight-average.js';

/**
 * Items to train or validate on: labels per item, `views` input variants per item (cached augmentation
 * views, or 1), and a batch reader. The trainer disposes every tensor `batch` returns.
 */
export interface ItemSet {
  readonly labels: Int32Array;
  readonly views: number;
  batch(indices: readonly number[], views: readonly number[]): tf.Tensor | Promise<tf.Tensor>;
}

/** One row of metrics.csv / metrics.json. */
export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
  readonly val_balanced_accuracy: number;
  readonly lr: number;
  readonly seconds: number;
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainCheckpoint {
  /** Epochs completed. */
  readonly epoch: number;
  readonly done: boolean;
  readonly rngState: number;
  readonly learningRate: number;
  readonly weights: WeightSnapshot;
  /**
   * The state variables' values (BatchNorm moving statistics that training-mode steps update); absent in
   * checkpoints from before state variables, and when there are none.
   */
  readonly state?: WeightSnapshot;
  readonly adam: AdamState;
  readonly earlyStopping: EarlyStoppingState;
  readonly reduceLr: ReduceLrState;
  readonly history: readonly EpochRecord[];
  /** The moving average of the weights (and state) when training with `weightAverage`. */
  readonly weightAverage?: WeightSnapshot;
}

/** Options of `trainHead`. */
export interface TrainHeadOptions {
  readonly head: Head;
  /** Maps an input batch to pooled features; omitted when the items already are pooled features. */
  readonly features?: (inputs: tf.Tensor) => tf.Tensor2D;
  /** The same map for training steps when it differs (e.g. BatchNorm on batch statistics); default `features`. */
  readonly trainFeatures?: (inputs: tf.Tensor) => tf.Tensor2D;
  /** More variables to train alongside the head (unfrozen backbone blocks when fine-tuning). */
  readonly extraVariables?: readonly NamedVariable[];
  /**
   * Variables the training forward pass updates itself, not by gradient (BatchNorm moving mean and variance
   * under `trainFeatures`): never trained nor given to Adam, but saved and restored with the weights (the best
   * epoch's snapshot, checkpoints, resume), so a restored model is the one that was validated.
   */
  readonly stateVariables?: readonly NamedVariable[];
  readonly train: ItemSet;
  readonly val: ItemSet;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** The head's learning rate when it differs from `learningRate` (which then drives `extraVariables`). */
  readonly headLearningRate?: number;
  readonly weightDecay?: number;
  /** One random view per item per epoch, or every view. */
  readonly sampling?: 'one' | 'all';
  /** Validate on predictions averaged over all views (else view 0 only). */
  readonly tta?: boolean;
  readonly loss: LossOptions;
  readonly earlyStopping: { readonly patience: number; readonly minDelta: number };
  readonly reduceLr: { readonly patience: number; readonly factor: number; readonly minLr: number };
  /**
   * Cosine decay of every rate, step by step over `epochs` after the warm-up (lr-schedule.ts); `reduceLr` is then
   * not used. Default: the constant rate that `reduceLr` lowers on plateaus of the validation loss.
   */
  readonly schedule?: CosineSchedule;
  /**
   * Epochs of linear warm-up (fractions allowed): every rate rises step by step from base/steps to the base rate
   * before the cosine `schedule` or the plateau rule takes over. Default 0.
   */
  readonly warmupEpochs?: number;
  /**
   * Mixup's α (Zhang et al. 2018): each training batch is blended with a shuffled copy of itself by λ ~ Beta(α, α)
   * and the loss blends both label sets by λ. On cached prefix maps this is manifold mixup (Verma et al. 2019) at
   * the split. Default 0: off.
   */
  readonly mixup?: number;
  /**
   * Decay of an exponential moving average of the weights (and state variables) updated after every step
   * (weight-average.ts): each epoch validates the average, early stopping keeps the best average, and the run ends
   * with it. Default: off (the last step's weights).
   */
  readonly weightAverage?: number;
  readonly seed: number;
  readonly resume?: TrainCheckpoint;
  /** Called after every epoch with the metrics and a checkpoint (save it to resume later). */
  readonly onEpoch?: (record: EpochRecord, checkpoint: TrainCheckpoint) => void | Promise<void>;
  /** Batches done of the current epoch. */
  readonly onBatch?: ProgressHook;
  /** Test hook: return true after an epoch to stop there as if the process had been killed. */
  readonly interruptAfter?: (epoch: number) => boolean;
}

/** What `trainHead` returns; the head (and extra and state variables) hold the best epoch's values. */
export interface TrainHeadResult {
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly interrupted: boolean;
}

/**
 * Trains the head (and any extra variables) with Adam, weighted/focal/logit-adjusted loss, seeded shuffling
 * and dropout, early stopping on validation loss that restores the best weights (or their moving average), an
 * optional warm-up, and reduce-LR-on-plateau (or a cosine schedule).
 * The same loop serves cached features and images through a frozen or partly unfrozen backbone. Installs
 * lesionlab's lean gradients of ReLU, ClipByValue and BatchNorm first (same values, fewer ops: lean-gradients.ts).
 */
export async function trainHead(options: TrainHeadOptions): Promise<TrainHeadResult> {
  useLeanGradients();
  const variables = [...options.head.variables, ...(options.extraVariables ?? [])];
  const state = options.stateVariables ?? [];
  // what the early-stopping snapshot holds: the weights, then the state (names distinct from the weights')
  const snapshotted = state.length > 0 ? [...variables, ...state] : variables;
  const rng = new Prng(options.seed);
  const headScale = (options.headLearningRate ?? options.learningRate) / options.learningRate;
  const adam = new Adam(
    variables.map((v) => v.variable),
    options.learningRate,
    { rateScales: variables.map((_, i) => (i < options.head.variables.length ? headScale : 1)) },
  );
  const stopper = new EarlyStopping(options.earlyStopping.patience, options.earlyStopping.minDelta);
  const plateau = new ReduceLrOnPlateau(
    options.reduceLr.patience,
    options.reduceLr.factor,
    options.reduceLr.minLr,
  );
  const average =
    options.weightAverage !== undefined ? new WeightAverage(snapshotted, options.weightAverage) : undefined;
  let history: EpochRecord[] = [];
  let start = 0;
  let done = false;
  if (options.resume) {
    ({ start, history, done } = restoreCheckpoint(
      options.resume,
      variables,
      state,
      rng,
      adam,
      stopper,
      plateau,
      average,
    ));
  }
  try {
    for (let epoch = start; epoch < options.epochs && !done; epoch++) {
      const began = performance.now();
      const loss = await runEpoch(options, epoch, variables, rng, adam, average);
      // with a weight average, the epoch validates (and early stopping snapshots) the average
      average?.swap();
      const val = await validate(options, options.val);
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        val_balanced_accuracy: val.balancedAccuracy,
        lr: adam.learningRate,
        seconds: (performance.now() - began) / 1000,
      };
      history = [...history, record];
      done = stopper.update(epoch + 1, val.loss, () => snapshotVariables(snapshotted));
      average?.swap();
      if (!options.schedule) adam.learningRate = plateau.update(val.loss, adam.learningRate);
      const checkpoint = makeCheckpoint(
        epoch + 1,
        done || epoch + 1 === options.epochs,
        rng,
        adam,
        variables,
        state,
        stopper,
        plateau,
        history,
        average,
      );
      await options.onEpoch?.(record, checkpoint);
      if (options.interruptAfter?.(epoch + 1))
        return { history, bestEpoch: stopper.bestEpoch, stoppedEarly: false, interrupted: true };
    }
    if (stopper.bestWeights) restoreBest(variables, state, stopper.bestWeights);
    return { history, bestEpoch: stopper.bestEpoch, stoppedEarly: done, interrupted: false };
  } finally {
    adam.dispose();
    average?.dispose();
  }
}

async function runEpoch(
  options: TrainHeadOptions,
  epoch: number,
  variables: readonly NamedVariable[],
  rng: Prng,
  adam: Adam,
  average: WeightAverage | undefined,
): Promise<number> {
  const { train, batchSize, schedule } = options;
  const n = train.labels.length;
  const all = options.sampling === 'all';
  const order = rng.permutation(all ? n * train.views : n);
  const batches = Math.ceil(order.length / batchSize);
  const warmup = Math.round((options.warmupEpochs ?? 0) * batches);
  let total = 0;
  for (let b = 0; b < batches; b++) {
    const step = epoch * batches + b;
    if (schedule)
      adam.learningRate =
        options.learningRate * cosineFactor(step, options.epochs * batches, warmup, schedule.minFactor);
    else if (step < warmup) adam.learningRate = options.learningRate * warmupFactor(step, warmup);
    const slots = order.slice(b * batchSize, (b + 1) * batchSize);
    const indices = slots.map((slot) => (all ? Math.floor(slot / train.views) : slot));
    const views = slots.map((slot) =>
      all ? slot % train.views : train.views > 1 ? rng.int(train.views) : 0,
    );
    const masks = options.head.dropoutMasks(indices.length, rng);
    const inputs = await train.batch(indices, views);
    const labels = tf.tensor1d(
      Int32Array.from(indices, (i) => at(train.labels, i)),
      'int32',
    );
    const mix = options.mixup ? mixBatch(inputs, labels, rng, options.mixup) : undefined;
    const { value, grads } = tf.variableGrads(
      () => stepLoss(options, mix?.inputs ?? inputs, labels, masks, mix),
      variables.map((v) => v.variable),
    );
    adam.apply(variables.map((v) => gradientOf(grads, v.variable)));
    average?.update();
    total += at(await value.data(), 0) * indices.length;
    tf.dispose([value, inputs, labels, ...masks, ...Object.values(grads)]);
    if (mix) tf.dispose([mix.inputs, mix.partner]);
    options.onBatch?.(b + 1, batches, 'batch');
  }
  return total / order.length;
}

/** The gradient tf.variableGrads computed for `variable` (it returns one for every variable it was given). */
function gradientOf(grads: tf.NamedTensorMap, variable: tf.Variable): tf.Tensor {
  const grad = grads[variable.name];
  if (!grad) throw new Error(`trainer: no gradient for variable ${variable.name}: a lesionlab bug`);
  return grad;
}

/** A mixup batch: the blended inputs, the shuffled copy's labels and the weight λ of the original ones. */
interface MixedBatch {
  readonly inputs: tf.Tensor;
  readonly partner: tf.Tensor1D;
  readonly lambda: number;
}

function mixBatch(inputs: tf.Tensor, labels: tf.Tensor1D, rng: Prng, alpha: number): MixedBatch {
  const lambda = rng.beta(alpha, alpha);
  const order = Int32Array.from(rng.permutation(labels.shape[0]));
  return tf.tidy(() => {
    const shuffled = tf.tensor1d(order, 'int32');
    return {
      inputs: inputs.mul(lambda).add(tf.gather(inputs, shuffled).mul(1 - lambda)),
      partner: tf.gather(labels, shuffled) as tf.Tensor1D,
      lambda,
    };
  });
}

function stepLoss(
  options: TrainHeadOptions,
  inputs: tf.Tensor,
  labels: tf.Tensor1D,
  masks: tf.Tensor2D[],
  mix?: MixedBatch,
): tf.Scalar {
  const map = options.trainFeatures ?? options.features;
  const features = map ? map(inputs) : (inputs as tf.Tensor2D);
  const logits = options.head.logits(features, masks);
  const own = classificationLoss(logits, labels, options.loss);
  // cross-entropy is linear in the target: blending the two losses is the loss of the blended labels
  const loss = mix
    ? (own
        .mul(mix.lambda)
        .add(classificationLoss(logits, mix.partner, options.loss).mul(1 - mix.lambda)) as tf.Scalar)
    : own;
  const decay = options.weightDecay ?? 0;
  if (decay <= 0) return loss;
  const kernels = options.head.variables.filter((v) => v.name.endsWith('/kernel'));
  return loss.add(tf.addN(kernels.map((k) => k.variable.square().sum())).mul(decay)) as tf.Scalar;
}

/** Validation loss (same weighting as training) and scores of predictions averaged over views. */
async function validate(
  options: TrainHeadOptions,
  set: ItemSet,
): Promise<{ loss: number; accuracy: number; balancedAccuracy: number }> {
  const { probabilities, loss } = await predictSet(options.head, set, {
    features: options.features,
    tta: options.tta ?? true,
    batchSize: options.batchSize,
    loss: options.loss,
  });
  const k = options.head.spec.numClasses;
  const scores = classificationScores(set.labels, argmaxRows(probabilities, k), k);
  return { loss, accuracy: scores.accuracy, balancedAccuracy: scores.balancedAccuracy };
}

/** Options of `predictSet`. */
export interface PredictOptions {
  readonly features?: (inputs: tf.Tensor) => tf.Tensor2D;
  /** Average softmax over all views (test-time augmentation); else view 0 only. */
  readonly tta?: boolean;
  readonly batchSize?: number;
  /** When given, also computes this loss (averaged over views). */
  readonly loss?: LossOptions;
  /** Added to logits before softmax (post-hoc logit adjustment: −τ·log prior). */
  readonly logitOffset?: Float32Array;
}

/** Softmax probabilities [n·classes] (row-major) for every item of a set, and the mean loss when asked. */
export async function predictSet(
  head: Head,
  set: ItemSet,
  options: PredictOptions = {},
): Promise<{ probabilities: Float32Array; loss: number }> {
  const n = set.labels.length;
  const k = head.spec.numClasses;
  const views = options.tta === false ? 1 : set.views;
  const batchSize = options.batchSize ?? 64;
  const probabilities = new Float32Array(n * k);
  let lossSum = 0;
  let weightSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    for (let view = 0; view < views; view++) {
      const inputs = await set.batch(
        indices,
        indices.map(() => view),
      );
      const labels = tf.tensor1d(
        Int32Array.from(indices, (i) => at(set.labels, i)),
        'int32',
      );
      const [probs, loss] = tf.tidy(() => {
        const features = options.features ? options.features(inputs) : (inputs as tf.Tensor2D);
        const logits = head.logits(features);
        const adjusted = options.logitOffset ? logits.add(tf.tensor1d(options.logitOffset)) : logits;
        return [
          tf.softmax(adjusted),
          options.loss ? classificationLoss(logits, labels, options.loss) : tf.scalar(0),
        ];
      });
      const values = await probs.data();
      // Per-value loop: the batch's rows start at row `start` and fit in n rows of k.
      for (let i = 0; i < values.length; i++) {
        const slot = start * k + i;
        probabilities[slot] = probabilities[slot]! + values[i]! / views;
      }
      const batchWeight = options.loss ? sumWeights(options.loss.classWeights, indices, set.labels) : 0;
      lossSum += at(await loss.data(), 0) * batchWeight;
      weightSum += batchWeight;
      tf.dispose([inputs, labels, probs, loss]);
    }
  }
  return { probabilities, loss: weightSum > 0 ? lossSum / weightSum : Number.NaN };
}

function sumWeights(weights: Float32Array, indices: readonly number[], labels: Int32Array): number {
  return indices.reduce((sum, i) => sum + at(weights, at(labels, i)), 0);
}

function makeCheckpoint(
  epoch: number,
  done: boolean,
  rng: Prng,
  adam: Adam,
  variables: readonly NamedVariable[],
  state: readonly NamedVariable[],
  stopper: EarlyStopping,
  plateau: ReduceLrOnPlateau,
  history: readonly EpochRecord[],
  average: WeightAverage | undefined,
): TrainCheckpoint {
  return {
    epoch,
    done,
    rngState: rng.getState(),
    learningRate: adam.learningRate,
    weights: snapshotVariables(variables),
    ...(state.length > 0 ? { state: snapshotVariables(state) } : {}),
    adam: adam.getState(),
    earlyStopping: stopper.getState(),
    reduceLr: plateau.getState(),
    history,
    ...(average ? { weightAverage: average.getState() } : {}),
  };
}

function restoreCheckpoint(
  checkpoint: TrainCheckpoint,
  variables: readonly NamedVariable[],
  state: readonly NamedVariable[],
  rng: Prng,
  adam: Adam,
  stopper: EarlyStopping,
  plateau: ReduceLrOnPlateau,
  average: WeightAverage | undefined,
): { start: number; history: EpochRecord[]; done: boolean } {
  restoreVariables(variables, checkpoint.weights);
  // a checkpoint from before state variables has none: the state stays as loaded (the old behaviour)
  if (checkpoint.state && state.length > 0) restoreVariables(state, checkpoint.state);
  rng.setState(checkpoint.rngState);
  adam.setState(checkpoint.adam);
  adam.learningRate = checkpoint.learningRate;
  stopper.setState(checkpoint.earlyStopping);
  plateau.setState(checkpoint.reduceLr);
  if (average) {
    if (!checkpoint.weightAverage)
      throw new Error(
        'resume: the checkpoint has no weight average but this run averages weights; resume with the same fineTune.weightAverage, or start afresh',
      );
    average.setState(checkpoint.weightAverage);
  }
  return { start: checkpoint.epoch, history: [...checkpoint.history], done: checkpoint.done };
}

/**
 * Restores the best epoch's snapshot: every weight, and the state variables it holds (an early-stopping
 * snapshot from a checkpoint written before state variables has none of them; they then stay as they are).
 */
function restoreBest(
  variables: readonly NamedVariable[],
  state: readonly NamedVariable[],
  best: WeightSnapshot,
): void {
  restoreVariables(variables, best);
  if (state.length === 0) return;
  const names = new Set(best.map((entry) => entry.name));
  restoreVariables(
    state.filter((v) => names.has(v.name)),
    best,
  );
}
