import { at } from '../util/at.js';

/** Classification scores of one set of predictions. */
export interface ClassificationScores {
  readonly accuracy: number;
  /** Mean per-class recall over classes present in the labels. */
  readonly balancedAccuracy: number;
  /** Mean per-class F1 over classes present in the labels or predictions. */
  readonly macroF1: number;
  /** Recall per class index (NaN for a class absent from the labels). */
  readonly recall: number[];
}

/** Index of the largest value in each row of a row-major [n, k] array. */
export function argmaxRows(probabilities: Float32Array, k: number): Int32Array {
  const n = probabilities.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    // Per-image loop: row i holds entries i * k .. i * k + k - 1 of the n * k values.
    for (let c = 1; c < k; c++) if (probabilities[i * k + c]! > probabilities[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** Accuracy, balanced accuracy, macro F1 and per-class recall of predicted vs. true class indices. */
export function classificationScores(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
): ClassificationScores {
  const counts = Array.from({ length: numClasses }, () => ({ tp: 0, support: 0, predicted: 0 }));
  for (let i = 0; i < labels.length; i++) {
    const label = at(labels, i);
    const guess = at(predicted, i);
    at(counts, label).support += 1;
    at(counts, guess).predicted += 1;
    if (label === guess) at(counts, label).tp += 1;
  }
  const recall = counts.map((c) => (c.support > 0 ? c.tp / c.support : Number.NaN));
  const present = recall.filter((r) => !Number.isNaN(r));
  const f1 = counts
    .map((c) => (c.support + c.predicted > 0 ? (2 * c.tp) / (c.support + c.predicted) : Number.NaN))
    .filter((f) => !Number.isNaN(f));
  const correct = counts.reduce((sum, c) => sum + c.tp, 0);
  return {
    accuracy: labels.length > 0 ? correct / labels.length : Number.NaN,
    balancedAccuracy: mean(present),
    macroF1: mean(f1),
    recall,
  };
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
}
