import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { evaluationCharts, trainingChart } from '../../../src/core/eval/charts.js';
import { mostConfidentErrors, trainingCurvePoints } from '../../../src/core/eval/report-data.js';
import { computeEvaluationMetrics } from '../../../src/core/eval/summary.js';
import { at } from '../../../src/core/util/at.js';

const classes = ['a', 'b', 'c'];
const labels = [0, 1, 2, 0, 1, 2];
const probabilities = [
  [0.7, 0.2, 0.1],
  [0.1, 0.8, 0.1],
  [0.9, 0.05, 0.05],
  [0.2, 0.6, 0.2],
  [0.3, 0.3, 0.4],
  [0.1, 0.1, 0.8],
];
const images = labels.map((_, i) => ({ imageId: `img${i}`, path: `/x/img${i}.jpg` }));

describe('mostConfidentErrors', () => {
  it('lists wrong predictions only, most confident first, up to the limit', () => {
    const errors = mostConfidentErrors(images, labels, probabilities, classes, 2);
    expect(errors.map((e) => e.imageId)).toEqual(['img2', 'img3']);
    expect(errors[0]).toMatchObject({ label: 'c', predicted: 'a', confidence: 0.9, labelProbability: 0.05 });
  });
});

describe('trainingCurvePoints', () => {
  const history = [
    { epoch: 1, loss: 1.2, val_loss: 1.3, val_accuracy: 0.5, lr: 0.001, seconds: 3 },
    { epoch: 2, loss: 0.9, val_loss: 1.1, val_accuracy: 0.6, lr: 0.001, seconds: 3 },
  ];
  it('reads an array of epochs, splitting losses from scores and leaving out lr and timing', () => {
    const points = trainingCurvePoints(history)!;
    expect(points).toHaveLength(6);
    expect(new Set(points.map((p) => p.series))).toEqual(new Set(['loss', 'val_loss', 'val_accuracy']));
    expect(points.find((p) => p.series === 'val_accuracy')?.panel).toBe('score');
    expect(points.find((p) => p.series === 'val_loss')?.panel).toBe('loss');
  });
  it('reads { history } and { epochs } wrappers and returns null for nothing usable', () => {
    expect(trainingCurvePoints({ history })).toHaveLength(6);
    expect(trainingCurvePoints({ epochs: history })).toHaveLength(6);
    expect(trainingCurvePoints({ foo: 1 })).toBeNull();
    expect(trainingCurvePoints('x')).toBeNull();
  });
});

describe('evaluationCharts', () => {
  const m = computeEvaluationMetrics({ classes, labels, probabilities, bootstrap: false });
  it('makes compilable vega-lite specs with inline data, in page order', () => {
    const charts = evaluationCharts(m, null);
    expect(charts.map((c) => c.id)).toEqual(['per-class', 'confusion', 'roc', 'reliability']);
    for (const c of charts) {
      const vg = compile(c.spec).spec;
      expect(vg.data?.length ?? 0).toBeGreaterThan(0);
      expect(JSON.stringify(c.spec)).not.toMatch(/"url"/);
    }
  });
  it('adds the training chart when curves exist', () => {
    const points = trainingCurvePoints([{ epoch: 1, loss: 1 }])!;
    expect(evaluationCharts(m, points).map((c) => c.id)).toContain('training');
    expect(() => compile(trainingChart(points).spec)).not.toThrow();
  });
  it('confusion chart carries every cell with its count and row share', () => {
    const spec = at(evaluationCharts(m, null), 1).spec as {
      data: { values: { count: number; share: number }[] };
    };
    expect(spec.data.values).toHaveLength(9);
    expect(spec.data.values.reduce((s, v) => s + v.count, 0)).toBe(6);
  });
});
