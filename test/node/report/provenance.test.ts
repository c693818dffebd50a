import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { WeightsProvenance } from '../../../src/core/bundle/meta.js';
import { parseTrainConfig, type TrainConfig } from '../../../src/core/config/train-config.js';
import { type ReportData, reportBanners } from '../../../src/core/eval/report-data.js';
import { at } from '../../../src/core/util/at.js';
import { readModelBundle } from '../../../src/node/bundle/read.js';
import { evaluateModel } from '../../../src/node/evaluate/evaluate.js';
import { type BackboneLoader, fromPretrained } from '../../../src/node/train/backbone.js';
import { trainRun } from '../../../src/node/train/pipeline.js';
import { loadPretrainedBackbone } from '../../../src/node/weights/pretrained.js';

const SAMPLE = resolve('data/sample/ham10000');
const work = await mkdtemp(join(tmpdir(), 'provenance-'));
afterAll(() => rm(work, { recursive: true, force: true }));

const IMAGENET: WeightsProvenance = { kind: 'imagenet', file: 'w.h5', sha256: 'ab'.repeat(32) };

function meta(weights: WeightsProvenance | null, datasetImages = 10_015): Pick<ReportData, 'model' | 'data'> {
  return {
    model: { name: 'm', backbone: 'mobilenet_v2', source: 'runs/m', weights },
    data: { source: 'ham', split: 'test', images: 1500, datasetImages },
  };
}

describe('reportBanners', () => {
  it('warns at the top about random, unrecorded and truncated weights and about small samples', () => {
    expect(reportBanners(meta(IMAGENET))).toEqual([]);
    expect(reportBanners(meta({ kind: 'random', seed: 42 })).map((b) => b.kind)).toEqual(['random-weights']);
    expect(at(reportBanners(meta({ kind: 'random', seed: 42 })), 0).text).toMatch(
      /^RANDOM WEIGHTS: the mobilenet_v2 backbone was not initialised from ImageNet, its weights are random \(seed 42\)\./,
    );
    expect(reportBanners(meta(null)).map((b) => b.kind)).toEqual(['unknown-weights']);
    const cut = reportBanners(meta({ ...IMAGENET, truncatedAt: 'conv_pw_12_relu' }));
    expect(cut.map((b) => b.kind)).toEqual(['truncated']);
    expect(at(cut, 0).text).toContain('cut after conv_pw_12_relu');
    expect(reportBanners(meta(IMAGENET, 144)).map((b) => b.text)).toEqual([
      'SMOKE TEST on a 144-image sample (1500 images evaluated): it shows the pipeline runs end to end; it is not a performance estimate.',
    ]);
  });
});

/** MobileNetV2 at 32x32 with no weights anywhere: the `auto` fallback to seeded random weights. */
const fallbackLoader: BackboneLoader = async (config, logger) => {
  const loaded = await loadPretrainedBackbone('mobilenet_v2', {
    logger,
    seed: config.seed,
    inputSize: 32,
    download: false,
    env: {},
    packageRoot: join(work, 'no-package'),
    cacheDir: join(work, 'no-cache'),
  });
  return { ...fromPretrained(loaded), inputSize: 32 };
};

function config(name: string, extra: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({
    seed: 7,
    data: { root: SAMPLE },
    model: { backbone: 'mobilenet_v2' },
    features: { views: 1, cacheRoot: join(work, 'cache') },
    train: { epochs: 2, batchSize: 32 },
    output: { runsDir: join(work, 'runs'), name },
    ...extra,
  });
}

describe('a run whose backbone fell back to random weights', () => {
  it('records it in results.json, bundle.json and the report, never as ImageNet', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const run = await trainRun(config('fallback'), { loadBackbone: fallbackLoader, logger });
    const random = { kind: 'random', seed: 7 };
    expect(warnings.filter((w) => /NO IMAGENET WEIGHTS/.test(w))).toHaveLength(1);
    const results = JSON.parse(await readFile(join(run.runDir, 'results.json'), 'utf8'));
    expect(results.weights).toEqual(random);
    expect((await readModelBundle(run.runDir)).meta.weights).toEqual(random);
    const evaluation = await evaluateModel({ target: run.runDir, screenshot: false });
    expect(evaluation.data.model.weights).toEqual(random);
    const html = await readFile(evaluation.report.html, 'utf8');
    const top = html.slice(0, html.indexOf('<header>'));
    expect(top).toContain('data-banner="random-weights"');
    expect(top).toContain('SMOKE TEST on a 144-image sample');
    expect(html).toContain('<b>Weights</b> random (seed 7)');
    expect(html).not.toMatch(/ImageNet \(/);
    const md = await readFile(evaluation.report.markdown, 'utf8');
    expect(md).toMatch(/^# .*\n\n> \*\*RANDOM WEIGHTS: /);
  }, 120_000);

  it('stops before any work, in one line, when ImageNet weights were explicitly required', async () => {
    vi.stubEnv('LESIONLAB_OFFLINE', '1');
    vi.stubEnv('LESIONLAB_CACHE', join(work, 'empty-cache'));
    vi.stubEnv('LESIONLAB_DENSENET121_WEIGHTS', '');
    try {
      const attempt = trainRun(
        config('refused', { model: { backbone: 'densenet121', weights: 'imagenet' } }),
      );
      await expect(attempt).rejects.toMatchObject({ code: 'E_WEIGHTS' });
      const message = await attempt.catch((e: Error) => e.message);
      expect(message).toMatch(
        /^expected ImageNet weights for the backbone densenet121 but received none \(.*\); download https:\/\/storage\.googleapis\.com\/\S+notop\.h5 to \S+densenet121_weights_tf_dim_ordering_tf_kernels_notop\.h5, set LESIONLAB_DENSENET121_WEIGHTS to a local copy, or pass --weights auto to allow random weights$/,
      );
      await expect(access(join(work, 'runs', 'refused'))).rejects.toThrow();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
