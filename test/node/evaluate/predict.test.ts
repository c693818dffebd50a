import { describe, expect, it } from 'vitest';
import type { BundleMeta } from '../../../src/core/bundle/meta.js';
import type { ImageRecord } from '../../../src/core/data/records.js';
import { createPixelClassifier, type ModelSession } from '../../../src/core/infer/classifier.js';
import { HAM10000_SITES, OFFSET_WIDTH, parseLesionMetadata } from '../../../src/core/train/metadata.js';
import { at } from '../../../src/core/util/at.js';
import { predictRecords } from '../../../src/node/evaluate/predict.js';
import type { Classifier } from '../../../src/node/infer/classifier.js';

const W = 2;
const H = 2;
const PLANE = W * H * 3;

/** Two classes: P(a) is the first pixel's red value / 100, whatever the view. */
const session: ModelSession = {
  async run(input, dims) {
    const n = at(dims, 0);
    const p = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const a = at(input, i * PLANE) / 100;
      p.set([a, 1 - a], 2 * i);
    }
    return { probabilities: p };
  },
  async dispose() {},
};

/** A bundle whose logit-offset branch moves class a up for lesions on the face. */
const meta = {
  format: 'lesionlab-model',
  version: 1,
  name: 'fake',
  backbone: 'fake',
  classes: ['a', 'b'],
  preprocess: { width: W, height: H, resize: 'stretch', colorConstancy: false },
  normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
  onnx: { file: 'm.onnx', input: 'x', probabilities: 'p' },
  createdAt: '2026-01-01T00:00:00Z',
  metadata: {
    fields: ['localization'],
    sites: [...HAM10000_SITES],
    fusion: 'logit-offsets',
    weights: Array.from({ length: 2 * OFFSET_WIDTH }, (_, i) => (i === 5 ? 2 : 0)),
  },
} as unknown as BundleMeta;

const pixels = Uint8Array.from({ length: PLANE }, (_, i) => (i === 0 ? 40 : 0));
const classifier = createPixelClassifier(meta, session, async () => pixels) as unknown as Classifier;
const record = (imageId: string, row?: Record<string, string>): ImageRecord => ({
  imageId,
  label: 'a',
  groupId: imageId,
  path: `/images/${imageId}.jpg`,
  ...(row ? { meta: row } : {}),
});
const face = { age: '60', sex: 'male', localization: 'face' };
const records = [record('with', face), record('without')];

describe('predictRecords with a bundle that has a metadata branch', () => {
  it('fuses each record’s own metadata, after the views, as predict and serve do', async () => {
    const m = [parseLesionMetadata(face)];
    const served = await classifier.classifyPixels(pixels, 1, m);
    const views = createPixelClassifier(meta, session, async () => pixels, { views: ['identity', 'flip_h'] });
    const servedViews = await views.classifyPixels(pixels, 1, m);
    const [imageOnly] = await classifier.classifyPixels(pixels, 1);
    const out = await predictRecords(classifier, records, { views: ['identity', 'flip_h'] });
    expect(out.metadataFused).toBe(1);
    expect(Array.from(at(out.plain, 0))).toEqual(Array.from(at(served, 0)));
    expect(Array.from(at(out.tta ?? [], 0))).toEqual(Array.from(at(servedViews, 0)));
    expect(at(at(out.plain, 0), 0)).toBeGreaterThan(at(imageOnly as Float32Array, 0) + 0.2);
    // a record without metadata keeps the image model's answer
    expect(Array.from(at(out.plain, 1))).toEqual(Array.from(imageOnly as Float32Array));
  });

  it('scores the image model alone with metadata: false', async () => {
    const [imageOnly] = await classifier.classifyPixels(pixels, 1);
    const out = await predictRecords(classifier, records, { metadata: false });
    expect(out.metadataFused).toBe(0);
    expect(Array.from(at(out.plain, 0))).toEqual(Array.from(imageOnly as Float32Array));
  });
});
