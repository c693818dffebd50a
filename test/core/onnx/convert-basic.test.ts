import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import * as ortWeb from 'onnxruntime-web/wasm';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/core/onnx/export.js';
import { at } from '../../../src/core/util/at.js';
import { outputNamed } from '../../support/onnx-output.js';
import { maxAbsDiff, randomData, runBoth } from '../../support/onnx-parity.js';

const L = tf.layers;
type Sym = tf.SymbolicTensor;
const call = (layer: tf.layers.Layer, x: Sym): Sym => layer.apply(x) as Sym;

interface PadPoolCase {
  readonly pool: 'max' | 'avg';
  readonly padding: 'valid' | 'same';
  /** ZeroPadding2D pads: smaller than the kernel (1) or not (3, 4). */
  readonly zeroPad: number | [[number, number], [number, number]];
  /** Static H, W, or unknown (null) ones. */
  readonly known: boolean;
  /** A layer between the padding and the pool that the exporter writes as no node (Dropout). */
  readonly via?: 'dropout' | 'zeroPadding';
}

/** ZeroPadding2D -> (Dropout | ZeroPadding2D) -> Max/AveragePooling2D 3/2 on a 7x6x2 input. */
function padPoolModel(c: PadPoolCase): tf.LayersModel {
  const input = tf.input({ shape: c.known ? [7, 6, 2] : [null, null, 2] });
  let x = call(L.zeroPadding2d({ padding: c.zeroPad as number }), input);
  if (c.via === 'dropout') x = call(L.dropout({ rate: 0.3 }), x);
  if (c.via === 'zeroPadding') x = call(L.zeroPadding2d({ padding: 1 }), x);
  const args = { poolSize: 3, strides: 2, padding: c.padding } as const;
  const pool = c.pool === 'max' ? L.maxPooling2d(args) : L.averagePooling2d(args);
  return tf.model({ inputs: input, outputs: call(pool, x) });
}

const CASES: PadPoolCase[] = [];
for (const pool of ['max', 'avg'] as const) {
  for (const padding of ['valid', 'same'] as const) {
    for (const zeroPad of [1, 3]) {
      for (const known of [true, false]) CASES.push({ pool, padding, zeroPad, known });
    }
  }
}
CASES.push(
  {
    pool: 'max',
    padding: 'same',
    zeroPad: [
      [0, 4],
      [2, 1],
    ],
    known: true,
  },
  { pool: 'max', padding: 'valid', zeroPad: 1, known: true, via: 'dropout' },
  { pool: 'max', padding: 'same', zeroPad: 1, known: true, via: 'dropout' },
  { pool: 'max', padding: 'valid', zeroPad: 3, known: true, via: 'dropout' },
  { pool: 'max', padding: 'valid', zeroPad: 1, known: true, via: 'zeroPadding' },
  { pool: 'max', padding: 'same', zeroPad: 1, known: false, via: 'zeroPadding' },
);

const label = (c: PadPoolCase) =>
  `ZeroPadding2D ${JSON.stringify(c.zeroPad)}${c.via ? ` -> ${c.via}` : ''} -> ${c.pool} pool 3/2 ${c.padding}, ${c.known ? 'static' : 'unknown'} H/W`;

/** All-negative activations: wherever the padding lies in a window, a max of 0 (the zero padding) is the answer. */
const DIMS = [2, 7, 6, 2];
const INPUT = randomData(
  DIMS.reduce((a, b) => a * b, 1),
  5,
  -3,
  -0.5,
);

describe('ZeroPadding2D -> pooling export (ONNX Runtime at graph optimisation level "all")', () => {
  it.each(CASES.map((c) => [label(c), c] as const))('%s matches TF.js in onnxruntime-node', async (_, c) => {
    const m = padPoolModel(c);
    const { tfjs, ort, outputs } = await runBoth(m, INPUT, DIMS);
    // maxAbsDiff is Infinity when the output sizes differ.
    expect(maxAbsDiff(outputNamed(ort, at(outputs, 0)).data, at(tfjs, 0))).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });

  it('matches TF.js in onnxruntime-web (wasm) too', async () => {
    ortWeb.env.wasm.numThreads = 1;
    for (const c of CASES.filter((k) => k.pool === 'max' || k.zeroPad === 3)) {
      const m = padPoolModel(c);
      const { bytes, input, outputs } = exportOnnx(m);
      const session = await ortWeb.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
      const result = await session.run({ [input]: new ortWeb.Tensor('float32', INPUT, DIMS) });
      const got = result[at(outputs, 0)]!.data as Float32Array;
      await session.release();
      const want = tf.tidy(() => (m.predict(tf.tensor(INPUT, DIMS)) as tf.Tensor).dataSync());
      expect(maxAbsDiff(got, want), label(c)).toBeLessThanOrEqual(1e-5);
      m.dispose();
    }
  });

  it('writes pools with auto_pad, never explicit pads that a zero Pad could be fused into', () => {
    const m = padPoolModel({ pool: 'max', padding: 'same', zeroPad: 1, known: true });
    const graph = onnxProto.onnx.ModelProto.decode(exportOnnx(m).bytes).graph!;
    const pool = graph.node!.find((n) => n.opType === 'MaxPool')!;
    expect(pool.input).toEqual([graph.node!.find((n) => n.opType === 'Pad')!.output![0]]);
    expect(pool.attribute!.map((a) => a.name)).not.toContain('pads');
    const autoPad = pool.attribute!.find((a) => a.name === 'auto_pad')!.s!;
    expect(new TextDecoder().decode(autoPad)).toBe('SAME_UPPER');
    m.dispose();
  });
});

describe("'same' pooling with a window smaller than its stride", () => {
  /** Max/AveragePooling2D k/s 'same' on an h x w x 2 input, optionally after ZeroPadding2D(1). */
  function narrowPool(
    pool: 'max' | 'avg',
    k: number,
    s: number,
    shape: [number | null, number | null],
    pad = 0,
  ) {
    const input = tf.input({ shape: [...shape, 2] });
    const x = pad > 0 ? call(L.zeroPadding2d({ padding: pad }), input) : input;
    const args = { poolSize: k, strides: s, padding: 'same' } as const;
    const layer = pool === 'max' ? L.maxPooling2d(args) : L.averagePooling2d(args);
    return tf.model({ inputs: input, outputs: call(layer, x) });
  }

  it.each([
    ['max', 1, 2, 6, 6],
    ['avg', 1, 2, 5, 7],
    ['max', 2, 3, 7, 8],
    ['avg', 2, 3, 5, 6],
  ] as const)(
    '%s pool %i/%i on %ix%i matches TF.js (ONNX Runtime clamps no negative pad)',
    async (pool, k, s, h, w) => {
      const m = narrowPool(pool, k, s, [h, w]);
      const dims = [2, h, w, 2];
      const data = randomData(
        dims.reduce((a, b) => a * b, 1),
        3,
        -3,
        2,
      );
      const { tfjs, ort, outputs } = await runBoth(m, data, dims);
      expect(maxAbsDiff(outputNamed(ort, at(outputs, 0)).data, at(tfjs, 0))).toBeLessThanOrEqual(1e-5);
      m.dispose();
    },
  );

  it('refuses what it cannot write exactly: an unknown size, or explicit pads after ZeroPadding2D', () => {
    const unknown = narrowPool('max', 1, 2, [null, null]);
    expect(() => exportOnnx(unknown)).toThrow(/smaller than its stride on an unknown size/);
    const padded = narrowPool('max', 2, 3, [5, 6], 1);
    expect(() => exportOnnx(padded)).toThrow(/smaller than its stride after ZeroPadding2D/);
    unknown.dispose();
    padded.dispose();
  });
});
