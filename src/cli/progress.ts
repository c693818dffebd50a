import type { ProgressHook } from '../core/logger.js';

/** Progress labels of long work that gets an estimate: feature extraction (and fine-tuning's prefix cache). */
const ESTIMATED = new Set(['features', 'prefix']);

/** Seconds as `1 h 05 min`, `3 min 20 s` or `42 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600)
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/**
 * Watches progress events and returns, once per phase of long work, an estimate of how long it will take,
 * measured on a short warm-up: the first batch (which also starts the engine) is left out, the rate is timed on
 * the batches after it until at least `warmupSeconds` have passed or two batches are done.
 */
export function createEstimator(
  now: () => number = () => performance.now(),
  warmupSeconds = 5,
): (done: number, total: number, label?: string) => string | undefined {
  let phase:
    | { label: string; total: number; start?: { done: number; at: number }; batches: number }
    | undefined;
  let said = false;
  return (done, total, label = '') => {
    if (!ESTIMATED.has(label)) return undefined;
    if (phase?.label !== label || phase.total !== total || done === 0) {
      phase = { label, total, batches: 0 };
      said = false;
      if (done === 0) return undefined;
    }
    if (said || done >= total) return undefined;
    if (!phase.start) {
      phase.start = { done, at: now() }; // end of the warm-up batch
      return undefined;
    }
    phase.batches++;
    const seconds = (now() - phase.start.at) / 1000;
    if (seconds < warmupSeconds && phase.batches < 2) return undefined;
    said = true;
    const rate = (done - phase.start.done) / Math.max(seconds, 1e-9);
    return `${label}: ${total} image views at ${rate.toFixed(1)} images/s (measured after a warm-up): about ${formatDuration((total - done) / rate)} to go`;
  };
}

/** A progress hook that also sends each estimate line to `say`. */
export function withEstimates(hook: ProgressHook, say: (line: string) => void): ProgressHook {
  const estimate = createEstimator();
  return (done, total, label) => {
    const line = estimate(done, total, label);
    if (line) say(line);
    hook(done, total, label);
  };
}
