import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../src/core/config/train-config.js';
import { at } from '../../src/core/util/at.js';
import { readModelBundle } from '../../src/node/bundle/read.js';
import { createOnnxSession } from '../../src/node/onnx/session.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';
import type { LoadedBackbone } from '../../src/node/train/backbone.js';
import { trainRun } from '../../src/node/train/pipeline.js';
import { loadCheckpoint } from '../../src/node/train/run-dir.js';
import { metadataEffect } from '../support/metadata-effect.js';
import { outputNamed } from '../support/onnx-output.js';
import { tinyBackbone } from '../support/tiny-backbone.js';
import { tinyLoadedBackbone } from '../support/tiny-loaded-backbone.js';
import { stripSeconds } from '../support/train-set.js';

const work = await mkdtemp(join(tmpdir(), 'train-ft-'));
afterAll(() => rm(work, { recursive: true, force: true }));

let last: tf.LayersModel | undefined;
const tiny = async (): Promise<LoadedBackbone> => {
  const loaded = tinyLoadedBackbone({
    blocks: [
      { name: 'a', lastLayer: 'conv_a' },
      { name: 'b', lastLayer: 'conv_b' },
    ],
  });
  last = loaded.model;
  return loaded;
};

const config = (name: string) =>
  parseTrainConfig({
    data: { root: resolve('data/sample/ham10000') },
    model: { backbone: 'mobilenet_v1', dropout: 0.1 },
    features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
    train: { epochs: 2, batchSize: 16, learningRate: 0.01 },
    // float32 activations, so the run's test scores and the exported model agree to float32 rounding
    fineTune: {
      enabled: true,
      blocks: 1,
      epochs: 2,
      learningRate: 1e-3,
      batchSize: 16,
      cacheDtype: 'float32',
    },
    output: { runsDir: join(work, 'runs'), name },
  });

const kernel = (model: tf.LayersModel, layer: string) =>
  Array.from(at(model.getLayer(layer).getWeights(), 0).dataSync());

describe('fine-tuning on the cpu backend (tiny backbone)', () => {
  it('trains only the unfrozen top block and the head, after the head stage', async () => {
    const initial = tinyBackbone(16, 5);
    const result = await trainRun(config('ft'), { loadBackbone: tiny });
    expect(result.history.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(at(result.history, 2).lr).toBe(1e-3);
    expect(kernel(last!, 'conv_a')).toEqual(kernel(initial, 'conv_a'));
    expect(kernel(last!, 'conv_b')).not.toEqual(kernel(initial, 'conv_b'));
    expect(result.test!.count).toBeGreaterThan(10);
    expect(result.bundleDir).toBeDefined();
    // one ONNX model (ORT prefix + TF.js tail + head in training) equals what the run scored, within 1e-4
    const bundle = await readModelBundle(result.bundleDir!);
    const session = await createOnnxSession(bundle.onnxPath, { providers: ['cpu'] });
    const ids = result.test!.imageIds.slice(0, 8);
    const pixels = new Float32Array(ids.length * 16 * 16 * 3);
    for (const [i, id] of ids.entries()) {
      const path = await samplePath(id);
      pixels.set(
        await decodeImage(path, { width: 16, height: 16, resize: 'stretch', colorConstancy: false }),
        i * 768,
      );
    }
    const out = await session.run(pixels, [ids.length, 16, 16, 3], ['probabilities']);
    const k = result.test!.classes.length;
    const probabilities = outputNamed(out, 'probabilities').data;
    let worst = 0;
    for (let i = 0; i < ids.length * k; i++)
      worst = Math.max(worst, Math.abs(at(probabilities, i) - at(result.test!.probabilities, i)));
    expect(worst).toBeLessThan(1e-4);
    await session.dispose();
  });

  it('follows fineTune.schedule cosine in stage 2: warm-up to the rate, then lower each epoch', async () => {
    const base = config('ft-cosine');
    const run = await trainRun(
      { ...base, fineTune: { ...base.fineTune, schedule: 'cosine', warmupEpochs: 1, epochs: 3 } },
      { loadBackbone: tiny },
    );
    // head epochs 1-2 on their plateau rule at 0.01; the warm-up epoch ends at the full 1e-3, then cosine decay
    const lrs = run.history.map((r) => r.lr);
    expect(lrs.slice(0, 3)).toEqual([0.01, 0.01, 1e-3]);
    expect(at(lrs, 3)).toBeLessThan(1e-3);
    expect(at(lrs, 4)).toBeLessThan(at(lrs, 3));
    const saved = JSON.parse(await readFile(join(run.runDir, 'config.json'), 'utf8'));
    expect(saved.fineTune.schedule).toBe('cosine');
  });

  it('warms stage 2 up under the plateau rule (fineTune.warmupEpochs) and records the resolved warm-up', async () => {
    const base = config('ft-warmup');
    const run = await trainRun(
      { ...base, fineTune: { ...base.fineTune, warmupEpochs: 2 } },
      { loadBackbone: tiny },
    );
    // the first stage-2 epoch ends half-way up the warm-up, the second at the full rate
    expect(run.history.slice(2).map((r) => r.lr)).toEqual([5e-4, 1e-3]);
    const saved = JSON.parse(await readFile(join(run.runDir, 'config.json'), 'utf8'));
    expect([saved.fineTune.schedule, saved.fineTune.warmupEpochs]).toEqual(['plateau', 2]);
  });

  it('trains stage 2 with fineTune.mixup: same head stage, other tail weights than without it', async () => {
    const tails = [];
    for (const mixup of [0, 0.4]) {
      const base = config(`ft-mixup-${mixup}`);
      const run = await trainRun({ ...base, fineTune: { ...base.fineTune, mixup } }, { loadBackbone: tiny });
      tails.push({ head: run.history.slice(0, 2), conv: kernel(last!, 'conv_b') });
    }
    expect(stripSeconds(at(tails, 1).head)).toEqual(stripSeconds(at(tails, 0).head));
    expect(at(tails, 1).conv).not.toEqual(at(tails, 0).conv);
  });

  it('trains stage 2 with fineTune.weightAverage: checkpoints the average and keeps other tail weights', async () => {
    const tails = [];
    for (const weightAverage of [0, 0.9]) {
      const base = config(`ft-average-${weightAverage}`);
      const run = await trainRun(
        { ...base, fineTune: { ...base.fineTune, weightAverage } },
        { loadBackbone: tiny },
      );
      tails.push({ head: run.history.slice(0, 2), conv: kernel(last!, 'conv_b') });
      const checkpoint = await loadCheckpoint(run.runDir, 'finetune');
      expect('weightAverage' in checkpoint).toBe(weightAverage > 0);
      const saved = JSON.parse(await readFile(join(run.runDir, 'config.json'), 'utf8'));
      expect(saved.fineTune.weightAverage).toBe(weightAverage);
    }
    expect(stripSeconds(at(tails, 1).head)).toEqual(stripSeconds(at(tails, 0).head));
    expect(at(tails, 1).conv).not.toEqual(at(tails, 0).conv);
  });

  it('stage 3 re-fits a head on the tuned features and keeps the stage-2 head, the re-fitted one or their average, as validation ranks them (fineTune.refitHead)', async () => {
    const runWith = async (name: string, refitHead: boolean) => {
      const lines: string[] = [];
      const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
      const base = config(name);
      const result = await trainRun(
        { ...base, fineTune: { ...base.fineTune, refitHead } },
        { loadBackbone: tiny, logger },
      );
      return { result, stage3: lines.filter((l) => l.startsWith('stage 3:')) };
    };
    const on = await runWith('ft-refit', true);
    expect(on.stage3).toHaveLength(1);
    const m =
      /^stage 3: val bal_acc stage-2 head ([\d.]+), re-fitted head ([\d.]+), average of both ([\d.]+): kept the (stage-2 head|re-fitted head|average of both) \(/.exec(
        on.stage3[0]!,
      );
    expect(m).not.toBeNull();
    const scores = { stage2: Number(m![1]), refit: Number(m![2]), average: Number(m![3]) };
    // the highest score, the earlier candidate on ties
    const best = (['stage2', 'refit', 'average'] as const).reduce((a, b) => (scores[b] > scores[a] ? b : a));
    expect(m![4]).toBe({ stage2: 'stage-2 head', refit: 're-fitted head', average: 'average of both' }[best]);
    const recorded = JSON.parse(await readFile(join(on.result.runDir, 'results.json'), 'utf8')).stage3;
    expect(recorded.kept).toBe(best);
    for (const choice of ['stage2', 'refit', 'average'] as const)
      expect(recorded.valBalancedAccuracy[choice]).toBeCloseTo(scores[choice], 3);
    const off = await runWith('ft-norefit', false);
    expect(off.stage3).toEqual([]);
    // the tail trained the same either way; only the head differs, so the test scores may too
    expect(off.result.history).toHaveLength(on.result.history.length);
    expect(on.result.bundleDir).toBeDefined();
  });

  it('fits model.metadata over the tuned model: stage 3 features, or pooled through the tail without stage 3', async () => {
    for (const refitHead of [true, false]) {
      const base = config(`ft-meta-${refitHead}`);
      const result = await trainRun(
        {
          ...base,
          model: { ...base.model, metadata: 'stacker', metadataHidden: 4 },
          fineTune: { ...base.fineTune, refitHead },
        },
        { loadBackbone: tiny },
      );
      const meta = JSON.parse(await readFile(join(result.bundleDir!, 'bundle.json'), 'utf8'));
      expect(meta.metadata).toMatchObject({ fusion: 'mlp-offsets', hidden: 4 });
      const { plain, none, full } = await metadataEffect(result.bundleDir!);
      expect(Array.from(none)).toEqual(Array.from(plain));
      expect(Array.from(full)).not.toEqual(Array.from(plain));
    }
  });

  it('resumes a run interrupted during fine-tuning to the same metrics', async () => {
    const reference = await trainRun(config('ft-ref'), { loadBackbone: tiny });
    const cut = await trainRun(config('ft-cut'), {
      loadBackbone: tiny,
      interruptAfter: (epoch) => epoch === 3,
    });
    expect(cut.interrupted).toBe(true);
    const resumed = await trainRun(config('x'), { loadBackbone: tiny, resumeDir: cut.runDir });
    const strip = (rows: typeof reference.history) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(reference.history));
    expect(resumed.test!.scores).toEqual(reference.test!.scores);
  });
});

describe('fine-tuning with BatchNorm in training mode (fineTune.batchNorm: train)', () => {
  // the tiny backbone with a BatchNorm layer ending its top block
  let bnModel: tf.LayersModel | undefined;
  const tinyBn = async (): Promise<LoadedBackbone> => {
    const base = tinyBackbone(16, 5);
    const bn = tf.layers
      .batchNormalization({ momentum: 0.5, name: 'bn_b' })
      .apply(base.getLayer('conv_b').output as tf.SymbolicTensor) as tf.SymbolicTensor;
    bnModel = tf.model({ inputs: base.inputs, outputs: bn, name: 'tiny' });
    return tinyLoadedBackbone({
      model: bnModel,
      blocks: [
        { name: 'a', lastLayer: 'conv_a' },
        { name: 'b', lastLayer: 'bn_b' },
      ],
    });
  };
  const bnConfig = (name: string) => {
    const base = config(name);
    return { ...base, fineTune: { ...base.fineTune, epochs: 3, batchNorm: 'train' as const } };
  };
  const statistics = () =>
    bnModel!
      .getLayer('bn_b')
      .getWeights()
      .slice(2)
      .map((w) => Array.from(w.dataSync()));

  it('resumes a run interrupted during fine-tuning to the same metrics and BatchNorm statistics', async () => {
    const reference = await trainRun(bnConfig('ft-bn-ref'), { loadBackbone: tinyBn });
    const tuned = statistics();
    // training mode moved the statistics from the seeded 0 and 1, and they reached the exported backbone
    expect(at(tuned, 0).some((v) => v !== 0)).toBe(true);
    const cut = await trainRun(bnConfig('ft-bn-cut'), {
      loadBackbone: tinyBn,
      interruptAfter: (epoch) => epoch === 3,
    });
    expect(cut.interrupted).toBe(true);
    const resumed = await trainRun(bnConfig('x'), { loadBackbone: tinyBn, resumeDir: cut.runDir });
    const strip = (rows: typeof reference.history) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(reference.history));
    expect(statistics()).toEqual(tuned);
    expect(resumed.test!.scores).toEqual(reference.test!.scores);
  });

  it('trains scale and offset on the ImageNet statistics with batchNorm: affine', async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const base = bnConfig('ft-bn-affine');
    const affine = { ...base, fineTune: { ...base.fineTune, batchNorm: 'affine' as const } };
    await trainRun(affine, { loadBackbone: tinyBn, logger });
    const [gamma, beta, mean, variance] = bnModel!.getLayer('bn_b').getWeights();
    // the seeded statistics (0 and 1) are untouched; scale and offset moved from their 1 and 0
    expect(Array.from(mean!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(variance!.dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(gamma!.dataSync()).some((v) => v !== 1)).toBe(true);
    expect(Array.from(beta!.dataSync()).some((v) => v !== 0)).toBe(true);
    expect(lines.find((l) => l.startsWith('fine-tuning: top'))).toContain('BatchNorm affine)');
  });
});

describe('fine-tuning with augmentation (fineTune.augment)', () => {
  const augmented = (name: string, augmentViews: number) => {
    const base = config(name);
    return {
      ...base,
      fineTune: { ...base.fineTune, augment: { zoom: [1, 1.3], resolution: [0.5, 1] }, augmentViews },
    };
  };
  const run = async (name: string, augmentViews: number) => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const result = await trainRun(augmented(name, augmentViews), { loadBackbone: tiny, logger });
    return { result, lines };
  };

  it('caches augmentViews random views of the training images once, then reuses them to the same result', async () => {
    const first = await run('ft-augviews', 2);
    const split = first.lines.find((l) => l.startsWith('fine-tuning split at'));
    expect(split).toContain('activations cached');
    expect(split).toMatch(/, 2 augmented views of (\d+) training images cached/);
    const second = await run('ft-augviews-again', 2);
    expect(second.lines.filter((l) => l.startsWith('prefix cache: reusing'))).toHaveLength(2);
    const strip = (rows: typeof first.result.history) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(second.result.history)).toEqual(strip(first.result.history));
    expect(second.result.test!.scores).toEqual(first.result.test!.scores);
  });

  it('augments on the fly without augmentViews, and those views differ from the cached ones', async () => {
    const onTheFly = await run('ft-aug-fly', 0);
    expect(onTheFly.lines.find((l) => l.startsWith('fine-tuning split at'))).toContain(
      'activations on the fly',
    );
    const cached = await run('ft-aug-cached', 2);
    const head = (r: typeof cached) => r.result.history.slice(0, 2).map(({ seconds: _s, ...rest }) => rest);
    expect(head(onTheFly)).toEqual(head(cached)); // the head stage never sees augmentation
    expect(onTheFly.result.history.at(-1)!.loss).not.toBe(cached.result.history.at(-1)!.loss);
  });
});

describe('fine-tuning with standardised features (model.standardize, the default)', () => {
  // Two conv_b channels barely vary in the head stage (kernel x1e-4, bias 0.5): their std was floored at 1e-3,
  // so the head weighed them ~1000x once folded, and the tail's first steps made the loss explode (stage-2
  // val_loss ~4.0 against ~1.9 in stage 1).
  const quiet = async (): Promise<LoadedBackbone> => {
    const loaded = await tiny();
    const conv = loaded.model.getLayer('conv_b');
    const [kernel, bias] = conv.getWeights();
    const scaled = tf.tidy(() => kernel!.mul(tf.tensor1d([1, 1, 1, 1, 1, 1, 1e-4, 1e-4])));
    const biases = Array.from(bias!.dataSync(), (b, i) => (i >= 6 ? 0.5 : b));
    conv.setWeights([scaled, tf.tensor1d(biases)]);
    return loaded;
  };

  it('keeps the fine-tuning loss bounded when some pooled features are near-constant in stage 1', async () => {
    const base = config('ft-quiet');
    const result = await trainRun(
      {
        ...base,
        model: { ...base.model, dropout: 0 },
        train: { ...base.train, epochs: 10, earlyStopping: { ...base.train.earlyStopping, patience: 20 } },
        fineTune: { ...base.fineTune, epochs: 3 },
      },
      { loadBackbone: quiet },
    );
    const head = result.history.slice(0, 10);
    const tuned = result.history.slice(10);
    expect(tuned).toHaveLength(3);
    const stage1 = Math.min(...head.map((r) => r.val_loss));
    for (const r of tuned) {
      expect(Number.isFinite(r.loss) && Number.isFinite(r.val_loss)).toBe(true);
      expect(r.val_loss).toBeLessThan(stage1 + 0.5);
    }
  });
});

async function samplePath(id: string): Promise<string> {
  for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2']) {
    const path = resolve('data/sample/ham10000', part, `${id}.jpg`);
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  throw new Error(`sample image ${id} not found`);
}
