import { describe, expect, it } from 'vitest';
import { classWeightsFromCounts } from '../../../src/core/data/class-weights.js';
import { at } from '../../../src/core/util/at.js';

describe('classWeightsFromCounts', () => {
  const counts = [6, 3, 1]; // n = 10, k = 3

  it('balanced = n / (k * count), as scikit-learn, tempered by power', () => {
    const w = classWeightsFromCounts(counts, 'balanced');
    expect(w[0]).toBeCloseTo(10 / 18, 6);
    expect(w[1]).toBeCloseTo(10 / 9, 6);
    expect(w[2]).toBeCloseTo(10 / 3, 6);
    const tempered = classWeightsFromCounts([10, 40], 'balanced', 0.5);
    expect(tempered[0]).toBeCloseTo(Math.sqrt(2.5), 6);
    expect(tempered[1]).toBeCloseTo(Math.sqrt(0.625), 6);
  });

  it('effective number (Cui et al.) scaled to mean 1 over the classes present', () => {
    const beta = 0.9;
    // raw: 0.1/(1-0.9^6)=0.213422, 0.1/(1-0.9^3)=0.369004, 0.1/(1-0.9)=1
    const raw = [0.1 / (1 - 0.531441), 0.1 / (1 - 0.729), 1];
    const sum = at(raw, 0) + at(raw, 1) + at(raw, 2);
    const w = classWeightsFromCounts(counts, 'effective', 1, beta);
    raw.forEach((r, i) => {
      expect(w[i]).toBeCloseTo((3 * r) / sum, 6);
    });
    expect(w[0]).toBeCloseTo(0.40461, 4); // 3 * 0.213422 / 1.582422
    const absent = classWeightsFromCounts([6, 0, 1], 'effective', 1, beta);
    expect(absent[1]).toBe(0);
    expect(at(absent, 0) + at(absent, 2)).toBeCloseTo(2, 6);
  });

  it('none gives ones; an absent class gets 0', () => {
    expect(Array.from(classWeightsFromCounts(counts, 'none'))).toEqual([1, 1, 1]);
    expect(Array.from(classWeightsFromCounts([2, 1, 0], 'balanced'))).toEqual([0.5, 1, 0]);
  });

  it('rejects no classes, a bad beta and an unknown mode', () => {
    expect(() => classWeightsFromCounts([], 'none')).toThrow(
      'expected one count per class for classWeightsFromCounts but received no classes; pass one count per class',
    );
    expect(() => classWeightsFromCounts([1], 'effective', 1, 1)).toThrow(
      'expected a beta in [0, 1) for classWeightsFromCounts but received 1; e.g. 0.999',
    );
    expect(() => classWeightsFromCounts([1], 'bogus' as 'none')).toThrow(
      'expected balanced, effective or none for the classWeightsFromCounts mode but received "bogus"; use one of them',
    );
  });
});
