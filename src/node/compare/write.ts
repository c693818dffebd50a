import { join } from 'node:path';
import type { ComparisonData } from '../../core/eval/compare.js';
import { headlineComparisonChart, recallComparisonChart } from '../../core/eval/compare-charts.js';
import { renderChartSvg } from '../report/render-svg.js';
import { writeFileAtomic } from '../write-atomic.js';
import { renderComparisonHtml, renderComparisonMarkdown } from './html.js';

/** Paths written by {@link writeComparisonReport}. */
export interface WrittenComparison {
  readonly html: string;
  readonly markdown: string;
  readonly data: string;
}

/** Writes `comparison.html` (self-contained), `comparison.md` and `comparison.json` into `dir`, atomically. */
export async function writeComparisonReport(dir: string, data: ComparisonData): Promise<WrittenComparison> {
  const charts = await Promise.all(
    [headlineComparisonChart(data), recallComparisonChart(data)].map(async (chart) => ({
      chart,
      svg: await renderChartSvg(chart.spec),
    })),
  );
  const paths = {
    html: join(dir, 'comparison.html'),
    markdown: join(dir, 'comparison.md'),
    data: join(dir, 'comparison.json'),
  };
  await writeFileAtomic(paths.data, `${JSON.stringify(data, null, 1)}\n`);
  await writeFileAtomic(paths.markdown, renderComparisonMarkdown(data));
  await writeFileAtomic(paths.html, renderComparisonHtml(data, charts));
  return paths;
}
