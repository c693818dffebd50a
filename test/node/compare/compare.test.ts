import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WeightsProvenance } from '../../../src/core/bundle/meta.js';
import type { TrainConfig } from '../../../src/core/config/train-config.js';
import { buildComparison } from '../../../src/core/eval/compare.js';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';
import { writeModelBundle } from '../../../src/node/bundle/write.js';
import { compareBackbones, compareEvaluations } from '../../../src/node/compare/compare.js';
import { writeComparisonReport } from '../../../src/node/compare/write.js';
import { readSplitFile } from '../../../src/node/data/split-file.js';
import type { TrainRunResult } from '../../../src/node/train/pipeline.js';
import { SAMPLE_ROOT } from '../../support/report-data.js';
import { syntheticModel, writeEvaluationFolder } from '../../support/synthetic-model.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from '../../support/tiny-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-compare-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const labels = Array.from({ length: 60 }, (_, i) => i % 3);

describe('writeComparisonReport (synthetic evaluations)', () => {
  it('writes a self-contained page with the model table, recall side by side, McNemar p-values and charts', async () => {
    const data = buildComparison(
      [
        syntheticModel('alpha', labels, () => true),
        syntheticModel('beta', labels, (i) => i % 2 === 0),
        syntheticModel('gamma', labels, (i) => i % 3 !== 0),
      ],
      { createdAt: '2026-01-01T00:00:00Z' },
    );
    const paths = await writeComparisonReport(join(root, 'synthetic'), data);
    const html = await readFile(paths.html, 'utf8');
    expect(html.match(/<tr><th scope="row">(alpha|beta|gamma)<div/g)).toHaveLength(3);
    expect(html).toContain('alpha vs beta');
    expect(html).toContain('1.00 M');
    expect(html.match(/data-chart="/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|\s(src|href)="https?:/);
    const md = await readFile(paths.markdown, 'utf8');
    expect(md).toMatch(
      /\| alpha vs beta \| 60 \| \u2014 \| 30 \| 0 \| chi-square \(continuity-corrected\) \| [^|]+ \| [^|]+ \|/,
    );
    expect(html).toContain('<th>p (Holm)</th>');
    expect(md).toContain('| p-value | p (Holm) |');
    expect(JSON.parse(await readFile(paths.data, 'utf8'))).toEqual(JSON.parse(JSON.stringify(data)));
  });
});

describe('compareEvaluations', () => {
  it('names apart two evaluations that carry one model name', async () => {
    const run = join(root, 'evaluations', 'run1');
    const dirs = await Promise.all([
      writeEvaluationFolder(
        join(run, 'eval-test'),
        syntheticModel('tiny-run1', labels, () => true),
      ),
      writeEvaluationFolder(
        join(run, 'eval-plain'),
        syntheticModel('tiny-run1', labels, (i) => i < 20),
      ),
    ]);
    const result = await compareEvaluations(dirs, join(root, 'evaluations', 'out'));
    expect(result.data.models.map((m) => m.name)).toEqual([
      'tiny-run1 (eval-test)',
      'tiny-run1 (eval-plain)',
    ]);
    expect(result.data.pairwise.map((t) => `${t.modelA} vs ${t.modelB}`)).toEqual([
      'tiny-run1 (eval-test) vs tiny-run1 (eval-plain)',
    ]);
    expect(Object.keys(result.weights)).toHaveLength(2);
  });
});

/** What the stub records per backbone: as if densenet121 had fallen back to random weights. */
const FAKE_WEIGHTS: Record<string, WeightsProvenance> = {
  mobilenet_v1: {
    kind: 'imagenet',
    file: '../shared/weights/mobilenet_v1_1.0_224/model.json',
    sha256: 'ab'.repeat(32),
    truncatedAt: 'conv_pw_12_relu',
  },
  mobilenet_v2: { kind: 'imagenet', file: 'weights/v2.h5', sha256: 'cd'.repeat(32) },
  densenet121: { kind: 'random', seed: 42 },
};

/** A stand-in for H5's trainRun: writes a tiny random-weight bundle and the run files, no training. */
async function fakeTrain(config: TrainConfig): Promise<TrainRunResult> {
  const runDir = join(config.output.runsDir, config.output.name!);
  await mkdir(runDir, { recursive: true });
  const seed = config.model.backbone.length;
  await writeModelBundle(join(runDir, 'model'), {
    model: buildTinyModel(7, seed),
    name: config.model.backbone,
    backbone: config.model.backbone,
    classes: HAM10000_CLASSES,
    preprocess: TINY_SPEC,
    normalization: TINY_NORM,
    weights: FAKE_WEIGHTS[config.model.backbone],
  });
  await copyFile(config.data.splitFile!, join(runDir, 'split.json'));
  await writeFile(join(runDir, 'config.json'), JSON.stringify(config));
  return {
    runDir,
    config,
    interrupted: false,
    history: [],
    bestEpoch: 1,
    bundleDir: join(runDir, 'model'),
    extractSeconds: 0,
  };
}

describe('compareBackbones (training stubbed)', () => {
  it('trains every backbone on one shared subset split, evaluates, measures cost and writes the report', async () => {
    const out = join(root, 'cmp');
    const seen: TrainConfig[] = [];
    const result = await compareBackbones({
      backbones: ['mobilenet_v1', 'densenet121'],
      data: SAMPLE_ROOT,
      subset: 80,
      epochs: 2,
      out,
      bootstrap: { resamples: 50 },
      throughputImages: 8,
      train: async (config) => {
        seen.push(config);
        return fakeTrain(config);
      },
    });
    expect(seen.map((c) => [c.model.backbone, c.model.weights, c.train.epochs])).toEqual([
      ['mobilenet_v1', 'auto', 2],
      ['densenet121', 'auto', 2],
    ]);
    expect(new Set(seen.map((c) => c.data.splitFile))).toEqual(new Set([join(out, 'split.json')]));
    const split = await readSplitFile(join(out, 'split.json'));
    if (split.kind !== 'holdout') throw new Error('expected hold-out');
    const subset = split.parts.train.length + split.parts.val.length + split.parts.test.length;
    expect(subset).toBeGreaterThan(60);
    expect(subset).toBeLessThan(100);
    expect(result.data.models.map((m) => m.name)).toEqual(['mobilenet_v1', 'densenet121']);
    for (const m of result.data.models) {
      expect(m.metrics.count).toBe(split.parts.test.length);
      expect(m.parameters).toBe(4 * 27 + 4 + 4 * 7 + 7);
      // conv 3x3x3→4 over 16x16 outputs (16·16·4·27) + dense 4→7 (28): the tiny model's multiply-adds
      expect(m.gmacs).toBeCloseTo((16 * 16 * 4 * 27 + 4 * 7) / 1e9, 15);
      // a measured rate in images per second: a 16x16 model runs far above 10/s, and under a million
      expect(m.imagesPerSecond).toBeGreaterThan(10);
      expect(m.imagesPerSecond).toBeLessThan(1e6);
    }
    expect(at(result.data.pairwise, 0).images).toBe(split.parts.test.length);
    expect(result.data.notes.join(' ')).toMatch(
      /densenet121 was trained from random weights \(random \(seed 42\)/,
    );
    expect(result.data.notes.join(' ')).toMatch(/mobilenet_v1: .* cut after conv_pw_12_relu/);
    expect(result.weights).toEqual({
      mobilenet_v1: FAKE_WEIGHTS.mobilenet_v1,
      densenet121: FAKE_WEIGHTS.densenet121,
    });
    // the weights a run really had, never the config's wish: random is never labelled ImageNet
    expect(result.data.models.map((m) => m.weights)).toEqual([
      'ImageNet, truncated at conv_pw_12_relu (sha256 abababab\u2026)',
      'random (seed 42)',
    ]);
    const html = await readFile(result.report.html, 'utf8');
    expect(html).toContain(
      'densenet121<div class="note">densenet121, weights: <b class="bad">random (seed 42)</b>',
    );
    expect(html).not.toMatch(/, imagenet weights/);
    expect(await readFile(result.report.markdown, 'utf8')).toContain('| densenet121 | random (seed 42) |');

    const again = await compareEvaluations(
      seen.map((c) => join(c.output.runsDir, c.output.name!, 'eval-test')),
      join(root, 'cmp2'),
    );
    expect(again.data.pairwise[0]).toEqual(result.data.pairwise[0]);
    expect(again.weights).toEqual(result.weights);
    expect(again.data.models.map((m) => m.weights)).toEqual(result.data.models.map((m) => m.weights));
  });

  it('stops before any training when ImageNet weights are required and one backbone has none', async () => {
    vi.stubEnv('LESIONLAB_OFFLINE', '1');
    vi.stubEnv('LESIONLAB_CACHE', join(root, 'empty-cache'));
    vi.stubEnv('LESIONLAB_DENSENET121_WEIGHTS', '');
    const seen: string[] = [];
    try {
      await expect(
        compareBackbones({
          backbones: ['mobilenet_v2', 'densenet121'],
          data: SAMPLE_ROOT,
          weights: 'imagenet',
          out: join(root, 'refused'),
          train: async (config) => {
            seen.push(config.model.backbone);
            return fakeTrain(config);
          },
        }),
      ).rejects.toThrow(
        /^expected ImageNet weights for the backbone densenet121 but received none .* download https:\/\/\S+ to /,
      );
    } finally {
      vi.unstubAllEnvs();
    }
    expect(seen).toEqual([]);
  });
  it('needs at least two backbones', async () => {
    await expect(compareBackbones({ backbones: ['mobilenet_v1'], out: join(root, 'x') })).rejects.toThrow(
      'expected at least two backbones for --backbones but received 1; e.g. --backbones mobilenet_v1,mobilenet_v2',
    );
  });
});
