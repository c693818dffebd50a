import type * as tf from '@tensorflow/tfjs';
import type { BackboneSpec } from './registry.js';

/**
 * The last layer of the last complete block that lies before every layer in `lacking` (layers whose
 * weights are unavailable), or null when even the first block is incomplete. Use it as `outputLayer`
 * to keep only the part of a backbone that has pretrained weights.
 */
export function lastCompleteBlockBefore(
  model: tf.LayersModel,
  spec: BackboneSpec,
  lacking: ReadonlySet<string>,
): string | null {
  const index = new Map(model.layers.map((l, i) => [l.name, i]));
  const firstLacking = Math.min(...[...lacking].map((name) => index.get(name) ?? Number.POSITIVE_INFINITY));
  let best: string | null = null;
  for (const block of spec.blocks) {
    const end = index.get(block.lastLayer);
    if (end !== undefined && end < firstLacking) best = block.lastLayer;
  }
  return best;
}
