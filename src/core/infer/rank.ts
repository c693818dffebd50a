import { at } from '../util/at.js';

/** One class and its probability. */
export interface ClassScore {
  readonly label: string;
  readonly probability: number;
}

/** Classes sorted by probability, most probable first (ties keep class order). */
export function rankClasses(probabilities: ArrayLike<number>, classes: readonly string[]): ClassScore[] {
  return classes
    .map((label, i) => ({ label, probability: at(probabilities, i) }))
    .sort((a, b) => b.probability - a.probability);
}

/** The `k` most probable classes of {@link rankClasses} (none for `k` ≤ 0, all for `k` ≥ the class count). */
export function topK(probabilities: ArrayLike<number>, classes: readonly string[], k: number): ClassScore[] {
  return rankClasses(probabilities, classes).slice(0, Math.max(0, k));
}
