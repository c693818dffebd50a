import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePredictionsCsv } from '../../../src/core/eval/predictions.js';
import { at } from '../../../src/core/util/at.js';
import { writeModelBundle } from '../../../src/node/bundle/write.js';
import { loadEvaluatedModel } from '../../../src/node/compare/load.js';
import { readSplitFile } from '../../../src/node/data/split-file.js';
import { evaluateModel } from '../../../src/node/evaluate/evaluate.js';
import { sampleImages } from '../../support/report-data.js';
import { makeSampleRun } from '../../support/sample-run.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from '../../support/tiny-model.js';

let root: string;
let run: string;
let bundle: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-eval-'));
  run = await makeSampleRun(join(root, 'run'));
  bundle = join(root, 'bundle');
  await cp(join(run, 'model'), bundle, { recursive: true });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('evaluateModel on a real ONNX bundle and the embedded sample', () => {
  it("evaluates a run's test split with TTA and val-tuned offsets, writing predictions and the report", async () => {
    const result = await evaluateModel({
      target: run,
      tta: true,
      tuneOffsets: true,
      bootstrap: { resamples: 100, seed: 1 },
      screenshot: false,
    });
    expect(result.outDir).toBe(join(run, 'eval-test'));
    expect((await readdir(result.outDir)).sort()).toEqual([
      'metrics.json',
      'predictions-plain.csv',
      'predictions.csv',
      'report.html',
      'report.json',
      'report.md',
    ]);
    const split = await readSplitFile(join(run, 'split.json'));
    if (split.kind !== 'holdout') throw new Error('expected a hold-out split');
    const table = parsePredictionsCsv(await readFile(result.predictionsCsv, 'utf8'), 'predictions.csv');
    expect(table.classes).toEqual(['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
    expect([...table.images].sort()).toEqual([...split.parts.test].sort());
    // each image's lesion, as the metadata CSV gives it, for lesion-level comparisons
    const csv = await readFile('data/sample/ham10000/HAM10000_metadata.csv', 'utf8');
    const lesionOf = new Map(csv.split('\n').map((line) => [line.split(',')[1], line.split(',')[0]]));
    expect(table.groups).toEqual(table.images.map((id) => lesionOf.get(id)));
    for (const row of table.probabilities) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // the asked views are the headline (first), the image alone beside them
    expect(result.variants.map((v) => v.id)).toEqual(['tta', 'plain', 'offsets']);
    expect(at(result.variants, 0).label).toBe('Views identity+flip_h+flip_v+rot180');
    expect(result.data.notes[0]).toMatch(
      /^Scored with views identity\+flip_h\+flip_v\+rot180; pixel-density rule off/,
    );
    expect(at(result.variants, 2).note).toMatch(/tuned on the validation split only \(\d+ images\)/);
    expect(at(result.variants, 0).metrics.count).toBe(split.parts.test.length);
    expect(result.data.training).not.toBeNull();
    const html = await readFile(result.report.html, 'utf8');
    expect(html).toContain('Views identity+flip_h+flip_v+rot180');
    expect(html).toContain('data-chart="training"');
  });
  it('evaluates a bare bundle on any labelled folder with --split all and a limit', async () => {
    const out = join(root, 'bare');
    const result = await evaluateModel({
      target: bundle,
      data: join(root, 'no-such-dir'),
      out,
      screenshot: false,
    }).catch((e: Error) => e);
    expect(result).toBeInstanceOf(Error);
    const ok = await evaluateModel({
      target: bundle,
      data: (JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { data: { root: string } }).data
        .root,
      out,
      limit: 30,
      bootstrap: { resamples: 50 },
      screenshot: false,
    });
    expect(ok.data.data.split).toBe('all');
    expect(at(ok.variants, 0).metrics.count).toBe(30);
  });
  it("scores with the bundle's recorded test views by default, the image alone beside them", async () => {
    const recipe = join(root, 'recipe-bundle');
    await cp(bundle, recipe, { recursive: true });
    const metaPath = join(recipe, 'bundle.json');
    const meta = JSON.parse(await readFile(metaPath, 'utf8'));
    await writeFile(metaPath, JSON.stringify({ ...meta, testViews: ['identity', 'flip_h'] }));
    const data = (JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { data: { root: string } })
      .data.root;
    const common = { target: recipe, data, limit: 8, bootstrap: { resamples: 20 }, screenshot: false };
    const byDefault = await evaluateModel({ ...common, out: join(root, 'recipe-eval') });
    expect(byDefault.variants.map((v) => v.label)).toEqual(['Views identity+flip_h', 'Plain (image only)']);
    expect(at(byDefault.variants, 0).note).toMatch(/the model's recipe/);
    const single = await evaluateModel({ ...common, tta: 'none', out: join(root, 'recipe-eval-none') });
    expect(single.variants.map((v) => v.id)).toEqual(['plain']);
  });
  it('refuses to tune offsets without a test split to keep them off the test data', async () => {
    await expect(evaluateModel({ target: run, split: 'all', tuneOffsets: true })).rejects.toThrow(
      'expected a training run with a split file, evaluated on --split test for --tune-offsets but received --split all; offsets are tuned on the validation split only',
    );
  });
  it('asks for --data when a bare bundle has no dataset', async () => {
    await expect(evaluateModel({ target: bundle })).rejects.toThrow(
      /^expected a dataset to evaluate on for .+ but received none .*; pass --data <dataset root or CSV>$/,
    );
  });
});

describe('evaluateModel on an ISIC 2018 ground-truth CSV (one-hot columns)', () => {
  it('maps the upper-case one-hot columns onto the model classes', async () => {
    const images = join(root, 'isic-images');
    await mkdir(images, { recursive: true });
    const sample = (await sampleImages()).slice(0, 12);
    const cols = ['MEL', 'NV', 'BCC', 'AKIEC', 'BKL', 'DF', 'VASC'];
    const classes = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'];
    const rows = await Promise.all(
      sample.map(async (image) => {
        await cp(image.path, join(images, `${image.imageId}.jpg`));
        const dx = at(classes, image.label).toUpperCase();
        return [image.imageId, ...cols.map((c) => (c === dx ? '1.0' : '0.0'))].join(',');
      }),
    );
    await writeFile(
      join(images, 'ISIC2018_Task3_GroundTruth.csv'),
      `image,${cols.join(',')}\n${rows.join('\n')}\n`,
    );
    const out = join(root, 'isic-eval');
    const result = await evaluateModel({
      target: bundle,
      data: images,
      format: 'isic',
      out,
      bootstrap: { resamples: 20 },
      screenshot: false,
    });
    expect(at(result.variants, 0).metrics.count).toBe(12);
    const table = parsePredictionsCsv(await readFile(result.predictionsCsv, 'utf8'), 'predictions.csv');
    const expected = new Map(sample.map((i) => [i.imageId, classes[i.label]]));
    table.images.forEach((id, i) => {
      expect(table.labels[i]).toBe(expected.get(id));
    });
  });
});

describe('evaluateModel on labels spelled in another case than the classes', () => {
  it("writes the model's spelling in predictions.csv, so compare pairs every image with its class", async () => {
    const classes = ['Benign', 'Malignant'];
    const twoClass = join(root, 'two-class-bundle');
    const model = buildTinyModel(2);
    await writeModelBundle(twoClass, {
      model,
      name: 'two-class',
      backbone: 'tiny',
      classes,
      preprocess: TINY_SPEC,
      normalization: TINY_NORM,
    });
    model.dispose();
    const images = join(root, 'lower-case');
    const sample = (await sampleImages()).slice(0, 10);
    const spelled = (i: number) => at(classes, i % 2).toLowerCase(); // the folders: benign/, malignant/
    for (const [i, image] of sample.entries()) {
      await mkdir(join(images, spelled(i)), { recursive: true });
      await cp(image.path, join(images, spelled(i), `${image.imageId}.jpg`));
    }
    const result = await evaluateModel({
      target: twoClass,
      data: images,
      out: join(root, 'lower-case-eval'),
      bootstrap: { resamples: 20 },
      screenshot: false,
    });
    const table = parsePredictionsCsv(await readFile(result.predictionsCsv, 'utf8'), 'predictions.csv');
    const label = new Map(sample.map((image, i) => [image.imageId, i % 2]));
    expect(table.labels).toEqual(table.images.map((id) => classes[label.get(id) ?? -1]));
    // folder-per-class data has no lesion ids (one group per image): no group column to mislead a comparison
    expect(table.groups).toBeUndefined();
    const loaded = await loadEvaluatedModel(result.outDir);
    expect(loaded.labels).toEqual(table.images.map((id) => label.get(id)));
  });
});

describe('evaluateModel --out: the output folder is replaced as one set', () => {
  const files = async (dir: string) =>
    Object.fromEntries(
      await Promise.all(
        (await readdir(dir)).sort().map(async (f) => [f, await readFile(join(dir, f), 'utf8')]),
      ),
    );

  it('a failure while writing leaves the old set intact and no temp folder; a new set replaces it whole', async () => {
    const parent = join(root, 'sets');
    const out = join(parent, 'eval');
    const first = await evaluateModel({
      target: run,
      tta: true,
      out,
      screenshot: false,
      bootstrap: { resamples: 20 },
    });
    expect(first.outDir).toBe(out);
    const before = await files(out);
    expect(Object.keys(before)).toContain('predictions-plain.csv');
    // the report.png step fails after predictions.csv and report.* of the new set were written
    process.env.LESIONLAB_CHROMIUM = join(root, 'no-chromium');
    try {
      await expect(
        evaluateModel({ target: run, limit: 5, out, screenshot: true, bootstrap: { resamples: 20 } }),
      ).rejects.toThrow();
    } finally {
      delete process.env.LESIONLAB_CHROMIUM;
    }
    expect(await files(out)).toEqual(before);
    expect(await readdir(parent)).toEqual(['eval']);
    // a complete new set (without TTA) replaces the old one whole: no stale predictions-plain.csv beside it
    const second = await evaluateModel({
      target: run,
      tta: 'none',
      limit: 5,
      out,
      screenshot: false,
      bootstrap: { resamples: 20 },
    });
    expect((await readdir(out)).sort()).toEqual([
      'metrics.json',
      'predictions.csv',
      'report.html',
      'report.json',
      'report.md',
    ]);
    expect(second.predictionsCsv).toBe(join(out, 'predictions.csv'));
    expect(second.report.html).toBe(join(out, 'report.html'));
    expect(await readdir(parent)).toEqual(['eval']);
  });

  it('refuses an --out folder that holds other files, before any work', async () => {
    await expect(evaluateModel({ target: run, out: run, screenshot: false })).rejects.toThrow(
      /for --out .*run but received a folder that holds other files \(config\.json, .*\); evaluate replaces its output folder as a whole/,
    );
  });
});
