import * as tf from '@tensorflow/tfjs';

/** What the training loss needs besides logits and labels. */
export interface LossOptions {
  /** Per-class weights (length = classes); each sample is weighted by its class's weight. */
  readonly classWeights: Float32Array;
  readonly kind: 'cross-entropy' | 'focal';
  /** Focal loss's focusing parameter γ (Lin et al. 2017); 0 gives cross-entropy. */
  readonly focalGamma: number;
  /**
   * Label smoothing ε (Szegedy et al. 2016; Keras's `label_smoothing`): the target puts 1 − ε on the label and
   * ε/classes on every class. Default 0.
   */
  readonly labelSmoothing?: number;
  /**
   * Added to the logits before the loss (Menon et al. 2021 logit adjustment: τ·log prior); the model's own
   * logits stay unadjusted, so inference favours rare classes. Omit for plain training.
   */
  readonly logitOffset?: Float32Array;
}

/**
 * Weighted mean loss over a batch: Σ w_i·ℓ_i / Σ w_i with ℓ the (focal) cross-entropy of softmax(logits)
 * against sparse integer labels, smoothed when `labelSmoothing` > 0 (the focal factor (1 − p_label)^γ then
 * scales the smoothed cross-entropy). Returns a scalar; call it inside tidy / variableGrads.
 */
export function classificationLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: LossOptions,
): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const adjusted = options.logitOffset ? logits.add(tf.tensor1d(options.logitOffset)) : logits;
    const logProbs = tf.logSoftmax(adjusted);
    const oneHot = tf.oneHot(labels, classes).toFloat();
    const logPTrue = logProbs.mul(oneHot).sum(1);
    const smoothing = options.labelSmoothing ?? 0;
    let perSample: tf.Tensor =
      smoothing > 0
        ? logPTrue
            .mul(1 - smoothing)
            .add(logProbs.mean(1).mul(smoothing))
            .neg()
        : logPTrue.neg();
    if (options.kind === 'focal' && options.focalGamma > 0) {
      perSample = perSample.mul(tf.scalar(1).sub(logPTrue.exp()).pow(options.focalGamma));
    }
    const weights = tf.gather(tf.tensor1d(options.classWeights), labels);
    return perSample.mul(weights).sum().div(weights.sum()) as tf.Scalar;
  });
}

/** τ·log(prior) per class from training label counts (zero counts get a count of 1). */
export function logPriorOffset(counts: readonly number[], tau: number): Float32Array {
  const total = counts.reduce((a, b) => a + Math.max(b, 1), 0);
  return Float32Array.from(counts, (count) => tau * Math.log(Math.max(count, 1) / total));
}
