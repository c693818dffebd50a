import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/core/train/prng.js';

const moments = (draws: readonly number[]) => {
  const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
  const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length;
  return { mean, variance };
};

describe('Prng distributions', () => {
  it('draws standard normals and gammas with the right first two moments', () => {
    const rng = new Prng(3);
    const normal = moments(Array.from({ length: 40000 }, () => rng.normal()));
    expect(normal.mean).toBeCloseTo(0, 1);
    expect(normal.variance).toBeCloseTo(1, 1);
    for (const shape of [0.3, 2.5]) {
      // Gamma(k, 1): mean k, variance k
      const gamma = moments(Array.from({ length: 40000 }, () => rng.gamma(shape)));
      expect(Math.abs(gamma.mean - shape)).toBeLessThan(0.05 * Math.max(1, shape));
      expect(Math.abs(gamma.variance - shape)).toBeLessThan(0.1 * Math.max(1, shape));
    }
  });

  it('draws Beta(a, b) in [0, 1] with mean a/(a+b) and variance ab/((a+b)^2(a+b+1)), U-shaped below 1', () => {
    const rng = new Prng(5);
    for (const [a, b] of [
      [0.2, 0.2],
      [2, 5],
    ] as const) {
      const draws = Array.from({ length: 40000 }, () => rng.beta(a, b));
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...draws)).toBeLessThanOrEqual(1);
      const { mean, variance } = moments(draws);
      expect(mean).toBeCloseTo(a / (a + b), 2);
      expect(variance).toBeCloseTo((a * b) / ((a + b) ** 2 * (a + b + 1)), 2);
    }
    const ushaped = Array.from({ length: 10000 }, () => rng.beta(0.2, 0.2));
    const ends = ushaped.filter((x) => x < 0.1 || x > 0.9).length;
    expect(ends / ushaped.length).toBeGreaterThan(0.5);
  });

  it('repeats its draws from a saved state', () => {
    const a = new Prng(9);
    a.beta(0.4, 0.4);
    const state = a.getState();
    const next = [a.beta(0.4, 0.4), a.gamma(3), a.normal()];
    const b = new Prng(1);
    b.setState(state);
    expect([b.beta(0.4, 0.4), b.gamma(3), b.normal()]).toEqual(next);
  });
});
