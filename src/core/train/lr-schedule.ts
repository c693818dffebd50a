/**
 * Cosine decay step by step over a whole run (Loshchilov & Hutter's SGDR without restarts), after the run's linear
 * warm-up (Goyal et al.): what fine-tuning uses instead of reduce-on-plateau when `fineTune.schedule` is `cosine`.
 * Pure functions of the step, so a resumed run continues on the same curve.
 */
export interface CosineSchedule {
  /** The rate the decay ends at, as a fraction of the base rate. */
  readonly minFactor: number;
}

/** The multiplier of the base rate at 0-based step `step` of a linear warm-up of `warmupSteps`: (step + 1) / warmupSteps. */
export function warmupFactor(step: number, warmupSteps: number): number {
  return (step + 1) / warmupSteps;
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
  if (step < warmupSteps) return warmupFactor(step, warmupSteps);
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return minFactor + ((1 - minFactor) * (1 + Math.cos(Math.PI * progress))) / 2;
}
