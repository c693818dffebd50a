import type * as tf from '@tensorflow/tfjs';
import { expected, LesionlabError } from '../errors.js';
import { at } from '../util/at.js';
import type { GraphBuilder, Value } from './graph.js';
import { isModel } from './walk.js';
import { layerWeights, permute, requireWeight } from './weights.js';

/** Layers that pass their input through unchanged at inference. */
const PASS_THROUGH = new Set([
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

function allLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((l) => (isModel(l) ? [l, ...allLayers(l)] : [l]));
}

/** The input of a layer's first call, skipping pass-through layers backwards. */
function upstream(layer: tf.layers.Layer): { layer: tf.layers.Layer; input: tf.SymbolicTensor } | undefined {
  const input = layer.inboundNodes[0]?.inputTensors[0];
  if (!input) return undefined;
  const src = input.sourceLayer;
  return PASS_THROUGH.has(src.getClassName()) ? upstream(src) : { layer: src, input };
}

/** The last Dense layer fed (through dropouts) by GlobalAveragePooling2D, and the pooled feature map. */
function findCamHead(model: tf.LayersModel): { dense: tf.layers.Layer; feature: tf.SymbolicTensor } {
  for (const layer of allLayers(model).reverse()) {
    if (layer.getClassName() !== 'Dense') continue;
    const up = upstream(layer);
    const gapInput = up?.layer.inboundNodes[0]?.inputTensors[0];
    if (up?.layer.getClassName() === 'GlobalAveragePooling2D' && gapInput)
      return { dense: layer, feature: gapInput };
  }
  throw expected({
    what: 'a GlobalAveragePooling2D -> Dense head (for the "cam" output)',
    where: `the model "${model.name}"`,
    received: 'no such head',
    fix: 'export without cam',
    code: 'E_ONNX',
  });
}

/**
 * Emits the class-activation map of a GAP -> Dense head: feature map · kernel, plus the Dense bias in
 * every cell when `includeBias`, so that the map's spatial mean equals the head's logits exactly
 * (mean(f)·k + b). Returns an NCHW value (the caller transposes outputs to NHWC).
 */
export function addCamOutput(
  g: GraphBuilder,
  model: tf.LayersModel,
  byTensor: ReadonlyMap<number, Value>,
  includeBias: boolean,
): Value {
  const { dense, feature } = findCamHead(model);
  const f = byTensor.get(feature.id);
  // An invariant: the walk exports every tensor on the path to the outputs.
  if (!f) throw new LesionlabError('E_ONNX', `cam: feature map of "${dense.name}" was not exported`);
  const w = layerWeights(dense);
  const kernel = requireWeight(w, 'kernel', dense.name);
  const [h, wd] = [f.shape[1], f.shape[2]];
  const classes = at(kernel.shape, 1);
  const [data, dims] = permute(kernel.data, kernel.shape, [1, 0]);
  const x = g.toLayout(f, 'nchw');
  const inputs = [x.name, g.floats('cam_W', [...dims, 1, 1], data)];
  const bias = w.get('bias');
  if (includeBias && bias) inputs.push(g.floats('cam_B', [classes], bias.data));
  const attrs = { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 };
  const name = g.node('Conv', inputs, 'cam_conv', attrs);
  return { name, shape: [f.shape[0] ?? null, h ?? null, wd ?? null, classes], layout: 'nchw' };
}
