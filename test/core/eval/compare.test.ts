import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { buildComparison, pairwiseMcNemar } from '../../../src/core/eval/compare.js';
import { headlineComparisonChart, recallComparisonChart } from '../../../src/core/eval/compare-charts.js';
import { holmAdjusted } from '../../../src/core/eval/holm.js';
import { at } from '../../../src/core/util/at.js';
import { syntheticModel } from '../../support/synthetic-model.js';

const labels = Array.from({ length: 60 }, (_, i) => i % 3);

describe('pairwiseMcNemar', () => {
  it('tests every pair on shared images and counts discordant pairs in the right direction', () => {
    const strong = syntheticModel('strong', labels, () => true);
    const weak = syntheticModel('weak', labels, (i) => i % 2 === 0);
    const mid = syntheticModel('mid', labels, (i) => i % 4 !== 0);
    const tests = pairwiseMcNemar([strong, weak, mid]);
    expect(tests.map((t) => `${t.modelA}/${t.modelB}`)).toEqual(['strong/weak', 'strong/mid', 'weak/mid']);
    expect(tests[0]).toMatchObject({ b: 30, c: 0, images: 60, method: 'chi-square-cc' });
    expect(at(tests, 0).pValue).toBeLessThan(1e-6);
    expect(tests[1]).toMatchObject({ b: 15, c: 0, method: 'exact-binomial' });
    // three pairs: each p adjusted for the family (Holm), never below the raw p
    expect(tests.map((t) => t.holmPValue)).toEqual(holmAdjusted(tests.map((t) => t.pValue)));
    for (const t of tests) expect(t.holmPValue).toBeGreaterThanOrEqual(t.pValue);
    expect(at(tests, 0).holmPValue).toBeCloseTo(3 * at(tests, 0).pValue, 12);
  });
  it('uses only the images both models saw', () => {
    const a = syntheticModel('a', labels, () => true);
    const b = syntheticModel(
      'b',
      labels.slice(0, 10),
      () => false,
      labels.slice(0, 10).map((_, i) => `img${i}`),
    );
    const [only] = pairwiseMcNemar([a, b]);
    expect(only).toMatchObject({ images: 10, b: 10, c: 0 });
    expect(only?.holmPValue).toBe(only?.pValue); // one pair: nothing to adjust for
  });
});

describe('pairwiseMcNemar by lesion', () => {
  // 60 images, two per lesion: lesion k holds img(2k) and img(2k+1)
  const lesionOf = labels.map((_, i) => `lesion${Math.floor(i / 2)}`);
  const withLesions = (m: ReturnType<typeof syntheticModel>) => ({ ...m, groupIds: lesionOf });

  it('clusters the test by lesion when lesions have several shared images', () => {
    const a = withLesions(syntheticModel('a', labels, () => true));
    const b = withLesions(syntheticModel('b', labels, (i) => i >= 20));
    const t = at(pairwiseMcNemar([a, b]), 0);
    // 20 images only A got right, in 10 lesions of 2: sign flips over 10 lesions with d = 2
    expect(t).toMatchObject({ b: 20, c: 0, images: 60, lesions: 30, method: 'exact-sign-flip' });
    expect(t.pValue).toBeCloseTo(2 / 1024, 15);
    // the same images taken as independent: exact binomial on 20 discordant pairs
    const plain = at(
      pairwiseMcNemar([syntheticModel('a', labels, () => true), syntheticModel('b', labels, (i) => i >= 20)]),
      0,
    );
    expect(plain).toMatchObject({ method: 'exact-binomial', lesions: null });
    expect(plain.pValue).toBeCloseTo(2 / 2 ** 20, 15);
  });
  it('keeps the test on images when every shared image is its own lesion', () => {
    const own = labels.map((_, i) => `l${i}`);
    const a = { ...syntheticModel('a', labels, () => true), groupIds: own };
    const b = { ...syntheticModel('b', labels, (i) => i % 2 === 0), groupIds: own };
    expect(pairwiseMcNemar([a, b])[0]).toMatchObject({ method: 'chi-square-cc', lesions: 60 });
  });
  it("falls back to the test on images when the two evaluations disagree on an image's lesion", () => {
    const a = withLesions(syntheticModel('a', labels, () => true));
    const b = { ...syntheticModel('b', labels, (i) => i % 2 === 0), groupIds: labels.map(() => 'x') };
    expect(pairwiseMcNemar([a, b])[0]).toMatchObject({ b: 30, c: 0, method: 'chi-square-cc', lesions: null });
  });
  it('clusters by the lesion ids of the one evaluation that recorded them', () => {
    const a = withLesions(syntheticModel('a', labels, () => true));
    const b = syntheticModel('b', labels, (i) => i >= 20);
    expect(pairwiseMcNemar([a, b])[0]).toMatchObject({ method: 'exact-sign-flip', lesions: 30 });
    expect(pairwiseMcNemar([b, a])[0]).toMatchObject({ b: 0, c: 20, method: 'exact-sign-flip', lesions: 30 });
  });
});

describe('buildComparison', () => {
  it('keeps metrics and costs, drops per-image arrays, and makes compilable charts', () => {
    const data = buildComparison(
      [syntheticModel('x', labels, () => true), syntheticModel('y', labels, (i) => i > 5)],
      { notes: ['n'] },
    );
    expect(data.models.map((m) => m.name)).toEqual(['x', 'y']);
    expect(Object.keys(at(data.models, 0))).not.toContain('probabilities');
    expect(data.pairwise).toHaveLength(1);
    for (const chart of [recallComparisonChart(data), headlineComparisonChart(data)])
      expect(() => compile(chart.spec)).not.toThrow();
  });
  it('refuses fewer than two models or different class lists', () => {
    const x = syntheticModel('x', labels, () => true);
    expect(() => buildComparison([x])).toThrow(
      'expected at least two models for the comparison but received 1 model(s); compare at least two',
    );
    const other = { ...x, name: 'z', metrics: { ...x.metrics, classes: ['p', 'q', 'r'] } };
    expect(() => buildComparison([x, other])).toThrow(
      'expected the classes of x (a, b, c) for z in the comparison but received the classes p, q, r; compare models of one label set',
    );
  });
});
