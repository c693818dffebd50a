import { at } from '../util/at.js';
import { balancedAccuracy, type ProbabilityRows } from './metrics.js';

/** Options of {@link tuneClassOffsets}. */
export interface OffsetTuningOptions {
  /** Largest |offset| tried, in logits (default 3). */
  readonly range?: number;
  /** Grid step (default 0.1). */
  readonly step?: number;
  /** Coordinate-ascent sweeps over the classes (default 3). */
  readonly rounds?: number;
}

const LOG_FLOOR = 1e-12;

function logRows(probabilities: ProbabilityRows): Float64Array[] {
  return probabilities.map((row) => Float64Array.from(row, (v) => Math.log(Math.max(v, LOG_FLOOR))));
}

function offsetPredictions(logs: readonly Float64Array[], offsets: readonly number[]): number[] {
  return logs.map((row) => {
    // Hot loop (every grid trial): one offset per class, so row[j] and offsets[j] are both in range.
    let best = 0;
    let top = row[0]! + offsets[0]!;
    for (let j = 1; j < row.length; j++) {
      const shifted = row[j]! + offsets[j]!;
      if (shifted > top) {
        best = j;
        top = shifted;
      }
    }
    return best;
  });
}

/**
 * Per-class logit offsets b (prior correction) that maximise balanced accuracy of argmax(log p + b), by
 * coordinate ascent on a grid. Tune them on the validation split only, never on the test split.
 */
export function tuneClassOffsets(
  labels: readonly number[],
  probabilities: ProbabilityRows,
  k: number,
  options: OffsetTuningOptions = {},
): number[] {
  const range = options.range ?? 3;
  const step = options.step ?? 0.1;
  const grid = Array.from({ length: Math.round((2 * range) / step) + 1 }, (_, i) =>
    Number((-range + i * step).toFixed(10)),
  );
  const logs = logRows(probabilities);
  const offsets = new Array<number>(k).fill(0);
  let best = balancedAccuracy(labels, offsetPredictions(logs, offsets), k);
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    let improved = false;
    for (let j = 0; j < k; j++) {
      for (const value of grid) {
        const trial = offsets.slice();
        trial[j] = value;
        const score = balancedAccuracy(labels, offsetPredictions(logs, trial), k);
        if (
          score > best + 1e-12 ||
          (Math.abs(score - best) <= 1e-12 && Math.abs(value) < Math.abs(at(offsets, j)))
        ) {
          improved = improved || score > best + 1e-12;
          best = Math.max(best, score);
          offsets[j] = value;
        }
      }
    }
    if (!improved) break;
  }
  return offsets;
}

/** Probabilities after adding per-class logit offsets: softmax(log p + b), renormalised per row. */
export function applyClassOffsets(
  probabilities: ProbabilityRows,
  offsets: readonly number[],
): Float64Array[] {
  return logRows(probabilities).map((row) => {
    const shifted = row.map((v, j) => v + at(offsets, j));
    const max = Math.max(...shifted);
    const exp = shifted.map((v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp.map((v) => v / sum);
  });
}
