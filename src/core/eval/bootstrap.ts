import { mulberry32 } from '../data/prng.js';
import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { argmax, type ProbabilityRows } from './metrics.js';
import { descendingOrder } from './roc.js';

/** A point estimate with its percentile bootstrap interval. */
export interface ConfidenceInterval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

/** Options of the group bootstrap. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  readonly resamples?: number;
  /** PRNG seed (default 0): the same seed gives the same intervals. */
  readonly seed?: number;
  /** Confidence level (default 0.95). */
  readonly level?: number;
}

/** Bootstrap intervals of the headline metrics, resampling groups (lesions), not images. */
export interface BootstrapResult {
  readonly accuracy: ConfidenceInterval;
  readonly balancedAccuracy: ConfidenceInterval;
  readonly macroAuc: ConfidenceInterval;
  readonly resamples: number;
  readonly groups: number;
  readonly seed: number;
  readonly level: number;
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1); the data layer's generator. */
export const createRng: (seed: number) => () => number = mulberry32;

/** Percentile of sorted values with numpy's default linear interpolation; `q` in [0, 1]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return at(sorted, lo) + (at(sorted, hi) - at(sorted, lo)) * (position - lo);
}

/**
 * Draws one group bootstrap resample: as many groups as there are, with replacement; returns how many
 * times each image is taken (all images of a drawn group, once per draw).
 */
export function resampleGroupWeights(
  groupOfImage: readonly number[],
  groupCount: number,
  rng: () => number,
): Float64Array {
  const drawn = new Float64Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    const pick = Math.floor(rng() * groupCount);
    drawn[pick] = at(drawn, pick) + 1;
  }
  return Float64Array.from(groupOfImage, (g) => at(drawn, g));
}

/** Maps group ids to dense indices 0..G-1. */
export function indexGroups(groups: readonly string[]): { groupOfImage: number[]; groupCount: number } {
  const ids = new Map<string, number>();
  const groupOfImage = groups.map((g) => {
    const known = ids.get(g);
    if (known !== undefined) return known;
    ids.set(g, ids.size);
    return ids.size - 1;
  });
  return { groupOfImage, groupCount: ids.size };
}

/** Precomputed, weight-ready views of one evaluation for fast resampling. */
interface Prepared {
  readonly labels: readonly number[];
  readonly correct: readonly boolean[];
  readonly k: number;
  /** Per class: image order by descending score, and each image's score. */
  readonly orders: readonly (readonly number[])[];
  readonly scores: readonly Float64Array[];
}

function prepare(labels: readonly number[], probabilities: ProbabilityRows, k: number): Prepared {
  const scores = Array.from({ length: k }, (_, j) => Float64Array.from(probabilities, (row) => at(row, j)));
  return {
    labels,
    correct: labels.map((label, i) => argmax(at(probabilities, i)) === label),
    k,
    scores,
    orders: scores.map((s) => descendingOrder(s)),
  };
}

function weightedAccuracy(p: Prepared, w: Float64Array): number {
  let hits = 0;
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    total += wi;
    if (p.correct[i]) hits += wi;
  }
  return hits / total;
}

function weightedBalancedAccuracy(p: Prepared, w: Float64Array): number {
  const hits = new Float64Array(p.k);
  const support = new Float64Array(p.k);
  // One label per weight (prepare), each a class index below k: the hot loop reads unchecked.
  for (let i = 0; i < w.length; i++) {
    const label = p.labels[i]!;
    support[label]! += w[i]!;
    if (p.correct[i]) hits[label]! += w[i]!;
  }
  let sum = 0;
  let present = 0;
  support.forEach((s, j) => {
    if (s > 0) {
      sum += at(hits, j) / s;
      present++;
    }
  });
  return present === 0 ? Number.NaN : sum / present;
}

/** Weighted one-vs-rest AUC of class j (trapezoids between distinct scores); NaN if undefined. */
function weightedAuc(p: Prepared, j: number, w: Float64Array): number {
  const order = at(p.orders, j);
  const score = at(p.scores, j);
  let tp = 0;
  let fp = 0;
  let lastTp = 0;
  let lastFp = 0;
  let area = 0;
  // `order` is a permutation of the image indices and `w` holds one weight per image.
  for (let r = 0; r < order.length; r++) {
    const i = order[r]!;
    if (p.labels[i] === j) tp += w[i]!;
    else fp += w[i]!;
    const next = order[r + 1];
    if (next === undefined || score[next] !== score[i]) {
      area += ((fp - lastFp) * (tp + lastTp)) / 2;
      lastTp = tp;
      lastFp = fp;
    }
  }
  return tp === 0 || fp === 0 ? Number.NaN : area / (tp * fp);
}

function weightedMacroAuc(p: Prepared, w: Float64Array): number {
  let sum = 0;
  let defined = 0;
  for (let j = 0; j < p.k; j++) {
    const auc = weightedAuc(p, j, w);
    if (!Number.isNaN(auc)) {
      sum += auc;
      defined++;
    }
  }
  return defined === 0 ? Number.NaN : sum / defined;
}

function interval(estimate: number, samples: number[], level: number): ConfidenceInterval {
  const sorted = samples.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { estimate, lower: percentile(sorted, alpha), upper: percentile(sorted, 1 - alpha) };
}

/** Throws E_INPUT unless there is one group id per image. */
function checkOneGroupPerImage(groups: readonly string[], images: number): void {
  if (groups.length !== images) {
    throw expected({
      what: `one group id per image (${images})`,
      where: 'the bootstrap groups',
      received: `${groups.length} group ids`,
      fix: 'pass one per image',
      code: 'E_INPUT',
    });
  }
}

/**
 * Percentile bootstrap intervals for accuracy, balanced accuracy and macro one-vs-rest AUC, resampling
 * groups (HAM10000 lesions) with replacement so that images of one lesion move together. Seeded.
 */
export function bootstrapMetrics(
  labels: readonly number[],
  probabilities: ProbabilityRows,
  groups: readonly string[],
  k: number,
  options: BootstrapOptions = {},
): BootstrapResult {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  checkOneGroupPerImage(groups, labels.length);
  const p = prepare(labels, probabilities, k);
  const { groupOfImage, groupCount } = indexGroups(groups);
  const rng = createRng(seed);
  const samples = { accuracy: [] as number[], balancedAccuracy: [] as number[], macroAuc: [] as number[] };
  for (let r = 0; r < resamples; r++) {
    const w = resampleGroupWeights(groupOfImage, groupCount, rng);
    samples.accuracy.push(weightedAccuracy(p, w));
    samples.balancedAccuracy.push(weightedBalancedAccuracy(p, w));
    samples.macroAuc.push(weightedMacroAuc(p, w));
  }
  const ones = new Float64Array(labels.length).fill(1);
  return {
    accuracy: interval(weightedAccuracy(p, ones), samples.accuracy, level),
    balancedAccuracy: interval(weightedBalancedAccuracy(p, ones), samples.balancedAccuracy, level),
    macroAuc: interval(weightedMacroAuc(p, ones), samples.macroAuc, level),
    resamples,
    groups: groupCount,
    seed,
    level,
  };
}

/**
 * Accuracy, balanced accuracy and macro AUC with a weight (multiplicity) per image: the statistic of one
 * bootstrap resample. Integer weights give the same values as repeating each image that many times.
 */
export function weightedHeadline(
  labels: readonly number[],
  probabilities: ProbabilityRows,
  k: number,
  weights: Float64Array,
): { accuracy: number; balancedAccuracy: number; macroAuc: number } {
  if (weights.length !== labels.length) {
    throw expected({
      what: `one weight per image (${labels.length})`,
      where: 'weightedHeadline',
      received: `${weights.length} weights`,
      fix: 'pass one weight per image',
      code: 'E_INPUT',
    });
  }
  const p = prepare(labels, probabilities, k);
  return {
    accuracy: weightedAccuracy(p, weights),
    balancedAccuracy: weightedBalancedAccuracy(p, weights),
    macroAuc: weightedMacroAuc(p, weights),
  };
}

/** Weighted sensitivity at each target specificity on one class's ROC curve (NaN where undefined). */
function weightedSensitivities(
  positive: readonly boolean[],
  score: Float64Array,
  order: readonly number[],
  targets: readonly number[],
  w: Float64Array,
): number[] {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < w.length; i++) {
    if (positive[i]) positives += w[i]!;
    else negatives += w[i]!;
  }
  if (positives === 0 || negatives === 0) return targets.map(() => Number.NaN);
  const best = targets.map(() => 0);
  let tp = 0;
  let fp = 0;
  // `order` is a permutation of the image indices and `w` holds one weight per image.
  for (let r = 0; r < order.length; r++) {
    const i = order[r]!;
    if (positive[i]) tp += w[i]!;
    else fp += w[i]!;
    const next = order[r + 1];
    if (next !== undefined && score[next] === score[i]) continue;
    targets.forEach((t, k) => {
      if (fp / negatives <= 1 - t + 1e-12 && tp / positives > at(best, k)) best[k] = tp / positives;
    });
  }
  return best;
}

/**
 * Lesion-bootstrap percentile intervals of the sensitivity at each target specificity (the highest
 * sensitivity whose specificity reaches the target, as `sensitivityAtSpecificity`), resampling groups with
 * replacement. Same seed, resamples and level as {@link bootstrapMetrics}; one interval per target.
 */
export function bootstrapSensitivityAtSpecificity(
  positive: readonly boolean[],
  scores: ArrayLike<number>,
  groups: readonly string[],
  targets: readonly number[],
  options: BootstrapOptions = {},
): ConfidenceInterval[] {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  checkOneGroupPerImage(groups, positive.length);
  const score = Float64Array.from(scores);
  const order = descendingOrder(score);
  const { groupOfImage, groupCount } = indexGroups(groups);
  const rng = createRng(options.seed ?? 0);
  const samples = targets.map(() => [] as number[]);
  for (let r = 0; r < resamples; r++) {
    const w = resampleGroupWeights(groupOfImage, groupCount, rng);
    weightedSensitivities(positive, score, order, targets, w).forEach((v, k) => {
      at(samples, k).push(v);
    });
  }
  const ones = new Float64Array(positive.length).fill(1);
  const estimates = weightedSensitivities(positive, score, order, targets, ones);
  return targets.map((_, k) => interval(at(estimates, k), at(samples, k), level));
}
