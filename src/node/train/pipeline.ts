import { basename, join } from 'node:path';
import type { BundleMeta } from '../../core/bundle/meta.js';
import type { TrainConfig } from '../../core/config/train-config.js';
import type { ImageRecord } from '../../core/data/records.js';
import { scoreLine } from '../../core/eval/summary.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import {
  argmaxRows,
  type ClassificationScores,
  classificationScores,
} from '../../core/train/epoch-metrics.js';
import { buildTrainedClassifier, type Head } from '../../core/train/head.js';
import {
  type FittedHead,
  fitRecipeHead,
  type HeadTrainingData,
  type HeadTrainingHooks,
  recipeViews,
} from '../../core/train/head-recipe.js';
import type { LossOptions } from '../../core/train/losses.js';
import { fuseMetadataRows } from '../../core/train/metadata-fusion.js';
import { type EpochRecord, predictSet, type TrainCheckpoint } from '../../core/train/trainer.js';
import { selectBackend } from '../backend/backend.js';
import { measureDensityRule } from '../bundle/density.js';
import { writeModelBundle } from '../bundle/write.js';
import {
  type BackboneLoader,
  checkBackboneWeights,
  type LoadedBackbone,
  loadRunBackbone,
} from './backbone.js';
import { type PreparedData, recordMetadata, trainingOffset, withoutSkipped } from './data.js';
import type { FeatureCache } from './feature-cache.js';
import { prepareRunFeatures, type RunFeatures, runPreprocess } from './features.js';
import { type FineTuneScorer, fineTuneStage } from './finetune-stage.js';
import { featureItemSet, featureStats } from './item-sets.js';
import { fitMetadataBranch } from './metadata-branch.js';
import {
  bestStage3Choice,
  compareOnValidation,
  pooledFeatures,
  refitTunedHead,
  type Stage3Choice,
  stage3Candidates,
} from './refit-head.js';
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
  /** With a metadata branch: the image-only scores (`scores` and `probabilities` have the metadata fused in). */
  readonly imageOnly?: ClassificationScores;
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
  const { config, logger } = run;
  await selectBackend(config.train.backend, config.fineTune.enabled ? 'train' : 'head', logger);
  const { parts } = run.data;
  const all = [...parts.train, ...parts.val, ...parts.test];
  const features = await prepareRunFeatures(config, run.backbone, all, {
    logger,
    onProgress: options.onProgress,
  });
  try {
    const data = withoutSkipped(run.data, features.images.skipped, logger);
    const trained = await trainModel(run, data, features, options);
    if (!trained.interrupted) return await finishRun(run, data, features, trained);
    await trained.tuned?.dispose();
    trained.head.dispose();
    return runResult(run, trained, features);
  } finally {
    await features.images.close();
  }
}

/** The trained model of a run: the head, with the fine-tuned backbone tail's scorer when fine-tuning ran. */
interface TrainedModel extends HeadStage {
  readonly tuned?: FineTuneScorer;
  readonly stage3?: Stage3Record;
  /** Stage 3's pooled features of the train and val splits through the tuned tail. */
  readonly tunedFeatures?: FeatureCache;
}

/** Head training, then fine-tuning when configured (and the head stage was not interrupted). */
async function trainModel(
  run: OpenedRun,
  data: PreparedData,
  features: RunFeatures,
  options: TrainRunOptions,
): Promise<TrainedModel> {
  const { config, runDir, logger } = run;
  const stage = await trainHeadStage(config, data, features, runDir, logger, options, run.resume);
  if (stage.interrupted || !config.fineTune.enabled) return stage;
  const ft = await fineTuneStage({
    config,
    data,
    images: features.images,
    backbone: run.backbone,
    head: stage.head,
    loss: stage.loss,
    runDir,
    logger,
    headHistory: stage.history,
    resume: run.resume !== undefined,
    onBatch: options.onBatch,
    onProgress: options.onProgress,
    interruptAfter: options.interruptAfter,
    format: (r) => formatEpoch(r, stage.history.length + config.fineTune.epochs),
  });
  const history = [...stage.history, ...ft.history];
  const tuned = { ...stage, history, bestEpoch: ft.bestEpoch, interrupted: ft.interrupted, tuned: ft.scorer };
  if (ft.interrupted || !config.fineTune.refitHead) return tuned;
  const stage3 = await stage3Head(config, data, ft.scorer, stage.head, logger);
  return { ...tuned, head: stage3.head, stage3: stage3.record, tunedFeatures: stage3.features };
}

/**
 * Stage 3: a fresh head on the tuned tail's pooled features; the stage-2 head, the fresh one or their logit average,
 * whichever scores the highest validation balanced accuracy with the run's post-hoc offset (ties: the earlier in
 * that order), is kept and the others disposed; one log line says which.
 */
async function stage3Head(
  config: TrainConfig,
  data: PreparedData,
  scorer: FineTuneScorer,
  stage2: Head,
  logger: Logger,
): Promise<{ head: Head; record: Stage3Record; features: FeatureCache }> {
  const began = performance.now();
  const refit = await refitTunedHead(config, data, scorer, (features) =>
    fitHead(config, features, data.parts, data.classes),
  );
  const candidates = stage3Candidates(stage2, refit.head);
  const val = await compareOnValidation(
    config,
    data,
    candidates,
    refit.features,
    trainingOffset(config, data),
  );
  const kept = bestStage3Choice(val);
  logger.info(
    `stage 3: val bal_acc ${[...val].map(([choice, score]) => `${STAGE3_NAMES[choice]} ${score.toFixed(3)}`).join(', ')}: kept the ${STAGE3_NAMES[kept]} (${((performance.now() - began) / 1000).toFixed(0)} s)`,
  );
  for (const [choice, head] of candidates) if (choice !== kept) head.dispose();
  return {
    head: candidates.get(kept) ?? stage2,
    record: { kept, valBalancedAccuracy: Object.fromEntries(val) },
    features: refit.features,
  };
}

/** How stage 3's log line names each candidate head. */
const STAGE3_NAMES: Readonly<Record<Stage3Choice, string>> = {
  stage2: 'stage-2 head',
  refit: 're-fitted head',
  average: 'average of both',
};

/** Stage 3 as `results.json` records it: the head kept and each candidate's validation balanced accuracy. */
interface Stage3Record {
  readonly kept: Stage3Choice;
  readonly valBalancedAccuracy: Partial<Record<Stage3Choice, number>>;
}

/** A finished model's outputs: metadata branch, best-model bundle, test scores, results.json. */
async function finishRun(
  run: OpenedRun,
  data: PreparedData,
  features: RunFeatures,
  trained: TrainedModel,
): Promise<TrainRunResult> {
  const { config, runDir, backbone } = run;
  const { head, tuned, bestEpoch } = trained;
  // The metadata branch is fitted over the logits of the head as it reads its features: the cached ones, or after
  // fine-tuning the tuned tail's pooled features (stage 3's, or pooled now when no head was re-fitted).
  const headFeatures =
    tuned && config.model.metadata !== 'none'
      ? (trained.tunedFeatures ??
        (await pooledFeatures(tuned, [...data.parts.train, ...data.parts.val], config.features.views)))
      : features.features;
  const metadata = await fitMetadataBranch(config, data, headFeatures, head, (parts) =>
    fitHead(config, headFeatures, parts, data.classes),
  );
  // The post-hoc logit adjustment from the training split's class counts: baked into the bundle, used on test.
  const logitOffset = trainingOffset(config, data);
  const bundleDir = await saveBestModel(
    config,
    data,
    backbone,
    { head, logitOffset },
    runDir,
    bestEpoch,
    metadata,
  );
  const imageTest = await evaluateTest(config, data, features, { head, logitOffset }, tuned).finally(() =>
    tuned?.dispose(),
  );
  // scored as the bundle predicts: with a metadata branch, each test image's own metadata is fused in
  const test = imageTest && metadata ? fuseTestMetadata(imageTest, metadata, data.parts.test) : imageTest;
  const results = resultsJson(config, trained, test, features, backbone.weights);
  await writeJsonAtomic(join(runDir, RUN_FILES.results), results);
  if (test) {
    const line = scoreLine('test', recipeViews(config), test.count, test.scores);
    run.logger.info(test.imageOnly ? `${line} (metadata fused)` : line);
  }
  head.dispose();
  return runResult(run, trained, features, { bundleDir, test });
}

/** What `trainRun` returns; `outputs` only for a run that was not interrupted. */
function runResult(
  run: OpenedRun,
  trained: TrainedModel,
  features: RunFeatures,
  outputs?: Pick<TrainRunResult, 'bundleDir' | 'test'>,
): TrainRunResult {
  return {
    runDir: run.runDir,
    config: run.config,
    interrupted: trained.interrupted,
    history: trained.history,
    bestEpoch: trained.bestEpoch,
    ...(outputs ? { bundleDir: outputs.bundleDir, test: outputs.test } : {}),
    extractSeconds: features.extractSeconds,
  };
}

interface HeadStage {
  readonly head: Head;
  readonly loss: LossOptions;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly interrupted: boolean;
}

/**
 * Trains a fresh head on cached features of `parts.train`, early-stopping on `parts.val`, with the config's
 * recipe (`fitRecipeHead`: standardisation, loss, class weights, schedule). The run and `bench:train` share it.
 */
export function fitHead(
  config: TrainConfig,
  features: RunFeatures['features'],
  parts: Pick<PreparedData['parts'], 'train' | 'val'>,
  classes: readonly string[],
  hooks: HeadTrainingHooks = {},
): Promise<FittedHead> {
  const data: HeadTrainingData = {
    train: featureItemSet(features, parts.train, classes),
    val: featureItemSet(features, parts.val, classes, config.features.views),
    width: features.width,
    trainStats: () => featureStats(features, parts.train),
  };
  return fitRecipeHead(config, data, classes.length, hooks);
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

/** The trained head with the post-hoc logit offset it is exported and scored with (undefined: none). */
interface AdjustedHead {
  readonly head: Head;
  readonly logitOffset: Float32Array | undefined;
}

async function saveBestModel(
  config: TrainConfig,
  data: PreparedData,
  backbone: LoadedBackbone,
  { head, logitOffset }: AdjustedHead,
  runDir: string,
  bestEpoch: number,
  metadata?: BundleMeta['metadata'],
): Promise<string> {
  const model = buildTrainedClassifier(backbone.model, head, config.model, logitOffset);
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
  { head, logitOffset }: AdjustedHead,
  fineTuned?: FineTuneScorer,
): Promise<TestResult | undefined> {
  if (data.parts.test.length === 0) return undefined;
  // After fine-tuning the cached features are stale: score prefix maps through the tuned tail instead.
  const set = fineTuned
    ? fineTuned.itemSet(data.parts.test)
    : featureItemSet(run.features, data.parts.test, data.classes, config.features.views);
  const { probabilities } = await predictSet(head, set, {
    tta: config.features.tta,
    logitOffset,
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

/**
 * The test scores with the bundle's metadata branch fused over each image's own metadata (age, sex, site), as
 * `predict`, `serve` and `evaluate` score it; the image-only scores are kept beside them.
 */
function fuseTestMetadata(
  test: TestResult,
  branch: NonNullable<BundleMeta['metadata']>,
  records: readonly ImageRecord[],
): TestResult {
  const k = test.classes.length;
  const probabilities = fuseMetadataRows(branch, test.probabilities, recordMetadata(records), k);
  const scores = classificationScores(test.labels, argmaxRows(probabilities, k), k);
  return { ...test, probabilities, scores, imageOnly: test.scores };
}

function resultsJson(
  config: TrainConfig,
  stage: Pick<TrainedModel, 'history' | 'bestEpoch' | 'stage3'>,
  test: TestResult | undefined,
  run: RunFeatures,
  weights: LoadedBackbone['weights'],
): unknown {
  return {
    weights,
    ...(stage.stage3 ? { stage3: stage.stage3 } : {}),
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
          ...(test.imageOnly
            ? {
                metadataFused: true,
                imageOnly: {
                  accuracy: test.imageOnly.accuracy,
                  balancedAccuracy: test.imageOnly.balancedAccuracy,
                  macroF1: test.imageOnly.macroF1,
                },
              }
            : {}),
        }
      : null,
  };
}
