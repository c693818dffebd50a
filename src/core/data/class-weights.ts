import { expected, shown } from '../errors.js';

/** How to weight classes in the loss: inverse frequency, effective number of samples, or not at all. */
export type ClassWeightMode = 'balanced' | 'effective' | 'none';

/**
 * Per-class loss weights from the training label counts (see `countLabels`), then raised to `power`
 * (tempering; 0.5 = square root):
 * - `balanced`: n / (k · n_c), like scikit-learn's `compute_class_weight('balanced')`;
 * - `effective`: (1 − β) / (1 − β^n_c) (Cui et al., CVPR 2019), scaled to mean 1 over the classes present;
 * - `none`: all ones.
 * A class absent from the counts gets weight 0 (it contributes no loss either way).
 */
export function classWeightsFromCounts(
  counts: readonly number[],
  mode: ClassWeightMode,
  power = 1,
  beta = 0.999,
): Float32Array {
  if (counts.length < 1) {
    throw expected({
      what: 'one count per class',
      where: 'classWeightsFromCounts',
      received: 'no classes',
      fix: 'pass one count per class',
      code: 'E_CONFIG',
    });
  }
  return Float32Array.from(rawWeights(counts, mode, beta), (w) => (w > 0 ? w ** power : 0));
}

function rawWeights(counts: readonly number[], mode: ClassWeightMode, beta: number): number[] {
  if (mode === 'none') return counts.map(() => 1);
  if (mode === 'balanced') {
    const total = counts.reduce((a, b) => a + b, 0);
    return counts.map((n) => (n > 0 ? total / (counts.length * n) : 0));
  }
  if (mode !== 'effective') {
    throw expected({
      what: 'balanced, effective or none',
      where: 'the classWeightsFromCounts mode',
      received: shown(mode),
      fix: 'use one of them',
      code: 'E_CONFIG',
    });
  }
  if (!(beta >= 0 && beta < 1)) {
    throw expected({
      what: 'a beta in [0, 1)',
      where: 'classWeightsFromCounts',
      received: shown(beta),
      fix: 'e.g. 0.999',
      code: 'E_CONFIG',
    });
  }
  const raw = counts.map((n) => (n > 0 ? (1 - beta) / (1 - beta ** n) : 0));
  const mean = raw.reduce((a, b) => a + b, 0) / Math.max(1, raw.filter((w) => w > 0).length);
  return raw.map((w) => w / mean);
}
