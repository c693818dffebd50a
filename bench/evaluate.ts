// Benchmark of the evaluation maths and reports on the real HAM10000 test-split size and lesion structure
// (../shared/data/ham10000): metrics + 1,000-resample lesion bootstrap, chart rendering, full report writing
// (with thumbnails of real images) and, when Chromium is present, the headless render + screenshot.
// Predictions are synthetic (a seeded, class-informative fake model): the figures are about speed, not accuracy.
// Usage: npm run bench:evaluate [-- --resamples 1000 --repeats 3]

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { splitByGroup } from '../src/core/data/split.js';
import { createRng } from '../src/core/eval/bootstrap.js';
import { evaluationCharts } from '../src/core/eval/charts.js';
import { mostConfidentErrors, type ReportData } from '../src/core/eval/report-data.js';
import { computeEvaluationMetrics } from '../src/core/eval/summary.js';
import { HAM10000_CLASSES } from '../src/core/labels.js';
import { loadDataset } from '../src/node/data/load-dataset.js';
import { DEFAULT_CHROMIUM, screenshotReport } from '../src/node/report/browser.js';
import { renderChartSvg } from '../src/node/report/render-svg.js';
import { writeEvaluationReport } from '../src/node/report/write-report.js';
import { median } from './lib/median.js';

const DATA = resolve(import.meta.dirname, '../../shared/data/ham10000');
const { values } = parseArgs({
  options: { resamples: { type: 'string', default: '1000' }, repeats: { type: 'string', default: '3' } },
});
const resamples = Number(values.resamples);
const repeats = Number(values.repeats);

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await fn();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

if (!existsSync(DATA)) {
  console.log(`skipped: ${DATA} not found`);
  console.log(JSON.stringify({ skipped: true }));
  process.exit(0);
}
const dataset = await loadDataset(DATA, { format: 'ham10000', checkImages: false });
const parts = splitByGroup(dataset.records, { val: 0.15, test: 0.15, seed: 42 });
const byId = new Map(dataset.records.map((r) => [r.imageId, r]));
const test = parts.test.map((id) => byId.get(id)!);
const classes: string[] = [...HAM10000_CLASSES];
const labels = test.map((r) => classes.indexOf(r.label));
const rng = createRng(7);
const probabilities = labels.map((l) => {
  const logits = classes.map((_, j) => rng() * 2 + (j === l ? rng() * 4 : 0));
  const exp = logits.map(Math.exp);
  const s = exp.reduce((a, b) => a + b, 0);
  return Float32Array.from(exp, (e) => e / s);
});
const groups = test.map((r) => r.groupId);
const input = { classes, labels, probabilities, groups };

const noBootstrap = await timed(() => computeEvaluationMetrics({ ...input, bootstrap: false }));
const withBootstrap = await timed(() =>
  computeEvaluationMetrics({ ...input, bootstrap: { resamples, seed: 1 } }),
);
const metrics = computeEvaluationMetrics({ ...input, bootstrap: { resamples, seed: 1 } });
const charts = evaluationCharts(metrics, null);
const renderCharts = await timed(() => Promise.all(charts.map((c) => renderChartSvg(c.spec))));
const data: ReportData = {
  format: 'lesionlab-evaluation-report',
  version: 1,
  title: 'Benchmark report',
  createdAt: new Date().toISOString(),
  model: { name: 'synthetic', backbone: 'none', source: 'bench' },
  data: { source: DATA, split: 'test', images: test.length },
  variants: [{ id: 'plain', label: 'Plain', metrics }],
  training: null,
  errors: mostConfidentErrors(test, labels, probabilities, classes, 12),
  notes: [],
};
const dir = await mkdtemp(join(tmpdir(), 'lesionlab-bench-eval-'));
const writeReport = await timed(() => writeEvaluationReport(dir, data));
const chromium = existsSync(process.env.LESIONLAB_CHROMIUM ?? DEFAULT_CHROMIUM);
const screenshot = chromium
  ? await timed(() => screenshotReport(join(dir, 'report.html'), join(dir, 'report.png')))
  : null;
await rm(dir, { recursive: true, force: true });

const rows: [string, string][] = [
  ['test images / lesions', `${test.length} / ${metrics.bootstrap!.groups}`],
  ['all metrics, no bootstrap', `${(noBootstrap * 1000).toFixed(1)} ms`],
  [`all metrics + ${resamples}-resample lesion bootstrap`, `${withBootstrap.toFixed(2)} s`],
  [`${charts.length} charts to SVG (vega, headless)`, `${renderCharts.toFixed(2)} s`],
  ['write report (html, md, json, thumbnails)', `${writeReport.toFixed(2)} s`],
  [
    'Chromium render + full-page PNG',
    screenshot === null ? 'skipped (no Chromium)' : `${screenshot.toFixed(2)} s`,
  ],
];
console.log(`evaluation benchmark, medians of ${repeats} runs`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(48)} ${v}`);
console.log(
  JSON.stringify({
    testImages: test.length,
    lesions: metrics.bootstrap!.groups,
    resamples,
    metricsMs: noBootstrap * 1000,
    metricsWithBootstrapS: withBootstrap,
    chartsS: renderCharts,
    writeReportS: writeReport,
    screenshotS: screenshot,
  }),
);
