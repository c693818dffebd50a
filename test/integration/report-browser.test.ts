import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildComparison } from '../../src/core/eval/compare.js';
import { writeComparisonReport } from '../../src/node/compare/write.js';
import { DEFAULT_CHROMIUM, inspectReport, screenshotReport } from '../../src/node/report/browser.js';
import { writeEvaluationReport } from '../../src/node/report/write-report.js';
import { syntheticReportData } from '../support/report-data.js';
import { syntheticModel } from '../support/synthetic-model.js';

const chromium = process.env.LESIONLAB_CHROMIUM ?? DEFAULT_CHROMIUM;
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe.skipIf(!existsSync(chromium))(
  `report in headless Chromium (${chromium}; skipped when absent)`,
  () => {
    it('draws every chart with marks, shows every thumbnail, makes no request and logs no error', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lesionlab-report-browser-'));
      dirs.push(dir);
      const paths = await writeEvaluationReport(dir, await syntheticReportData());
      const png = join(dir, 'report.png');
      const seen = await screenshotReport(paths.html, png);
      expect(seen.charts.map((c) => c.id)).toEqual([
        'per-class',
        'confusion',
        'roc',
        'reliability',
        'training',
      ]);
      for (const chart of seen.charts) {
        expect(chart.marks, chart.id).toBeGreaterThan(20);
        expect(chart.width, chart.id).toBeGreaterThan(200);
        expect(chart.height, chart.id).toBeGreaterThan(150);
      }
      expect(seen.images).toEqual({ total: 12, broken: 0 });
      expect(seen.consoleErrors).toEqual([]);
      expect(seen.failedRequests).toEqual([]);
      expect(seen.externalRequests).toEqual([]);
      const bytes = await readFile(png);
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
      expect((await stat(png)).size).toBeGreaterThan(50_000);
    });
    it('draws the comparison report charts too', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lesionlab-compare-browser-'));
      dirs.push(dir);
      const labels = Array.from({ length: 60 }, (_, i) => i % 3);
      const data = buildComparison([
        syntheticModel('alpha', labels, () => true),
        syntheticModel('beta', labels, (i) => i % 2 === 0),
      ]);
      const paths = await writeComparisonReport(dir, data);
      const seen = await screenshotReport(paths.html, join(dir, 'comparison.png'));
      expect(seen.charts.map((c) => c.id)).toEqual(['balanced-accuracy', 'recall-by-class']);
      for (const chart of seen.charts) expect(chart.marks, chart.id).toBeGreaterThan(10);
      expect([...seen.consoleErrors, ...seen.failedRequests, ...seen.externalRequests]).toEqual([]);
    });
    it('notices a broken page: a failed external image and a missing chart', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lesionlab-report-broken-'));
      dirs.push(dir);
      const html = join(dir, 'broken.html');
      await writeFile(html, '<figure data-chart="x"></figure><img src="http://127.0.0.1:9/nope.png">');
      const seen = await inspectReport(html);
      expect(seen.charts).toEqual([{ id: 'x', marks: 0, width: 0, height: 0 }]);
      expect(seen.images.broken).toBe(1);
      expect(seen.externalRequests).toEqual(['http://127.0.0.1:9/nope.png']);
    });
  },
);
