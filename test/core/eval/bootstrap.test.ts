import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bootstrapMetrics,
  createRng,
  indexGroups,
  percentile,
  resampleGroupWeights,
  weightedHeadline,
} from '../../../src/core/eval/bootstrap.js';
import { accuracy, balancedAccuracy, predictedClasses } from '../../../src/core/eval/metrics.js';
import { macroAuc, oneVsRestRoc } from '../../../src/core/eval/roc.js';
import { at } from '../../../src/core/util/at.js';

const golden = JSON.parse(
  await readFile(join(import.meta.dirname, '../../golden/metrics/uniform-200.json'), 'utf8'),
) as {
  labels: number[];
  probabilities: number[][];
  groups: string[];
  expected: { macroAuc: number; accuracy: number };
};

describe('createRng', () => {
  it('is deterministic per seed and uniform-ish in [0, 1)', () => {
    const a = createRng(7);
    const b = createRng(7);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.02);
    expect(createRng(8)()).not.toBe(createRng(7)());
  });
});

describe('percentile', () => {
  it('interpolates linearly like numpy', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([10, 20, 30], 0.025)).toBeCloseTo(10.5, 12);
    expect(percentile([5], 0.975)).toBe(5);
  });
});

describe('resampleGroupWeights', () => {
  it('moves all images of a group together and draws as many groups as there are', () => {
    const groups = ['a', 'a', 'b', 'c', 'c', 'c'];
    const { groupOfImage, groupCount } = indexGroups(groups);
    expect(groupCount).toBe(3);
    const rng = createRng(1);
    for (let r = 0; r < 50; r++) {
      const w = resampleGroupWeights(groupOfImage, groupCount, rng);
      expect(w[0]).toBe(w[1]);
      expect(w[3]).toBe(w[4]);
      expect(w[4]).toBe(w[5]);
      expect(at(w, 0) + at(w, 2) + at(w, 3)).toBe(3);
    }
  });
});

describe('weightedHeadline', () => {
  it('with integer weights equals the metrics of the data repeated that many times', () => {
    const { labels, probabilities } = golden;
    const rng = createRng(3);
    const weights = Float64Array.from(labels, () => Math.floor(rng() * 3));
    const repLabels: number[] = [];
    const repProbs: number[][] = [];
    labels.forEach((l, i) => {
      for (let t = 0; t < at(weights, i); t++) {
        repLabels.push(l);
        repProbs.push(at(probabilities, i));
      }
    });
    const w = weightedHeadline(labels, probabilities, 7, weights);
    const preds = predictedClasses(repProbs);
    expect(w.accuracy).toBeCloseTo(accuracy(repLabels, preds), 12);
    expect(w.balancedAccuracy).toBeCloseTo(balancedAccuracy(repLabels, preds, 7), 12);
    expect(w.macroAuc).toBeCloseTo(macroAuc(oneVsRestRoc(repLabels, repProbs, 7)), 12);
  });

  it('rejects a weight list of another length than the images', () => {
    const { labels, probabilities } = golden;
    const weights = new Float64Array(labels.length - 1).fill(1);
    expect(() => weightedHeadline(labels, probabilities, 7, weights)).toThrow(
      `expected one weight per image (${labels.length}) for weightedHeadline but received ${labels.length - 1} weights; pass one weight per image`,
    );
  });
});

describe('bootstrapMetrics', () => {
  const { labels, probabilities, groups } = golden;
  const run = (seed: number, g = groups) =>
    bootstrapMetrics(labels, probabilities, g, 7, { resamples: 300, seed });

  it('estimates equal the plain metrics and intervals bracket them', () => {
    const r = run(1);
    expect(r.macroAuc.estimate).toBeCloseTo(golden.expected.macroAuc, 12);
    expect(r.accuracy.estimate).toBeCloseTo(golden.expected.accuracy, 12);
    for (const ci of [r.accuracy, r.balancedAccuracy, r.macroAuc]) {
      expect(ci.lower).toBeLessThan(ci.estimate);
      expect(ci.upper).toBeGreaterThan(ci.estimate);
      expect(ci.upper - ci.lower).toBeLessThan(0.3);
    }
    expect(r.groups).toBe(new Set(groups).size);
  });
  it('is reproducible with a seed and changes with another', () => {
    expect(run(5)).toEqual(run(5));
    expect(run(5).accuracy.lower).not.toBe(run(6).accuracy.lower);
  });
  it('resamples groups: copies of an image in one group widen the interval as if there were one image', () => {
    // 50 distinct images, each copied 4 times (as 4 images of one lesion would be near-copies)
    const n = 50;
    const copies = 4;
    const base = { labels: labels.slice(0, n), probabilities: probabilities.slice(0, n) };
    const copied = {
      labels: base.labels.flatMap((l) => Array<number>(copies).fill(l)),
      probabilities: base.probabilities.flatMap((row) => Array<number[]>(copies).fill(row)),
    };
    const options = { resamples: 300, seed: 2 };
    const lesions = copied.labels.map((_, i) => `L${Math.floor(i / copies)}`);
    const grouped = bootstrapMetrics(copied.labels, copied.probabilities, lesions, 7, options);
    const distinct = base.labels.map((_, i) => String(i));
    const once = bootstrapMetrics(base.labels, base.probabilities, distinct, 7, options);
    const asIndependent = copied.labels.map((_, i) => String(i));
    const naive = bootstrapMetrics(copied.labels, copied.probabilities, asIndependent, 7, options);
    expect(grouped.groups).toBe(n);
    const width = (ci: { lower: number; upper: number }) => ci.upper - ci.lower;
    for (const metric of ['accuracy', 'balancedAccuracy', 'macroAuc'] as const) {
      // grouped copies resample exactly like the 50 images themselves (same seed, same draws)
      expect(grouped[metric].lower).toBeCloseTo(once[metric].lower, 12);
      expect(grouped[metric].upper).toBeCloseTo(once[metric].upper, 12);
      // counted as 200 independent images the interval is about sqrt(4) = 2 times too narrow
      expect(width(grouped[metric])).toBeGreaterThan(1.4 * width(naive[metric]));
    }
  });
  it('rejects a group list of the wrong length', () => {
    expect(() => bootstrapMetrics(labels, probabilities, ['a'], 7)).toThrow(
      'expected one group id per image (200) for the bootstrap groups but received 1 group ids; pass one per image',
    );
  });
});
