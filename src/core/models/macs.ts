import type * as tf from '@tensorflow/tfjs';

function prod(values: readonly (number | null)[]): number {
  return values.reduce<number>((a, b) => a * (b ?? 1), 1);
}

/**
 * Multiply-accumulates of one forward pass of one image, counted over Conv2D, DepthwiseConv2D and
 * Dense layers (the usual convention: BatchNorm, activations and pooling are not counted).
 */
export function countMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape as (number | null)[];
    const kernel = layer.weights[0]?.shape;
    if (kernel === undefined) continue;
    if (cls === 'Conv2D') macs += prod(out.slice(1, 3)) * prod(kernel);
    else if (cls === 'DepthwiseConv2D') macs += prod(out.slice(1, 3)) * prod(kernel);
    else if (cls === 'Dense') macs += prod(out.slice(1, -1)) * prod(kernel);
  }
  return macs;
}
