import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFigures, modelFigures, recallText } from '../../src/browser/model-figures.js';
import { figuresFromReport, withEvaluatedFigures } from '../../src/cli/web.js';
import type { ReportData } from '../../src/core/eval/report-data.js';

const dir = await mkdtemp(join(tmpdir(), 'web-figures-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The parts of an evaluation report.json the page's figures come from. */
const report = {
  data: { source: 'data/ham10000', split: 'test', images: 22 },
  variants: [
    {
      id: 'plain',
      label: 'Plain',
      metrics: {
        balancedAccuracy: 0.357,
        bootstrap: { balancedAccuracy: { estimate: 0.357, lower: 0.122, upper: 0.545 }, level: 0.95 },
        perClass: [
          { name: 'nv', recall: 0.5, support: 10 },
          { name: 'df', recall: 0, support: 0 },
        ],
      },
    },
  ],
} as unknown as ReportData;

type Bundle = Parameters<typeof withEvaluatedFigures>[0];
const bundleIn = (run: string, metrics?: Record<string, unknown>) =>
  ({ dir: join(run, 'model'), meta: { name: 'm', metrics } }) as unknown as Bundle;

describe('lesionlab web: the run evaluation travels to the page', () => {
  it('figuresFromReport takes the headline variant, its interval, recall per class (null without images)', () => {
    const figures = figuresFromReport(report);
    expect(figures).toEqual({
      split: 'test',
      images: 22,
      views: 'Plain',
      balancedAccuracy: 0.357,
      interval: { lower: 0.122, upper: 0.545, level: 0.95 },
      recall: { nv: 0.5, df: null },
      support: { nv: 10, df: 0 },
    });
    expect(describeFigures(modelFigures({ metrics: { evaluation: figures } }))).toBe(
      "This model's own figures: balanced accuracy 36% (95% CI 12–55%) on 22 test images, Plain.",
    );
    expect(recallText(figures, 'df')).toBe('recall —');
  });

  it('adds metrics.evaluation from <run>/eval-test/report.json, keeping the bundle metrics', async () => {
    const run = join(dir, 'run');
    await mkdir(join(run, 'eval-test'), { recursive: true });
    await writeFile(join(run, 'eval-test', 'report.json'), JSON.stringify(report));
    const out = await withEvaluatedFigures(bundleIn(run, { bestEpoch: 4 }));
    expect(out.meta.metrics).toEqual({ bestEpoch: 4, evaluation: figuresFromReport(report) });
  });

  it('leaves a bundle alone when its run was not evaluated or it carries figures already', async () => {
    const plain = bundleIn(join(dir, 'never-evaluated'), { bestEpoch: 1 });
    expect(await withEvaluatedFigures(plain)).toBe(plain);
    const own = bundleIn(join(dir, 'run'), { evaluation: { balancedAccuracy: 0.9 } });
    expect(await withEvaluatedFigures(own)).toBe(own);
  });
});
