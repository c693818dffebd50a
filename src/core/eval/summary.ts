import { expected, shown } from '../errors.js';
import { at } from '../util/at.js';
import {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrapMetrics,
  bootstrapSensitivityAtSpecificity,
} from './bootstrap.js';
import { expectedCalibrationError, type ReliabilityBin } from './calibration.js';
import {
  type AveragedStats,
  accuracy,
  balancedAccuracy,
  checkPredictions,
  classificationReport,
  confusionMatrix,
  logLoss,
  normalizeRows,
  type ProbabilityRows,
  predictedClasses,
  topKAccuracy,
} from './metrics.js';
import { macroAuc, oneVsRestRoc, sensitivityAtSpecificity } from './roc.js';

/** What to evaluate: labels as class indices and one probability row per image. */
export interface EvaluationInput {
  readonly classes: readonly string[];
  readonly labels: readonly number[];
  readonly probabilities: ProbabilityRows;
  /** Group (lesion) of each image, for the bootstrap; default: every image its own group. */
  readonly groups?: readonly string[];
  /** Class for sensitivity at fixed specificity (default `mel` when present, else none). */
  readonly positiveClass?: string;
  /** Target specificities (default 0.8, 0.9, 0.95). */
  readonly specificities?: readonly number[];
  /** Bootstrap settings, or false to skip the intervals. */
  readonly bootstrap?: BootstrapOptions | false;
}

/** One class's row of the report. */
export interface ClassMetrics {
  readonly name: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
  /** One-vs-rest ROC AUC; null when the class has no image (or only images) of its own. */
  readonly auc: number | null;
}

/** An operating point of the positive class (threshold null when it is +Infinity: call nothing positive). */
export interface OperatingPoint {
  readonly targetSpecificity: number;
  readonly sensitivity: number;
  readonly specificity: number;
  readonly threshold: number | null;
  /** Lesion-bootstrap interval of the sensitivity (absent when the bootstrap was skipped). */
  readonly interval?: { readonly lower: number; readonly upper: number };
}

/** Every metric of one evaluation, as plain JSON-ready data. */
export interface EvaluationMetrics {
  readonly classes: readonly string[];
  readonly count: number;
  readonly accuracy: number;
  readonly balancedAccuracy: number;
  readonly macroAuc: number;
  readonly top2Accuracy: number;
  readonly top3Accuracy: number;
  readonly logLoss: number;
  readonly ece: number;
  readonly perClass: readonly ClassMetrics[];
  readonly macro: AveragedStats;
  readonly weighted: AveragedStats;
  readonly confusion: { readonly counts: number[][]; readonly normalized: number[][] };
  /** Per class: the ROC curve points (sklearn's default curve), null when undefined. */
  readonly roc: readonly ({ readonly fpr: number[]; readonly tpr: number[] } | null)[];
  readonly reliability: readonly ReliabilityBin[];
  readonly sensitivityAtSpecificity: {
    readonly positiveClass: string;
    readonly points: OperatingPoint[];
  } | null;
  readonly bootstrap: BootstrapResult | null;
}

/** Computes every evaluation metric (and, unless disabled, group-bootstrap intervals) from predictions. */
export function computeEvaluationMetrics(input: EvaluationInput): EvaluationMetrics {
  const { classes, labels, probabilities } = input;
  const k = classes.length;
  checkPredictions(labels, probabilities, k);
  if (labels.length === 0)
    throw expected({
      what: 'images to evaluate',
      where: 'the evaluation',
      received: 'none',
      fix: 'check the split or data path',
      code: 'E_INPUT',
    });
  const predictions = predictedClasses(probabilities);
  const report = classificationReport(labels, predictions, k);
  const rocs = oneVsRestRoc(labels, probabilities, k);
  const counts = confusionMatrix(labels, predictions, k);
  const calibration = expectedCalibrationError(labels, probabilities);
  return {
    classes: [...classes],
    count: labels.length,
    accuracy: accuracy(labels, predictions),
    balancedAccuracy: balancedAccuracy(labels, predictions, k),
    macroAuc: macroAuc(rocs),
    top2Accuracy: topKAccuracy(labels, probabilities, 2),
    top3Accuracy: topKAccuracy(labels, probabilities, 3),
    logLoss: logLoss(labels, probabilities),
    ece: calibration.ece,
    perClass: report.perClass.map((row, j) => ({ name: at(classes, j), ...row, auc: at(rocs, j).auc })),
    macro: report.macro,
    weighted: report.weighted,
    confusion: { counts, normalized: normalizeRows(counts) },
    roc: rocs.map((r) => (r.curve === null ? null : { fpr: r.curve.fpr, tpr: r.curve.tpr })),
    reliability: calibration.bins,
    sensitivityAtSpecificity: operatingPoints(input),
    bootstrap:
      input.bootstrap === false
        ? null
        : bootstrapMetrics(
            labels,
            probabilities,
            input.groups ?? labels.map((_, i) => String(i)),
            k,
            input.bootstrap,
          ),
  };
}

function operatingPoints(input: EvaluationInput): EvaluationMetrics['sensitivityAtSpecificity'] {
  const positiveClass = input.positiveClass ?? (input.classes.includes('mel') ? 'mel' : undefined);
  if (positiveClass === undefined) return null;
  const j = input.classes.indexOf(positiveClass);
  if (j < 0) {
    throw expected({
      what: `one of the classes (${input.classes.join(', ')})`,
      where: 'the positive class of the evaluation',
      received: shown(positiveClass),
      fix: 'pick a class the model predicts',
      code: 'E_INPUT',
    });
  }
  const positive = input.labels.map((label) => label === j);
  const scores = input.probabilities.map((row) => at(row, j));
  const targets = input.specificities ?? [0.8, 0.9, 0.95];
  const intervals =
    input.bootstrap === false
      ? null
      : bootstrapSensitivityAtSpecificity(
          positive,
          scores,
          input.groups ?? input.labels.map((_, i) => String(i)),
          targets,
          input.bootstrap,
        );
  const points = targets.flatMap((target, k) => {
    const point = sensitivityAtSpecificity(positive, scores, target);
    if (point === null) return [];
    const ci = intervals?.[k];
    return [
      {
        ...point,
        threshold: Number.isFinite(point.threshold) ? point.threshold : null,
        ...(ci ? { interval: { lower: ci.lower, upper: ci.upper } } : {}),
      },
    ];
  });
  return points.length === 0 ? null : { positiveClass, points };
}

/**
 * One score line that names where it was measured and with which views, so that training's summary and
 * the report's headline ("Views identity+flip_h") can be matched: `test (views identity+flip_h, 1503
 * images): balanced accuracy 0.646, accuracy 0.781, macro F1 0.602`.
 */
export function scoreLine(
  place: string,
  views: readonly string[],
  count: number,
  scores: { readonly accuracy: number; readonly balancedAccuracy: number; readonly macroF1: number },
): string {
  return (
    `${place} (views ${views.join('+')}, ${count} images): balanced accuracy ${scores.balancedAccuracy.toFixed(3)}, ` +
    `accuracy ${scores.accuracy.toFixed(3)}, macro F1 ${scores.macroF1.toFixed(3)}`
  );
}
