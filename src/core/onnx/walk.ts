import * as tf from '@tensorflow/tfjs';
import { at } from '../util/at.js';

/** One call of a layer in a model graph: the layer and its symbolic inputs and outputs. */
export interface LayerCall {
  readonly layer: tf.layers.Layer;
  readonly inputs: readonly tf.SymbolicTensor[];
  readonly outputs: readonly tf.SymbolicTensor[];
}

/** True when a layer is itself a model (a nested backbone or Sequential). */
export function isModel(layer: tf.layers.Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

/**
 * Visits, in topological order, exactly the layer calls that `model`'s outputs depend on, mapping
 * symbolic tensors to values of type T. `inputs` are the values of `model.inputs`; `onCall` turns one
 * call's input values into its output values (and may recurse into nested models with this function).
 */
export function walkModel<T>(
  model: tf.LayersModel,
  inputs: readonly T[],
  onCall: (call: LayerCall, inputs: T[]) => T[],
): T[] {
  const values = new Map<number, T>();
  for (const [i, t] of model.inputs.entries()) values.set(t.id, at(inputs, i));
  const visit = (t: tf.SymbolicTensor): T => {
    const known = values.get(t.id);
    if (known !== undefined) return known;
    const node = at(t.sourceLayer.inboundNodes, t.nodeIndex);
    const ins = node.inputTensors.map(visit);
    const outs = onCall(
      { layer: t.sourceLayer, inputs: node.inputTensors, outputs: node.outputTensors },
      ins,
    );
    for (const [i, o] of node.outputTensors.entries()) values.set(o.id, at(outs, i));
    return at(
      outs,
      node.outputTensors.findIndex((o) => o.id === t.id),
    );
  };
  return model.outputs.map(visit);
}
