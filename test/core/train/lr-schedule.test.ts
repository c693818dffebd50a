import { describe, expect, it } from 'vitest';
import { cosineFactor } from '../../../src/core/train/lr-schedule.js';

describe('cosineFactor', () => {
  it('warms up linearly to the full rate, then decays monotonically towards minFactor', () => {
    const total = 100;
    const factors = Array.from({ length: total }, (_, step) => cosineFactor(step, total, 10, 0.1));
    expect(factors.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) / 10));
    expect(factors[10]).toBe(1);
    for (let i = 11; i < total; i++) expect(factors[i]!).toBeLessThan(factors[i - 1]!);
    expect(factors[total - 1]!).toBeGreaterThan(0.1);
    expect(factors[total - 1]!).toBeLessThan(0.11);
    // half-way through the decay: the mean of the two ends
    expect(cosineFactor(55, total, 10, 0.1)).toBeCloseTo(0.55, 12);
  });

  it('starts at the full rate without warm-up and never goes below minFactor past the end', () => {
    expect(cosineFactor(0, 20, 0, 0)).toBe(1);
    expect(cosineFactor(19, 20, 0, 0)).toBeCloseTo((1 + Math.cos((Math.PI * 19) / 20)) / 2, 12);
    expect(cosineFactor(40, 20, 0, 0.2)).toBeCloseTo(0.2, 12);
  });
});
