import type * as tf from '@tensorflow/tfjs';
import { at } from '../util/at.js';
import { isModel, type LayerCall, walkModel } from './walk.js';

const lastSegment = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

const prod = (xs: readonly (number | null)[]): number => xs.reduce<number>((a, b) => a * (b ?? 1), 1);

/** Multiply-accumulates of one layer call for a batch of one (0 for layers without weights). */
function callMacs(call: LayerCall): number {
  const { layer } = call;
  const out = at(call.outputs, 0).shape;
  const inC = (call.inputs[0]?.shape.at(-1) ?? 0) as number;
  const kernelShape = (name: string): number[] =>
    (layer.weights.find((w) => lastSegment(w.originalName ?? w.name).startsWith(name))?.shape ??
      []) as number[];
  const [kh = 1, kw = 1] = kernelShape(layer.getClassName() === 'Conv2D' ? 'kernel' : 'depthwise_kernel');
  const spatial = prod(out.slice(1, -1));
  switch (layer.getClassName()) {
    case 'Conv2D':
      return spatial * kh * kw * inC * (out.at(-1) as number);
    case 'DepthwiseConv2D':
      return spatial * kh * kw * (out.at(-1) as number);
    case 'SeparableConv2D': {
      const mid = kernelShape('pointwise_kernel')[2] ?? inC;
      return spatial * (kh * kw * mid + mid * (out.at(-1) as number));
    }
    case 'Dense':
      return prod(out.slice(1)) * inC;
    default:
      return 0;
  }
}

/**
 * Multiply-accumulates per image of a model's forward pass, from layer configs and static shapes:
 * conv = H_out·W_out·k_h·k_w·C_in·C_out/groups, depthwise = H_out·W_out·k_h·k_w·C_out,
 * dense = positions·in·out. Nested models are counted through.
 */
export function countMacs(model: tf.LayersModel): number {
  let total = 0;
  const visit = (call: LayerCall, ins: number[]): number[] => {
    if (isModel(call.layer)) walkModel(call.layer, ins, visit);
    else total += callMacs(call);
    return call.outputs.map(() => 0);
  };
  walkModel(model, [0], visit);
  return total;
}
