import { join } from 'node:path';
import { evaluationCharts } from '../../core/eval/charts.js';
import type { ReportData } from '../../core/eval/report-data.js';
import { writeFileAtomic } from '../write-atomic.js';
import { headlineVariant } from './format.js';
import { type RenderedChart, renderReportHtml } from './html.js';
import { renderReportMarkdown } from './markdown.js';
import { renderChartSvg } from './render-svg.js';
import { thumbnailMap } from './thumbnails.js';

/** Paths of the files {@link writeEvaluationReport} wrote. */
export interface WrittenReport {
  readonly html: string;
  readonly markdown: string;
  /** The whole report data (`report.json`). */
  readonly data: string;
  /** The metrics of every variant keyed by id (`metrics.json`). */
  readonly metrics: string;
}

/** Renders every chart of a report's headline variant to SVG. */
export async function renderEvaluationCharts(data: ReportData): Promise<RenderedChart[]> {
  const charts = evaluationCharts(headlineVariant(data.variants).metrics, data.training);
  return Promise.all(charts.map(async (chart) => ({ chart, svg: await renderChartSvg(chart.spec) })));
}

/**
 * Writes an evaluation report into `dir`: `report.html` (self-contained, opens offline), `report.md`,
 * `report.json` (all report data) and `metrics.json` (metrics per variant). Each file is written atomically.
 */
export async function writeEvaluationReport(dir: string, data: ReportData): Promise<WrittenReport> {
  const [charts, thumbnails] = await Promise.all([renderEvaluationCharts(data), thumbnailMap(data.errors)]);
  const paths: WrittenReport = {
    html: join(dir, 'report.html'),
    markdown: join(dir, 'report.md'),
    data: join(dir, 'report.json'),
    metrics: join(dir, 'metrics.json'),
  };
  const metrics = Object.fromEntries(
    data.variants.map((v) => [v.id, { label: v.label, note: v.note, ...v.metrics }]),
  );
  await writeFileAtomic(paths.data, `${JSON.stringify(data)}\n`);
  await writeFileAtomic(paths.metrics, `${JSON.stringify(metrics, null, 1)}\n`);
  await writeFileAtomic(paths.markdown, renderReportMarkdown(data));
  await writeFileAtomic(paths.html, renderReportHtml(data, charts, thumbnails));
  return paths;
}
