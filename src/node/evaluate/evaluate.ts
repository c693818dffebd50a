import { access } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { labelIndices } from '../../core/data/class-index.js';
import type { Dataset, ImageRecord } from '../../core/data/records.js';
import { expected } from '../../core/errors.js';
import type { BootstrapOptions } from '../../core/eval/bootstrap.js';
import { applyClassOffsets, tuneClassOffsets } from '../../core/eval/offsets.js';
import { formatPredictionsCsv } from '../../core/eval/predictions.js';
import {
  mostConfidentErrors,
  type ReportData,
  type ReportVariant,
  trainingCurvePoints,
} from '../../core/eval/report-data.js';
import { computeEvaluationMetrics, type EvaluationMetrics } from '../../core/eval/summary.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { type DihedralView, describeViews } from '../../core/preprocess/views.js';
import { at } from '../../core/util/at.js';
import { loadDataset } from '../data/load-dataset.js';
import { type Classifier, type ClassifierOptions, createClassifier } from '../infer/classifier.js';
import { resolveViews, type TtaChoice } from '../infer/tta.js';
import { DEFAULT_CHROMIUM, screenshotReport } from '../report/browser.js';
import { type WrittenReport, writeEvaluationReport } from '../report/write-report.js';
import { writeFileAtomic } from '../write-atomic.js';
import { assertReplaceableOutDir, writeOutputSet } from './output-set.js';
import { predictRecords, type RecordPredictions } from './predict.js';
import { type EvaluationSplit, selectSplitRecords } from './select.js';
import { type EvaluationTarget, resolveEvaluationTarget } from './target.js';

/** Options of {@link evaluateModel}. */
export interface EvaluateOptions {
  /** A training run directory or a model bundle folder. */
  readonly target: string;
  /** Dataset root or metadata file (default: the run's `data.root`). */
  readonly data?: string;
  /** Dataset format (default: the run's, else auto-detected). */
  readonly format?: string;
  /** Which images (default `test` for a run with a split, else `all`). */
  readonly split?: EvaluationSplit;
  /**
   * Views averaged per image for the headline figures: `recipe` (default: the bundle's own `testViews`, as
   * training evaluated it) or a named set; `true` = `flips`, `false` = `recipe` (older callers). With more than
   * one view the image-only figures are reported beside them.
   */
  readonly tta?: boolean | TtaChoice;
  /** Apply the bundle's pixel-density rule (default true). */
  readonly density?: boolean;
  /**
   * Fuse each image's metadata (age, sex, site) through the bundle's metadata branch, as `predict` and `serve`
   * do (default true); false scores the image model alone.
   */
  readonly metadata?: boolean;
  /** Tune per-class logit offsets on the run's validation split and report them as a separate variant. */
  readonly tuneOffsets?: boolean;
  /** Output folder (default `<run>/eval-<split>`, or `eval-<model>-<split>` in the working directory). */
  readonly out?: string;
  readonly bootstrap?: BootstrapOptions;
  /** Evaluate only the first N selected images (quick checks). */
  readonly limit?: number;
  /** Save `report.png` with headless Chromium (default: when Chromium is installed). */
  readonly screenshot?: boolean;
  readonly threads?: number;
  readonly batchSize?: number;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  /** Classifier factory (tests inject fakes); default H7's `createClassifier`. */
  readonly createClassifier?: (bundleDir: string, options?: ClassifierOptions) => Promise<Classifier>;
}

/** What {@link evaluateModel} produced. */
export interface EvaluationResult {
  readonly outDir: string;
  readonly report: WrittenReport;
  readonly predictionsCsv: string;
  readonly screenshot: string | null;
  readonly variants: readonly ReportVariant[];
  readonly data: ReportData;
}

/**
 * Evaluates a model bundle on a labelled dataset (a run's test split, or any folder / CSV / ISIC ground-truth
 * CSV) with the bundle's own preprocessing via ONNX Runtime, and writes `predictions.csv` and the report.
 */
export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  const logger = options.logger ?? silentLogger;
  if (options.out !== undefined) await assertReplaceableOutDir(resolve(options.out)); // before the work
  const target = await resolveEvaluationTarget(options.target);
  const split = options.split ?? (target.split ? 'test' : 'all');
  checkTuneOffsets(options, target, split);
  const dataset = await loadEvaluationDataset(target, options, logger);
  const records = pickRecords(dataset, target, split, options.limit, logger);
  const classifier = await (options.createClassifier ?? createClassifier)(target.bundleDir, {
    threads: options.threads,
    tta: 'none',
    density: options.density ?? true,
  });
  try {
    const scored = await scoreRecords(classifier, records, split, options, logger);
    const variants = await reportVariants(classifier, scored, options, () =>
      pickRecords(dataset, target, 'val', undefined, logger),
    );
    const outDir = resolve(options.out ?? defaultOutDir(target, classifier.meta.name, split));
    await assertReplaceableOutDir(outDir);
    const data = reportData(classifier, scored, variants, { dataset, target, split, options });
    const { report, predictionsCsv, screenshot } = await writeEvaluation(outDir, classifier, scored, data, {
      ...options,
      lesionColumn: dataset.grouping.by === 'column',
    });
    return { outDir, report, predictionsCsv, screenshot, variants, data };
  } finally {
    await classifier.dispose();
  }
}

/** Offsets are tuned on a run's validation split, so they need a run with a split, evaluated on its test split. */
function checkTuneOffsets(options: EvaluateOptions, target: EvaluationTarget, split: EvaluationSplit): void {
  if (!options.tuneOffsets || (split === 'test' && target.split !== null)) return;
  throw expected({
    what: 'a training run with a split file, evaluated on --split test',
    where: '--tune-offsets',
    received: target.split ? `--split ${split}` : 'no split file',
    fix: 'offsets are tuned on the validation split only, so evaluate such a run on --split test',
    code: 'E_SPLIT',
  });
}

/** The selected images scored with the chosen views, and what the report's figures are computed from. */
interface ScoredRecords {
  readonly choice: TtaChoice;
  readonly views: readonly DihedralView[];
  readonly predicted: RecordPredictions;
  readonly labels: readonly number[];
  /** The headline probabilities: the views' mean when there is more than one view, else the image alone. */
  readonly headline: readonly Float32Array[];
  readonly metric: (probabilities: readonly ArrayLike<number>[]) => EvaluationMetrics;
}

async function scoreRecords(
  classifier: Classifier,
  records: readonly ImageRecord[],
  split: EvaluationSplit,
  options: EvaluateOptions,
  logger: Logger,
): Promise<ScoredRecords> {
  const { classes } = classifier.meta;
  const choice = ttaChoice(options.tta);
  const views = resolveViews(choice, classifier.meta);
  logger.info(`evaluating ${records.length} images (${split}, views ${describeViews(views)})`);
  const predicted = await predictRecords(classifier, records, {
    batchSize: options.batchSize,
    onProgress: options.onProgress,
    views,
    logger,
    metadata: options.metadata,
  });
  if (predicted.records.length === 0)
    throw expected({
      what: 'at least one readable image',
      where: 'the evaluation',
      received: `none of ${records.length}`,
      fix: 'check the data path',
      code: 'E_INPUT',
    });
  const labels = Array.from(labelIndices(predicted.records, classes));
  const groups = predicted.records.map((r) => r.groupId);
  const metric = (probabilities: readonly ArrayLike<number>[]): EvaluationMetrics =>
    computeEvaluationMetrics({ classes, labels, probabilities, groups, bootstrap: options.bootstrap });
  return { choice, views, predicted, labels, headline: predicted.tta ?? predicted.plain, metric };
}

/** The report's variants: the views' mean (with more than one view), the image alone, tuned offsets if asked. */
async function reportVariants(
  classifier: Classifier,
  scored: ScoredRecords,
  options: EvaluateOptions,
  valRecords: () => readonly ImageRecord[],
): Promise<ReportVariant[]> {
  const { choice, views, predicted, metric } = scored;
  const variants: ReportVariant[] = [];
  if (predicted.tta) {
    variants.push({
      id: 'tta',
      label: `Views ${describeViews(views)}`,
      metrics: metric(predicted.tta),
      note: `mean over ${views.length} exact views (${choice === 'recipe' ? "the model's recipe, as training evaluated it" : `--tta ${choice}`})`,
    });
  }
  variants.push({
    id: 'plain',
    label: 'Plain (image only)',
    metrics: metric(predicted.plain),
    ...(predicted.tta ? { note: 'the image alone, no test-time views' } : {}),
  });
  if (options.tuneOffsets) {
    const logger = options.logger ?? silentLogger;
    variants.push(await offsetVariant(classifier, valRecords(), options, predicted.plain, metric, logger));
  }
  return variants;
}

/** Where the evaluated data came from, beside the model and the split. */
interface EvaluationSource {
  readonly dataset: Dataset;
  readonly target: EvaluationTarget;
  readonly split: EvaluationSplit;
  readonly options: EvaluateOptions;
}

function reportData(
  classifier: Classifier,
  scored: ScoredRecords,
  variants: ReportVariant[],
  { dataset, target, split, options }: EvaluationSource,
): ReportData {
  const { meta } = classifier;
  const { predicted, views } = scored;
  return {
    format: 'lesionlab-evaluation-report',
    version: 1,
    title: `Evaluation of ${meta.name}`,
    createdAt: new Date().toISOString(),
    model: {
      name: meta.name,
      backbone: meta.backbone,
      source: target.runDir ?? target.bundleDir,
      weights: meta.weights ?? null,
    },
    data: {
      datasetImages: dataset.records.length,
      source: options.data ?? target.dataRoot ?? '',
      split,
      images: predicted.records.length,
      format: options.format ?? target.dataFormat ?? undefined,
    },
    variants,
    training: trainingCurvePoints(target.history),
    errors: mostConfidentErrors(predicted.records, scored.labels, scored.headline, meta.classes, 12),
    notes: [
      `Scored with views ${describeViews(views)}; pixel-density rule ${classifier.densityRule ? 'on' : 'off'}.`,
      ...metadataNote(meta, predicted, options.metadata),
      ...reportNotes(predicted.failed.length, options.limit),
    ],
  };
}

/** Whether the bundle's metadata branch took part, and for how many images (nothing for a bundle without one). */
function metadataNote(
  meta: Classifier['meta'],
  predicted: RecordPredictions,
  asked: boolean | undefined,
): string[] {
  if (!meta.metadata) return [];
  if (asked === false)
    return ["Image model alone: the bundle's metadata branch was left out (--no-metadata)."];
  return [
    `Lesion metadata (age, sex, site) fused by the bundle's ${meta.metadata.fusion} branch for ${predicted.metadataFused} of ${predicted.records.length} images, as predict and serve do.`,
  ];
}

/** Predictions, report and screenshot replace the folder as one set (never a mix of two evaluations). */
function writeEvaluation(
  outDir: string,
  classifier: Classifier,
  scored: ScoredRecords,
  data: ReportData,
  options: EvaluateOptions & { readonly lesionColumn: boolean },
): Promise<Pick<EvaluationResult, 'predictionsCsv' | 'report' | 'screenshot'>> {
  const { classes } = classifier.meta;
  const { predicted } = scored;
  const ids = predicted.records.map((r) => r.imageId);
  // group (lesion) ids let a comparison test two models by lesion (a lesion's images are not independent); a
  // dataset without a group column has one group per image, which says nothing, so the column is left out
  const groups = options.lesionColumn ? predicted.records.map((r) => r.groupId) : undefined;
  // the class each label matched (labelIndices folds case), so the file reads back with the model's spelling
  const names = scored.labels.map((l) => at(classes, l));
  const csvOf = (probabilities: readonly Float32Array[]) =>
    formatPredictionsCsv(classes, ids, names, probabilities, groups);
  return writeOutputSet(outDir, async (dir) => {
    const csv = join(dir, 'predictions.csv');
    await writeFileAtomic(csv, csvOf(scored.headline));
    if (predicted.tta) await writeFileAtomic(join(dir, 'predictions-plain.csv'), csvOf(predicted.plain));
    const written = await writeEvaluationReport(dir, data);
    const logger = options.logger ?? silentLogger;
    const png = await maybeScreenshot(written.html, join(dir, 'report.png'), options.screenshot, logger);
    return { predictionsCsv: csv, report: written, screenshot: png };
  });
}

function ttaChoice(tta: EvaluateOptions['tta']): TtaChoice {
  if (tta === true) return 'flips';
  return tta === undefined || tta === false ? 'recipe' : tta;
}

async function loadEvaluationDataset(
  target: EvaluationTarget,
  options: EvaluateOptions,
  logger: Logger,
): Promise<Dataset> {
  const root = options.data ?? target.dataRoot;
  if (root === null) {
    throw expected({
      what: 'a dataset to evaluate on',
      where: options.target,
      received: 'none (it is not a training run that names one)',
      fix: 'pass --data <dataset root or CSV>',
      code: 'E_CONFIG',
    });
  }
  const format = options.format ?? target.dataFormat ?? undefined;
  // unreadable images are reported by the prediction step, so the loader need not decode every file first
  return loadDataset(root, { format, logger, checkImages: false });
}

function pickRecords(
  dataset: Dataset,
  target: EvaluationTarget,
  split: EvaluationSplit,
  limit: number | undefined,
  logger: Logger,
) {
  const { records, missing } = selectSplitRecords(dataset.records, target.split, split);
  if (missing > 0)
    logger.warn(`${missing} images of the ${split} split are not in ${dataset.root} and were left out`);
  return limit === undefined ? records : records.slice(0, limit);
}

async function offsetVariant(
  classifier: Classifier,
  valRecords: readonly ImageRecord[],
  options: EvaluateOptions,
  testProbabilities: readonly Float32Array[],
  metric: (p: readonly ArrayLike<number>[]) => EvaluationMetrics,
  logger: Logger,
): Promise<ReportVariant> {
  const val = await predictRecords(classifier, valRecords, {
    batchSize: options.batchSize,
    logger,
    metadata: options.metadata,
  });
  const offsets = tuneClassOffsets(
    Array.from(labelIndices(val.records, classifier.meta.classes)),
    val.plain,
    classifier.meta.classes.length,
  );
  const shown = offsets
    .map((o, j) => `${classifier.meta.classes[j]} ${o >= 0 ? '+' : ''}${o.toFixed(1)}`)
    .join(', ');
  return {
    id: 'offsets',
    label: 'Tuned class offsets',
    metrics: metric(applyClassOffsets(testProbabilities, offsets)),
    note: `logit offsets tuned on the validation split only (${val.records.length} images) for balanced accuracy: ${shown}`,
  };
}

function defaultOutDir(target: EvaluationTarget, name: string, split: EvaluationSplit): string {
  return target.runDir ? join(target.runDir, `eval-${split}`) : `eval-${basename(name)}-${split}`;
}

function reportNotes(failed: number, limit: number | undefined): string[] {
  const notes: string[] = [];
  if (failed > 0) notes.push(`${failed} images could not be read and are not counted.`);
  if (limit !== undefined)
    notes.push(`Only the first ${limit} images of the split were evaluated (--limit).`);
  return notes;
}

async function maybeScreenshot(
  html: string,
  png: string,
  wanted: boolean | undefined,
  logger: Logger,
): Promise<string | null> {
  const chromium = process.env.LESIONLAB_CHROMIUM ?? DEFAULT_CHROMIUM;
  if (wanted === false) return null;
  const available = await access(chromium).then(
    () => true,
    () => false,
  );
  if (!available && wanted === undefined) return null;
  try {
    const seen = await screenshotReport(html, png);
    const empty = seen.charts.filter((c) => c.marks === 0).map((c) => c.id);
    if (empty.length > 0 || seen.consoleErrors.length > 0)
      logger.warn(
        `report check: empty charts [${empty.join(', ')}], ${seen.consoleErrors.length} console errors`,
      );
    return png;
  } catch (error) {
    if (wanted) throw error;
    logger.warn(`report.png not written: ${(error as Error).message}`);
    return null;
  }
}
