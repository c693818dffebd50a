import { describe, expect, it } from 'vitest';
import { classWeights, countLabels } from '../../../src/core/data/class-weights.js';

describe('classWeights', () => {
  const labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2]; // counts 6, 3, 1; n = 10, k = 3

  it('balanced = n / (k * count), as scikit-learn', () => {
    const w = classWeights(labels, 3, 'balanced');
    expect(w[0]).toBeCloseTo(10 / 18, 12);
    expect(w[1]).toBeCloseTo(10 / 9, 12);
    expect(w[2]).toBeCloseTo(10 / 3, 12);
  });

  it('effective number (Cui et al.) normalised to sum to k', () => {
    const beta = 0.9;
    // raw: 0.1/(1-0.9^6)=0.2134..., 0.1/(1-0.9^3)=0.36900..., 0.1/(1-0.9)=1
    const raw = [0.1 / (1 - 0.531441), 0.1 / (1 - 0.729), 1];
    const sum = raw[0] + raw[1] + raw[2];
    const w = classWeights(labels, 3, 'effective', beta);
    raw.forEach((r, i) => {
      expect(w[i]).toBeCloseTo((3 * r) / sum, 12);
    });
    expect(w.reduce((a, b) => a + b)).toBeCloseTo(3, 12);
    expect(w[0]).toBeCloseTo(0.40461, 4); // 3 * 0.213422 / 1.582422
  });

  it('none gives ones; an absent class gets 0', () => {
    expect(classWeights(labels, 3, 'none')).toEqual([1, 1, 1]);
    expect(classWeights([0, 0, 1], 3, 'balanced')).toEqual([0.5, 1, 0]);
  });

  it('rejects bad indices, beta and mode', () => {
    expect(() => countLabels([3], 3)).toThrow('label index 3 is outside 0..2');
    expect(() => classWeights([0], 1, 'effective', 1)).toThrow(/beta must be in \[0, 1\)/);
    expect(() => classWeights([0], 1, 'bogus' as 'none')).toThrow(/unknown mode "bogus"/);
  });
});
