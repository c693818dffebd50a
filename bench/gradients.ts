/**
 * One fine-tuning step (forward + backward + gradients of the top blocks and a 7-class head) with TF.js's own
 * gradients of ReLU, ClipByValue and BatchNorm against lesionlab's lean ones (src/core/train/lean-gradients.ts),
 * on the training backend (native when built), for the backbones with real ImageNet weights in ../shared, split
 * as bench:finetune splits them (top 6 blocks trainable, BatchNorm frozen). The input is the frozen prefix's
 * output for BENCH_BATCH (default 32) real HAM10000 images. The two gradient sets alternate, round by round, so
 * that both see the same machine; each round times BENCH_STEPS steps after a warm-up. Their gradients must agree (relative error below
 * 1e-4), or the bench fails.
 *
 *   npm run bench:gradients
 *   BENCH_BACKBONES=mobilenet_v1 BENCH_ROUNDS=3 BENCH_STEPS=6 npm run bench:gradients
 *   BENCH_BATCH=64 BENCH_BACKBONES=mobilenet_v1 npm run bench:gradients   # another batch size
 *
 * Last line: one JSON object {"backend", "<backbone>": {"tfjs_ms", "lean_ms", "speedup", "tfjs_images_per_s",
 * "lean_images_per_s", "max_relative_error"}, ..., "peak_rss_mb"}.
 */

import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseTrainConfig } from '../src/core/config/train-config.js';
import type { Logger } from '../src/core/logger.js';
import { splitAtBlock, unfreezeTopBlocks } from '../src/core/train/finetune.js';
import { useLeanGradients, useTfjsGradients } from '../src/core/train/lean-gradients.js';
import { at } from '../src/core/util/at.js';
import { selectBackend } from '../src/node/backend/backend.js';
import { loadRunBackbone } from '../src/node/train/backbone.js';
import { backboneBlocks } from '../src/node/train/prefix-tail.js';
import { median } from './lib/median.js';
import { imageBatch, jpegNames } from './lib/real-images.js';

const DATA = resolve('../shared/data/ham10000');
const BACKBONES = (process.env.BENCH_BACKBONES ?? 'mobilenet_v1,mobilenet_v2').split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEPS = Number(process.env.BENCH_STEPS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const BLOCKS = 6;
const log: Logger = {
  info: (m) => process.stderr.write(`  ${m}\n`),
  warn: (m) => process.stderr.write(`  warning: ${m}\n`),
};

const backend = await selectBackend('auto', 'train', log);
const folder = join(DATA, 'HAM10000_images_part_1');
const files = await jpegNames(folder);
if (files.length < BATCH) {
  process.stderr.write(`bench:gradients: no HAM10000 images in ${folder}; it needs ../shared\n`);
  process.exit(1);
}

interface Row {
  tfjs_ms: number;
  lean_ms: number;
  speedup: number;
  tfjs_images_per_s: number;
  lean_images_per_s: number;
  max_relative_error: number;
}
const rows: Record<string, Row> = {};
for (const name of BACKBONES) rows[name] = await measure(name);

const table = [
  'backbone       tfjs ms/step  lean ms/step  speedup  tfjs img/s  lean img/s  max rel. error',
  ...Object.entries(rows).map(
    ([name, r]) =>
      `${name.padEnd(14)} ${r.tfjs_ms.toFixed(0).padStart(12)}  ${r.lean_ms.toFixed(0).padStart(12)}  ${r.speedup.toFixed(2).padStart(7)}  ${r.tfjs_images_per_s.toFixed(1).padStart(10)}  ${r.lean_images_per_s.toFixed(1).padStart(10)}  ${r.max_relative_error.toExponential(1).padStart(14)}`,
  ),
];
process.stdout.write(
  `fine-tuning step, batch ${BATCH}, top ${BLOCKS} blocks + head, ${backend.line}; medians of ${ROUNDS} x ${STEPS} steps\n${table.join('\n')}\n`,
);
process.stdout.write(
  `${JSON.stringify({ backend: backend.name, ...rows, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);

/** Step times of one backbone under both gradient sets, and how far apart their gradients are. */
async function measure(name: string): Promise<Row> {
  const config = parseTrainConfig({
    data: { root: DATA },
    model: { backbone: name, weights: 'imagenet' },
    fineTune: { enabled: true, blocks: BLOCKS },
  });
  const backbone = await loadRunBackbone(config, log);
  if (backbone.weights.kind !== 'imagenet')
    throw new Error(`bench:gradients: ${name} has no ImageNet weights here`);
  const blocks = backboneBlocks(backbone);
  const split = splitAtBlock(backbone.model, blocks, BLOCKS);
  const variables = unfreezeTopBlocks(split.tail, blocks, BLOCKS).map((v) => v.variable);
  const pixels = await imageBatch(folder, files.slice(0, BATCH), backbone.inputSize);
  const maps = tf.tidy(() => split.prefix.predict(pixels) as tf.Tensor);
  const features = (split.tail.outputs[0]!.shape.at(-1) ?? 0) as number;
  const kernel = tf.variable(tf.randomNormal([features, 7], 0, 0.05, 'float32', 1));
  const labels = tf.oneHot(
    tf.tensor1d(
      Int32Array.from({ length: BATCH }, (_, i) => at([0, 1, 2, 3, 4, 5, 6, 5], Math.floor(i / 4) % 8)),
      'int32',
    ),
    7,
  );
  const loss = () =>
    tf.tidy(() => {
      const pooled = (split.tail.apply(maps, { training: false }) as tf.Tensor4D).mean([1, 2]) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(labels, pooled.matMul(kernel)) as tf.Scalar;
    });
  const trained = [...variables, kernel];
  const step = () => {
    const { value, grads } = tf.variableGrads(loss, trained);
    const values = trained.map((v) => grads[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    return values;
  };
  const timings = { tfjs: [] as number[], lean: [] as number[] };
  const gradients: Partial<Record<'tfjs' | 'lean', Float32Array[]>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const set of ['tfjs', 'lean'] as const) {
      if (set === 'lean') useLeanGradients();
      else useTfjsGradients();
      gradients[set] = step(); // warm-up, and the gradients compared below
      for (let s = 0; s < STEPS; s++) {
        const began = performance.now();
        step();
        timings[set].push(performance.now() - began);
      }
    }
  }
  const error = maxRelativeError(gradients.tfjs!, gradients.lean!);
  if (!(error < 1e-4))
    throw new Error(`bench:gradients: ${name}: lean gradients differ from TF.js's by ${error}`);
  tf.dispose([pixels, maps, kernel, labels]);
  split.tail.dispose();
  backbone.model.dispose();
  const tfjs = median(timings.tfjs);
  const lean = median(timings.lean);
  log.info(`${name}: ${tfjs.toFixed(0)} ms with TF.js's gradients, ${lean.toFixed(0)} ms with the lean ones`);
  return {
    tfjs_ms: tfjs,
    lean_ms: lean,
    speedup: tfjs / lean,
    tfjs_images_per_s: (BATCH * 1000) / tfjs,
    lean_images_per_s: (BATCH * 1000) / lean,
    max_relative_error: error,
  };
}

/** max over tensors of max |a − b| / max |b|. */
function maxRelativeError(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  return Math.max(
    ...b.map((want, t) => {
      let diff = 0;
      let scale = 1e-12;
      want.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(a[t]![i]! - v));
        scale = Math.max(scale, Math.abs(v));
      });
      return diff / scale;
    }),
  );
}
