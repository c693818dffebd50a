import { CHART_BASE, type ChartSpec } from './charts.js';
import type { ComparisonData } from './compare.js';

/** Per-class recall of several models side by side (grouped bars). */
export function recallComparisonChart(data: ComparisonData): ChartSpec {
  const values = data.models.flatMap((m) =>
    m.metrics.perClass.map((c) => ({ model: m.name, class: c.name, recall: c.recall, support: c.support })),
  );
  return {
    id: 'recall-by-class',
    title: 'Recall per class, side by side',
    caption: 'Per-class sensitivity of each model on the same test images.',
    spec: {
      ...CHART_BASE,
      width: Math.max(520, data.classes.length * data.models.length * 22),
      height: 240,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'class', type: 'nominal', sort: [...data.classes], title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'model', type: 'nominal', sort: data.models.map((m) => m.name) },
        y: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] }, title: 'Recall' },
        color: {
          field: 'model',
          type: 'nominal',
          sort: data.models.map((m) => m.name),
          title: 'Model',
          legend: { labelLimit: 260 },
        },
        tooltip: [
          { field: 'model' },
          { field: 'class' },
          { field: 'recall', format: '.3f' },
          { field: 'support' },
        ],
      },
    },
  };
}

/** Balanced accuracy of each model with its bootstrap interval as an error bar. */
export function headlineComparisonChart(data: ComparisonData): ChartSpec {
  const values = data.models.map((m) => ({
    model: m.name,
    value: m.metrics.balancedAccuracy,
    lower: m.metrics.bootstrap?.balancedAccuracy.lower ?? m.metrics.balancedAccuracy,
    upper: m.metrics.bootstrap?.balancedAccuracy.upper ?? m.metrics.balancedAccuracy,
  }));
  const y = { field: 'model', type: 'nominal' as const, sort: data.models.map((m) => m.name), title: null };
  return {
    id: 'balanced-accuracy',
    title: 'Balanced accuracy with 95% interval',
    caption: 'Points: balanced accuracy on the test split; bars: lesion-level bootstrap interval.',
    spec: {
      ...CHART_BASE,
      width: 420,
      height: { step: 34 },
      data: { values },
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 2, color: '#4c78a8' },
          encoding: {
            y,
            x: {
              field: 'lower',
              type: 'quantitative',
              scale: { domain: [0, 1] },
              title: 'Balanced accuracy',
            },
            x2: { field: 'upper' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 70, color: '#1a4f8b' },
          encoding: { y, x: { field: 'value', type: 'quantitative' } },
        },
      ],
    },
  };
}
