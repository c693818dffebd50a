import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { isLesionlabError } from '../../../src/core/errors.js';
import { exportOnnx, SUPPORTED_LAYERS } from '../../../src/core/onnx/export.js';
import { countMacs } from '../../../src/core/onnx/macs.js';
import { at } from '../../../src/core/util/at.js';
import { outputNamed } from '../../support/onnx-output.js';
import { maxAbsDiff, randomData, randomizeWeights, runBoth } from '../../support/onnx-parity.js';

const L = tf.layers;
const call = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
  layer.apply(x) as tf.SymbolicTensor;

/** A small backbone (conv -> bn -> relu -> conv s2) and a GAP -> dropout -> dense -> softmax classifier on it. */
function classifier(nested: boolean): { model: tf.LayersModel; backbone: tf.LayersModel } {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  let x = call(L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'c1' }), input);
  x = call(L.batchNormalization({ name: 'bn1' }), x);
  x = call(L.activation({ activation: 'relu', name: 'relu1' }), x);
  x = call(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'feat' }), x);
  const backbone = tf.model({ inputs: input, outputs: x, name: 'tiny_backbone' });
  const outer = nested ? tf.input({ shape: [8, 8, 3], name: 'outer' }) : input;
  const f = nested ? call(backbone as unknown as tf.layers.Layer, outer) : x;
  const pooled = call(L.globalAveragePooling2d({ name: 'head_pool' }), f);
  const logits = call(L.dense({ units: 4, name: 'head_logits' }), call(L.dropout({ rate: 0.5 }), pooled));
  const probs = call(L.activation({ activation: 'softmax', name: 'head_softmax' }), logits);
  const model = tf.model({ inputs: outer, outputs: probs, name: 'tiny_classifier' });
  randomizeWeights(model, 3);
  return { model, backbone };
}

function decode(bytes: Uint8Array) {
  return onnxProto.onnx.ModelProto.decode(bytes);
}

describe('exportOnnx', () => {
  it('names the input "input" and outputs after their layers by default, or as asked', () => {
    const { model } = classifier(false);
    expect(exportOnnx(model).outputs).toEqual(['head_softmax']);
    const named = exportOnnx(model, { outputNames: ['probabilities'], inputName: 'pixels' });
    expect(named.input).toBe('pixels');
    expect(named.outputs).toEqual(['probabilities']);
    const graph = decode(named.bytes).graph!;
    expect(graph.input!.map((i) => i.name)).toEqual(['pixels']);
    const dims = graph.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 8, 8, 3]);
    model.dispose();
  });

  it('rejects an outputNames list of the wrong length', () => {
    const { model } = classifier(false);
    expect(() => exportOnnx(model, { outputNames: ['input'] })).toThrow(
      'expected distinct input and output names for the ONNX graph but received the name "input" twice; pick distinct names',
    );
    expect(() => exportOnnx(model, { outputNames: ['a', 'b'] })).toThrow(
      'expected one name per output (1) for outputNames but received 2 names; give one name per output',
    );
    model.dispose();
  });

  it('transposes the input to NCHW once and keeps convolutions NCHW', () => {
    const { model } = classifier(false);
    const graph = decode(exportOnnx(model).bytes).graph!;
    expect(graph.node!.filter((n) => n.opType === 'Transpose')).toHaveLength(1);
    expect(graph.node!.filter((n) => n.opType === 'Conv')).toHaveLength(2);
    expect(graph.initializer!.every((t) => t.rawData!.length > 0)).toBe(true);
    model.dispose();
  });

  it("writes Keras 'same' stride-2 padding as explicit pads with the extra pixel bottom/right", () => {
    const { model } = classifier(false);
    const conv = decode(exportOnnx(model).bytes).graph!.node!.find((n) => n.name === 'feat')!;
    const pads = conv.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number);
    expect(pads).toEqual([0, 0, 1, 1]);
    model.dispose();
  });

  it.each([false, true])(
    'emits features and a cam whose spatial mean is the logits (nested backbone: %s)',
    async (nested) => {
      const { model } = classifier(nested);
      const input = randomData(2 * 8 * 8 * 3, 9, 0, 255);
      const opts = { outputNames: ['probabilities'], featureLayer: 'feat', cam: true } as const;
      const { tfjs, ort, outputs } = await runBoth(model, input, [2, 8, 8, 3], opts);
      expect(outputs).toEqual(['probabilities', 'features', 'cam']);
      expect(maxAbsDiff(outputNamed(ort, 'probabilities').data, at(tfjs, 0))).toBeLessThanOrEqual(1e-4);
      const featureModel = tf.model({
        inputs: model.inputs,
        outputs: model.getLayer('head_pool').input as tf.SymbolicTensor,
      });
      const x = tf.tensor4d(input, [2, 8, 8, 3]);
      const feats = featureModel.predict(x) as tf.Tensor;
      expect(outputNamed(ort, 'features').dims).toEqual([2, 4, 4, 8]);
      expect(maxAbsDiff(outputNamed(ort, 'features').data, feats.dataSync())).toBeLessThanOrEqual(1e-4);
      const logits = tf.tidy(() =>
        (model.getLayer('head_logits').apply(tf.mean(feats, [1, 2])) as tf.Tensor).dataSync(),
      );
      expect(outputNamed(ort, 'cam').dims).toEqual([2, 4, 4, 4]);
      const camMean = tf.tidy(() =>
        tf.mean(tf.tensor4d(outputNamed(ort, 'cam').data, [2, 4, 4, 4]), [1, 2]).dataSync(),
      );
      expect(maxAbsDiff(camMean, logits)).toBeLessThanOrEqual(1e-4);
      tf.dispose([x, feats]);
      model.dispose();
    },
  );

  it('can leave the bias out of the cam', () => {
    const { model } = classifier(false);
    const graph = decode(exportOnnx(model, { cam: { name: 'heat', includeBias: false } }).bytes).graph!;
    expect(graph.output!.map((o) => o.name)).toEqual(['head_softmax', 'heat']);
    expect(graph.node!.find((n) => n.name === 'cam_conv')!.input).toHaveLength(2);
    model.dispose();
  });

  it('refuses a cam without a GAP -> Dense head, and an unknown feature layer', () => {
    const input = tf.input({ shape: [4, 4, 3] });
    const model = tf.model({ inputs: input, outputs: call(L.conv2d({ filters: 2, kernelSize: 1 }), input) });
    expect(() => exportOnnx(model, { cam: true })).toThrow(
      /^expected a GlobalAveragePooling2D -> Dense head \(for the "cam" output\) for the model ".*" but received no such head; export without cam$/,
    );
    expect(() => exportOnnx(model, { featureLayer: 'nope' })).toThrow(
      /^expected a layer on the path to the model's outputs \(last layers: .*\) for featureLayer but received "nope"; pass one of/,
    );
    model.dispose();
  });

  it('exports a Sequential model', async () => {
    const model = tf.sequential({
      layers: [
        L.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }),
        L.flatten(),
        L.dense({ units: 2 }),
      ],
    });
    randomizeWeights(model, 5);
    const { tfjs, ort, outputs } = await runBoth(model, randomData(72, 4), [1, 6, 6, 2]);
    expect(maxAbsDiff(outputNamed(ort, at(outputs, 0)).data, at(tfjs, 0))).toBeLessThanOrEqual(1e-4);
    model.dispose();
  });

  it('names an unsupported layer, its type and the supported types', () => {
    const input = tf.input({ shape: [4, 4, 3] });
    const up = call(L.upSampling2d({ size: [2, 2], name: 'up' }), input);
    const model = tf.model({ inputs: input, outputs: up });
    let error: unknown;
    try {
      exportOnnx(model);
    } catch (e) {
      error = e;
    }
    expect(isLesionlabError(error) && error.code).toBe('E_ONNX');
    expect((error as Error).message).toMatch(
      /^expected a layer type the exporter supports \(.*Conv2D.*\) for the layer "up" but received the type UpSampling2D; replace the layer/,
    );
    expect(SUPPORTED_LAYERS).toContain('ScaledResidual');
    model.dispose();
  });

  it('leaks no tensors and leaves the weights unchanged', () => {
    const { model } = classifier(true);
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    exportOnnx(model, { cam: true });
    const n = tf.memory().numTensors;
    exportOnnx(model, { cam: true });
    expect(tf.memory().numTensors).toBe(n);
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    model.dispose();
  });
});

describe('countMacs', () => {
  it('counts conv, depthwise, separable and dense MACs from shapes', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = call(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), input); // 4*4*9*3*4 = 1728
    x = call(L.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2 }), x); // 4*4*9*8 = 1152
    x = call(L.separableConv2d({ filters: 5, kernelSize: 3, padding: 'valid' }), x); // 2*2*(9*8 + 8*5) = 448
    x = call(L.dense({ units: 3 }), call(L.flatten(), x)); // 20*3 = 60
    const model = tf.model({ inputs: input, outputs: x });
    expect(countMacs(model)).toBe(1728 + 1152 + 448 + 60);
    model.dispose();
  });
});
