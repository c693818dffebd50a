import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportData } from '../../../src/core/eval/report-data.js';
import { at } from '../../../src/core/util/at.js';
import { renderChartSvg } from '../../../src/node/report/render-svg.js';
import { thumbnailDataUri } from '../../../src/node/report/thumbnails.js';
import { writeEvaluationReport } from '../../../src/node/report/write-report.js';
import { syntheticReportData } from '../../support/report-data.js';

let dir: string;
let data: ReportData;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-report-'));
  data = await syntheticReportData();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('renderChartSvg', () => {
  it('renders a vega-lite spec to an SVG with marks, without a browser', async () => {
    const svg = await renderChartSvg({
      data: {
        values: [
          { x: 'a', y: 1 },
          { x: 'b', y: 2 },
        ],
      },
      mark: 'bar',
      encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/class="mark-rect/);
  });
  it('names the problem for an invalid spec', async () => {
    await expect(renderChartSvg({ mark: 'nope' } as never)).rejects.toThrow(
      /^expected a vega-lite spec that renders for a report chart but received one whose rendering failed \(.+\)$/,
    );
  });
});

describe('thumbnailDataUri', () => {
  it('makes a small JPEG data URI, or null for an unreadable file', async () => {
    const uri = await thumbnailDataUri(at(data.errors, 0).path, 64);
    expect(uri).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(uri!.length).toBeLessThan(12_000);
    expect(await thumbnailDataUri(join(dir, 'missing.jpg'))).toBeNull();
  });
});

describe('writeEvaluationReport', () => {
  it('writes a self-contained HTML page, Markdown, report data and metrics, and no temp files', async () => {
    const paths = await writeEvaluationReport(dir, data);
    expect((await readdir(dir)).sort()).toEqual(['metrics.json', 'report.html', 'report.json', 'report.md']);
    const html = await readFile(paths.html, 'utf8');
    expect(html.match(/<figure class="chart"/g)).toHaveLength(5);
    expect(html.match(/<img src="data:image\/jpeg;base64,/g)).toHaveLength(data.errors.length);
    expect(html).not.toMatch(/<script|\s(src|href)="https?:/);
    expect(html).toContain('Balanced accuracy');
    expect(html).toContain('91 lesions');
    const md = await readFile(paths.markdown, 'utf8');
    expect(md).toMatch(/\| Plain \| \d+\.\d% \(\d+\.\d–\d+\.\d\) \|/);
    expect(md).toContain('| mel |');
    const metrics = JSON.parse(await readFile(paths.metrics, 'utf8')) as Record<
      'plain' | 'tta',
      { balancedAccuracy: number }
    >;
    expect(Object.keys(metrics)).toEqual(['plain', 'tta']);
    expect(metrics.plain.balancedAccuracy).toBe(at(data.variants, 0).metrics.balancedAccuracy);
    expect(JSON.parse(await readFile(paths.data, 'utf8'))).toEqual(JSON.parse(JSON.stringify(data)));
  });
});
