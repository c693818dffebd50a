import { mulberry32Step } from '../data/prng.js';

/**
 * A small seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so a run can checkpoint it and
 * resume bit-for-bit. Every random choice of training (init, shuffling, view sampling, dropout, mixup) draws from it.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    const step = mulberry32Step(this.state);
    this.state = step.state;
    return step.value;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** The current state, for checkpoints. */
  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }

  /** A new shuffled array of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      // Shuffle loop: j <= i < n, both indices of out.
      const held = out[i]!;
      out[i] = out[j]!;
      out[j] = held;
    }
    return out;
  }

  /** A standard normal draw (Box-Muller, one of the pair). */
  normal(): number {
    const u1 = 1 - this.next(); // in (0, 1]: log stays finite
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A Gamma(shape, 1) draw (Marsaglia & Tsang; shapes below 1 boosted by U^(1/shape)). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * (1 - this.next()) ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const t = 1 + c * x;
      if (t <= 0) continue;
      const v = t * t * t;
      if (Math.log(1 - this.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** A Beta(a, b) draw, as the ratio of two gamma draws (mixup's blending weight). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    // both can underflow to 0 for tiny shapes: then the draw sits at an end, as Beta(a, b) nearly always does
    return x + y > 0 ? x / (x + y) : this.next() < a / (a + b) ? 1 : 0;
  }

  /** `count` floats uniform in [low, high). */
  uniform(count: number, low: number, high: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = low + (high - low) * this.next();
    return out;
  }
}
