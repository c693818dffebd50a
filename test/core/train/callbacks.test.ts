import { describe, expect, it } from 'vitest';
import { EarlyStopping, ReduceLrOnPlateau } from '../../../src/core/train/callbacks.js';
import { classificationScores } from '../../../src/core/train/epoch-metrics.js';
import { Prng } from '../../../src/core/train/prng.js';
import { at } from '../../../src/core/util/at.js';

const snap = (v: number) => () => [{ name: 'w', shape: [1], values: Float32Array.from([v]) }];

describe('EarlyStopping', () => {
  it('keeps the best weights and stops after patience epochs without improvement', () => {
    const stopper = new EarlyStopping(2, 0);
    expect(stopper.update(1, 1.0, snap(1))).toBe(false);
    expect(stopper.update(2, 0.5, snap(2))).toBe(false);
    expect(stopper.update(3, 0.7, snap(3))).toBe(false);
    expect(stopper.update(4, 0.6, snap(4))).toBe(true);
    expect(stopper.bestEpoch).toBe(2);
    expect(at(at(stopper.bestWeights ?? [], 0).values, 0)).toBe(2);
  });

  it('ignores NaN and survives a state round trip', () => {
    const stopper = new EarlyStopping(3, 0.1);
    stopper.update(1, Number.NaN, snap(1));
    stopper.update(2, 1, snap(2));
    const copy = new EarlyStopping(3, 0.1);
    copy.setState(stopper.getState());
    expect(copy.update(3, 0.95, snap(3))).toBe(false);
    expect(copy.bestEpoch).toBe(2);
  });
});

describe('ReduceLrOnPlateau', () => {
  it('halves the rate after patience flat epochs, not below minLr', () => {
    const plateau = new ReduceLrOnPlateau(2, 0.5, 0.2);
    let lr = 1;
    lr = plateau.update(1, lr);
    lr = plateau.update(1, lr);
    expect(lr).toBe(1);
    lr = plateau.update(1, lr);
    expect(lr).toBe(0.5);
    lr = plateau.update(1, lr);
    lr = plateau.update(1, lr);
    expect(lr).toBe(0.25);
    lr = plateau.update(1, lr);
    lr = plateau.update(1, lr);
    expect(lr).toBe(0.2);
  });
});

describe('classificationScores', () => {
  it('computes accuracy, balanced accuracy, macro F1 and recall', () => {
    const scores = classificationScores([0, 0, 0, 1, 2, 2], [0, 0, 1, 1, 2, 0], 3);
    expect(scores.accuracy).toBeCloseTo(4 / 6);
    expect(scores.recall).toEqual([2 / 3, 1, 0.5]);
    expect(scores.balancedAccuracy).toBeCloseTo((2 / 3 + 1 + 0.5) / 3);
    expect(scores.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 2 / 3) / 3);
  });
});

describe('Prng', () => {
  it('is reproducible from a seed and from a saved state', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    expect(a.permutation(10)).toEqual(b.permutation(10));
    const state = a.getState();
    const next = a.next();
    b.setState(state);
    expect(b.next()).toBe(next);
    expect(new Prng(8).next()).not.toBe(new Prng(7).next());
  });
});
