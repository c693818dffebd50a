/**
 * Equivalence with Keras itself: for every registry backbone, a full-size weights file written by real
 * Keras (`keras.applications.<Model>(weights=None, include_top=False)`, seeded random weights, randomised
 * BatchNormalization / LayerNormalization statistics and ConvNeXt layer-scale gammas) is loaded through the
 * public path a user takes (`loadPretrainedBackbone(name, { weightsPath })`), run in TF.js and, after
 * `exportOnnx`, in ONNX Runtime, and compared with Keras's own output on a fixed input (Keras applies its
 * `preprocess_input`; our models take raw 0..255 and normalise inside).
 *
 *   npm run bench:keras-parity
 *   BENCH_MODELS=densenet121,mobilenet_v2 npm run bench:keras-parity
 *
 * The files are made by `scripts/golden/make_keras_fixtures.py full` (Python, dev time: tensorflow-cpu and
 * tf-keras from PyPI) into `.cache/keras-parity/` (or KERAS_PARITY_DIR) when missing, and reused after.
 * Where ../shared holds a real ImageNet file (MobileNetV2), Keras runs that file too and it gets its own row
 * (`<backbone>_imagenet`). Prints a table, then as the last line one JSON object with one key per backbone.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKBONE_NAMES, type BackboneName } from '../src/core/models/registry.js';
import { exportOnnx } from '../src/core/onnx/export.js';
import { at } from '../src/core/util/at.js';
import { selectBackend } from '../src/node/backend/backend.js';
import { createOnnxSession } from '../src/node/onnx/session.js';
import { loadPretrainedBackbone } from '../src/node/weights/pretrained.js';

const DIR = resolve(process.env['KERAS_PARITY_DIR'] ?? '.cache/keras-parity');
const MODELS = (process.env['BENCH_MODELS']?.split(',') ?? BACKBONE_NAMES) as BackboneName[];
const TARGET = 1e-4;
const PYTHON = process.env['PYTHON'] ?? 'python3';

/** What the generator wrote next to each weights file. */
interface GoldenMeta {
  readonly weights: string;
  readonly weights_sha256: string;
  readonly keras: string;
  readonly params: number;
  readonly input_shape: number[];
  readonly output_shape: number[];
}

/** One backbone's result. */
interface Parity {
  readonly params: number;
  readonly match: string;
  readonly tfjs_rel_max_diff: number;
  readonly onnx_rel_max_diff: number;
  readonly load_s: number;
  readonly ok: boolean;
}

/** One comparison: a backbone with the generator's random weights, or with a real file (`given`). */
interface Case {
  readonly label: string;
  readonly backbone: BackboneName;
  readonly given?: string;
}

/** Real ImageNet files that Keras itself also runs, when ../shared has them. */
const REAL_FILES: Partial<Record<BackboneName, string>> = {
  mobilenet_v2: resolve(
    '../shared/weights/mobilenet_v2_1.0_224/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
  ),
};

const stemOf = (c: Case) => (c.given === undefined ? c.backbone : `${c.backbone}_given`);

async function generate(c: Case): Promise<void> {
  console.log(`${c.label}: no Keras golden file in ${DIR}; writing it with real Keras (python, once)...`);
  const script = resolve('scripts/golden/make_keras_fixtures.py');
  const given = c.given === undefined ? [] : ['--weights', c.given];
  const args = [script, 'full', '--out', DIR, '--only', c.backbone, ...given];
  const child = spawn(PYTHON, args, { stdio: 'inherit' });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) {
    throw new Error(
      `the Keras fixture generator failed (exit ${code}); it needs tensorflow-cpu and tf-keras: pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 h5py`,
    );
  }
}

async function golden(c: Case) {
  const name = stemOf(c);
  if (!existsSync(join(DIR, `${name}.json`))) await generate(c);
  const meta = JSON.parse(await readFile(join(DIR, `${name}.json`), 'utf8')) as GoldenMeta;
  const f32 = async (file: string) => {
    const buf = await readFile(join(DIR, file));
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  };
  return { meta, input: await f32(`${name}.input.bin`), output: await f32(`${name}.output.bin`) };
}

/** max |ours − Keras| / max |Keras|. */
function relMaxDiff(ours: Float32Array, keras: Float32Array): number {
  if (ours.length !== keras.length) throw new Error(`size ${ours.length} vs Keras ${keras.length}`);
  let diff = 0;
  let scale = 0;
  keras.forEach((k, i) => {
    diff = Math.max(diff, Math.abs(at(ours, i) - k));
    scale = Math.max(scale, Math.abs(k));
  });
  return diff / scale;
}

async function parity(c: Case): Promise<Parity> {
  const { meta, input, output } = await golden(c);
  const lines: string[] = [];
  const capture = { debug: (m: string) => lines.push(m), info: () => {}, warn: (m: string) => lines.push(m) };
  const t0 = performance.now();
  const loaded = await loadPretrainedBackbone(c.backbone, {
    weightsPath: resolve(DIR, meta.weights),
    inputSize: meta.input_shape[1],
    logger: capture,
  });
  const loadS = (performance.now() - t0) / 1000;
  const match = /loaded by (name|order)/.exec(lines.join('\n'))?.[1] ?? 'unknown';
  const tfjsOut = tf.tidy(() =>
    (loaded.model.predict(tf.tensor(input, meta.input_shape)) as tf.Tensor).dataSync(),
  ) as Float32Array;
  const { bytes } = exportOnnx(loaded.model);
  loaded.model.dispose();
  const session = await createOnnxSession(bytes, { providers: ['cpu'] });
  const onnxOut = at(Object.values(await session.run(input, meta.input_shape)), 0).data;
  await session.dispose();
  const tfjs = relMaxDiff(tfjsOut, output);
  const onnx = relMaxDiff(onnxOut, output);
  return {
    params: meta.params,
    match,
    tfjs_rel_max_diff: tfjs,
    onnx_rel_max_diff: onnx,
    load_s: Math.round(loadS * 10) / 10,
    ok: tfjs <= TARGET && onnx <= TARGET,
  };
}

async function main(): Promise<void> {
  await selectBackend('auto', 'infer', { info: (m) => console.log(m), warn: console.warn });
  console.log(`Keras parity (target: max |diff| / max |Keras output| <= ${TARGET}), files in ${DIR}\n`);
  console.log(
    `${'backbone'.padEnd(22)}${'params'.padStart(12)}  match  ${'TF.js rel'.padStart(10)}  ${'ONNX rel'.padStart(10)}  load s  ok`,
  );
  const cases: Case[] = MODELS.map((backbone) => ({ label: backbone, backbone }));
  for (const backbone of MODELS) {
    const given = REAL_FILES[backbone];
    if (given !== undefined && existsSync(given))
      cases.push({ label: `${backbone}_imagenet`, backbone, given });
  }
  const results: Record<string, Parity> = {};
  for (const c of cases) {
    const r = await parity(c);
    results[c.label] = r;
    console.log(
      `${c.label.padEnd(22)}${r.params.toLocaleString('en').padStart(12)}  ${r.match.padEnd(5)}  ${r.tfjs_rel_max_diff.toExponential(2).padStart(10)}  ${r.onnx_rel_max_diff.toExponential(2).padStart(10)}  ${String(r.load_s).padStart(6)}  ${r.ok ? 'yes' : 'NO'}`,
    );
  }
  const allOk = Object.values(results).every((r) => r.ok);
  console.log(`\n${allOk ? 'all backbones within' : 'NOT all backbones within'} ${TARGET}`);
  console.log(JSON.stringify({ ...results, target: TARGET, all_ok: allOk }));
  if (!allOk) process.exitCode = 1;
}

await main();
