import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Adam, type AdamState } from '../../../src/core/train/adam.js';
import { at } from '../../../src/core/util/at.js';

const START = [[1, -2, 0.5], [3]];
const SHAPES = [[3], [1]];

/** Step `t`'s gradient for weight `i` of variable `v`: fixed, varied, never near zero (|g| >= 0.1). */
function gradient(t: number, v: number, i: number): number {
  return 0.5 * Math.cos(1.3 * i + 0.7 * t + v) + (i % 2 === 0 ? 0.6 : -0.6);
}

function gradients(t: number): tf.Tensor[] {
  return START.map((w, v) =>
    tf.tensor(
      w.map((_, i) => gradient(t, v, i)),
      SHAPES[v],
    ),
  );
}

function makeVariables(prefix: string): tf.Variable[] {
  return START.map((w, v) => tf.variable(tf.tensor(w, SHAPES[v]), true, `${prefix}${v}`));
}

function values(variables: readonly tf.Variable[]): number[][] {
  return variables.map((variable) => Array.from(variable.dataSync()));
}

/** Adam as Keras writes it (ε added to the uncorrected sqrt(v)) in float64 plain JS; `lr` may vary by step. */
function kerasAdam(steps: number, lr: number | ((t: number) => number)): number[][] {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-7];
  const w = START.map((row) => [...row]);
  const m = START.map((row) => row.map(() => 0));
  const s = START.map((row) => row.map(() => 0));
  for (let t = 1; t <= steps; t++) {
    const rate = ((typeof lr === 'number' ? lr : lr(t)) * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    w.forEach((row, v) => {
      const [mv, sv] = [at(m, v), at(s, v)];
      row.forEach((x, i) => {
        const g = gradient(t, v, i);
        mv[i] = beta1 * at(mv, i) + (1 - beta1) * g;
        sv[i] = beta2 * at(sv, i) + (1 - beta2) * g * g;
        row[i] = x - (rate * at(mv, i)) / (Math.sqrt(at(sv, i)) + epsilon);
      });
    });
  }
  return w;
}

function expectClose(got: number[][], want: number[][], tolerance: number): void {
  expect(got.map((row) => row.length)).toEqual(want.map((row) => row.length));
  got.forEach((row, v) => {
    row.forEach((x, i) => {
      const w = at(at(want, v), i);
      expect(Math.abs(x - w), `variable ${v}[${i}]: ${x} vs ${w}`).toBeLessThan(tolerance);
    });
  });
}

/** Runs our Adam for `steps` fixed gradients; `between(t)` may act after step t. */
function runOurs(steps: number, lr: number, between?: (adam: Adam, t: number) => void): number[][] {
  const variables = makeVariables('ours');
  const adam = new Adam(variables, lr);
  for (let t = 1; t <= steps; t++) {
    const grads = gradients(t);
    adam.apply(grads);
    tf.dispose(grads);
    between?.(adam, t);
  }
  const out = values(variables);
  adam.dispose();
  tf.dispose(variables);
  return out;
}

afterEach(() => {
  tf.disposeVariables();
});

describe('Adam', () => {
  it('takes the hand-computed first step: each weight moves by the learning rate against its gradient', () => {
    // Step 1: m = 0.1 g, v = 0.001 g², rate = lr·sqrt(0.001)/0.1, so the update is lr·g/(|g| + ε/sqrt(0.001)).
    const variable = tf.variable(tf.tensor1d([1, -2, 0.5, 4]), true, 'first');
    const adam = new Adam([variable], 0.01);
    const grad = tf.tensor1d([0.1, -0.3, 0, 2]);
    adam.apply([grad]);
    const step = (g: number) => (g === 0 ? 0 : (0.01 * g) / (Math.abs(g) + 1e-7 / Math.sqrt(0.001)));
    const want = [1 - step(0.1), -2 - step(-0.3), 0.5, 4 - step(2)];
    expect(want.map((x) => Number(x.toFixed(4)))).toEqual([0.99, -1.99, 0.5, 3.99]);
    Array.from(variable.dataSync()).forEach((x, i) => {
      expect(x).toBeCloseTo(at(want, i), 6);
    });
    const state = adam.getState();
    expect(state.step).toBe(1);
    const rounded = (xs: Float32Array) => Array.from(xs, (x) => Number(x.toPrecision(6)));
    expect(rounded(at(state.m, 0))).toEqual([0.01, -0.03, 0, 0.2]);
    expect(rounded(at(state.v, 0))).toEqual([1e-5, 9e-5, 0, 4e-3]);
    grad.dispose();
    adam.dispose();
  });

  it("scales each variable's step by its rate scale (discriminative learning rates)", () => {
    const head = tf.variable(tf.tensor1d([1, 1]), true, 'head');
    const tail = tf.variable(tf.tensor1d([1, 1]), true, 'tail');
    const adam = new Adam([head, tail], 1e-3, { rateScales: [100] });
    const grads = [tf.tensor1d([1, -1]), tf.tensor1d([1, -1])];
    adam.apply(grads);
    // First step moves by ~rate·sign(g): 0.1 for the head (scale 100), 0.001 for the tail (default scale 1).
    Array.from(head.dataSync()).forEach((x, i) => {
      expect(x).toBeCloseTo(at([0.9, 1.1], i), 4);
    });
    Array.from(tail.dataSync()).forEach((x, i) => {
      expect(x).toBeCloseTo(at([0.999, 1.001], i), 6);
    });
    tf.dispose(grads);
    adam.dispose();
  });

  it('follows Keras’s Adam over 12 steps (float64 reference)', () => {
    expectClose(runOurs(12, 0.05), kerasAdam(12, 0.05), 2e-6);
  });

  it('matches tf.train.adam over 12 steps on the same parameters and gradients', () => {
    const variables = makeVariables('tfjs');
    const optimizer = tf.train.adam(0.05, 0.9, 0.999, 1e-7);
    for (let t = 1; t <= 12; t++) {
      const grads = gradients(t);
      optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: at(grads, i) })));
      tf.dispose(grads);
    }
    // TF.js adds ε to the bias-corrected sqrt(v̂), Keras to sqrt(v): with |g| >= 0.1 that moves no weight by 1e-5.
    expectClose(runOurs(12, 0.05), values(variables), 1e-5);
    optimizer.dispose();
  });

  it('uses a learning rate changed between steps from the next step on', () => {
    const halved = runOurs(6, 0.05, (adam, t) => {
      if (t === 3) adam.learningRate = 0.025;
    });
    expectClose(
      halved,
      kerasAdam(6, (t) => (t <= 3 ? 0.05 : 0.025)),
      2e-6,
    );
    const first = (weights: number[][]) => at(at(weights, 0), 0);
    expect(Math.abs(first(halved) - first(runOurs(6, 0.05)))).toBeGreaterThan(1e-3);
  });

  it('continues exactly from a saved state, as if never interrupted', () => {
    let saved: AdamState | undefined;
    const afterFive = runOurs(5, 0.05, (adam, t) => {
      if (t === 5) saved = adam.getState();
    });
    const variables = afterFive.map((w, v) => tf.variable(tf.tensor(w, SHAPES[v])));
    const resumed = new Adam(variables, 0.05);
    resumed.setState(saved!);
    for (let t = 6; t <= 9; t++) {
      const grads = gradients(t);
      resumed.apply(grads);
      tf.dispose(grads);
    }
    expect(values(variables)).toEqual(runOurs(9, 0.05));
    resumed.dispose();
  });

  it('leaves no tensors behind per step and frees its moments on dispose', () => {
    const variable = tf.variable(tf.ones([4]));
    const before = tf.memory().numTensors;
    const adam = new Adam([variable], 0.01);
    const grad = tf.fill([4], 0.5);
    adam.apply([grad]);
    const afterOne = tf.memory().numTensors;
    adam.apply([grad]);
    expect(tf.memory().numTensors).toBe(afterOne);
    grad.dispose();
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
