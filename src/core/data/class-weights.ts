import { LesionlabError } from '../errors.js';

/** How to weight classes in the loss: inverse frequency, effective number of samples, or not at all. */
export type ClassWeightMode = 'balanced' | 'effective' | 'none';

/**
 * Per-class loss weights from the training labels (class indices 0..numClasses-1).
 * - `balanced`: n / (k · count_c), like scikit-learn's `compute_class_weight('balanced')`;
 * - `effective`: (1 − β) / (1 − β^count_c) (Cui et al., CVPR 2019), normalised to sum to k;
 * - `none`: all ones.
 * A class absent from the labels gets weight 0 (it contributes no loss either way).
 */
export function classWeights(
  labelIndices: readonly number[],
  numClasses: number,
  mode: ClassWeightMode,
  beta = 0.999,
): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new LesionlabError(
      'E_CONFIG',
      `classWeights: numClasses must be a positive integer; got ${numClasses}`,
    );
  }
  if (mode === 'none') return Array.from({ length: numClasses }, () => 1);
  const counts = countLabels(labelIndices, numClasses);
  if (mode === 'balanced') {
    return counts.map((c) => (c > 0 ? labelIndices.length / (numClasses * c) : 0));
  }
  if (mode !== 'effective') {
    throw new LesionlabError(
      'E_CONFIG',
      `classWeights: unknown mode "${String(mode)}"; use balanced, effective or none`,
    );
  }
  if (!(beta >= 0 && beta < 1)) {
    throw new LesionlabError('E_CONFIG', `classWeights: beta must be in [0, 1) (e.g. 0.999); got ${beta}`);
  }
  const raw = counts.map((c) => (c > 0 ? (1 - beta) / (1 - beta ** c) : 0));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (sum > 0 ? (w * numClasses) / sum : 0));
}

/** How many labels fall in each class 0..numClasses-1; throws on an index outside that range. */
export function countLabels(labelIndices: readonly number[], numClasses: number): number[] {
  const counts = Array.from({ length: numClasses }, () => 0);
  for (const index of labelIndices) {
    if (!Number.isInteger(index) || index < 0 || index >= numClasses) {
      throw new LesionlabError(
        'E_INPUT',
        `classWeights: label index ${index} is outside 0..${numClasses - 1}`,
      );
    }
    counts[index]++;
  }
  return counts;
}
