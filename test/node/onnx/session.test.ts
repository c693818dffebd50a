import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/core/onnx/export.js';
import { createOnnxSession, DEFAULT_ONNX_THREADS } from '../../../src/node/onnx/session.js';
import { outputNamed } from '../../support/onnx-output.js';

let dir: string;
let bytes: Uint8Array;

beforeAll(async () => {
  const input = tf.input({ shape: [4, 4, 3] });
  const features = tf.layers
    .conv2d({ filters: 2, kernelSize: 1, name: 'f', kernelInitializer: 'ones' })
    .apply(input);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(features);
  const model = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor,
  });
  bytes = exportOnnx(model, { outputNames: ['probabilities'], featureLayer: 'f' }).bytes;
  model.dispose();
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-onnx-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createOnnxSession', () => {
  it('runs bytes or a file and returns every output, or the ones asked for', async () => {
    const path = join(dir, 'm.onnx');
    await writeFile(path, bytes);
    for (const source of [bytes, path]) {
      const session = await createOnnxSession(source, { providers: ['cpu'] });
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['probabilities', 'features']);
      expect(session.inputMetadata).toEqual([
        { name: 'input', isTensor: true, type: 'float32', shape: ['N', 4, 4, 3] },
      ]);
      expect(session.outputMetadata.map((m) => m.isTensor && m.shape)).toEqual([
        ['N', 3],
        ['N', 4, 4, 2],
      ]);
      expect(session.threads).toBe(DEFAULT_ONNX_THREADS);
      const input = new Float32Array(2 * 4 * 4 * 3).fill(1);
      const all = await session.run(input, [2, 4, 4, 3]);
      expect(outputNamed(all, 'features').dims).toEqual([2, 4, 4, 2]);
      expect(outputNamed(all, 'features').data[0]).toBeCloseTo(3, 5);
      const sum = outputNamed(all, 'probabilities')
        .data.slice(0, 3)
        .reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      const some = await session.run(input, [2, 4, 4, 3], ['probabilities']);
      expect(Object.keys(some)).toEqual(['probabilities']);
      const one = await session.runOutput(input, [2, 4, 4, 3], 'features');
      expect(one.dims).toEqual([2, 4, 4, 2]);
      expect(one.data).toEqual(outputNamed(all, 'features').data);
      await session.dispose();
    }
  });

  it('falls back from cuda to cpu with one log line', async () => {
    const lines: string[] = [];
    const session = await createOnnxSession(bytes, {
      logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    if (session.provider === 'cuda') return; // a machine with the CUDA provider: nothing to fall back from
    expect(session.provider).toBe('cpu');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^onnx provider: cpu \(tried cuda: .+\)$/);
    await session.dispose();
  });

  it('says which file is missing and which dims do not fit', async () => {
    await expect(createOnnxSession(join(dir, 'nope.onnx'))).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
    const session = await createOnnxSession(bytes, { providers: ['cpu'], threads: 1 });
    await expect(session.run(new Float32Array(5), [1, 4, 4, 3])).rejects.toThrow(
      /^expected 48 values for dims \[1, 4, 4, 3\] for ONNX input ".+" but received 5 values; pass matching data and dims$/,
    );
    await session.dispose();
  });

  it('names the outputs a model has when asked for another one', async () => {
    const session = await createOnnxSession(bytes, { providers: ['cpu'], threads: 1 });
    await expect(session.runOutput(new Float32Array(48), [1, 4, 4, 3], 'cam')).rejects.toMatchObject({
      code: 'E_ONNX',
      message:
        'expected one of probabilities, features for the ONNX output name but received "cam"; ask for an output the model has',
    });
    await session.dispose();
  });

  it('rejects bytes that are not an ONNX model with E_ONNX', async () => {
    await expect(createOnnxSession(new Uint8Array([1, 2, 3]), { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'E_ONNX',
    });
  });
});
