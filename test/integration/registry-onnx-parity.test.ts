import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKBONE_NAMES, BACKBONES, type BackboneName } from '../../src/core/models/registry.js';
import { exportOnnx } from '../../src/core/onnx/export.js';
import { createOnnxSession } from '../../src/node/onnx/session.js';
import { outputNamed } from '../support/onnx-output.js';
import { maxAbsDiff, randomData, randomizeForParity } from '../support/onnx-parity.js';

/**
 * To keep this file near a minute, ConvNeXt-Small runs at 128 px by default (every layer is still
 * exported and checked) and InceptionResNetV2 (~50 s alone: building and exporting 55 M weights) only
 * with LESIONLAB_FULL_PARITY=1, which also runs every backbone at its native size.
 */
const FULL = process.env['LESIONLAB_FULL_PARITY'] === '1';
const REDUCED: Partial<Record<string, number>> = { convnext_small: 128 };
const SLOW = new Set<string>(['inception_resnet_v2']);

let previous = 'cpu';
beforeAll(async () => {
  await tf.ready();
  previous = tf.getBackend();
  await tf.setBackend('wasm'); // TF.js reference on the wasm backend: same kernels as inference, 5x faster than cpu
});
afterAll(async () => {
  await tf.setBackend(previous);
});

describe('every registry backbone: ONNX Runtime matches TF.js (random weights, BN statistics randomised)', () => {
  for (const name of BACKBONE_NAMES) {
    const slow = SLOW.has(name) && !FULL;
    const title = slow ? `${name} (skipped: slow; set LESIONLAB_FULL_PARITY=1)` : name;
    it.skipIf(slow)(title, () => checkParity(name), FULL ? 600_000 : 120_000);
  }
});

async function checkParity(name: BackboneName): Promise<void> {
  const spec = BACKBONES[name];
  const size = FULL ? spec.inputSize : (REDUCED[name] ?? spec.inputSize);
  const model = spec.build({ inputSize: size });
  randomizeForParity(model, name.length);
  const exported = exportOnnx(model, { outputNames: ['features'] });
  const input = randomData(size * size * 3, 11, 0, 255);
  const x = tf.tensor4d(input, [1, size, size, 3]);
  const y = model.predict(x) as tf.Tensor;
  const want = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  const session = await createOnnxSession(exported.bytes, { providers: ['cpu'] });
  const got = outputNamed(await session.run(input, [1, size, size, 3]), 'features');
  await session.dispose();
  expect(got.dims).toEqual([1, ...(y.shape.slice(1) as number[])]);
  const peak = want.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  expect(peak).toBeGreaterThan(0.1); // activations are real-sized, not vanished
  const diff = maxAbsDiff(got.data, want);
  process.stderr.write(`PARITY ${name} ${size}px max|diff| ${diff} peak ${peak}\n`);
  expect(diff).toBeLessThanOrEqual(1e-4);
}
