/**
 * Holm–Bonferroni adjusted p-values of a family of tests, in the input's order: the i-th smallest p is multiplied
 * by (m − i + 1), capped at 1, and made non-decreasing in the sorted order. Rejecting where the adjusted value is
 * below α keeps the chance of any false rejection in the family at most α, whatever the tests' dependence.
 */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
