import { describe, expect, it } from 'vitest';
import { buildComparison, comparisonBanners } from '../../../src/core/eval/compare.js';
import { type ReportData, reportBanners } from '../../../src/core/eval/report-data.js';
import { computeEvaluationMetrics } from '../../../src/core/eval/summary.js';
import { at } from '../../../src/core/util/at.js';
import { renderComparisonHtml, renderComparisonMarkdown } from '../../../src/node/compare/html.js';
import { renderReportHtml } from '../../../src/node/report/html.js';
import { renderReportMarkdown } from '../../../src/node/report/markdown.js';
import { syntheticModel } from '../../support/synthetic-model.js';

const IMAGENET = { kind: 'imagenet' as const, file: 'w.h5', sha256: 'ab'.repeat(32) };
const classes = ['a', 'b', 'c'];

/** `n` images per class (class c gets `cCount`), each predicted right except every fifth. */
function report(n: number, cCount: number): ReportData {
  const labels = [
    ...Array.from({ length: n }, () => 0),
    ...Array.from({ length: n }, () => 1),
    ...Array.from({ length: cCount }, () => 2),
  ];
  const probabilities = labels.map((l, i) =>
    classes.map((_, j) => ((i % 5 === 0 ? (l + 1) % 2 : l) === j ? 0.8 : 0.1)),
  );
  const metrics = computeEvaluationMetrics({ classes, labels, probabilities, bootstrap: false });
  return {
    format: 'lesionlab-evaluation-report',
    version: 1,
    title: 'Evaluation of m',
    createdAt: '2025-01-01T00:00:00Z',
    model: { name: 'm', backbone: 'mobilenet_v2', source: 'runs/m', weights: IMAGENET },
    data: { source: 'ham', split: 'test', images: labels.length, datasetImages: 10_015 },
    variants: [{ id: 'plain', label: 'Plain (image only)', metrics }],
    training: null,
    errors: [],
    notes: [],
  };
}

describe('small-sample banners', () => {
  it('warns when fewer than 200 images were evaluated, and not otherwise', () => {
    expect(reportBanners(report(60, 60)).map((b) => b.kind)).toEqual(['small-sample']);
    expect(at(reportBanners(report(60, 60)), 0).text).toMatch(
      /^SMALL SAMPLE: only 180 images were evaluated/,
    );
    expect(reportBanners(report(100, 100))).toEqual([]);
  });
  it('names each class with fewer than 10 images and its count', () => {
    const banners = reportBanners(report(100, 4));
    expect(banners.map((b) => b.kind)).toEqual(['small-classes']);
    expect(at(banners, 0).text).toMatch(/^FEW IMAGES IN A CLASS: c 4 \(fewer than 10 each\)/);
    expect(at(reportBanners(report(100, 0)), 0).text).toContain('c 0');
    expect(at(reportBanners(report(100, 0)), 0).text).toContain('no images shows \u2014');
  });
  it('shows them at the top of the HTML page and of the Markdown summary', () => {
    const data = report(60, 3);
    const html = renderReportHtml(data, [], new Map());
    expect(html).toContain('data-banner="small-sample"');
    expect(html).toContain('data-banner="small-classes"');
    expect(html.indexOf('data-banner="small-classes"')).toBeLessThan(html.indexOf('<h2>Headline'));
    expect(renderReportMarkdown(data)).toContain('> **FEW IMAGES IN A CLASS: c 3');
  });
});

describe('a class with no images', () => {
  it('shows \u2014 for its recall, F1 and AUC in the report tables, not 0.0%', () => {
    const data = report(100, 0);
    const html = renderReportHtml(data, [], new Map());
    const row = html.match(/<tr><th scope="row">c<div[\s\S]*?<\/tr>/)?.[0] ?? '';
    expect(row).toContain('<td>0</td>');
    expect(row).not.toContain('0.0%');
    expect(row.match(/\u2014/g)?.length).toBe(4); // never predicted either: precision too
    const md = renderReportMarkdown(data)
      .split('\n')
      .find((l) => l.startsWith('| c |'));
    expect(md).toBe('| c | 0 | \u2014 | \u2014 | \u2014 | \u2014 |');
  });
  it('shows \u2014 for its recall in the comparison, HTML and Markdown', () => {
    const labels = [0, 0, 0, 1, 1, 1];
    const data = buildComparison([
      syntheticModel('x', labels, () => true),
      syntheticModel('y', labels, (i) => i % 2 === 0),
    ]);
    const html = renderComparisonHtml(data, []);
    const row = html.match(/<tr><th scope="row">c<\/th>[\s\S]*?<\/tr>/)?.[0] ?? '';
    expect(row).toBe('<tr><th scope="row">c</th><td>0</td><td>\u2014</td><td>\u2014</td></tr>');
    expect(renderComparisonMarkdown(data)).toContain('| c | \u2014 | \u2014 |');
  });
});

describe('sensitivity at fixed specificity', () => {
  const labels = Array.from({ length: 240 }, (_, i) => i % 3);
  const probabilities = labels.map((l, i) =>
    ['nv', 'mel', 'bcc'].map((_, j) => (j === l ? 0.5 : 0.25) + (i % 7) * 0.01 * j),
  );
  const withData = (bootstrap: false | { resamples: number }): ReportData => ({
    ...report(100, 100),
    variants: [
      {
        id: 'plain',
        label: 'Plain (image only)',
        metrics: computeEvaluationMetrics({
          classes: ['nv', 'mel', 'bcc'],
          labels,
          probabilities,
          bootstrap,
        }),
      },
    ],
  });
  it('is shown with its bootstrap interval', () => {
    const data = withData({ resamples: 100 });
    const html = renderReportHtml(data, [], new Map());
    expect(html).toContain('mel sensitivity<br>at fixed specificity');
    expect(html).toMatch(/80% spec\.: \d+\.\d% \(\d+\.\d\u2013\d+\.\d\)<br>90% spec\./);
    expect(renderReportMarkdown(data)).toMatch(
      /\| 80% spec\.: \d+\.\d% \(\d+\.\d\u2013\d+\.\d\); 90% spec\./,
    );
  });
  it('is dropped when it has no interval', () => {
    const data = withData(false);
    expect(at(data.variants, 0).metrics.sensitivityAtSpecificity).not.toBeNull();
    expect(renderReportHtml(data, [], new Map())).not.toContain('specificity');
    expect(renderReportMarkdown(data)).not.toContain('specificity');
  });
});

describe('comparison banners', () => {
  const labels = Array.from({ length: 27 }, (_, i) => i % 3);
  const model = (name: string, weights: string, datasetImages?: number) => ({
    ...syntheticModel(name, labels, (i) => i % 4 !== 0),
    weights,
    ...(datasetImages === undefined ? {} : { datasetImages }),
  });
  it('states random, unrecorded and truncated weights and sample data at the top of the page', () => {
    const data = buildComparison([
      model('a', 'random (seed 7)', 144),
      model('b', 'unknown'),
      model('c', 'ImageNet, truncated at conv_pw_12_relu (sha256 abababab…)'),
      model('d', 'ImageNet (sha256 abababab…)'),
    ]);
    expect(comparisonBanners(data).map((b) => b.kind)).toEqual([
      'random-weights',
      'unknown-weights',
      'truncated',
      'smoke-test',
      'small-classes',
    ]);
    expect(at(comparisonBanners(data), 0).text).toMatch(
      /^RANDOM WEIGHTS: a was not initialised from ImageNet/,
    );
    expect(at(comparisonBanners(data), 3).text).toMatch(
      /^SMOKE TEST on a 144-image sample \(27 test images\)/,
    );
    const html = renderComparisonHtml(data, []);
    for (const kind of ['random-weights', 'unknown-weights', 'truncated', 'smoke-test', 'small-classes'])
      expect(html.indexOf(`data-banner="${kind}"`)).toBeLessThan(html.indexOf('<h2>Models'));
    expect(html.indexOf('data-banner="random-weights"')).toBeGreaterThan(0);
    expect(renderComparisonMarkdown(data)).toContain('> **TRUNCATED BACKBONE: c was cut short');
  });
  it('says small sample without sample data, and nothing for ImageNet models on enough images', () => {
    const small = buildComparison([model('a', 'ImageNet (x)', 10_015), model('b', 'ImageNet (x)', 10_015)]);
    expect(comparisonBanners(small).map((b) => b.kind)).toEqual(['small-sample', 'small-classes']);
    const many = Array.from({ length: 240 }, (_, i) => i % 3);
    const big = buildComparison(
      ['a', 'b'].map((n) => ({ ...syntheticModel(n, many, () => true), weights: 'ImageNet (x)' })),
    );
    expect(comparisonBanners(big)).toEqual([]);
  });
});
