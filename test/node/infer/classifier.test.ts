import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { expandViews, viewsOfMode } from '../../../src/core/preprocess/views.js';
import { HAM10000_SITES, OFFSET_WIDTH } from '../../../src/core/train/metadata.js';
import { at } from '../../../src/core/util/at.js';
import { writeModelBundle } from '../../../src/node/bundle/write.js';
import { type Classifier, createClassifier } from '../../../src/node/infer/classifier.js';
import { listCsvMetadata } from '../../../src/node/infer/inputs.js';
import { predictFiles } from '../../../src/node/infer/predict.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC, writeEditedTinyBundle } from '../../support/tiny-model.js';

let root: string;
let model: tf.LayersModel;
let classifier: Classifier;
const pixels = (n: number, seed = 0) =>
  Uint8Array.from({ length: n * 16 * 16 * 3 }, (_, i) => (i * 31 + seed * 7) % 256);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-infer-'));
  model = buildTinyModel();
  const preprocess = TINY_SPEC;
  await writeModelBundle(join(root, 'm'), {
    model,
    name: 'tiny',
    backbone: 'tiny',
    classes: HAM10000_CLASSES,
    preprocess,
    normalization: TINY_NORM,
  });
  classifier = await createClassifier(join(root, 'm'), { threads: 1 });
});
afterAll(async () => {
  await classifier.dispose();
  model.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('createClassifier', () => {
  it('classifyPixels matches the TF.js model on the same uint8 batch', async () => {
    const batch = pixels(3);
    const rows = await classifier.classifyPixels(batch, 3);
    const expected = tf.tidy(() =>
      (model.predict(tf.tensor4d(Float32Array.from(batch), [3, 16, 16, 3])) as tf.Tensor).arraySync(),
    ) as number[][];
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(7);
      row.forEach((p, c) => {
        expect(p).toBeCloseTo(at(at(expected, i), c), 5);
      });
    });
    expect(await classifier.classifyPixels(new Uint8Array(0), 0)).toEqual([]);
  });

  it('rejects a batch of the wrong size with the expected layout in the message', async () => {
    await expect(classifier.classifyPixels(new Uint8Array(10), 1)).rejects.toThrow(
      /expected 768.*16 x 16 x 3/,
    );
  });

  it('lazySession opens the session on the first forward pass: a model that cannot load fails there, not at creation', async () => {
    const lazy = await createClassifier(join(root, 'm'), { threads: 1, lazySession: true });
    const batch = pixels(2);
    expect(await lazy.classifyPixels(batch, 2)).toEqual(await classifier.classifyPixels(batch, 2));
    await lazy.dispose();
    await writeModelBundle(join(root, 'broken'), {
      model,
      name: 'broken',
      backbone: 'tiny',
      classes: HAM10000_CLASSES,
      preprocess: TINY_SPEC,
      normalization: TINY_NORM,
    });
    await writeFile(join(root, 'broken', 'model.onnx'), 'not an onnx model');
    await expect(createClassifier(join(root, 'broken'), { threads: 1 })).rejects.toThrow(/model\.onnx/);
    const deferred = await createClassifier(join(root, 'broken'), { threads: 1, lazySession: true });
    await expect(deferred.classifyPixels(batch, 2)).rejects.toThrow(/model\.onnx/);
    await deferred.dispose();
    await (await createClassifier(join(root, 'm'), { lazySession: true })).dispose(); // never ran: nothing to close
  });

  it('TTA hflip averages the image and its mirror', async () => {
    const tta = await createClassifier(join(root, 'm'), { tta: 'hflip', threads: 1 });
    const img = pixels(1, 3);
    const both = expandViews(img, 1, 16, 16, viewsOfMode('hflip'));
    const rows = await classifier.classifyPixels(both, 2);
    const [image, mirror] = [at(rows, 0), at(rows, 1)];
    const avg = at(await tta.classifyPixels(img, 1), 0);
    avg.forEach((p, c) => {
      expect(p).toBeCloseTo((at(image, c) + at(mirror, c)) / 2, 6);
    });
    expect(Array.from(avg)).not.toEqual(Array.from(image));
    await tta.dispose();
  });

  it('classifyFiles decodes with the bundle spec and reports unreadable files without throwing', async () => {
    const good = join(root, 'good.png');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c08040' } })
      .png()
      .toFile(good);
    const bad = join(root, 'bad.jpg');
    await writeFile(bad, 'not a jpeg');
    const results = await classifier.classifyFiles([good, bad, join(root, 'missing.jpg'), good]);
    expect(results.map((r) => r.path)).toEqual([good, bad, join(root, 'missing.jpg'), good]);
    const [r0, r1, r2, r3] = results.map((r) => ('error' in r ? r.error : r.probabilities));
    expect(r0).toBeInstanceOf(Float32Array);
    expect(r1).toMatch(/for \S*bad\.jpg but received a file it cannot decode/);
    expect(r2).toMatch(/^expected an image file for \S+missing\.jpg but received no such file/);
    const p0 = r0;
    expect(p0).toEqual(r3);
    const direct = await classifier.classifyPixels(await classifier.decode(good), 1);
    expect(p0).toEqual(direct[0]);
  });

  it('predictFiles streams in batches and reports progress', async () => {
    const good = join(root, 'good.png');
    const paths = Array.from({ length: 5 }, () => good);
    const progress: number[] = [];
    const seen: string[] = [];
    for await (const r of predictFiles(classifier, paths, {
      batchSize: 2,
      onProgress: (d) => progress.push(d),
    })) {
      seen.push(r.path);
    }
    expect(seen).toHaveLength(5);
    expect(progress).toEqual([2, 4, 5]);
  });
});

describe("createClassifier scores the way the model was trained (the bundle's testViews)", () => {
  it('averages the recorded views by default, says which, and --tta none overrides', async () => {
    await writeModelBundle(join(root, 'views'), {
      model,
      name: 'tiny-views',
      backbone: 'tiny',
      classes: HAM10000_CLASSES,
      preprocess: TINY_SPEC,
      normalization: TINY_NORM,
      testViews: ['identity', 'flip_h'],
      posthocTau: 0.5,
    });
    const byDefault = await createClassifier(join(root, 'views'), { threads: 1 });
    const single = await createClassifier(join(root, 'views'), { threads: 1, tta: 'none' });
    try {
      expect(byDefault.meta.testViews).toEqual(['identity', 'flip_h']);
      expect(byDefault.meta.logitAdjustment).toEqual({ tau: 0.5, inGraph: true });
      expect(byDefault.views).toEqual(['identity', 'flip_h']);
      expect(single.views).toEqual(['identity']);
      const batch = pixels(2, 3);
      const [got, plain] = [await byDefault.classifyPixels(batch, 2), await single.classifyPixels(batch, 2)];
      const both = await single.classifyPixels(expandViews(batch, 2, 16, 16, viewsOfMode('hflip')), 4);
      got.forEach((row, i) => {
        row.forEach((p, c) => {
          expect(p).toBeCloseTo((at(at(both, 2 * i), c) + at(at(both, 2 * i + 1), c)) / 2, 6);
        });
      });
      expect(Array.from(at(got, 0))).not.toEqual(Array.from(at(plain, 0)));
    } finally {
      await Promise.all([byDefault.dispose(), single.dispose()]);
    }
  });

  it('a bundle written before testViews were recorded runs the image only', () => {
    expect(classifier.meta.testViews).toBeUndefined();
    expect(classifier.views).toEqual(['identity']);
  });
});

describe('lesion metadata at inference (late-fusion branch declared by the bundle)', () => {
  it('fuses given metadata, says so per file, and leaves images without metadata as the image model scores them', async () => {
    const weights = Array.from({ length: 7 * OFFSET_WIDTH }, (_, i) => (i === 5 ? 2 : 0)); // class 0, face
    await writeModelBundle(join(root, 'meta'), {
      model,
      name: 'tiny-meta',
      backbone: 'tiny',
      classes: HAM10000_CLASSES,
      preprocess: TINY_SPEC,
      normalization: TINY_NORM,
      metadata: {
        fields: ['age', 'sex', 'localization'],
        sites: [...HAM10000_SITES],
        fusion: 'logit-offsets',
        weights,
      },
    });
    const c = await createClassifier(join(root, 'meta'), { threads: 1 });
    try {
      const batch = pixels(2, 5);
      const plain = at(await c.classifyPixels(batch.subarray(0, 768), 1), 0);
      const fused = await c.classifyPixels(batch, 2, [{ site: 'face' }, {}]);
      const withFace = at(fused, 0);
      expect(Array.from(at(fused, 1))).toEqual(Array.from(at(await c.classifyPixels(batch, 2), 1)));
      expect(at(withFace, 0)).not.toBeCloseTo(at(plain, 0), 4);
      expect(withFace.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const file = join(root, 'meta.png');
      await sharp(Buffer.from(pixels(1)), { raw: { width: 16, height: 16, channels: 3 } })
        .png()
        .toFile(file);
      const files = await c.classifyFiles([file, file], [{ age: 40 }, undefined]);
      expect(files.map((r) => 'metadata' in r && r.metadata)).toEqual([true, false]);
    } finally {
      await c.dispose();
    }
  });

  it('predict reads metadata columns from a CSV (never dx_type)', async () => {
    const csv = join(root, 'list.csv');
    await writeFile(
      csv,
      'path,age,sex,localization,dx_type\na.png,45,female,face,histo\nb.png,,unknown,,consensus\n',
    );
    expect(await listCsvMetadata(csv)).toEqual([{ age: 45, sex: 'female', site: 'face' }, {}]);
    await writeFile(csv, 'path\na.png\n');
    expect(await listCsvMetadata(csv)).toBeUndefined();
    await writeFile(csv, 'path,age,sex\na.png,45,female\nb.png,45abc,female\n');
    await expect(listCsvMetadata(csv)).rejects.toThrow(/row 3 .*for the metadata age but received "45abc"/);
    await writeFile(csv, 'path,age,sex\na.png,45,f\n');
    await expect(listCsvMetadata(csv)).rejects.toThrow(/row 2 .*for the metadata sex but received "f"/);
    await writeFile(csv, 'path,localization\na.png,face\nb.png,moon\n');
    await expect(listCsvMetadata(csv)).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(
        /^expected lesion metadata lesionlab accepts for \S+list\.csv row 3 but received a row it refuses \(expected a known site .* but received "moon".*\); correct that row$/,
      ),
    });
  });
});

describe('a bundle whose bundle.json disagrees with its model.onnx fails at load, not per request', () => {
  const ham = [...HAM10000_CLASSES];
  it('refuses a model with more outputs than classes (rows would shift across a batch), now or on the first pass', async () => {
    const dir = join(root, 'more-outputs');
    await writeEditedTinyBundle(dir, 8, (meta) => ({ ...meta, classes: ham }));
    await expect(createClassifier(dir, { threads: 1 })).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected an output "probabilities" of \[N, 7\] \(bundle\.json lists 7 classes\) for \S+more-outputs\/model\.onnx but received \[N, 8\]; bundle\.json and its ONNX model must come from the same model/,
      ),
    });
    const lazy = await createClassifier(dir, { threads: 1, lazySession: true });
    await expect(lazy.classifyPixels(pixels(2), 2)).rejects.toMatchObject({ code: 'E_MODEL_BUNDLE' });
    await lazy.dispose();
  });

  it('refuses a model with fewer outputs than classes (rows would hold NaN)', async () => {
    const dir = join(root, 'fewer-outputs');
    await writeEditedTinyBundle(dir, 6, (meta) => ({ ...meta, classes: ham }));
    await expect(createClassifier(dir, { threads: 1 })).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringContaining('of [N, 7] (bundle.json lists 7 classes) for'),
    });
  });

  it('refuses a preprocess size other than the model input', async () => {
    const dir = join(root, 'other-size');
    await writeEditedTinyBundle(dir, 7, (meta) => ({
      ...meta,
      preprocess: { ...meta.preprocess, width: 32, height: 32 },
    }));
    await expect(createClassifier(dir, { threads: 1 })).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected an input "input" of \[N, 32, 32, 3\] \(bundle\.json preprocess is 32x32 RGB\) for \S+other-size\/model\.onnx but received \[N, 16, 16, 3\];/,
      ),
    });
  });
});
