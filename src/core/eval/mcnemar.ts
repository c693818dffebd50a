import { expected } from '../errors.js';

/** McNemar's test of two classifiers on the same images. */
export interface McNemarResult {
  /** Images model A got right and model B got wrong. */
  readonly b: number;
  /** Images model A got wrong and model B got right. */
  readonly c: number;
  /**
   * Images taken as independent: `exact-binomial` when b + c is below the threshold, else `chi-square-cc`
   * (continuity-corrected). Clustered by lesion ({@link clusteredMcNemarTest}): `exact-sign-flip` when fewer
   * lesions than the threshold are discordant, else `clustered-chi-square` (Durkalski et al. 2003).
   */
  readonly method: 'exact-binomial' | 'chi-square-cc' | 'exact-sign-flip' | 'clustered-chi-square';
  /** The chi-square statistic (null for the exact tests). */
  readonly statistic: number | null;
  /** Two-sided p-value. */
  readonly pValue: number;
}

/** Below this many discordant pairs McNemar uses the exact binomial test (a common rule of thumb). */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test from per-image correctness of models A and B: exact two-sided binomial test on the
 * discordant pairs when b + c < `exactBelow` (default 25), else chi-square with continuity correction.
 */
export function mcnemarTest(
  correctA: readonly boolean[],
  correctB: readonly boolean[],
  options: { exactBelow?: number } = {},
): McNemarResult {
  if (correctA.length !== correctB.length) {
    throw expected({
      what: `as many predictions from model B as from model A (${correctA.length})`,
      where: 'the McNemar test',
      received: `${correctB.length}`,
      fix: 'compare them on the same images',
      code: 'E_INPUT',
    });
  }
  const d = discordance(correctA, correctB);
  return mcnemarFromCounts(count(d, 1), count(d, -1), options);
}

/** Per image: +1 when only model A got it right, −1 when only model B did, 0 when both or neither. */
function discordance(correctA: readonly boolean[], correctB: readonly boolean[]): number[] {
  return correctA.map((a, i) => (a === correctB[i] ? 0 : a ? 1 : -1));
}

const count = (values: readonly number[], value: number) => values.filter((v) => v === value).length;

/** McNemar's test from the discordant counts b and c. */
export function mcnemarFromCounts(
  b: number,
  c: number,
  options: { exactBelow?: number } = {},
): McNemarResult {
  if (b + c < (options.exactBelow ?? MCNEMAR_EXACT_BELOW)) {
    return {
      b,
      c,
      method: 'exact-binomial',
      statistic: null,
      pValue: binomialTwoSidedP(Math.min(b, c), b + c),
    };
  }
  const statistic = Math.max(Math.abs(b - c) - 1, 0) ** 2 / (b + c);
  return { b, c, method: 'chi-square-cc', statistic, pValue: chiSquare1Sf(statistic) };
}

/**
 * McNemar's test when images come in clusters (a lesion's several images are not independent), from per-image
 * correctness and each image's cluster id. Per cluster k, d_k = b_k − c_k (images only A got right minus images
 * only B got right). Under the null each d_k is as likely positive as negative, so the test flips signs of whole
 * clusters: exact over all 2^m sign patterns of the m clusters with d_k ≠ 0 when m is below `exactBelow`
 * (default 25), else Durkalski et al.'s statistic (Σ d_k)² / Σ d_k² against chi-square with 1 degree of freedom
 * (Stat Med 2003;22:2417; no continuity correction). With one image per cluster both reduce to McNemar's test on
 * images (exact binomial, and chi-square without continuity correction).
 */
export function clusteredMcNemarTest(
  correctA: readonly boolean[],
  correctB: readonly boolean[],
  clusters: readonly string[],
  options: { exactBelow?: number } = {},
): McNemarResult {
  if (correctA.length !== correctB.length || clusters.length !== correctA.length) {
    throw expected({
      what: `as many predictions from model B and cluster ids as predictions from model A (${correctA.length})`,
      where: 'the clustered McNemar test',
      received: `${correctB.length} and ${clusters.length}`,
      fix: 'compare them on the same images',
      code: 'E_INPUT',
    });
  }
  const perImage = discordance(correctA, correctB);
  const d = new Map<string, number>();
  perImage.forEach((diff, i) => {
    const k = clusters[i] ?? '';
    d.set(k, (d.get(k) ?? 0) + diff);
  });
  const nonzero = [...d.values()].filter((v) => v !== 0);
  const total = nonzero.reduce((s, v) => s + v, 0);
  const base = { b: count(perImage, 1), c: count(perImage, -1) };
  if (nonzero.length === 0 || nonzero.length < (options.exactBelow ?? MCNEMAR_EXACT_BELOW)) {
    return { ...base, method: 'exact-sign-flip', statistic: null, pValue: signFlipTwoSidedP(nonzero, total) };
  }
  const statistic = total ** 2 / nonzero.reduce((s, v) => s + v * v, 0);
  return { ...base, method: 'clustered-chi-square', statistic, pValue: chiSquare1Sf(statistic) };
}

/**
 * P(|Σ s_k d_k| ≥ |observed|) over independent fair signs s_k = ±1: the exact distribution of the signed sum,
 * built one cluster at a time over the integer sums (d_k are integers).
 */
function signFlipTwoSidedP(d: readonly number[], observed: number): number {
  const range = d.reduce((s, v) => s + Math.abs(v), 0);
  let probs = new Float64Array(2 * range + 1);
  probs[range] = 1;
  for (const v of d) {
    const next = new Float64Array(probs.length);
    probs.forEach((p, i) => {
      if (p === 0) return;
      next[i + v] = (next[i + v] ?? 0) + p / 2;
      next[i - v] = (next[i - v] ?? 0) + p / 2;
    });
    probs = next;
  }
  let p = 0;
  probs.forEach((q, i) => {
    if (Math.abs(i - range) >= Math.abs(observed)) p += q;
  });
  return Math.min(1, p);
}

/** Two-sided exact binomial p-value for k successes of n at p = 0.5: min(1, 2 * P(X <= min(k, n - k))). */
export function binomialTwoSidedP(k: number, n: number): number {
  if (n === 0) return 1;
  const m = Math.min(k, n - k);
  const logHalfN = -n * Math.LN2;
  let logC = 0; // log C(n, 0)
  let total = 0;
  for (let i = 0; i <= m; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    total += Math.exp(logC + logHalfN);
  }
  return Math.min(1, 2 * total);
}

/** Survival function of the chi-square distribution with 1 degree of freedom: Q(1/2, x/2). */
export function chiSquare1Sf(x: number): number {
  if (x <= 0) return 1;
  return gammaQHalf(x / 2);
}

const LOG_GAMMA_HALF = 0.5 * Math.log(Math.PI);

/** Upper regularized incomplete gamma Q(1/2, x): series below x = 1.5, continued fraction above. */
function gammaQHalf(x: number): number {
  const a = 0.5;
  const logPrefix = -x + a * Math.log(x) - LOG_GAMMA_HALF;
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 500 && Math.abs(term) > Math.abs(sum) * 1e-17; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  // Modified Lentz continued fraction for Gamma(a, x)
  const tiny = 1e-300;
  let bb = x + 1 - a;
  let cc = 1 / tiny;
  let d = 1 / bb;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    bb += 2;
    d = an * d + bb;
    if (Math.abs(d) < tiny) d = tiny;
    cc = bb + an / cc;
    if (Math.abs(cc) < tiny) cc = tiny;
    d = 1 / d;
    const delta = d * cc;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}
