import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../../src/core/models/registry.js';
import { at } from '../../src/core/util/at.js';
import { findBackboneWeights, loadPretrainedBackbone } from '../../src/node/weights/pretrained.js';
import { loadTfjsLayersWeights, readTfjsLayersWeights } from '../../src/node/weights/tfjs-layers.js';
import { recordingLogger } from '../support/recording-logger.js';

// Google's MobileNet v1 (TF.js layers format, one shard missing) from the ../shared checkout.
const MOBILENET = resolve('../shared/weights/mobilenet_v1_1.0_224');
const SAMPLE = resolve('data/sample/ham10000/HAM10000_images_part_1');
const haveMobileNet = existsSync(join(MOBILENET, 'model.json'));

async function sampleImage(): Promise<tf.Tensor4D> {
  const file = at((await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort(), 0);
  const raw = await sharp(join(SAMPLE, file))
    .resize(224, 224, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  return tf.tensor4d(Float32Array.from(raw), [1, 224, 224, 3]);
}

/** Google's own model loaded by tf.loadLayersModel, the missing shard replaced by zeros, cut at conv_pw_12_relu. */
async function referenceModel(): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(MOBILENET, 'model.json'), 'utf8'));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
    for (const w of group.weights) specs.push(w);
    const path = join(MOBILENET, at(group.paths, 0));
    const size = group.weights.reduce((a, w) => a + w.shape.reduce((p, d) => p * d, 1) * 4, 0);
    buffers.push(existsSync(path) ? await readFile(path) : new Uint8Array(size));
  }
  const data = Buffer.concat(buffers);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const full = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }),
  );
  return tf.model({
    inputs: full.inputs,
    outputs: full.getLayer('conv_pw_12_relu').output as tf.SymbolicTensor,
  });
}

describe.skipIf(!haveMobileNet)('TF.js layers weights: the real MobileNet v1 in ../shared', () => {
  it('reads 54 present groups and reports the one missing shard', async () => {
    const { present, missing } = await readTfjsLayersWeights(MOBILENET);
    expect(missing).toEqual([{ layer: 'conv_pw_13', name: 'kernel', file: 'group37-shard1of1' }]);
    expect(present.find((w) => w.layer === 'conv1_bn' && w.name === 'moving_variance')!.shape).toEqual([32]);
  });

  it('refuses the full backbone, naming the missing file and layer', async () => {
    const model = getBackbone('mobilenet_v1').build({ inputSize: 32 });
    await expect(loadTfjsLayersWeights(model, MOBILENET, { allowUnused: true })).rejects.toThrow(
      /^expected the weight file group37-shard1of1 \(conv_pw_13\/kernel\), as the model uses layer conv_pw_13 for \S+ but received none \(the file is missing\)/,
    );
    model.dispose();
  });

  it("loads into the truncated backbone, each weight exactly once, and matches Google's model", async () => {
    const model = getBackbone('mobilenet_v1').build({ outputLayer: 'conv_pw_12_relu' });
    const report = await loadTfjsLayersWeights(model, MOBILENET, { allowUnused: true });
    expect(report.mode).toBe('name');
    expect(report.assigned).toBe(model.weights.length);
    expect([...report.unused].sort()).toEqual(
      [
        'conv_dw_13/depthwise_kernel',
        'conv_dw_13_bn/beta',
        'conv_dw_13_bn/gamma',
        'conv_dw_13_bn/moving_mean',
        'conv_dw_13_bn/moving_variance',
        'conv_preds/bias',
        'conv_preds/kernel',
        'conv_pw_13_bn/beta',
        'conv_pw_13_bn/gamma',
        'conv_pw_13_bn/moving_mean',
        'conv_pw_13_bn/moving_variance',
      ].sort(),
    );
    const image = await sampleImage();
    const ref = await referenceModel();
    const ours = tf.tidy(() => (model.predict(image) as tf.Tensor).arraySync() as number[][][][]).flat(3);
    const theirs = tf
      .tidy(() => (ref.predict(tf.sub(tf.div(image, 127.5), 1)) as tf.Tensor).arraySync() as number[][][][])
      .flat(3);
    expect(ours.length).toBe(7 * 7 * 1024);
    expect(ours.every(Number.isFinite)).toBe(true);
    expect(ours.filter((v) => v > 0).length).toBeGreaterThan(ours.length / 20);
    const maxDiff = Math.max(...ours.map((v, i) => Math.abs(v - at(theirs, i))));
    expect(maxDiff).toBeLessThan(1e-3);
    image.dispose();
    model.dispose();
    ref.dispose();
  });
});

describe.skipIf(!haveMobileNet)('loadPretrainedBackbone: the real MobileNet v1 in ../shared', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lesionlab-shared-weights-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('cuts MobileNet v1 before the missing shard of ../shared', async () => {
    const logger = recordingLogger();
    const got = await loadPretrainedBackbone('mobilenet_v1', {
      logger,
      weightsPath: MOBILENET,
      inputSize: 64,
    });
    expect(got).toMatchObject({ weights: 'imagenet', outputLayer: 'conv_pw_12_relu', featureWidth: 1024 });
    expect(got.provenance).toMatchObject({
      kind: 'imagenet',
      file: join(MOBILENET, 'model.json'),
      truncatedAt: 'conv_pw_12_relu',
    });
    expect((got.provenance as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(got.model.layers.at(-1)!.name).toBe('conv_pw_12_relu');
    expect(logger.warnings).toEqual([
      `mobilenet_v1: group37-shard1of1 missing in ${join(MOBILENET, 'model.json')}; using the backbone up to conv_pw_12_relu`,
    ]);
    got.model.dispose();
  });

  it('finds MobileNet v1 in ../shared with no flag, and prefers the environment variable', async () => {
    expect(await findBackboneWeights('mobilenet_v1', { env: {} })).toMatchObject({
      path: MOBILENET,
      format: 'tfjs-layers',
      origin: 'local',
    });
    const env = { LESIONLAB_MOBILENET_DIR: join(dir, 'elsewhere') };
    expect(await findBackboneWeights('mobilenet_v1', { env })).toMatchObject({
      path: join(dir, 'elsewhere'),
      origin: 'env',
    });
  });
});
