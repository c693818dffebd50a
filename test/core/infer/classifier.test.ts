import { describe, expect, it } from 'vitest';
import type { BundleMeta } from '../../../src/core/bundle/meta.js';
import {
  createPixelClassifier,
  inferencePreprocess,
  type ModelSession,
} from '../../../src/core/infer/classifier.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { HAM10000_SITES, OFFSET_WIDTH } from '../../../src/core/train/metadata.js';
import { at } from '../../../src/core/util/at.js';

const W = 2;
const H = 2;
const PLANE = W * H * 3;
const RULE = { enabled: true, sourceWidth: 200, sourceHeight: 150, maxRatio: 1.25 };

function bundle(extra: Partial<BundleMeta> = {}): BundleMeta {
  return {
    format: 'lesionlab-model',
    version: 1,
    name: 'fake',
    backbone: 'fake',
    classes: ['a', 'b'],
    preprocess: { width: W, height: H, resize: 'stretch', colorConstancy: false, density: RULE },
    normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
    onnx: { file: 'm.onnx', input: 'x', probabilities: 'p', cam: 'cam' },
    createdAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

/** A model whose P(a) is the top-left red value / 100, with a [N, 1, 1, 2] CAM equal to its output. */
function fakeSession(calls: number[][]): ModelSession & { disposed: boolean } {
  const session = {
    disposed: false,
    async run(input: Float32Array, dims: readonly number[]) {
      calls.push([...dims]);
      const n = dims[0] as number;
      const probabilities = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        const a = (input[i * PLANE] as number) / 100;
        probabilities.set([a, 1 - a], 2 * i);
      }
      return { probabilities, cam: { data: probabilities.slice(), dims: [n, 1, 1, 2] } };
    },
    async dispose() {
      session.disposed = true;
    },
  };
  return session;
}

// two 2x2 images: top-left red 10 / top-right red 30, and 20 / 60
const batch = Uint8Array.from(
  { length: 2 * PLANE },
  (_, i) => at([10, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0], i % PLANE) * (i < PLANE ? 1 : 2),
);
const decoded: PreprocessSpec[] = [];
const decoder = async (source: string, spec: PreprocessSpec) => {
  decoded.push(spec);
  return Uint8Array.from(source, (c) => c.charCodeAt(0));
};

describe('the shared classifier flow (views, one forward pass, averaging, metadata, ranking)', () => {
  it("averages the bundle's recorded views in one batch laid out image-major", async () => {
    const calls: number[][] = [];
    const c = createPixelClassifier(
      bundle({ testViews: ['identity', 'flip_h'] }),
      fakeSession(calls),
      decoder,
    );
    expect(c.views).toEqual(['identity', 'flip_h']);
    const rows = await c.classifyPixels(batch, 2);
    expect(calls).toEqual([[4, H, W, 3]]);
    // image 0: (0.1 + 0.3) / 2; image 1: (0.2 + 0.6) / 2
    expect(rows.map((r) => Array.from(r, (p) => Number(p.toFixed(5))))).toEqual([
      [0.2, 0.8],
      [0.4, 0.6],
    ]);
    expect(await c.classifyPixels(new Uint8Array(0), 0)).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('keeps the unflipped view of the CAM for each image', async () => {
    const c = createPixelClassifier(bundle({ testViews: ['identity', 'flip_h'] }), fakeSession([]), decoder);
    const { cam } = await c.scorePixels(batch, 2);
    expect(cam?.dims).toEqual([2, 1, 1, 2]);
    expect(Array.from(cam?.data ?? [], (v) => Number(v.toFixed(5)))).toEqual([0.1, 0.9, 0.2, 0.8]);
  });

  it('ranks one image and says which views and whether metadata was used', async () => {
    const c = createPixelClassifier(bundle(), fakeSession([]), decoder, { views: ['identity'] });
    const prediction = await c.classifyImage(batch.subarray(0, PLANE));
    expect(prediction.ranked.map((s) => s.label)).toEqual(['b', 'a']);
    expect(prediction.views).toEqual(['identity']);
    expect(prediction.metadataUsed).toBe(false);
    expect(prediction.cam?.dims).toEqual([1, 1, 1, 2]);
  });

  it("fuses lesion metadata through the bundle's branch only where some is given", async () => {
    const weights = Array.from({ length: 2 * OFFSET_WIDTH }, (_, i) => (i === 5 ? 2 : 0));
    const branch = {
      fields: ['localization' as const],
      sites: [...HAM10000_SITES],
      fusion: 'logit-offsets' as const,
      weights,
    };
    const c = createPixelClassifier(bundle({ metadata: branch }), fakeSession([]), decoder);
    const plain = await c.scorePixels(batch, 2);
    const fused = await c.scorePixels(batch, 2, [{ site: 'face' }, {}]);
    expect(fused.metadataUsed).toEqual([true, false]);
    expect(at(fused.probabilities, 0)[0]).toBeGreaterThan(at(at(plain.probabilities, 0), 0) + 0.1);
    expect(Array.from(at(fused.probabilities, 1))).toEqual(Array.from(at(plain.probabilities, 1)));
  });

  it('rejects a batch of the wrong size, naming the expected layout', async () => {
    const c = createPixelClassifier(bundle(), fakeSession([]), decoder);
    await expect(c.classifyPixels(new Uint8Array(5), 1)).rejects.toThrow(
      'expected 12 bytes (1 x 2 x 2 x 3 uint8 RGB) for the 1 image(s) of classifyPixels but received 5 bytes; resize each image to the bundle input size first',
    );
  });

  it("decodes with the bundle's preprocessing, density rule on or off, and disposes the session", async () => {
    const session = fakeSession([]);
    const on = createPixelClassifier(bundle(), session, decoder);
    const off = createPixelClassifier(bundle(), fakeSession([]), decoder, { density: false });
    expect(Array.from(await on.decode('AB'))).toEqual([65, 66]);
    await off.decode('C');
    expect(decoded.slice(-2).map((s) => s.density?.enabled)).toEqual([true, false]);
    expect([on.densityRule, off.densityRule]).toEqual([true, false]);
    await on.dispose();
    expect(session.disposed).toBe(true);
  });

  it('inferencePreprocess keeps a recorded rule, turns it off on request, and adds none', () => {
    expect(inferencePreprocess(bundle()).density).toEqual(RULE);
    expect(inferencePreprocess(bundle(), false).density).toEqual({ ...RULE, enabled: false });
    const { density: _, ...withoutRule } = bundle().preprocess;
    expect(inferencePreprocess(bundle({ preprocess: withoutRule }), false)).toEqual(withoutRule);
  });
});
