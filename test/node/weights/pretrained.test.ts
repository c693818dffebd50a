import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../../../src/core/models/registry.js';
import { at } from '../../../src/core/util/at.js';
import { writeKerasH5Weights } from '../../../src/node/weights/h5-write.js';
import {
  findBackboneWeights,
  loadPretrainedBackbone,
  PACKAGE_ROOT,
  randomPretrained,
} from '../../../src/node/weights/pretrained.js';
import { recordingLogger } from '../../support/recording-logger.js';

const V2_NAME = 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5';
const V2_SHA256 = '296b9d43986d8ee24006ff8ed4e96a68f3ee74665eac5ffcddc06f8d0764dada';
const V2_REPO = join(PACKAGE_ROOT, 'weights', 'mobilenet_v2_1.0_224', V2_NAME);

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
let server: Server;
let base: string;
let h5Bytes: Buffer;
let source: tf.LayersModel;
/** No local copies and no environment: only the mirror or the cache can supply weights. */
let nowhere: { packageRoot: string; env: NodeJS.ProcessEnv };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-pre-'));
  nowhere = { packageRoot: join(dir, 'empty-package'), env: {} };
  source = getBackbone('mobilenet_v2').build({ inputSize: 32 });
  await writeKerasH5Weights(source, join(dir, 'src.h5'));
  h5Bytes = await readFile(join(dir, 'src.h5'));
  server = createServer((req, res) => {
    if (req.url === '/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5') res.end(h5Bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  source.dispose();
  await new Promise((ok) => server.close(ok));
  await rm(dir, { recursive: true, force: true });
});

function predict(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
}

describe('loadPretrainedBackbone', () => {
  it('downloads the official file name from the mirror and loads it', async () => {
    const logger = recordingLogger();
    const got = await loadPretrainedBackbone('mobilenet_v2', {
      logger,
      baseUrl: base,
      cacheDir: join(dir, 'cache'),
      inputSize: 32,
      ...nowhere,
    });
    expect(got).toMatchObject({ weights: 'imagenet', outputLayer: null, featureWidth: 1280 });
    const file = join(dir, 'cache', 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5');
    expect(got.source).toBe(file);
    expect(got.provenance).toEqual({ kind: 'imagenet', file, sha256: sha256(h5Bytes) });
    const x = tf.randomUniform([1, 32, 32, 3], 0, 255, 'float32', 5);
    expect(predict(got.model, x)).toEqual(predict(source, x));
    expect(logger.warnings).toEqual([]);
    x.dispose();
    got.model.dispose();
  });

  it('falls back to random weights with one loud warning when offline', async () => {
    const logger = recordingLogger();
    const got = await loadPretrainedBackbone('densenet121', {
      logger,
      baseUrl: `${base}/nothing-here`,
      cacheDir: join(dir, 'c2'),
      inputSize: 32,
      seed: 7,
      ...nowhere,
    });
    expect(got).toMatchObject({ weights: 'random', source: null, provenance: { kind: 'random', seed: 7 } });
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/^densenet121: NO IMAGENET WEIGHTS, using RANDOM weights .*HTTP 404/);
    got.model.dispose();
  });

  it('refuses in one line naming the file and where to put it when ImageNet weights are required', async () => {
    const attempt = loadPretrainedBackbone('densenet121', {
      baseUrl: `${base}/nothing-here`,
      cacheDir: join(dir, 'c3'),
      inputSize: 32,
      fallback: 'error',
      ...nowhere,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'E_WEIGHTS' });
    const message = (await attempt.catch((e: Error) => e.message)) as string;
    expect(message).not.toContain('\n');
    expect(message).toContain(
      `download https://storage.googleapis.com/tensorflow/keras-applications/densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5 to ${join(dir, 'c3', 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5')}`,
    );
    expect(message).toMatch(
      /set LESIONLAB_DENSENET121_WEIGHTS .* or pass --weights auto to allow random weights$/,
    );
  });

  it('offline, still uses a file already in the cache', async () => {
    const cacheDir = join(dir, 'c4');
    await mkdir(cacheDir, { recursive: true });
    const file = join(cacheDir, 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5');
    await writeFile(file, h5Bytes);
    const offline = { ...nowhere, env: { LESIONLAB_OFFLINE: '1' }, cacheDir };
    expect(await findBackboneWeights('mobilenet_v2', offline)).toMatchObject({ path: file });
    expect(await findBackboneWeights('densenet121', offline)).toBeNull();
  });

  it('loads an explicit .h5 path and fails loudly on a wrong one', async () => {
    const got = await loadPretrainedBackbone('mobilenet_v2', {
      weightsPath: join(dir, 'src.h5'),
      inputSize: 32,
    });
    expect(got.weights).toBe('imagenet');
    got.model.dispose();
    await expect(
      loadPretrainedBackbone('mobilenet_v1', { weightsPath: join(dir, 'src.h5'), inputSize: 32 }),
    ).rejects.toMatchObject({ code: 'E_WEIGHTS' });
  });
});

describe('MobileNetV2 weights committed to the repo', () => {
  it('are the pinned file', async () => {
    expect(sha256(await readFile(V2_REPO))).toBe(V2_SHA256);
  });

  it('are found with no flag: the repo copy first, then ../shared, checking sha256', async () => {
    expect(await findBackboneWeights('mobilenet_v2', { env: {}, download: false })).toEqual({
      path: V2_REPO,
      format: 'keras-h5',
      origin: 'local',
      sha256: V2_SHA256,
    });
    // a package without its copy, with ../shared beside it
    const pkg = join(dir, 'layout', 'pkg');
    const shared = join(dir, 'layout', 'shared', 'weights', 'mobilenet_v2_1.0_224');
    await mkdir(shared, { recursive: true });
    await copyFile(V2_REPO, join(shared, V2_NAME));
    const o = { env: {}, download: false, packageRoot: pkg };
    expect(await findBackboneWeights('mobilenet_v2', o)).toMatchObject({ path: join(shared, V2_NAME) });
    // a damaged copy is refused, never used
    await mkdir(join(pkg, 'weights', 'mobilenet_v2_1.0_224'), { recursive: true });
    await writeFile(join(pkg, 'weights', 'mobilenet_v2_1.0_224', V2_NAME), 'not the weights');
    await expect(findBackboneWeights('mobilenet_v2', o)).rejects.toThrow(
      new RegExp(
        `^expected sha256 ${V2_SHA256} for \\S+${V2_NAME} but received [0-9a-f]{64}; restore the file`,
      ),
    );
  });

  it('load as ImageNet weights with their provenance', async () => {
    const got = await loadPretrainedBackbone('mobilenet_v2', { env: {}, download: false, inputSize: 64 });
    expect(got.provenance).toEqual({ kind: 'imagenet', file: V2_REPO, sha256: V2_SHA256 });
    expect(got.featureWidth).toBe(1280);
    // ImageNet features of a mid-grey image are not those of seeded random weights
    const x = tf.fill([1, 64, 64, 3], 128);
    const pool = (model: tf.LayersModel) =>
      Array.from(tf.tidy(() => (model.predict(x) as tf.Tensor).mean([1, 2]).dataSync()));
    const random = randomPretrained('mobilenet_v2', 0, 64);
    const [imagenet, seeded] = [pool(got.model), pool(random.model)];
    expect(imagenet).toHaveLength(1280);
    expect(imagenet.every(Number.isFinite)).toBe(true);
    // the pinned file's answer (recorded once; the file is sha256-pinned and bench:keras-parity ties it to Keras)
    expect(imagenet.reduce((a, b) => a + b, 0)).toBeCloseTo(707.024, 1);
    expect(imagenet.slice(0, 4).map((v) => Number(v.toFixed(3)))).toEqual([0, 3.118, 0, 0]);
    const scale = Math.max(...imagenet.map(Math.abs));
    expect(Math.max(...imagenet.map((v, i) => Math.abs(v - at(seeded, i))))).toBeGreaterThan(0.1 * scale);
    x.dispose();
    random.model.dispose();
    got.model.dispose();
  });
});
