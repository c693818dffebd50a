import type * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../errors.js';
import type { NamedVariable } from './head.js';

/** A contiguous run of backbone layers ending at `lastLayer` (the registry's `BackboneSpec.blocks`). */
export interface BlockRef {
  readonly name: string;
  readonly lastLayer: string;
}

/**
 * Unfreezes the top `nBlocks` blocks of a backbone for fine-tuning: layers after the boundary become trainable
 * (BatchNorm stays frozen; the trainer runs the backbone with `training: false`, so its statistics never
 * move), everything below stays frozen. Returns the variables to train, named `backbone/<layer>/<index>`.
 * Blocks whose last layer was cut off (a truncated backbone) are skipped.
 */
export function unfreezeTopBlocks(
  model: tf.LayersModel,
  blocks: readonly BlockRef[],
  nBlocks: number,
): NamedVariable[] {
  const index = new Map(model.layers.map((layer, i) => [layer.name, i]));
  const present = blocks.filter((b) => index.has(b.lastLayer));
  if (!Number.isInteger(nBlocks) || nBlocks < 1 || nBlocks >= present.length) {
    throw new LesionlabError(
      'E_CONFIG',
      `fineTune.blocks: ${model.name} has ${present.length} blocks; unfreeze from 1 to ${present.length - 1}, got ${nBlocks}`,
    );
  }
  const boundary = index.get(present[present.length - nBlocks - 1].lastLayer)!;
  const variables: NamedVariable[] = [];
  model.layers.forEach((layer, i) => {
    layer.trainable = i > boundary && layer.getClassName() !== 'BatchNormalization';
    if (!layer.trainable) return;
    layer.trainableWeights.forEach((weight, w) => {
      // Named by layer and position: TF.js suffixes weight names (`kernel_4`) differently per process.
      variables.push({ name: `backbone/${layer.name}/${w}`, variable: weight.read() as tf.Variable });
    });
  });
  return variables;
}
