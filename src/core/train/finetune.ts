import * as tf from '@tensorflow/tfjs';
import { expected, shown } from '../errors.js';
import type { BackboneBlock } from '../models/registry.js';
import { at } from '../util/at.js';
import type { NamedVariable } from './head.js';

/** A backbone cut at a block boundary: `prefix` (input → boundary map) then `tail` (boundary map → output). */
export interface BackboneSplit {
  /** The frozen part, sharing the backbone's layers (export it to ONNX to run it fast). */
  readonly prefix: tf.LayersModel;
  /** The top blocks as a model of their own (fresh layers holding copies of the backbone's weights). */
  readonly tail: tf.LayersModel;
  /** Name of the boundary layer (the prefix's output). */
  readonly boundary: string;
  /** Shape of one boundary activation [h, w, c]. */
  readonly mapShape: readonly [number, number, number];
}

/** Blocks whose last layer is present in `model` (a truncated backbone loses its top blocks). */
export function presentBlocks(model: tf.LayersModel, blocks: readonly BackboneBlock[]): BackboneBlock[] {
  const names = new Set(model.layers.map((l) => l.name));
  return blocks.filter((b) => names.has(b.lastLayer));
}

/** The layer that ends the block below the top `nBlocks` blocks; E_CONFIG when `nBlocks` is out of range. */
export function boundaryLayer(
  model: tf.LayersModel,
  blocks: readonly BackboneBlock[],
  nBlocks: number,
): string {
  const present = presentBlocks(model, blocks);
  if (!Number.isInteger(nBlocks) || nBlocks < 1 || nBlocks >= present.length) {
    throw expected({
      what: `a number of blocks from 1 to ${present.length - 1} (${model.name} has ${present.length} blocks)`,
      where: 'fineTune.blocks',
      received: shown(nBlocks),
      fix: `unfreeze from 1 to ${present.length - 1}`,
      code: 'E_CONFIG',
    });
  }
  return at(present, present.length - nBlocks - 1).lastLayer;
}

/**
 * Splits a backbone after the block below its top `nBlocks` blocks. The tail is rebuilt from the layers'
 * configs (registered custom layers included) and given copies of their weights, so it trains on its own
 * input; {@link copyTailWeights} writes them back. E_CONFIG when a tail layer reads a tensor from below the
 * boundary other than the boundary itself (the cut would not be clean).
 */
export function splitAtBlock(
  model: tf.LayersModel,
  blocks: readonly BackboneBlock[],
  nBlocks: number,
): BackboneSplit {
  const boundary = boundaryLayer(model, blocks, nBlocks);
  const cut = model.getLayer(boundary);
  const prefix = tf.model({ inputs: model.inputs, outputs: cut.output as tf.SymbolicTensor, name: 'prefix' });
  const shape = (cut.output as tf.SymbolicTensor).shape.slice(1) as [number, number, number];
  const input = tf.input({ shape, name: `${boundary}_map` });
  const mapped = new Map<number, tf.SymbolicTensor>([[(cut.output as tf.SymbolicTensor).id, input]]);
  const start = model.layers.indexOf(cut) + 1;
  for (const layer of model.layers.slice(start)) {
    const node = at(layer.inboundNodes, 0);
    const inputs = node.inputTensors.map((t) => {
      const value = mapped.get(t.id);
      if (!value)
        throw expected({
          what: `a block boundary (${boundary}) that cuts the graph of ${model.name} cleanly`,
          where: 'fineTune.blocks',
          received: `the layer ${layer.name}, which reads ${t.sourceLayer.name} from below it`,
          fix: 'unfreeze a number of blocks whose boundary cuts the graph cleanly',
          code: 'E_CONFIG',
        });
      return value;
    });
    const clone = cloneLayer(layer);
    const out = clone.apply(inputs.length === 1 ? at(inputs, 0) : inputs) as tf.SymbolicTensor;
    clone.setWeights(layer.getWeights());
    mapped.set(at(node.outputTensors, 0).id, out);
  }
  const output = mapped.get(at(model.outputs, 0).id)!;
  const tail = tf.model({ inputs: input, outputs: output, name: `${model.name}_tail` });
  return { prefix, tail, boundary, mapShape: shape };
}

function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  const className = layer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry)
    throw expected({
      what: 'a layer class registered for serialization',
      where: `the layer ${layer.name} to fine-tune`,
      received: `the unregistered class ${className}`,
      fix: 'register the custom layer',
      code: 'E_CONFIG',
    });
  const [cls, fromConfig] = entry;
  return fromConfig(cls, { ...layer.getConfig() }) as tf.layers.Layer;
}

/** Writes the tail's (trained) weights back into the same-named layers of the full backbone. */
export function copyTailWeights(tail: tf.LayersModel, model: tf.LayersModel): void {
  for (const layer of tail.layers) {
    if (layer.weights.length === 0) continue;
    model.getLayer(layer.name).setWeights(layer.getWeights());
  }
}

/**
 * Makes the top `nBlocks` blocks of a model trainable and returns their variables, named
 * `backbone/<layer>/<index>`. BatchNorm layers stay frozen unless `trainBatchNorm` (their scale and offset then
 * train; whether they run on batch statistics is the trainer's `training` flag, not this). Blocks whose last layer is absent are skipped; `nBlocks` equal to the blocks
 * present unfreezes everything after the input layer (a tail model split at a block boundary).
 */
export function unfreezeTopBlocks(
  model: tf.LayersModel,
  blocks: readonly BackboneBlock[],
  nBlocks: number,
  trainBatchNorm = false,
): NamedVariable[] {
  const index = new Map(model.layers.map((layer, i) => [layer.name, i]));
  const present = blocks.filter((b) => index.has(b.lastLayer));
  if (!Number.isInteger(nBlocks) || nBlocks < 1 || nBlocks > present.length) {
    throw expected({
      what: `a number of blocks from 1 to ${present.length} (${model.name} has ${present.length} blocks above its input)`,
      where: 'fineTune.trainBlocks',
      received: shown(nBlocks),
      fix: `unfreeze from 1 to ${present.length}`,
      code: 'E_CONFIG',
    });
  }
  // every block present: the whole model trains (a tail whose input is the split boundary)
  const boundary =
    nBlocks === present.length ? 0 : index.get(at(present, present.length - nBlocks - 1).lastLayer)!;
  const variables: NamedVariable[] = [];
  model.layers.forEach((layer, i) => {
    const isBn = layer.getClassName() === 'BatchNormalization';
    layer.trainable = i > boundary && (trainBatchNorm || !isBn);
    if (!layer.trainable) return;
    layer.trainableWeights.forEach((weight, w) => {
      // Named by layer and position: TF.js suffixes weight names (`kernel_4`) differently per process.
      variables.push({ name: `backbone/${layer.name}/${w}`, variable: weight.read() as tf.Variable });
    });
  });
  return variables;
}

/** The BatchNorm weights that a training-mode forward pass updates itself (moving averages of the batches). */
const BATCH_NORM_STATE = ['moving_mean', 'moving_variance'] as const;

/**
 * The moving mean and variance of every BatchNormalization layer of `model`, named
 * `backbone/<layer>/moving_mean` and `backbone/<layer>/moving_variance`: the state a forward pass with
 * `training: true` updates (TF.js does so for every BatchNorm layer, trainable or not). They are never trained;
 * the trainer saves and restores them with the weights (`stateVariables`).
 */
export function batchNormState(model: tf.LayersModel): NamedVariable[] {
  const variables: NamedVariable[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    for (const weight of layer.weights) {
      // the original name is `<scope>/moving_mean`; `name` may carry a per-process suffix (`moving_mean_3`)
      const base = weight.originalName.slice(weight.originalName.lastIndexOf('/') + 1);
      if (!(BATCH_NORM_STATE as readonly string[]).includes(base)) continue;
      variables.push({ name: `backbone/${layer.name}/${base}`, variable: weight.read() as tf.Variable });
    }
  }
  return variables;
}
