import { describe, expect, it } from 'vitest';
import { binomialTwoSidedP, chiSquare1Sf, mcnemarTest } from '../../../src/core/eval/mcnemar.js';

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
