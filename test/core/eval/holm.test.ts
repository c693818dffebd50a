import { describe, expect, it } from 'vitest';
import { holmAdjusted } from '../../../src/core/eval/holm.js';

describe('holmAdjusted', () => {
  it('multiplies the i-th smallest p by (m - i + 1), keeps the order monotone and the input order', () => {
    // sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> raised to 0.06
    const adjusted = holmAdjusted([0.01, 0.04, 0.03, 0.005]);
    for (const [i, want] of [0.03, 0.06, 0.06, 0.02].entries()) expect(adjusted[i]).toBeCloseTo(want, 15);
  });
  it('caps at 1, leaves one test as it is, and gives nothing for none', () => {
    expect(holmAdjusted([0.4, 0.6, 0.2])).toEqual([0.8, 0.8, 0.6000000000000001]);
    expect(holmAdjusted([0.9, 0.7])).toEqual([1, 1]);
    expect(holmAdjusted([0.0123])).toEqual([0.0123]);
    expect(holmAdjusted([])).toEqual([]);
  });
  it('gives tied p-values the same adjusted value', () => {
    const [a, b, c] = holmAdjusted([0.01, 0.01, 0.5]);
    expect(a).toBe(b);
    expect(a).toBeCloseTo(0.03, 15);
    expect(c).toBeCloseTo(0.5, 15);
  });
});
