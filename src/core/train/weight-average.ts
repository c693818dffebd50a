import * as tf from '@tensorflow/tfjs';
import { at } from '../util/at.js';
import type { WeightSnapshot } from './callbacks.js';
import { type NamedVariable, restoreVariables, snapshotVariables } from './head.js';

/**
 * An exponential moving average of weights, updated after every optimiser step (Polyak averaging; Keras
 * optimisers' `use_ema`/`ema_momentum`, timm's ModelEma): average ← decay·average + (1 − decay)·weight, starting
 * from the weights as they were when training began. Validating and keeping the average instead of the last step's
 * weights smooths out the noise of the last steps, a cheap regulariser for a fine-tuned tail. With BatchNorm in
 * inference mode the averaged weights need no statistics recomputed. The caller disposes it.
 */
export class WeightAverage {
  private readonly averages: tf.Variable[];

  /** `decay` in [0, 1): the share of the old average kept at each step (0.998: a horizon of ~500 steps). */
  constructor(
    private readonly variables: readonly NamedVariable[],
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`weight average: decay ${decay} must be in [0, 1)`);
    this.averages = variables.map(({ variable }) => tf.tidy(() => tf.variable(variable.clone(), false)));
  }

  /** Folds the variables' current values into the average (call after each optimiser step). */
  update(): void {
    tf.tidy(() => {
      this.variables.forEach(({ variable }, i) => {
        const average = at(this.averages, i);
        average.assign(average.mul(this.decay).add(variable.mul(1 - this.decay)));
      });
    });
  }

  /**
   * Exchanges the variables' values with the average's: after one call the variables hold the averaged weights
   * (to validate or keep them), after a second call the training weights again.
   */
  swap(): void {
    tf.tidy(() => {
      this.variables.forEach(({ variable }, i) => {
        const average = at(this.averages, i);
        const live = variable.clone();
        variable.assign(average);
        average.assign(live);
      });
    });
  }

  /** The average as plain data, named like the variables (for checkpoints). */
  getState(): WeightSnapshot {
    return snapshotVariables(this.variables.map(({ name }, i) => ({ name, variable: at(this.averages, i) })));
  }

  /** Restores the average from `getState`'s snapshot. */
  setState(state: WeightSnapshot): void {
    restoreVariables(
      this.variables.map(({ name }, i) => ({ name, variable: at(this.averages, i) })),
      state,
    );
  }

  dispose(): void {
    tf.dispose(this.averages);
  }
}
