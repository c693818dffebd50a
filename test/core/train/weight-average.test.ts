import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { NamedVariable } from '../../../src/core/train/head.js';
import { WeightAverage } from '../../../src/core/train/weight-average.js';

function named(name: string, values: number[]): NamedVariable {
  return { name, variable: tf.variable(tf.tensor1d(values), true, name) };
}

const values = (v: NamedVariable) => Array.from(v.variable.dataSync());

describe('WeightAverage', () => {
  it('averages step by step from the starting weights: a ← d·a + (1 − d)·w', () => {
    const w = named('wa/w', [0, 10]);
    const average = new WeightAverage([w], 0.5);
    w.variable.assign(tf.tensor1d([4, 2]));
    average.update(); // 0.5·[0, 10] + 0.5·[4, 2] = [2, 6]
    w.variable.assign(tf.tensor1d([6, 6]));
    average.update(); // 0.5·[2, 6] + 0.5·[6, 6] = [4, 6]
    expect(values(w)).toEqual([6, 6]);
    average.swap();
    expect(values(w)).toEqual([4, 6]);
    average.swap();
    expect(values(w)).toEqual([6, 6]);
    average.dispose();
    w.variable.dispose();
  });

  it('round-trips its state by name, and decay 0 follows the weights exactly', () => {
    const w = named('wa/state', [1, 2, 3]);
    const average = new WeightAverage([w], 0);
    w.variable.assign(tf.tensor1d([7, 8, 9]));
    average.update();
    const state = average.getState();
    expect(state).toEqual([{ name: 'wa/state', shape: [3], values: Float32Array.from([7, 8, 9]) }]);
    const other = new WeightAverage([w], 0.9);
    other.setState(state);
    w.variable.assign(tf.tensor1d([0, 0, 0]));
    other.swap();
    expect(values(w)).toEqual([7, 8, 9]);
    expect(() => other.setState([{ name: 'wa/other', shape: [3], values: new Float32Array(3) }])).toThrow(
      /wa\/state missing/,
    );
    for (const a of [average, other]) a.dispose();
    w.variable.dispose();
  });

  it('rejects a decay outside [0, 1) and leaks no tensors', () => {
    const w = named('wa/leak', [1]);
    expect(() => new WeightAverage([w], 1)).toThrow(/decay 1 must be in \[0, 1\)/);
    const before = tf.memory().numTensors;
    const average = new WeightAverage([w], 0.9);
    average.update();
    average.swap();
    average.getState();
    average.dispose();
    expect(tf.memory().numTensors).toBe(before);
    w.variable.dispose();
  });
});
