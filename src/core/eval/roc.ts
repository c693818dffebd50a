import { at } from '../util/at.js';
import { mean, type ProbabilityRows } from './metrics.js';

/** A receiver operating characteristic curve; `thresholds[0]` is +Infinity (no image called positive). */
export interface RocCurve {
  readonly fpr: number[];
  readonly tpr: number[];
  readonly thresholds: number[];
}

/** One class's one-vs-rest ROC: `null` when the labels hold no positive or no negative image. */
export interface ClassRoc {
  readonly auc: number | null;
  readonly curve: RocCurve | null;
}

/** Sensitivity reached at (at least) a target specificity, read off the full ROC curve. */
export interface SensitivityAtSpecificity {
  readonly targetSpecificity: number;
  readonly sensitivity: number;
  /** Specificity actually reached at that operating point (>= the target). */
  readonly specificity: number;
  /** Score threshold of the operating point: call positive when score >= threshold. */
  readonly threshold: number;
}

/** Indices of `scores` sorted by descending score; ties keep scikit-learn's order (reversed stable sort). */
export function descendingOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => at(scores, a) - at(scores, b) || a - b);
  return order.reverse();
}

/**
 * scikit-learn's `roc_curve`: one point per distinct score, then (with `dropIntermediate`, sklearn's default)
 * drops points that are collinear with their neighbours. Returns null without positives or negatives.
 */
export function rocCurve(
  positive: readonly boolean[],
  scores: ArrayLike<number>,
  options: { dropIntermediate?: boolean } = {},
): RocCurve | null {
  const order = descendingOrder(scores);
  let tps = [0];
  let fps = [0];
  let thresholds = [Number.POSITIVE_INFINITY];
  let tp = 0;
  order.forEach((index, rank) => {
    if (positive[index]) tp++;
    const score = at(scores, index);
    const next = order[rank + 1];
    if (next === undefined || at(scores, next) !== score) {
      tps.push(tp);
      fps.push(rank + 1 - tp);
      thresholds.push(score);
    }
  });
  // The last image always closes a point, so the curve ends at all positives and all negatives.
  const p = tp;
  const n = order.length - tp;
  if (p === 0 || n === 0) return null;
  if ((options.dropIntermediate ?? true) && tps.length > 3) {
    const keep = keepNonCollinear(fps.slice(1), tps.slice(1));
    tps = [0, ...keep.map((i) => at(tps, i + 1))];
    fps = [0, ...keep.map((i) => at(fps, i + 1))];
    thresholds = [Number.POSITIVE_INFINITY, ...keep.map((i) => at(thresholds, i + 1))];
  }
  return { fpr: fps.map((v) => v / n), tpr: tps.map((v) => v / p), thresholds };
}

/** sklearn's drop_intermediate rule: keep ends and points where the second difference is non-zero. */
function keepNonCollinear(fps: readonly number[], tps: readonly number[]): number[] {
  const keep = [0];
  for (let i = 1; i < fps.length - 1; i++) {
    const d2f = at(fps, i + 1) - 2 * at(fps, i) + at(fps, i - 1);
    const d2t = at(tps, i + 1) - 2 * at(tps, i) + at(tps, i - 1);
    if (d2f !== 0 || d2t !== 0) keep.push(i);
  }
  keep.push(fps.length - 1);
  return keep;
}

/** Area under a piecewise-linear curve (numpy's trapezoid rule). */
export function trapezoidArea(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) {
    area += ((at(x, i) - at(x, i - 1)) * (at(y, i) + at(y, i - 1))) / 2;
  }
  return area;
}

/** Area under the ROC curve (sklearn's `roc_auc_score` for a binary problem); null if undefined. */
export function rocAuc(positive: readonly boolean[], scores: ArrayLike<number>): number | null {
  const curve = rocCurve(positive, scores);
  return curve === null ? null : trapezoidArea(curve.fpr, curve.tpr);
}

/** One-vs-rest ROC curve and AUC of every class (sklearn's default curve, intermediate points dropped). */
export function oneVsRestRoc(
  labels: readonly number[],
  probabilities: ProbabilityRows,
  k: number,
): ClassRoc[] {
  return Array.from({ length: k }, (_, j) => {
    const curve = rocCurve(
      labels.map((label) => label === j),
      probabilities.map((row) => at(row, j)),
    );
    return { curve, auc: curve === null ? null : trapezoidArea(curve.fpr, curve.tpr) };
  });
}

/** Mean of the defined per-class AUCs (classes without positives are left out); NaN if none is defined. */
export function macroAuc(rocs: readonly ClassRoc[]): number {
  return mean(rocs.flatMap((r) => (r.auc === null ? [] : [r.auc])));
}

/**
 * Highest sensitivity whose specificity is at least `targetSpecificity`, from the full ROC curve of one
 * class against the rest (e.g. melanoma at 80/90/95% specificity). Null when the curve is undefined.
 */
export function sensitivityAtSpecificity(
  positive: readonly boolean[],
  scores: ArrayLike<number>,
  targetSpecificity: number,
): SensitivityAtSpecificity | null {
  const curve = rocCurve(positive, scores, { dropIntermediate: false });
  if (curve === null) return null;
  let best = 0;
  curve.fpr.forEach((fpr, i) => {
    if (fpr <= 1 - targetSpecificity + 1e-12 && at(curve.tpr, i) > at(curve.tpr, best)) best = i;
  });
  return {
    targetSpecificity,
    sensitivity: at(curve.tpr, best),
    specificity: 1 - at(curve.fpr, best),
    threshold: at(curve.thresholds, best),
  };
}
