import { expected, shown } from '../errors.js';
import { at } from '../util/at.js';

/** Class probabilities per image: `probabilities[i][k]` is image i's probability of class k. */
export type ProbabilityRows = readonly ArrayLike<number>[];

/** Precision, recall, F1 and support of one class (scikit-learn's classification report row). */
export interface ClassStats {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

/** Averages of the per-class rows; like scikit-learn, zero divisions count as 0. */
export interface AveragedStats {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** scikit-learn's `classification_report` as data. */
export interface ClassificationReport {
  readonly perClass: readonly ClassStats[];
  /** Unweighted mean over the classes that occur in the labels or the predictions (sklearn's default). */
  readonly macro: AveragedStats;
  /** Support-weighted mean over the classes. */
  readonly weighted: AveragedStats;
}

/** Checks that `labels` are class indices in [0, k) and that each probability row has k finite values. */
export function checkPredictions(labels: readonly number[], probabilities: ProbabilityRows, k: number): void {
  if (labels.length !== probabilities.length) {
    throw expected({
      what: `one probability row per label (${labels.length})`,
      where: 'the predictions',
      received: `${probabilities.length} probability rows`,
      fix: 'pass one row per labelled image',
      code: 'E_INPUT',
    });
  }
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= k) {
      throw expected({
        what: `a class index 0..${k - 1}`,
        where: `the label of image ${i} in the predictions`,
        received: shown(label),
        fix: 'labels are class indices',
        code: 'E_INPUT',
      });
    }
    const row = at(probabilities, i);
    if (row.length !== k) {
      throw expected({
        what: `${k} probabilities (one per class)`,
        where: `row ${i} of the predictions`,
        received: `${row.length}`,
        fix: 'pass one probability per class',
        code: 'E_INPUT',
      });
    }
    for (let j = 0; j < k; j++) {
      if (!Number.isFinite(row[j])) {
        throw expected({
          what: 'a finite probability',
          where: `class ${j} in row ${i} of the predictions`,
          received: `${row[j]}`,
          fix: 'check the model output for NaN or Infinity',
          code: 'E_INPUT',
        });
      }
    }
  });
}

/** Index of the largest value; the first one wins ties (like numpy's argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (at(row, j) > at(row, best)) best = j;
  return best;
}

/** The predicted class (argmax) of every row. */
export function predictedClasses(probabilities: ProbabilityRows): number[] {
  return probabilities.map((row) => argmax(row));
}

/** Fraction of images whose prediction equals the label. */
export function accuracy(labels: readonly number[], predictions: readonly number[]): number {
  if (labels.length === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) hits++;
  return hits / labels.length;
}

/** Confusion matrix of counts: row = true class, column = predicted class. */
export function confusionMatrix(
  labels: readonly number[],
  predictions: readonly number[],
  k: number,
): number[][] {
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  labels.forEach((label, i) => {
    const row = at(matrix, label);
    const predicted = at(predictions, i);
    row[predicted] = at(row, predicted) + 1;
  });
  return matrix;
}

/** Each row divided by its sum (recall per true class); rows without images stay 0, like sklearn. */
export function normalizeRows(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (total === 0 ? 0 : v / total));
  });
}

/** Mean recall over the classes present in `labels` (the ISIC 2018 challenge metric; sklearn's definition). */
export function balancedAccuracy(
  labels: readonly number[],
  predictions: readonly number[],
  k: number,
): number {
  const matrix = confusionMatrix(labels, predictions, k);
  const recalls: number[] = [];
  matrix.forEach((row, j) => {
    const support = row.reduce((a, b) => a + b, 0);
    if (support > 0) recalls.push(at(row, j) / support);
  });
  return recalls.length === 0 ? Number.NaN : mean(recalls);
}

/** Per-class precision / recall / F1 / support with macro and weighted averages (sklearn, zero_division=0). */
export function classificationReport(
  labels: readonly number[],
  predictions: readonly number[],
  k: number,
): ClassificationReport {
  const matrix = confusionMatrix(labels, predictions, k);
  const perClass = matrix.map((row, j) => {
    const tp = at(row, j);
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((sum, r) => sum + at(r, j), 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1, support, predicted };
  });
  const seen = perClass.filter((c) => c.support > 0 || c.predicted > 0);
  const total = labels.length;
  const avg = (key: keyof AveragedStats, weighted: boolean): number =>
    weighted
      ? perClass.reduce((sum, c) => sum + c[key] * c.support, 0) / total
      : seen.reduce((sum, c) => sum + c[key], 0) / seen.length;
  return {
    perClass: perClass.map(({ precision, recall, f1, support }) => ({ precision, recall, f1, support })),
    macro: { precision: avg('precision', false), recall: avg('recall', false), f1: avg('f1', false) },
    weighted: { precision: avg('precision', true), recall: avg('recall', true), f1: avg('f1', true) },
  };
}

/**
 * Fraction of images whose label is among the k most probable classes. Ties rank the higher class index
 * first, exactly like scikit-learn's `top_k_accuracy_score` (a stable ascending sort, reversed).
 */
export function topKAccuracy(labels: readonly number[], probabilities: ProbabilityRows, k: number): number {
  if (labels.length === 0) return Number.NaN;
  let hits = 0;
  labels.forEach((label, i) => {
    const row = at(probabilities, i);
    const p = at(row, label);
    let rank = 0;
    for (let j = 0; j < row.length; j++) {
      const q = at(row, j);
      if (q > p || (q === p && j > label)) rank++;
    }
    if (rank < k) hits++;
  });
  return hits / labels.length;
}

/** Mean negative log-probability of the true class, clipped to [eps, 1 - eps] like sklearn's `log_loss`. */
export function logLoss(labels: readonly number[], probabilities: ProbabilityRows): number {
  if (labels.length === 0) return Number.NaN;
  const eps = Number.EPSILON;
  let total = 0;
  labels.forEach((label, i) => {
    const p = Math.min(Math.max(at(at(probabilities, i), label), eps), 1 - eps);
    total -= Math.log(p);
  });
  return total / labels.length;
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
