import * as tf from '@tensorflow/tfjs';

/**
 * Gradients of the activation and BatchNorm ops every registry backbone is made of, with the values of TF.js's
 * own but far fewer passes over full-size activations. TF.js computes ReLU's gradient through `step`, which the
 * native backend runs as six full-size ops (an isNaN, two fills, a comparison, two selects), and BatchNorm's
 * input gradient through a tile and three multiplies plus two products it only needs for other inputs.
 * `npm run bench:gradients` (one step of the top six blocks and a head, batch 32, native backend, 2 cores):
 * MobileNet v1 1,631 → 1,101 ms, MobileNetV2 941 → 615 ms (1.48x and 1.53x).
 * Values equal TF.js's up to float rounding (BatchNorm multiplies in another order); for NaN inputs ReLU's
 * gradient is 0 where TF.js's is NaN (the loss is NaN either way).
 */
const LEAN_GRADIENTS: readonly tf.GradConfig[] = [
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => masked(dy, tf.greater(need(x), 0)) }),
  },
  {
    kernelName: tf.Relu6,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({
      x: () => masked(dy, tf.logicalAnd(tf.greater(need(x), 0), tf.lessEqual(need(x), 6))),
    }),
  },
  {
    kernelName: tf.ClipByValue,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
      return {
        x: () =>
          masked(
            dy,
            tf.logicalAnd(tf.greaterEqual(need(x), clipValueMin), tf.lessEqual(need(x), clipValueMax)),
          ),
      };
    },
  },
  {
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dyAny, saved, attrs) => batchNormGradients(dyAny as tf.Tensor, saved, attrs),
  },
];

/** TF.js's own gradient configs while the lean ones are installed. */
let stock: tf.GradConfig[] | undefined;

/**
 * Registers the lean gradients in place of TF.js's (later calls do nothing until {@link useTfjsGradients}). The
 * trainer calls it before its first step; the registry is global, so every TF.js gradient in the process uses them.
 */
export function useLeanGradients(): void {
  if (stock) return;
  stock = LEAN_GRADIENTS.map((config) => tf.getGradient(config.kernelName));
  for (const config of LEAN_GRADIENTS) tf.registerGradient(config);
}

/** Puts TF.js's own gradients back (the next `useLeanGradients`, e.g. the trainer's, installs the lean ones again). */
export function useTfjsGradients(): void {
  if (!stock) return;
  for (const config of stock) tf.registerGradient(config);
  stock = undefined;
}

/** The kernel names whose gradients {@link useLeanGradients} replaces. */
export const LEAN_GRADIENT_KERNELS: readonly string[] = LEAN_GRADIENTS.map((c) => c.kernelName);

function masked(dy: tf.Tensor | tf.Tensor[], mask: tf.Tensor): tf.Tensor {
  return tf.mul(dy as tf.Tensor, tf.cast(mask, 'float32'));
}

function need(t: tf.Tensor | undefined): tf.Tensor {
  if (!t) throw new Error('lean gradients: a saved input is missing: a lesionlab bug');
  return t;
}

/**
 * BatchNorm y = (x − mean)·scale/√(variance + ε) + offset. Each input's gradient is built only when the tape
 * asks for it: training with BatchNorm frozen needs the one for x, a single broadcast multiply.
 */
function batchNormGradients(
  dy: tf.Tensor,
  [xSaved, meanSaved, varianceSaved, scale]: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Record<string, () => tf.Tensor> {
  const x = need(xSaved);
  const mean = need(meanSaved);
  const variance = need(varianceSaved);
  const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
  const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  /** Sums a full-size term down to the statistics' shape. */
  const reduce = (t: tf.Tensor) => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape);
  const inverse = () => tf.rsqrt(tf.add(variance, varianceEpsilon));
  const scaled = (t: tf.Tensor) => (scale ? tf.mul(t, scale) : t);
  return {
    x: () => tf.mul(dy, scaled(inverse())),
    mean: () => reduce(tf.mul(dy, tf.neg(scaled(inverse())))),
    variance: () => reduce(tf.mul(tf.mul(dy, tf.sub(x, mean)), scaled(tf.mul(tf.pow(inverse(), 3), -0.5)))),
    scale: () => reduce(tf.mul(dy, tf.mul(tf.sub(x, mean), inverse()))),
    offset: () => reduce(dy),
  };
}
