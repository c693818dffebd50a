import { describe, expect, it } from 'vitest';
import {
  binomialTwoSidedP,
  chiSquare1Sf,
  clusteredMcNemarTest,
  mcnemarTest,
} from '../../../src/core/eval/mcnemar.js';

describe('mcnemarTest', () => {
  it('counts discordant pairs and uses the exact test below 25 of them', () => {
    const a = [true, true, true, false, false, true];
    const b = [true, false, false, true, false, true];
    const r = mcnemarTest(a, b);
    expect([r.b, r.c]).toEqual([2, 1]);
    expect(r.method).toBe('exact-binomial');
    expect(r.statistic).toBeNull();
    expect(r.pValue).toBe(1);
  });
  it('switches to continuity-corrected chi-square at 25 discordant pairs', () => {
    const a = [...new Array(20).fill(true), ...new Array(5).fill(false)];
    const b = [...new Array(20).fill(false), ...new Array(5).fill(true)];
    const r = mcnemarTest(a, b);
    expect(r.method).toBe('chi-square-cc');
    expect(r.statistic).toBeCloseTo(196 / 25, 12);
    expect(r.pValue).toBeCloseTo(0.005110260660855864, 10); // erfc(sqrt(7.84 / 2))
  });
  it('rejects predictions on different image counts', () => {
    expect(() => mcnemarTest([true], [true, false])).toThrow(
      'expected as many predictions from model B as from model A (1) for the McNemar test but received 2; compare them on the same images',
    );
  });
});

describe('binomialTwoSidedP and chiSquare1Sf', () => {
  it('match textbook values', () => {
    expect(binomialTwoSidedP(0, 10)).toBeCloseTo(2 / 1024, 15);
    expect(binomialTwoSidedP(5, 10)).toBe(1);
    expect(chiSquare1Sf(3.841458820694124)).toBeCloseTo(0.05, 12);
    expect(chiSquare1Sf(0)).toBe(1);
    // exact sums of binomial coefficients (Python fractions), n up to 3000 without overflow
    expect(binomialTwoSidedP(3, 20)).toBeCloseTo((2 * (1 + 20 + 190 + 1140)) / 2 ** 20, 15);
    expect(binomialTwoSidedP(17, 20)).toBe(binomialTwoSidedP(3, 20));
    expect(binomialTwoSidedP(40, 100)).toBeCloseTo(0.05688793364098079, 12);
    expect(binomialTwoSidedP(1450, 3000)).toBeCloseTo(0.07066904481175774, 10);
    expect(binomialTwoSidedP(10, 3000)).toBe(0); // 2·P(X <= 10) is about 1e-880: underflows to 0, never NaN
  });
});

describe('clusteredMcNemarTest', () => {
  /** Correctness of A and B for clusters given as [onlyA, onlyB, both] image counts. */
  function clustered(spec: readonly (readonly [number, number, number])[]) {
    const a: boolean[] = [];
    const b: boolean[] = [];
    const ids: string[] = [];
    spec.forEach(([onlyA, onlyB, both], k) => {
      const push = (x: boolean, y: boolean, n: number) => {
        for (let i = 0; i < n; i++) {
          a.push(x);
          b.push(y);
          ids.push(`lesion${k}`);
        }
      };
      push(true, false, onlyA);
      push(false, true, onlyB);
      push(true, true, both);
    });
    return [a, b, ids] as const;
  }

  it('flips whole lesions: 4 images only A got right in 3 lesions are weaker evidence than 4 lesions', () => {
    // d = 2, 1, 1: of the 8 sign patterns, only +4 and -4 reach |4|
    const r = clusteredMcNemarTest(
      ...clustered([
        [2, 0, 1],
        [1, 0, 0],
        [1, 0, 3],
      ]),
    );
    expect(r).toMatchObject({ b: 4, c: 0, method: 'exact-sign-flip', statistic: null });
    expect(r.pValue).toBeCloseTo(2 / 8, 15);
    // the same 4 images as independent pairs: 2 / 16
    expect(
      mcnemarTest(
        ...(clustered([
          [2, 0, 1],
          [1, 0, 0],
          [1, 0, 3],
        ]).slice(0, 2) as [boolean[], boolean[]]),
      ).pValue,
    ).toBeCloseTo(2 / 16, 15);
  });
  it('counts a lesion whose discordant images cancel as no evidence either way', () => {
    const r = clusteredMcNemarTest(
      ...clustered([
        [1, 1, 0],
        [1, 0, 0],
      ]),
    );
    expect(r).toMatchObject({ b: 2, c: 1, method: 'exact-sign-flip' });
    expect(r.pValue).toBe(1); // one discordant lesion: either sign is as extreme
  });
  it('is the exact binomial test with one image per lesion', () => {
    const spec = [...new Array(3).fill([1, 0, 0]), ...new Array(12).fill([0, 1, 0]), [0, 0, 1]];
    const r = clusteredMcNemarTest(...clustered(spec));
    expect(r.pValue).toBeCloseTo(binomialTwoSidedP(3, 15), 14);
  });
  it("uses Durkalski's chi-square from 25 discordant lesions", () => {
    // 20 lesions with 2 images only A got right, 10 with 1 only B got right: (40 - 10)^2 / (20 * 4 + 10) = 10
    const spec = [...new Array(20).fill([2, 0, 0]), ...new Array(10).fill([0, 1, 2])];
    const r = clusteredMcNemarTest(...clustered(spec));
    expect(r).toMatchObject({ b: 40, c: 10, method: 'clustered-chi-square' });
    expect(r.statistic).toBeCloseTo(10, 12);
    expect(r.pValue).toBeCloseTo(0.0015654022580025495, 12);
    // one image per lesion: the uncorrected McNemar statistic (b - c)^2 / (b + c)
    const single = clusteredMcNemarTest(
      ...clustered([...new Array(20).fill([1, 0, 0]), ...new Array(10).fill([0, 1, 0])]),
    );
    expect(single.statistic).toBeCloseTo(100 / 30, 12);
  });
  it('gives p = 1 without discordant lesions, whatever the exact threshold', () => {
    const r = clusteredMcNemarTest(
      ...clustered([
        [1, 1, 0],
        [0, 0, 2],
      ]),
      { exactBelow: 0 },
    );
    expect(r).toMatchObject({ b: 1, c: 1, pValue: 1 });
  });
  it('rejects cluster ids that do not match the predictions', () => {
    expect(() => clusteredMcNemarTest([true, false], [false, true], ['l1'])).toThrow(
      'expected as many predictions from model B and cluster ids as predictions from model A (2) for the clustered McNemar test but received 2 and 1; compare them on the same images',
    );
  });
});
