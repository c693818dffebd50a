import { at } from '../util/at.js';
import { argmax, type ProbabilityRows } from './metrics.js';

/** One bin of a reliability diagram: images whose top probability falls in (lower, upper]. */
export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Fraction of the bin's images predicted correctly; null for an empty bin. */
  readonly accuracy: number | null;
  /** Mean top probability of the bin's images; null for an empty bin. */
  readonly confidence: number | null;
}

/** Expected calibration error with the reliability-diagram data it is computed from. */
export interface Calibration {
  readonly ece: number;
  readonly bins: readonly ReliabilityBin[];
}

/**
 * Expected calibration error (Guo et al. 2017): equal-width bins on the top probability, (lower, upper],
 * summing |accuracy - confidence| weighted by the bin's share of images. 15 bins by default.
 */
export function expectedCalibrationError(
  labels: readonly number[],
  probabilities: ProbabilityRows,
  binCount = 15,
): Calibration {
  // i * (1 / n) like numpy's linspace, so that a probability such as 1/3 lands in the same bin as there
  const step = 1 / binCount;
  const edges = Array.from({ length: binCount + 1 }, (_, i) => (i === binCount ? 1 : i * step));
  const count = new Array<number>(binCount).fill(0);
  const correct = new Array<number>(binCount).fill(0);
  const confidence = new Array<number>(binCount).fill(0);
  labels.forEach((label, i) => {
    const row = at(probabilities, i);
    const predicted = argmax(row);
    const p = at(row, predicted);
    const bin = edges.findIndex((upper, b) => b > 0 && p > at(edges, b - 1) && p <= upper) - 1;
    if (bin < 0) return; // p <= 0 cannot be binned (never the top probability of a distribution)
    count[bin] = at(count, bin) + 1;
    confidence[bin] = at(confidence, bin) + p;
    if (predicted === label) correct[bin] = at(correct, bin) + 1;
  });
  let ece = 0;
  const bins = count.map((n, b) => {
    const bounds = { lower: at(edges, b), upper: at(edges, b + 1) };
    if (n === 0) return { ...bounds, count: n, accuracy: null, confidence: null };
    const accuracy = at(correct, b) / n;
    const meanConfidence = at(confidence, b) / n;
    ece += (Math.abs(accuracy - meanConfidence) * n) / labels.length;
    return { ...bounds, count: n, accuracy, confidence: meanConfidence };
  });
  return { ece, bins };
}
