import type { TopLevelSpec } from 'vega-lite';
import { at } from '../util/at.js';
import type { TrainingPoint } from './report-data.js';
import type { EvaluationMetrics } from './summary.js';

/** A named chart: a vega-lite spec with its data inlined, plus a caption for the page. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#b279a2',
  '#72b7b2',
  '#9d755d',
  '#eeca3b',
  '#ff9da6',
];
/** Shared top-level settings of every lesionlab chart. */
export const CHART_BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  background: 'white',
  config: {
    font: 'Helvetica, Arial, sans-serif',
    view: { stroke: '#ddd' },
    axis: { labelFontSize: 11, titleFontSize: 12 },
  },
} as const;

/** Fixed colours per class name so that every chart of a report agrees. */
export function classColors(classes: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...classes], range: classes.map((_, i) => at(PALETTE, i % PALETTE.length)) };
}

/** Heatmap of the row-normalised confusion matrix with the counts written in the cells. */
export function confusionMatrixChart(m: EvaluationMetrics): ChartSpec {
  const values = m.confusion.counts.flatMap((row, t) =>
    row.map((count, p) => ({
      truth: m.classes[t],
      predicted: m.classes[p],
      count,
      share: at(at(m.confusion.normalized, t), p),
    })),
  );
  const axis = { type: 'nominal' as const, sort: [...m.classes] };
  return {
    id: 'confusion',
    title: 'Confusion matrix',
    caption:
      'Rows: true class; columns: predicted class. Colour: share of the true class (row-normalised); text: image count.',
    spec: {
      ...CHART_BASE,
      width: 320,
      height: 320,
      data: { values },
      encoding: {
        x: { field: 'predicted', ...axis, title: 'Predicted class', axis: { labelAngle: 0, orient: 'top' } },
        y: { field: 'truth', ...axis, title: 'True class' },
      },
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            color: {
              field: 'share',
              type: 'quantitative',
              scale: { scheme: 'blues', domain: [0, 1] },
              title: 'Row share',
            },
            tooltip: [
              { field: 'truth' },
              { field: 'predicted' },
              { field: 'count' },
              { field: 'share', format: '.1%' },
            ],
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: 'datum.share > 0.55', value: 'white' }, value: '#222' },
          },
        },
      ],
    },
  };
}

/** One-vs-rest ROC curves of every class that has both positives and negatives. */
export function rocChart(m: EvaluationMetrics): ChartSpec {
  const palette = classColors(m.classes).range;
  const curves = m.classes.flatMap((name, j) => {
    const roc = at(m.roc, j);
    const auc = at(m.perClass, j).auc; // null exactly when roc is (both come from one curve)
    if (roc === null || auc === null) return [];
    return [{ label: `${name} (AUC ${auc.toFixed(3)})`, roc, color: at(palette, j) }];
  });
  const values = curves.flatMap(({ label, roc }) =>
    roc.fpr.map((fpr, i) => ({ curve: label, fpr, tpr: at(roc.tpr, i), order: i })),
  );
  return {
    id: 'roc',
    title: 'ROC curves (one class vs the rest)',
    caption: `${Number.isNaN(m.macroAuc) ? 'Macro AUC undefined (no class has both positive and negative images)' : `Macro AUC ${m.macroAuc.toFixed(3)}`}. The dashed diagonal is chance.`,
    spec: {
      ...CHART_BASE,
      width: 360,
      height: 320,
      layer: [
        {
          data: {
            values: [
              { fpr: 0, tpr: 0 },
              { fpr: 1, tpr: 1 },
            ],
          },
          mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
          encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } },
        },
        {
          data: { values },
          mark: { type: 'line', strokeWidth: 1.8, interpolate: 'linear' },
          encoding: {
            x: {
              field: 'fpr',
              type: 'quantitative',
              title: 'False-positive rate (1 - specificity)',
              scale: { domain: [0, 1] },
            },
            y: {
              field: 'tpr',
              type: 'quantitative',
              title: 'True-positive rate (sensitivity)',
              scale: { domain: [0, 1] },
            },
            color: {
              field: 'curve',
              type: 'nominal',
              title: 'Class',
              scale: { domain: curves.map((c) => c.label), range: curves.map((c) => c.color) },
              legend: { labelLimit: 260 },
            },
            order: { field: 'order', type: 'quantitative' },
          },
        },
      ],
    },
  };
}

/** Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration. */
export function reliabilityChart(m: EvaluationMetrics): ChartSpec {
  const bins = m.reliability
    .filter((b) => b.count > 0)
    .map((b) => ({
      lower: b.lower,
      upper: b.upper,
      accuracy: b.accuracy,
      confidence: b.confidence,
      count: b.count,
    }));
  return {
    id: 'reliability',
    title: 'Reliability diagram',
    caption: `Expected calibration error ${(m.ece * 100).toFixed(1)}% (15 equal-width bins of the top probability). Bars below the diagonal: over-confident.`,
    spec: {
      ...CHART_BASE,
      width: 320,
      height: 320,
      layer: [
        {
          data: { values: bins },
          mark: { type: 'rect', stroke: 'white', color: '#4c78a8' },
          encoding: {
            x: {
              field: 'lower',
              type: 'quantitative',
              title: 'Top probability (confidence)',
              scale: { domain: [0, 1] },
            },
            x2: { field: 'upper' },
            y: { field: 'accuracy', type: 'quantitative', title: 'Accuracy', scale: { domain: [0, 1] } },
            y2: { datum: 0 },
            opacity: {
              field: 'count',
              type: 'quantitative',
              scale: { type: 'sqrt', range: [0.35, 1] },
              title: 'Images',
            },
            tooltip: [
              { field: 'count' },
              { field: 'accuracy', format: '.3f' },
              { field: 'confidence', format: '.3f' },
            ],
          },
        },
        {
          data: {
            values: [
              { x: 0, y: 0 },
              { x: 1, y: 1 },
            ],
          },
          mark: { type: 'line', strokeDash: [4, 4], color: '#e45756' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
      ],
    },
  };
}

/** Per-epoch training curves: losses and accuracy-like scores side by side. */
export function trainingChart(points: readonly TrainingPoint[]): ChartSpec {
  return {
    id: 'training',
    title: 'Training curves',
    caption: 'Per epoch, from the run directory\u2019s metrics.json.',
    spec: {
      ...CHART_BASE,
      data: { values: points.map((p) => ({ ...p })) },
      facet: {
        column: {
          field: 'panel',
          type: 'nominal',
          title: null,
          sort: ['loss', 'score'],
          header: { labelFontSize: 13 },
        },
      },
      spec: {
        width: 380,
        height: 220,
        mark: { type: 'line', point: { size: 20 } },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: 'Series', legend: { labelLimit: 260 } },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

/** Per-class recall and precision of one evaluation as grouped bars. */
export function perClassChart(m: EvaluationMetrics): ChartSpec {
  // undefined figures get no bar (not a zero one): recall of a class with no images, precision of one never predicted
  const predicted = (j: number) => m.confusion.counts.reduce((sum, row) => sum + (row[j] ?? 0), 0);
  const values = m.perClass.flatMap((c, j) => [
    ...(c.support > 0 ? [{ class: c.name, measure: 'recall', value: c.recall, support: c.support }] : []),
    ...(predicted(j) > 0
      ? [{ class: c.name, measure: 'precision', value: c.precision, support: c.support }]
      : []),
  ]);
  const absent = m.perClass.filter((c) => c.support === 0).map((c) => c.name);
  return {
    id: 'per-class',
    title: 'Recall and precision per class',
    caption: `Recall is the per-class sensitivity; balanced accuracy is the mean recall over the classes present.${absent.length > 0 ? ` No images of ${absent.join(', ')}: no recall bar.` : ''}`,
    spec: {
      ...CHART_BASE,
      width: 360,
      height: 220,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'class', type: 'nominal', sort: [...m.classes], title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'measure', type: 'nominal', sort: ['recall', 'precision'] },
        y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null },
        color: {
          field: 'measure',
          type: 'nominal',
          scale: { domain: ['recall', 'precision'], range: ['#4c78a8', '#f58518'] },
          title: null,
        },
        tooltip: [
          { field: 'class' },
          { field: 'measure' },
          { field: 'value', format: '.3f' },
          { field: 'support' },
        ],
      },
    },
  };
}

/** The charts of one evaluation report, in page order. */
export function evaluationCharts(
  m: EvaluationMetrics,
  training: readonly TrainingPoint[] | null,
): ChartSpec[] {
  const charts = [perClassChart(m), confusionMatrixChart(m), rocChart(m), reliabilityChart(m)];
  return training === null ? charts : [...charts, trainingChart(training)];
}
