/**
 * Forward throughput of every registry backbone (batch 16, native input size, random weights) on
 * ONNX Runtime (this repo's exporter + onnxruntime-node), TF.js wasm and, for MobileNet v1 only,
 * TF.js cpu; GMACs per image from the layer configs; ORT intra-op threads 1 vs 2 on MobileNet v1.
 *
 *   npm run bench:backbones                      # all backbones
 *   BENCH_MODELS=mobilenet_v1,densenet121 npm run bench:backbones
 *
 * Prints a table, then as the very last line one JSON object:
 * {"<name>":{"ort":img/s,"wasm":img/s,"cpu"?:img/s,"gmacs":n,"ort_over_wasm":x},...,"peak_rss_mb":n}.
 */

import * as tf from '@tensorflow/tfjs';
import { median } from './lib/median.js';
import '@tensorflow/tfjs-backend-wasm';
import { BACKBONE_NAMES, BACKBONES, type BackboneName } from '../src/core/models/registry.js';
import { exportOnnx } from '../src/core/onnx/export.js';
import { countMacs } from '../src/core/onnx/macs.js';
import { at } from '../src/core/util/at.js';
import { createOnnxSession, DEFAULT_ONNX_THREADS } from '../src/node/onnx/session.js';

const BATCH = 16;
/** Timed repeats per engine: fewer for slow models so the whole run stays within a few minutes. */
const REPS: Record<BackboneName, { ort: number; wasm: number }> = {
  mobilenet_v1: { ort: 7, wasm: 3 },
  mobilenet_v2: { ort: 7, wasm: 3 },
  densenet121: { ort: 3, wasm: 1 },
  convnext_small: { ort: 3, wasm: 1 },
  inception_resnet_v2: { ort: 3, wasm: 1 },
};

interface Row {
  ort: number;
  wasm: number;
  cpu?: number;
  gmacs: number;
  ort_over_wasm: number;
}

/** Images per second from the median of `reps` timed batch calls after one warm-up call. */
async function throughput(
  run: () => Promise<void>,
  reps: number,
  warmUp: () => Promise<void> = run,
): Promise<number> {
  await warmUp();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  return BATCH / median(times);
}

/** Random but realistic weights (He-scaled kernels, BatchNorm statistics near 1) so no denormals slow a run. */
function randomize(model: tf.LayersModel): void {
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const short = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    const fanIn =
      short === 'depthwise_kernel'
        ? at(shape, 0) * at(shape, 1)
        : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const value = tf.tidy(() => {
      if (/kernel/.test(short)) return tf.randomUniform(shape, -Math.sqrt(6 / fanIn), Math.sqrt(6 / fanIn));
      if (short === 'gamma' || short === 'moving_variance') return tf.randomUniform(shape, 0.75, 1.25);
      return tf.randomUniform(shape, -0.1, 0.1);
    });
    w.write(value);
    value.dispose();
  }
}

/** TF.js throughput; the warm-up runs one image (it only has to initialise kernels and weights). */
async function tfjsThroughput(model: tf.LayersModel, input: Float32Array, size: number, reps: number) {
  const x = tf.tensor4d(input, [BATCH, size, size, 3]);
  const one = tf.slice(x, 0, 1);
  const predict = (t: tf.Tensor) => async () => {
    const y = model.predict(t) as tf.Tensor;
    await y.data();
    y.dispose();
  };
  const ips = await throughput(predict(x), reps, predict(one));
  tf.dispose([x, one]);
  return ips;
}

async function ortThroughput(
  bytes: Uint8Array,
  input: Float32Array,
  size: number,
  reps: number,
  threads?: number,
) {
  const session = await createOnnxSession(bytes, { providers: ['cpu'], threads });
  const ips = await throughput(async () => {
    await session.run(input, [BATCH, size, size, 3]);
  }, reps);
  await session.dispose();
  return ips;
}

/**
 * ORT with 1 and with 2 intra-op threads, timed in alternation (so load changes on a shared machine hit
 * both alike): images/s by thread count, from the median of `reps` batch runs each.
 */
async function ortThreadsAB(bytes: Uint8Array, input: Float32Array, size: number, reps: number) {
  const runs = await Promise.all(
    [1, 2].map(async (threads) => ({
      threads,
      session: await createOnnxSession(bytes, { providers: ['cpu'], threads }),
      times: [] as number[],
    })),
  );
  for (let i = -1; i < reps; i++) {
    for (const { session, times } of runs) {
      const t0 = performance.now();
      await session.run(input, [BATCH, size, size, 3]);
      if (i >= 0) times.push((performance.now() - t0) / 1000);
    }
  }
  await Promise.all(runs.map(({ session }) => session.dispose()));
  return Object.fromEntries(runs.map(({ threads, times }) => [String(threads), BATCH / median(times)]));
}

/** Runs `step` and logs how long it took. */
async function timed<T>(label: string, step: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await step();
  console.log(`    ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

async function benchModel(name: BackboneName, ortThreads: Record<string, number>): Promise<Row> {
  const spec = BACKBONES[name];
  const size = spec.inputSize;
  const reps = REPS[name];
  console.log(`  ${name} (${size}x${size}, batch ${BATCH})`);
  await tf.setBackend('wasm');
  const model = await timed('build + random weights', () => {
    const m = spec.build();
    randomize(m);
    return m;
  });
  const gmacs = countMacs(model) / 1e9;
  const input = Float32Array.from({ length: BATCH * size * size * 3 }, () => Math.random() * 255);
  const { bytes } = await timed('export ONNX', () => exportOnnx(model, { outputNames: ['features'] }));
  let ort: number;
  if (name === 'mobilenet_v1') {
    Object.assign(
      ortThreads,
      await timed('ORT 1 vs 2 threads, interleaved', () => ortThreadsAB(bytes, input, size, reps.ort)),
    );
    const measured = ortThreads[String(DEFAULT_ONNX_THREADS)];
    if (measured === undefined) {
      throw new Error(
        `bench:backbones times ORT with 1 and 2 threads, not DEFAULT_ONNX_THREADS ${DEFAULT_ONNX_THREADS}`,
      );
    }
    ort = measured;
  } else {
    ort = await timed(`ORT (${DEFAULT_ONNX_THREADS} thread${DEFAULT_ONNX_THREADS === 1 ? '' : 's'})`, () =>
      ortThroughput(bytes, input, size, reps.ort),
    );
  }
  const wasm = await timed('TF.js wasm', () => tfjsThroughput(model, input, size, reps.wasm));
  let cpu: number | undefined;
  if (name === 'mobilenet_v1') {
    await tf.setBackend('cpu');
    cpu = await timed('TF.js cpu', () => tfjsThroughput(model, input, size, 1));
  }
  model.dispose();
  return { ort, wasm, ...(cpu === undefined ? {} : { cpu }), gmacs, ort_over_wasm: ort / wasm };
}

const fmt = (x: number | undefined, digits = 2): string => (x === undefined ? '-' : x.toFixed(digits));

function printTable(rows: Record<string, Row>): void {
  console.log('\nbackbone              input  GMACs   ORT img/s  wasm img/s  cpu img/s  ORT/wasm');
  for (const [name, r] of Object.entries(rows)) {
    const size = BACKBONES[name as BackboneName].inputSize;
    console.log(
      `${name.padEnd(22)}${String(size).padStart(5)}  ${fmt(r.gmacs).padStart(5)}  ${fmt(r.ort).padStart(10)}  ` +
        `${fmt(r.wasm).padStart(10)}  ${fmt(r.cpu).padStart(9)}  ${fmt(r.ort_over_wasm, 1).padStart(7)}x`,
    );
  }
}

function printTargets(rows: Record<string, Row>): void {
  const check = (label: string, ok: boolean | undefined) =>
    console.log(`  ${ok === undefined ? 'n/a ' : ok ? 'PASS' : 'MISS'}  ${label}`);
  console.log('\ntargets (on this machine):');
  const ratios = Object.values(rows).map((r) => r.ort_over_wasm);
  check('ORT >= 5x TF.js wasm (every backbone)', ratios.length ? ratios.every((r) => r >= 5) : undefined);
  check('MobileNet v1 224 >= 50 img/s (ORT)', rows['mobilenet_v1'] && rows['mobilenet_v1'].ort >= 50);
  check('DenseNet121 224 >= 8 img/s (ORT)', rows['densenet121'] && rows['densenet121'].ort >= 8);
  check(
    'InceptionResNetV2 299 >= 3 img/s (ORT)',
    rows['inception_resnet_v2'] && rows['inception_resnet_v2'].ort >= 3,
  );
}

async function main(): Promise<void> {
  const wanted = process.env['BENCH_MODELS']?.split(',').map((s) => s.trim()) ?? BACKBONE_NAMES;
  // Cheapest first, so a cut-short run still shows the small models.
  const names = BACKBONE_NAMES.filter((n) => wanted.includes(n)).sort(
    (a, b) => BACKBONES[a].gmacs - BACKBONES[b].gmacs,
  );
  await tf.setBackend('wasm');
  const wasmThreads = (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  console.log(`batch ${BATCH}, median of timed runs after one warm-up; TF.js wasm threads: ${wasmThreads}`);
  const rows: Record<string, Row> = {};
  const ortThreads: Record<string, number> = {};
  for (const name of names) {
    rows[name] = await benchModel(name, ortThreads);
  }
  printTable(rows);
  if (ortThreads['1']) {
    console.log(
      `\nORT intra-op threads on mobilenet_v1: 1 -> ${fmt(ortThreads['1'])} img/s, 2 -> ${fmt(ortThreads['2'])} img/s`,
    );
  }
  printTargets(rows);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`peak RSS: ${peakRssMb} MB`);
  const round = (r: Row) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(3))]));
  const json = Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, round(r)]));
  console.log(
    JSON.stringify({ ...json, ort_threads: ortThreads, wasm_threads: wasmThreads, peak_rss_mb: peakRssMb }),
  );
}

await main();
