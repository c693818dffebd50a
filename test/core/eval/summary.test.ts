import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeEvaluationMetrics, scoreLine } from '../../../src/core/eval/summary.js';

const g = JSON.parse(
  await readFile(join(import.meta.dirname, '../../golden/metrics/ham-priors-500.json'), 'utf8'),
) as {
  classes: string[];
  labels: number[];
  probabilities: number[][];
  groups: string[];
  expected: { accuracy: number; balancedAccuracy: number; macroAuc: number; ece: number; logLoss: number };
};

describe('computeEvaluationMetrics', () => {
  const m = computeEvaluationMetrics({
    classes: g.classes,
    labels: g.labels,
    probabilities: g.probabilities.map((r) => Float32Array.from(r)),
    groups: g.groups,
    bootstrap: { resamples: 200, seed: 1 },
  });
  it('gathers the headline metrics (float32 inputs stay within 1e-6 of sklearn)', () => {
    expect(m.count).toBe(500);
    expect(m.accuracy).toBeCloseTo(g.expected.accuracy, 6);
    expect(m.balancedAccuracy).toBeCloseTo(g.expected.balancedAccuracy, 6);
    expect(m.macroAuc).toBeCloseTo(g.expected.macroAuc, 6);
    expect(m.perClass.map((c) => c.name)).toEqual(g.classes);
    expect(m.sensitivityAtSpecificity?.positiveClass).toBe('mel');
    expect(m.sensitivityAtSpecificity?.points.map((p) => p.targetSpecificity)).toEqual([0.8, 0.9, 0.95]);
    expect(m.bootstrap?.resamples).toBe(200);
  });
  it('is JSON round-trippable (no Infinity or NaN in the output)', () => {
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
  it('names the problem for bad input', () => {
    expect(() =>
      computeEvaluationMetrics({
        classes: ['a', 'b'],
        labels: [0, 2],
        probabilities: [
          [1, 0],
          [0, 1],
        ],
      }),
    ).toThrow(
      'expected a class index 0..1 for the label of image 1 in the predictions but received 2; labels are class indices',
    );
    expect(() =>
      computeEvaluationMetrics({
        classes: ['a', 'b'],
        labels: [0],
        probabilities: [[1, 0]],
        positiveClass: 'mel',
      }),
    ).toThrow(
      'expected one of the classes (a, b) for the positive class of the evaluation but received "mel"; pick a class the model predicts',
    );
  });
});

describe('scoreLine', () => {
  it('names the place and the views, as the report headline row names its views', () => {
    expect(
      scoreLine('test', ['identity', 'flip_h'], 1503, {
        accuracy: 0.7812,
        balancedAccuracy: 0.6461,
        macroF1: 0.6024,
      }),
    ).toBe(
      'test (views identity+flip_h, 1503 images): balanced accuracy 0.646, accuracy 0.781, macro F1 0.602',
    );
  });
});
