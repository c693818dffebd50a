/**
 * Warm-up then cosine decay, step by step over a whole run (Loshchilov & Hutter's SGDR without restarts, with
 * Goyal et al.'s linear warm-up): what fine-tuning uses instead of reduce-on-plateau when `fineTune.schedule` is
 * `cosine`. A pure function of the step, so a resumed run continues on the same curve.
 */
export interface CosineSchedule {
  /** Epochs of linear warm-up from base/warmupSteps up to the base rate (fractions allowed; 0: none). */
  readonly warmupEpochs: number;
  /** The rate the decay ends at, as a fraction of the base rate. */
  readonly minFactor: number;
}

/**
 * The multiplier of the base learning rate for 0-based step `step` of `totalSteps`: (step + 1) / warmupSteps
 * during the `warmupSteps` warm-up, then minFactor + (1 − minFactor)·(1 + cos(π·p))/2 with p going from 0 at the
 * first step after warm-up towards 1 at the end.
 */
export function cosineFactor(
  step: number,
  totalSteps: number,
  warmupSteps: number,
  minFactor: number,
): number {
  if (step < warmupSteps) return (step + 1) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return minFactor + ((1 - minFactor) * (1 + Math.cos(Math.PI * progress))) / 2;
}
