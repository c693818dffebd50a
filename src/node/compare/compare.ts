import { basename, join, relative, resolve } from 'node:path';
import { describeWeights, type WeightsProvenance } from '../../core/bundle/meta.js';
import { parseTrainConfig, type TrainConfig } from '../../core/config/train-config.js';
import type { Dataset, ImageRecord } from '../../core/data/records.js';
import { assertSplittable, splitByGroup } from '../../core/data/split.js';
import { buildSplitFile, selectSplit } from '../../core/data/split-schema.js';
import { expected } from '../../core/errors.js';
import type { BootstrapOptions } from '../../core/eval/bootstrap.js';
import { buildComparison, type ComparedModel, type ComparisonData } from '../../core/eval/compare.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { at } from '../../core/util/at.js';
import { readModelBundle } from '../bundle/read.js';
import { loadDataset } from '../data/load-dataset.js';
import { writeSplitFile } from '../data/split-file.js';
import { evaluateModel } from '../evaluate/evaluate.js';
import { checkBackboneWeights } from '../train/backbone.js';
import type { TrainRunOptions, TrainRunResult } from '../train/pipeline.js';
import { loadEvaluatedModel, measureThroughput, modelCost, recordedWeights } from './load.js';
import { type WrittenComparison, writeComparisonReport } from './write.js';

/** Options of {@link compareBackbones}. */
export interface CompareOptions {
  readonly backbones: readonly string[];
  /** Dataset root (default: the training config's default, the embedded sample). */
  readonly data?: string;
  readonly format?: string;
  /** Use only about N images (whole lesions, class-stratified) of the dataset: quick comparisons. */
  readonly subset?: number;
  /**
   * Backbone weights for every model: `auto` (default; ImageNet where it can be had, else random, recorded
   * as such), `imagenet` (required: stops before any training when a backbone has none) or `random`.
   */
  readonly weights?: 'auto' | 'imagenet' | 'random';
  /** Training recipe shared by every backbone: a partial training config (sections merged over the defaults). */
  readonly recipe?: Readonly<Record<string, Readonly<Record<string, unknown>> | number>>;
  readonly epochs?: number;
  readonly seed?: number;
  /** Output folder: `split.json`, `runs/<backbone>/`, `comparison.html|md|json`. */
  readonly out: string;
  readonly bootstrap?: BootstrapOptions;
  /** Test images timed for images/s (default 64). */
  readonly throughputImages?: number;
  readonly threads?: number;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  /** Training entry point (default H5's `trainRun`); tests inject a stub. */
  readonly train?: (config: TrainConfig, options: TrainRunOptions) => Promise<TrainRunResult>;
}

/** What {@link compareBackbones} produced. */
export interface ComparisonResult {
  readonly outDir: string;
  readonly report: WrittenComparison;
  readonly data: ComparisonData;
  /** Where each model's backbone weights came from, by model name (null: not recorded). */
  readonly weights: Readonly<Record<string, WeightsProvenance | null>>;
}

/** Lesion-grouped, class-stratified subset of about `n` images (the test part of a group split). */
function subsetRecords(records: readonly ImageRecord[], n: number, seed: number): ImageRecord[] {
  if (n >= records.length) return [...records];
  const part = splitByGroup(records, { val: 0, test: Math.max(n / records.length, 1e-6), seed });
  const keep = new Set(part.test);
  return records.filter((r) => keep.has(r.imageId));
}

/** Draws one split for all backbones (on the subset, if any) and writes it; returns its path and test records. */
/** The one split every backbone trains on: its file, its test records and how many images it covers. */
interface SharedSplit {
  readonly path: string;
  readonly test: ImageRecord[];
  readonly images: number;
}

async function sharedSplit(
  dataset: Dataset,
  options: CompareOptions,
  config: TrainConfig,
  outDir: string,
): Promise<SharedSplit> {
  assertSplittable(dataset, { groupBy: config.data.groupBy, confirm: 'data.groupBy: "image" in the config' });
  const seed = options.seed ?? config.seed;
  const pool = options.subset ? subsetRecords(dataset.records, options.subset, seed) : dataset.records;
  const parts = splitByGroup(pool, { val: config.data.val, test: config.data.test, seed });
  // fingerprint of the whole dataset, so the trainer accepts the file; the parts hold only the subset
  const split = buildSplitFile(dataset.records, dataset, {
    kind: 'holdout',
    seed,
    val: config.data.val,
    test: config.data.test,
    parts,
  });
  const path = join(outDir, 'split.json');
  await writeSplitFile(path, split);
  return { path, test: selectSplit(dataset.records, parts).test, images: pool.length };
}

function runConfig(
  options: CompareOptions,
  backbone: string,
  splitFile: string,
  outDir: string,
): TrainConfig {
  const recipe = options.recipe ?? {};
  const section = (key: string, own: Record<string, unknown>) => ({
    ...((recipe[key] as Record<string, unknown>) ?? {}),
    ...own,
  });
  return parseTrainConfig(
    {
      ...recipe,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      data: section('data', {
        ...(options.data ? { root: options.data } : {}),
        ...(options.format ? { format: options.format } : {}),
        splitFile,
      }),
      model: section('model', { backbone, ...(options.weights ? { weights: options.weights } : {}) }),
      train: section('train', options.epochs ? { epochs: options.epochs } : {}),
      output: { runsDir: join(outDir, 'runs'), name: backbone },
    },
    `compare recipe for ${backbone}`,
  );
}

/**
 * Trains every backbone on one shared lesion-grouped split with one recipe, evaluates each on the test
 * split (metrics with CIs, predictions), measures parameters, GMACs and images/s, and writes the
 * comparison report (pairwise McNemar tests included).
 */
export async function compareBackbones(options: CompareOptions): Promise<ComparisonResult> {
  const logger = options.logger ?? silentLogger;
  const outDir = resolve(options.out);
  const base = await checkComparison(options, outDir, logger);
  const dataset = await loadDataset(base.data.root, { format: base.data.format, logger, checkImages: false });
  const split = await sharedSplit(dataset, options, base, outDir);
  logger.info(
    `comparing ${options.backbones.join(', ')} on ${split.images} images (${split.test.length} test), split ${split.path}`,
  );
  const train = options.train ?? (await import('../train/pipeline.js')).trainRun;
  const models: ComparedModel[] = [];
  const weights: Record<string, WeightsProvenance | null> = {};
  for (const backbone of options.backbones) {
    const compared = await compareBackbone(backbone, { options, split, outDir, train, logger });
    weights[backbone] = compared.weights;
    models.push(compared.model);
  }
  const notes = [
    `One lesion-grouped split for all models (${split.images} images${options.subset ? `, a class-stratified subset of ${dataset.records.length}` : ''}); same recipe; seed ${base.seed}.`,
    ...weightsNotes(weights),
  ];
  const data = buildComparison(models, { notes });
  return { outDir, report: await writeComparisonReport(outDir, data), data, weights };
}

/**
 * Refuses fewer than two backbones, and required ImageNet weights missing for any of them, before any
 * training; returns the first backbone's config (the shared data and split settings).
 */
async function checkComparison(
  options: CompareOptions,
  outDir: string,
  logger: Logger,
): Promise<TrainConfig> {
  const [first, second] = options.backbones;
  if (first === undefined || second === undefined) {
    throw expected({
      what: 'at least two backbones',
      where: '--backbones',
      received: String(options.backbones.length),
      fix: 'e.g. --backbones mobilenet_v1,mobilenet_v2',
      code: 'E_CONFIG',
    });
  }
  for (const backbone of options.backbones)
    await checkBackboneWeights(runConfig(options, backbone, 'unused', outDir), logger);
  return runConfig(options, first, 'unused', outDir);
}

/** What every backbone of a comparison shares. */
interface ComparisonContext {
  readonly options: CompareOptions;
  readonly split: SharedSplit;
  readonly outDir: string;
  readonly train: NonNullable<CompareOptions['train']>;
  readonly logger: Logger;
}

/** Trains, evaluates and measures one backbone on the shared split. */
async function compareBackbone(
  backbone: string,
  context: ComparisonContext,
): Promise<{ model: ComparedModel; weights: WeightsProvenance | null }> {
  const { options, split } = context;
  const { bundleDir, runDir, trainSeconds } = await trainBackbone(backbone, context);
  const evaluation = await evaluateModel({
    target: runDir,
    split: 'test',
    bootstrap: options.bootstrap,
    screenshot: false,
    threads: options.threads,
    logger: context.logger,
  });
  const weights = (await readModelBundle(bundleDir)).meta.weights ?? null;
  const cost = await modelCost(bundleDir);
  const imagesPerSecond = await measureThroughput(bundleDir, split.test, {
    images: options.throughputImages,
    threads: options.threads,
  });
  const model = await loadEvaluatedModel(evaluation.outDir, {
    name: backbone,
    weights: describeWeights(weights),
    ...cost,
    imagesPerSecond,
    trainSeconds,
  });
  return { model, weights };
}

/** Trains one backbone with the shared recipe; E_RUN when training did not finish with a bundle. */
async function trainBackbone(backbone: string, context: ComparisonContext) {
  const { options, logger } = context;
  const config = runConfig(options, backbone, context.split.path, context.outDir);
  logger.info(`[${backbone}] training (${config.model.weights} weights, ${config.train.epochs} epochs max)`);
  const started = performance.now();
  const run = await context.train(config, { logger, onProgress: options.onProgress });
  const trainSeconds = (performance.now() - started) / 1000;
  if (!run.bundleDir)
    throw expected({
      what: 'a finished training',
      where: `${backbone} in ${run.runDir}`,
      received: 'a run that did not finish',
      fix: 'see its train.log',
      code: 'E_RUN',
    });
  return { bundleDir: run.bundleDir, runDir: run.runDir, trainSeconds };
}

/** One note per model whose weights were not complete ImageNet weights (random, unrecorded, truncated). */
export function weightsNotes(weights: Readonly<Record<string, WeightsProvenance | null>>): string[] {
  return Object.entries(weights).flatMap(([name, w]) => {
    if (w?.kind === 'random')
      return [
        `${name} was trained from random weights (${describeWeights(w)}; no ImageNet weights could be had): a smoke test of the pipeline, not a measure of the architecture.`,
      ];
    if (!w) return [`${name}: where its weights came from was not recorded; they may be random.`];
    if (w.truncatedAt)
      return [`${name}: ImageNet weights were incomplete; the backbone was cut after ${w.truncatedAt}.`];
    return [];
  });
}

/**
 * Models named apart where two evaluations carry one name (two evaluations of one run): each such name gets its
 * evaluation folder's name, or its path when those are alike too, so every row, pair and chart is one model.
 */
function distinctNames(models: readonly ComparedModel[], dirs: readonly string[]): ComparedModel[] {
  const count = (names: readonly string[], name: string) => names.filter((n) => n === name).length;
  const names = models.map((m) => m.name);
  const byFolder = names.map((n, i) => (count(names, n) > 1 ? `${n} (${basename(at(dirs, i))})` : n));
  const final = byFolder.map((n, i) =>
    count(byFolder, n) > 1 ? `${at(names, i)} (${relative(process.cwd(), resolve(at(dirs, i))) || '.'})` : n,
  );
  return models.map((m, i) => ({ ...m, name: at(final, i) }));
}

/** Compares runs that were already evaluated (`<run>/eval-test` folders or any evaluation folders). */
export async function compareEvaluations(
  evalDirs: readonly string[],
  outDir: string,
): Promise<ComparisonResult> {
  // one at a time, so that the first unusable folder in the list is the one named
  const loaded: ComparedModel[] = [];
  for (const dir of evalDirs) loaded.push(await loadEvaluatedModel(dir));
  const models = distinctNames(loaded, evalDirs);
  const weights = Object.fromEntries(
    await Promise.all(
      evalDirs.map(async (dir, i) => [at(models, i).name, await recordedWeights(dir)] as const),
    ),
  );
  const data = buildComparison(models, {
    notes: ['Compared from existing evaluations; cost figures not measured.', ...weightsNotes(weights)],
  });
  return {
    outDir: resolve(outDir),
    report: await writeComparisonReport(resolve(outDir), data),
    data,
    weights,
  };
}
