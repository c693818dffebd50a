import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';
import { readModelBundle, resolveBundleDir } from '../../../src/node/bundle/read.js';
import { loadLayersModelFromDir } from '../../../src/node/bundle/tfjs-files.js';
import { writeModelBundle } from '../../../src/node/bundle/write.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from '../../support/tiny-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-bundle-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const args = (model: tf.LayersModel) => ({
  model,
  name: 'tiny',
  backbone: 'tiny-conv',
  classes: HAM10000_CLASSES,
  preprocess: TINY_SPEC,
  normalization: TINY_NORM,
  metrics: { balancedAccuracy: 0.42 },
});

function input(n: number): Float32Array {
  return Float32Array.from({ length: n * 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
}

describe('writeModelBundle / readModelBundle', () => {
  it('writes bundle.json, model.onnx and tfjs/ whose outputs agree with the TF.js model', async () => {
    const model = buildTinyModel();
    const dir = join(root, 'a');
    const meta = await writeModelBundle(dir, args(model));
    expect((await readdir(dir)).sort()).toEqual(['bundle.json', 'model.onnx', 'tfjs']);
    const bundle = await readModelBundle(dir);
    expect(bundle.meta).toEqual(meta);
    expect(bundle.meta.onnx).toEqual({
      file: 'model.onnx',
      input: 'input',
      probabilities: 'probabilities',
      cam: 'cam',
    });
    expect(bundle.meta.metrics).toEqual({ balancedAccuracy: 0.42 });

    const x = input(2);
    const expected = tf.tidy(() => (model.predict(tf.tensor4d(x, [2, 16, 16, 3])) as tf.Tensor).dataSync());
    const session = await ort.InferenceSession.create(bundle.onnxPath);
    const out = await session.run({ input: new ort.Tensor('float32', x, [2, 16, 16, 3]) });
    await session.release();
    const probs = out.probabilities!.data as Float32Array;
    for (let i = 0; i < expected.length; i++) expect(at(probs, i)).toBeCloseTo(at(expected, i), 5);
    expect(out.cam!.dims).toEqual([2, 16, 16, 7]);

    const reloaded = await loadLayersModelFromDir(join(dir, 'tfjs'));
    const again = tf.tidy(() => (reloaded.predict(tf.tensor4d(x, [2, 16, 16, 3])) as tf.Tensor).dataSync());
    expect(Array.from(again)).toEqual(Array.from(expected));
    reloaded.dispose();
    model.dispose();
  });

  it('replaces an existing bundle only once the new one is complete, leaving no temp folders', async () => {
    const dir = join(root, 'b');
    const m1 = buildTinyModel(7, 1);
    const m2 = buildTinyModel(7, 5);
    const first = await writeModelBundle(dir, { ...args(m1), name: 'first' });
    const failing = { ...args(m2), classes: ['only-one'] };
    await expect(writeModelBundle(dir, failing)).rejects.toThrow();
    expect((await readModelBundle(dir)).meta).toEqual(first);
    await writeModelBundle(dir, { ...args(m2), name: 'second' });
    expect((await readModelBundle(dir)).meta.name).toBe('second');
    expect((await readdir(root)).filter((n) => n.startsWith('b.'))).toEqual([]);
    m1.dispose();
    m2.dispose();
  });

  it('finds the bundle inside a run folder (model/)', async () => {
    const model = buildTinyModel();
    await writeModelBundle(join(root, 'run1', 'model'), args(model));
    expect(await resolveBundleDir(join(root, 'run1'))).toBe(join(root, 'run1', 'model'));
    expect((await readModelBundle(join(root, 'run1'))).meta.name).toBe('tiny');
    model.dispose();
  });

  it('explains a missing bundle, invalid metadata and a missing ONNX file', async () => {
    await expect(readModelBundle(join(root, 'nowhere'))).rejects.toThrow(
      /^expected bundle\.json in the folder or in its model\/ for .*nowhere but received no bundle\.json here nor in .*nowhere\/model; pass a model bundle folder/,
    );
    const bad = join(root, 'bad');
    const model = buildTinyModel();
    await writeModelBundle(bad, args(model));
    model.dispose();
    const meta = JSON.parse(await readFile(join(bad, 'bundle.json'), 'utf8'));
    await writeFile(join(bad, 'bundle.json'), JSON.stringify({ ...meta, classes: 'nv' }));
    await expect(readModelBundle(bad)).rejects.toThrow(
      /^expected a list at "classes" for the model bundle metadata .*bundle\.json but received "nv"; was it written by lesionlab/,
    );
    await writeFile(
      join(bad, 'bundle.json'),
      JSON.stringify({ ...meta, onnx: { ...meta.onnx, file: 'gone.onnx' } }),
    );
    await expect(readModelBundle(bad)).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message:
        /^expected the ONNX file "gone\.onnx" it names for .*bundle\.json but received nothing at .*gone\.onnx \(the file is missing\); re-export the bundle$/,
    });
    await writeFile(join(bad, 'bundle.json'), '{not json');
    await expect(readModelBundle(bad)).rejects.toThrow(
      /^expected valid JSON for the model bundle metadata .*bundle\.json but received text that does not parse/,
    );
  });
});

describe('writeModelBundle refuses a model that disagrees with the bundle.json it would write', () => {
  it('refuses output units other than one per class, writing nothing', async () => {
    const model = buildTinyModel(8);
    const dir = join(root, 'units');
    await expect(writeModelBundle(dir, args(model))).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected 7 output units, one per class \(akiec, bcc, bkl, df, mel, nv, vasc\) for the model written to \S+units but received 8 \(output \[N, 8\]\); pass the classes the model was built for, in its output order$/,
      ),
    });
    await expect(
      writeModelBundle(dir, { ...args(model), classes: HAM10000_CLASSES.slice(0, 6) }),
    ).rejects.toThrow(/^expected 6 output units.* but received 8 /);
    model.dispose();
    expect((await readdir(root)).filter((n) => n.startsWith('units'))).toEqual([]);
  });

  it("refuses a preprocess size other than the model's input", async () => {
    const model = buildTinyModel();
    const dir = join(root, 'size');
    await expect(
      writeModelBundle(dir, { ...args(model), preprocess: { ...TINY_SPEC, width: 32, height: 32 } }),
    ).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected an input of \[N, 32, 32, 3\] \(preprocess 32x32 RGB\) for the model written to \S+size but received \[N, 16, 16, 3\]; set preprocess width and height to the model's input size$/,
      ),
    });
    model.dispose();
    expect((await readdir(root)).filter((n) => n.startsWith('size'))).toEqual([]);
  });
});
