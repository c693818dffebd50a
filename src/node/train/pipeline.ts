import { basename, join } from 'node:path';
import type { BundleMeta } from '../../core/bundle/meta.js';
import { DIHEDRAL_VIEWS, type DihedralView, type TrainConfig } from '../../core/config/train-config.js';
import { countLabels, labelIndices } from '../../core/data/class-index.js';
import { classWeightsFromCounts } from '../../core/data/class-weights.js';
import { scoreLine } from '../../core/eval/summary.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import {
  argmaxRows,
  type ClassificationScores,
  classificationScores,
} from '../../core/train/epoch-metrics.js';
import {
  buildTrainedClassifier,
  floorStandardization,
  Head,
  STD_FLOOR_FRACTION,
} from '../../core/train/head.js';
import { type LossOptions, logPriorOffset } from '../../core/train/losses.js';
import { Prng } from '../../core/train/prng.js';
import { type EpochRecord, predictSet, type TrainCheckpoint, trainHead } from '../../core/train/trainer.js';
import { measureDensityRule } from '../bundle/density.js';
import { writeModelBundle } from '../bundle/write.js';
import { selectBackend } from '../engine/backend.js';
import {
  type BackboneLoader,
  checkBackboneWeights,
  type LoadedBackbone,
  loadRunBackbone,
} from './backbone.js';
import { type PreparedData, withoutSkipped } from './data.js';
import { prepareRunFeatures, type RunFeatures, runPreprocess } from './features.js';
import { type FineTuneScorer, fineTuneStage } from './finetune-stage.js';
import { featureItemSet, featureStats } from './item-sets.js';
import { fitMetadataBranch } from './metadata-branch.js';
import { RUN_FILES, saveCheckpoint, writeEpochMetrics, writeJsonAtomic, writeRunStatus } from './run-dir.js';
import { markRunFailed, type OpenedRun, openRun } from './run-open.js';

/** Hooks and test seams of `trainRun`. */
export interface TrainRunOptions {
  readonly logger?: Logger;
  /** Progress of dataset checks, image decoding and feature extraction. */
  readonly onProgress?: ProgressHook;
  /** Batches of the current epoch. */
  readonly onBatch?: ProgressHook;
  readonly onEpoch?: (record: EpochRecord) => void;
  /** Continue the run in this directory from its last checkpoint (its saved config wins). */
  readonly resumeDir?: string;
  /** Test hook: stop after this epoch as if killed. */
  readonly interruptAfter?: (epoch: number) => boolean;
  /** Backbone loader (default: registry + ImageNet weights when available). */
  readonly loadBackbone?: BackboneLoader;
}

/** Scores of the best model on the held-out test split. */
export interface TestResult {
  readonly count: number;
  readonly scores: ClassificationScores;
  readonly classes: readonly string[];
  /** Row-major [count, classes] probabilities, in the order of `imageIds`. */
  readonly probabilities: Float32Array;
  readonly labels: Int32Array;
  readonly imageIds: readonly string[];
}

/** What a finished (or interrupted) run produced. */
export interface TrainRunResult {
  readonly runDir: string;
  readonly config: TrainConfig;
  readonly interrupted: boolean;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  /** The best model as a bundle (absent when interrupted). */
  readonly bundleDir?: string;
  readonly test?: TestResult;
  readonly extractSeconds: number;
}

/**
 * The main training job: dataset → lesion-grouped split → backbone → cached features → head training with
 * early stopping (best weights restored) → best model bundle → test-split scores, all recorded in a run
 * directory (config.json, split.json, metrics.csv/json, checkpoint.bin, train.log, model/, results.json,
 * status.json). Data, split, backbone and taps are checked before the folder is created; a run that fails
 * after that is marked `failed` in status.json, and one that stopped before its first checkpoint can be
 * started again (see `openRun`).
 */
export async function trainRun(input: TrainConfig, options: TrainRunOptions = {}): Promise<TrainRunResult> {
  // required ImageNet weights that cannot be had stop the run before any work (no run folder either)
  if (!options.loadBackbone && !options.resumeDir)
    await checkBackboneWeights(input, options.logger ?? silentLogger);
  const run = await openRun(input, {
    logger: options.logger ?? silentLogger,
    loadBackbone: options.loadBackbone ?? loadRunBackbone,
    onProgress: options.onProgress,
    resumeDir: options.resumeDir,
  });
  try {
    const result = await trainStages(run, options);
    await writeRunStatus(run.runDir, result.interrupted ? 'interrupted' : 'complete');
    return result;
  } catch (error) {
    await markRunFailed(run.runDir, error, run.logger);
    throw error;
  } finally {
    await run.logger.flush();
  }
}

/** Everything after the run folder exists: features, head (and fine-tuning), bundle, test scores, results. */
async function trainStages(run: OpenedRun, options: TrainRunOptions): Promise<TrainRunResult> {
  const { runDir, config, resume, backbone, logger } = run;
  let closeImages = async () => {};
  try {
    await selectBackend(config.train.backend, config.fineTune.enabled ? 'train' : 'head', logger);
    const { parts } = run.data;
    const all = [...parts.train, ...parts.val, ...parts.test];
    const features = await prepareRunFeatures(config, backbone, all, {
      logger,
      onProgress: options.onProgress,
    });
    closeImages = () => features.images.close();
    const data = withoutSkipped(run.data, features.images.skipped, logger);
    const stage = await trainHeadStage(config, data, features, runDir, logger, options, resume);
    if (stage.interrupted) {
      stage.head.dispose();
      return {
        runDir,
        config,
        interrupted: true,
        history: stage.history,
        bestEpoch: stage.bestEpoch,
        extractSeconds: features.extractSeconds,
      };
    }
    let { history, bestEpoch } = stage;
    let tuned: FineTuneScorer | undefined;
    if (config.fineTune.enabled) {
      const ft = await fineTuneStage({
        config,
        data,
        images: features.images,
        backbone,
        head: stage.head,
        loss: stage.loss,
        runDir,
        logger,
        headHistory: stage.history,
        resume: resume !== undefined,
        onBatch: options.onBatch,
        onProgress: options.onProgress,
        interruptAfter: options.interruptAfter,
        format: (r) => formatEpoch(r, stage.history.length + config.fineTune.epochs),
      });
      history = [...stage.history, ...ft.history];
      if (ft.interrupted) {
        await ft.scorer.dispose();
        stage.head.dispose();
        return {
          runDir,
          config,
          interrupted: true,
          history,
          bestEpoch: ft.bestEpoch,
          extractSeconds: features.extractSeconds,
        };
      }
      [bestEpoch, tuned] = [ft.bestEpoch, ft.scorer];
    }
    const metadata = tuned ? undefined : await fitMetadataBranch(config, data, features.features, stage.head);
    const bundleDir = await saveBestModel(config, data, backbone, stage.head, runDir, bestEpoch, metadata);
    const test = await evaluateTest(config, data, features, stage.head, tuned).finally(() =>
      tuned?.dispose(),
    );
    await writeJsonAtomic(
      join(runDir, RUN_FILES.results),
      resultsJson(config, { ...stage, history, bestEpoch }, test, features, backbone.weights),
    );
    if (test) logger.info(scoreLine('test', recipeViews(config), test.count, test.scores));
    stage.head.dispose();
    return {
      runDir,
      config,
      interrupted: false,
      history,
      bestEpoch,
      bundleDir,
      test,
      extractSeconds: features.extractSeconds,
    };
  } finally {
    await closeImages();
  }
}

/** The loss options of a run: class weights from the training split, focal γ, logit adjustment in training. */
export function runLossOptions(config: TrainConfig, counts: readonly number[]): LossOptions {
  const t = config.train;
  return {
    classWeights: classWeightsFromCounts(counts, t.classWeights, t.classWeightPower, t.effectiveBeta),
    kind: t.loss,
    focalGamma: t.focalGamma,
    ...(t.logitAdjustment.mode === 'train'
      ? { logitOffset: logPriorOffset(counts, t.logitAdjustment.tau) }
      : {}),
  };
}

interface HeadStage {
  readonly head: Head;
  readonly loss: LossOptions;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly interrupted: boolean;
}

/** What `fitHead` hands back: the trained head (taking raw pooled features) and what trained it. */
export interface FittedHead {
  readonly head: Head;
  readonly loss: LossOptions;
  readonly counts: number[];
  readonly result: Awaited<ReturnType<typeof trainHead>>;
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

/**
 * Trains a fresh head on cached features of `parts.train`, early-stopping on `parts.val`, with the
 * config's recipe (standardisation, loss, class weights, schedule). The run and `bench:train` share it.
 */
export async function fitHead(
  config: TrainConfig,
  features: RunFeatures['features'],
  parts: Pick<PreparedData['parts'], 'train' | 'val'>,
  classes: readonly string[],
  hooks: Pick<Parameters<typeof trainHead>[0], 'resume' | 'onBatch' | 'interruptAfter' | 'onEpoch'> = {},
): Promise<FittedHead> {
  // Standardisation is a fixed first step of the head (kept through fine-tuning, folded only at export). Before
  // fine-tuning, stds are floored relative to the median so near-constant features are never amplified up to
  // 1000x once the tail moves them; a frozen run keeps the measured recipe's absolute floor (bench:train).
  const floor = config.fineTune.enabled ? STD_FLOOR_FRACTION : 0;
  const stats = config.model.standardize
    ? floorStandardization(featureStats(features, parts.train), floor)
    : undefined;
  const train = featureItemSet(features, parts.train, classes);
  const val = featureItemSet(features, parts.val, classes, config.features.views);
  const counts = countLabels(train.labels, classes.length);
  const loss = runLossOptions(config, counts);
  const m = config.model;
  const head = Head.create(
    { inputWidth: features.width, hidden: m.hidden, numClasses: classes.length, dropout: m.dropout },
    new Prng(config.seed),
  );
  if (stats) head.standardizeInputs(stats);
  const result = await trainHead({ head, train, val, loss, ...headSchedule(config), ...hooks });
  return { head, loss, counts, result };
}

async function trainHeadStage(
  config: TrainConfig,
  data: PreparedData,
  run: RunFeatures,
  runDir: string,
  logger: Logger,
  options: TrainRunOptions,
  resume: TrainCheckpoint | undefined,
): Promise<HeadStage> {
  const { head, loss, result } = await fitHead(config, run.features, data.parts, data.classes, {
    resume,
    onBatch: options.onBatch,
    interruptAfter: options.interruptAfter,
    onEpoch: async (record, checkpoint) => {
      await saveCheckpoint(runDir, checkpoint, 'head');
      await writeEpochMetrics(runDir, checkpoint.history);
      logger.info(formatEpoch(record, config.train.epochs));
      options.onEpoch?.(record);
    },
  });
  return {
    head,
    loss,
    history: result.history,
    bestEpoch: result.bestEpoch,
    interrupted: result.interrupted,
  };
}

/** One-line epoch summary. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  return (
    `epoch ${r.epoch}/${epochs}: loss ${r.loss.toFixed(4)}  val_loss ${r.val_loss.toFixed(4)}  ` +
    `val_acc ${r.val_accuracy.toFixed(3)}  val_bal_acc ${r.val_balanced_accuracy.toFixed(3)}  lr ${r.lr.toExponential(1)}  ${r.seconds.toFixed(1)} s`
  );
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

async function saveBestModel(
  config: TrainConfig,
  data: PreparedData,
  backbone: LoadedBackbone,
  head: Head,
  runDir: string,
  bestEpoch: number,
  metadata?: BundleMeta['metadata'],
): Promise<string> {
  const counts = countLabels(labelIndices(data.parts.train, data.classes), data.classes.length);
  const model = buildTrainedClassifier(backbone.model, head, config.model, posthocOffset(config, counts));
  const dir = join(runDir, RUN_FILES.bundle);
  const density = await measureDensityRule(
    data.parts.train.map((r) => r.path),
    config.preprocess.density,
  );
  await writeModelBundle(dir, {
    model,
    name: `${backbone.name}-${basename(runDir)}`,
    backbone: backbone.name,
    classes: data.classes,
    preprocess: { ...runPreprocess(config, backbone), ...(density ? { density } : {}) },
    testViews: recipeViews(config),
    ...(config.train.logitAdjustment.mode === 'posthoc'
      ? { posthocTau: config.train.logitAdjustment.tau }
      : {}),
    normalization: backbone.normalization,
    metrics: { bestEpoch },
    weights: backbone.weights,
    ...(metadata ? { metadata } : {}),
    cam: config.model.hidden === 0 && config.model.pooling === 'avg' && config.model.taps.length === 0,
  });
  return dir;
}

async function evaluateTest(
  config: TrainConfig,
  data: PreparedData,
  run: RunFeatures,
  head: Head,
  fineTuned?: FineTuneScorer,
): Promise<TestResult | undefined> {
  if (data.parts.test.length === 0) return undefined;
  const counts = countLabels(labelIndices(data.parts.train, data.classes), data.classes.length);
  // After fine-tuning the cached features are stale: score prefix maps through the tuned tail instead.
  const set = fineTuned
    ? fineTuned.itemSet(data.parts.test)
    : featureItemSet(run.features, data.parts.test, data.classes, config.features.views);
  const { probabilities } = await predictSet(head, set, {
    tta: config.features.tta,
    logitOffset: posthocOffset(config, counts),
    features: fineTuned?.features,
  });
  const k = data.classes.length;
  return {
    count: set.labels.length,
    scores: classificationScores(set.labels, argmaxRows(probabilities, k), k),
    classes: data.classes,
    probabilities,
    labels: set.labels,
    imageIds: data.parts.test.map((r) => r.imageId),
  };
}

function resultsJson(
  config: TrainConfig,
  stage: Pick<HeadStage, 'history' | 'bestEpoch'>,
  test: TestResult | undefined,
  run: RunFeatures,
  weights: LoadedBackbone['weights'],
): unknown {
  return {
    weights,
    bestEpoch: stage.bestEpoch,
    epochs: stage.history.length,
    best: stage.history[stage.bestEpoch - 1] ?? null,
    featureEngine: run.engine,
    extractSeconds: run.extractSeconds,
    views: config.features.views,
    test: test
      ? {
          count: test.count,
          accuracy: test.scores.accuracy,
          balancedAccuracy: test.scores.balancedAccuracy,
          macroF1: test.scores.macroF1,
          recall: Object.fromEntries(test.classes.map((c, i) => [c, test.scores.recall[i]])),
        }
      : null,
  };
}
