import { describe, expect, it } from 'vitest';
import type { BundleMeta } from '../../../src/core/bundle/meta.js';
import {
  checkDeclaredShapes,
  createPixelClassifier,
  declaredShape,
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

/** A session that answers `perInput` probabilities per input image, each its input's top-left red value / 100. */
function sizedSession(perInput: number): ModelSession {
  return {
    async run(input, dims) {
      const n = dims[0] as number;
      return {
        probabilities: Float32Array.from({ length: n * perInput }, (_, i) => {
          const image = Math.floor(i / perInput);
          return (input[image * PLANE] as number) / 100;
        }),
      };
    },
    async dispose() {},
  };
}

const MISMATCH_FIX =
  'bundle.json and its ONNX model must come from the same model: use the bundle as training or `lesionlab export` wrote it, or correct bundle.json';

describe("a model whose outputs disagree with bundle.json's classes", () => {
  it('is refused with one E_MODEL_BUNDLE line instead of rows shifted across the batch', async () => {
    // 3 outputs for 2 classes: averaging would read image 1's row from image 0's third output
    const c = createPixelClassifier(bundle(), sizedSession(3), decoder);
    await expect(c.classifyPixels(batch, 2)).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: `expected 4 probabilities (2 input(s) x the 2 classes of bundle.json) for the output "p" of model bundle "fake" but received 6 (3 per input); ${MISMATCH_FIX}`,
    });
    await expect(c.classifyImage(batch.subarray(0, PLANE))).rejects.toMatchObject({ code: 'E_MODEL_BUNDLE' });
  });

  it('is refused instead of NaN rows when it has fewer outputs, counting every view', async () => {
    const c = createPixelClassifier(bundle({ testViews: ['identity', 'flip_h'] }), sizedSession(1), decoder);
    await expect(c.classifyPixels(batch, 2)).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected 8 probabilities \(4 input\(s\) x the 2 classes of bundle\.json\) for .* but received 4 \(1 per input\); /,
      ),
    });
    expect(await c.classifyPixels(new Uint8Array(0), 0)).toEqual([]);
  });
});

describe('checkDeclaredShapes (the shapes the ONNX model declares against bundle.json)', () => {
  const where = 'm.onnx';
  it('accepts matching shapes, dynamic dimensions and shapes not declared', () => {
    const meta = bundle();
    expect(() =>
      checkDeclaredShapes(
        meta,
        { input: ['N', H, W, 3], probabilities: ['N', 2], cam: ['N', 1, 1, 2] },
        where,
      ),
    ).not.toThrow();
    expect(() =>
      checkDeclaredShapes(meta, { input: [null, 'h', -1, 3], probabilities: ['N', 'classes'] }, where),
    ).not.toThrow();
    expect(() => checkDeclaredShapes(meta, {}, where)).not.toThrow();
    // no CAM named in bundle.json: its shape is not the classifier's business
    const { cam: _, ...onnx } = meta.onnx;
    expect(() => checkDeclaredShapes({ ...meta, onnx }, { cam: ['N', 1, 1, 9] }, where)).not.toThrow();
  });

  it('refuses another class count, naming both sides', () => {
    expect(() => checkDeclaredShapes(bundle(), { probabilities: ['N', 3] }, where)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_BUNDLE',
        message: `expected an output "p" of [N, 2] (bundle.json lists 2 classes) for m.onnx but received [N, 3]; ${MISMATCH_FIX}`,
      }),
    );
    expect(() => checkDeclaredShapes(bundle(), { probabilities: ['N'] }, where)).toThrow(/received \[N\];/);
    expect(() => checkDeclaredShapes(bundle(), { cam: ['N', 1, 1, 3] }, where)).toThrow(
      /^expected an output "cam" of \[N, h, w, 2\] \(bundle\.json lists 2 classes\) for m\.onnx but received \[N, 1, 1, 3\];/,
    );
  });

  it('refuses another input size or layout', () => {
    expect(() => checkDeclaredShapes(bundle(), { input: ['N', 4, 4, 3] }, where)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_BUNDLE',
        message: `expected an input "x" of [N, 2, 2, 3] (bundle.json preprocess is 2x2 RGB) for m.onnx but received [N, 4, 4, 3]; ${MISMATCH_FIX}`,
      }),
    );
    expect(() => checkDeclaredShapes(bundle(), { input: ['N', 3, 2, 2] }, where)).toThrow(
      /received \[N, 3, 2, 2\]/,
    );
    expect(() => checkDeclaredShapes(bundle(), { input: ['N', 12] }, where)).toThrow(/received \[N, 12\]/);
  });

  it('declaredShape finds a tensor by name and skips absent, non-tensor and shapeless values', () => {
    const values = [
      { name: 'x', isTensor: true, shape: ['N', 2, 2, 3] },
      { name: 'seq', isTensor: false },
      { name: 'unknown', isTensor: true, shape: [] },
    ];
    expect(declaredShape(values, 'x')).toEqual(['N', 2, 2, 3]);
    for (const name of ['seq', 'unknown', 'nope', undefined])
      expect(declaredShape(values, name)).toBeUndefined();
  });
});
