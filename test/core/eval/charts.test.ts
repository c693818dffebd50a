import { describe, expect, it } from 'vitest';
import { rocChart } from '../../../src/core/eval/charts.js';
import { computeEvaluationMetrics } from '../../../src/core/eval/summary.js';

const metrics = (labels: number[]) =>
  computeEvaluationMetrics({
    classes: ['a', 'b'],
    labels,
    probabilities: labels.map((_, i) => (i % 2 ? [0.3, 0.7] : [0.8, 0.2])),
    bootstrap: false,
  });

describe('rocChart', () => {
  it('captions the macro AUC, or says why there is none', () => {
    expect(rocChart(metrics([0, 1, 0, 1])).caption).toMatch(/^Macro AUC 1\.000\. /);
    expect(rocChart(metrics([0, 0, 0, 0])).caption).toMatch(
      /^Macro AUC undefined \(no class has both positive and negative images\)\. /,
    );
  });
});
