/**
 * The model zoo's own costs: building each registry backbone (random init), loading the real
 * ImageNet MobileNet v1 (TF.js layers format, ../shared) into the truncated backbone, a Keras .h5
 * write + read + assign round trip, and pretrained feature extraction on real HAM10000 images.
 *
 *   npm run bench:weights
 *   BENCH_MODELS=mobilenet_v1,densenet121 BENCH_REPS=3 npm run bench:weights
 *
 * Prints a table, then as the very last line one JSON object of medians (milliseconds, images/s).
 */

import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKBONE_NAMES, BACKBONES, type BackboneName } from '../src/core/models/registry.js';
import { loadKerasH5Weights } from '../src/node/weights/h5.js';
import { writeKerasH5Weights } from '../src/node/weights/h5-write.js';
import { loadPretrainedBackbone } from '../src/node/weights/pretrained.js';
import { median } from './lib/median.js';
import { imageBatch, jpegNames } from './lib/real-images.js';

const SHARED = resolve('../shared');
const MOBILENET = join(SHARED, 'weights/mobilenet_v1_1.0_224');
const HAM = join(SHARED, 'data/ham10000/HAM10000_images_part_1');
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
/** Real images for the feature-extraction timing (tfjs-cpu is slow: keep it small). */
const N_IMAGES = 8;
const MODELS = (process.env['BENCH_MODELS']?.split(',') ?? BACKBONE_NAMES) as BackboneName[];

async function timed(reps: number, fn: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function buildTimes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of MODELS) {
    const reps = name === 'inception_resnet_v2' || name === 'convnext_small' ? 1 : REPS;
    out[name] = await timed(reps, () => {
      BACKBONES[name].build().dispose();
    });
    console.log(
      `build ${name.padEnd(22)} ${out[name].toFixed(0).padStart(7)} ms  (${(BACKBONES[name].kerasParams / 1e6).toFixed(2)} M params)`,
    );
  }
  return out;
}

async function h5RoundTrip(
  name: BackboneName,
  dir: string,
): Promise<{ writeMs: number; loadMs: number; mb: number }> {
  const model = BACKBONES[name].build();
  const path = join(dir, `${name}.h5`);
  const writeMs = await timed(1, () => writeKerasH5Weights(model, path));
  const loadMs = await timed(REPS, async () => {
    await loadKerasH5Weights(model, path);
  });
  const mb = (await stat(path)).size / 2 ** 20;
  model.dispose();
  console.log(
    `h5 ${name.padEnd(25)} write ${writeMs.toFixed(0).padStart(6)} ms  read+assign ${loadMs.toFixed(0).padStart(6)} ms  (${mb.toFixed(1)} MiB)`,
  );
  return { writeMs, loadMs, mb };
}

async function mobilenetPretrained(): Promise<Record<string, number> | null> {
  if (!existsSync(join(MOBILENET, 'model.json')) || !existsSync(HAM)) return null;
  const loadMs = await timed(REPS, async () => {
    (await loadPretrainedBackbone('mobilenet_v1', { weightsPath: MOBILENET })).model.dispose();
  });
  const { model } = await loadPretrainedBackbone('mobilenet_v1', { weightsPath: MOBILENET });
  const images = await imageBatch(HAM, (await jpegNames(HAM)).slice(0, N_IMAGES), 224);
  let pooled: number[] = [];
  const features = () => {
    pooled = tf
      .tidy(() => tf.mean(model.predict(images) as tf.Tensor, [1, 2]).arraySync() as number[][])
      .flat();
  };
  const ms = await timed(REPS, features);
  const mean = pooled.reduce((a, b) => a + b, 0) / pooled.length;
  const zeros = pooled.filter((v) => v === 0).length / pooled.length;
  images.dispose();
  model.dispose();
  const imgPerS = (N_IMAGES / ms) * 1000;
  console.log(
    `mobilenet_v1 (TF.js weights, cut at conv_pw_12_relu): load ${loadMs.toFixed(0)} ms; ${N_IMAGES} real images ${ms.toFixed(0)} ms = ${imgPerS.toFixed(1)} img/s on tfjs-${tf.getBackend()}; pooled features mean ${mean.toFixed(3)}, ${(zeros * 100).toFixed(1)} % zeros`,
  );
  return { load_ms: loadMs, img_per_s: imgPerS, feature_mean: mean, feature_zero_frac: zeros };
}

async function main(): Promise<void> {
  await tf.ready();
  console.log(`tfjs backend: ${tf.getBackend()}, reps: ${REPS} (medians)\n`);
  const build_ms = await buildTimes();
  const dir = await mkdtemp(join(tmpdir(), 'lesionlab-bench-'));
  const h5: Record<string, unknown> = {};
  for (const name of MODELS.filter((m) => m === 'mobilenet_v2' || m === 'densenet121'))
    h5[name] = await h5RoundTrip(name, dir);
  await rm(dir, { recursive: true, force: true });
  const mobilenet_v1_pretrained = await mobilenetPretrained();
  const rss_mb = process.memoryUsage().rss / 2 ** 20;
  console.log(JSON.stringify({ backend: tf.getBackend(), build_ms, h5, mobilenet_v1_pretrained, rss_mb }));
}

await main();
