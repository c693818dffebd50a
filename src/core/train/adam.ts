import * as tf from '@tensorflow/tfjs';
import { at } from '../util/at.js';

/** Adam's moment estimates and step count as plain arrays: part of a training checkpoint. */
export interface AdamState {
  readonly step: number;
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

/** Adam's constants (Keras's defaults) and per-variable learning-rate scales. */
export interface AdamOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /**
   * `rateScales[i]` (default 1) multiplies the learning rate of `variables[i]`: one optimizer with discriminative
   * rates (e.g. a fine-tuned head faster than the backbone), whose base rate callbacks still change.
   */
  readonly rateScales?: readonly number[];
}

/**
 * Adam (Kingma & Ba) over an explicit list of variables, with a learning rate that callbacks may change
 * between steps and a state that can be saved and restored exactly (tf.train.adam exposes neither cleanly).
 */
export class Adam {
  learningRate: number;
  private step = 0;
  /** Each variable with its first (m) and second (v) moment estimates. */
  private readonly slots: readonly AdamSlot[];

  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly rateScales: readonly number[];

  constructor(variables: readonly tf.Variable[], learningRate: number, options: AdamOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
    this.rateScales = options.rateScales ?? [];
    this.learningRate = learningRate;
    const zeros = (variable: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false));
    this.slots = variables.map((variable) => ({ variable, m: zeros(variable), v: zeros(variable) }));
  }

  /** Applies one update; `grads[i]` belongs to `variables[i]`. Does not dispose the gradients. */
  apply(grads: readonly tf.Tensor[]): void {
    this.step += 1;
    const correction1 = 1 - this.beta1 ** this.step;
    const correction2 = 1 - this.beta2 ** this.step;
    const rate = (this.learningRate * Math.sqrt(correction2)) / correction1;
    tf.tidy(() => {
      this.slots.forEach((slot, i) => {
        const grad = at(grads, i);
        const m = slot.m.mul(this.beta1).add(grad.mul(1 - this.beta1));
        const v = slot.v.mul(this.beta2).add(grad.square().mul(1 - this.beta2));
        slot.m.assign(m);
        slot.v.assign(v);
        const scaled = rate * (this.rateScales[i] ?? 1);
        slot.variable.assign(slot.variable.sub(m.mul(scaled).div(v.sqrt().add(this.epsilon))));
      });
    });
  }

  getState(): AdamState {
    return {
      step: this.step,
      m: this.slots.map((slot) => readFloats(slot.m)),
      v: this.slots.map((slot) => readFloats(slot.v)),
    };
  }

  setState(state: AdamState): void {
    this.step = state.step;
    tf.tidy(() => {
      state.m.forEach((values, i) => {
        assignFloats(at(this.slots, i).m, values);
      });
      state.v.forEach((values, i) => {
        assignFloats(at(this.slots, i).v, values);
      });
    });
  }

  dispose(): void {
    for (const slot of this.slots) {
      slot.m.dispose();
      slot.v.dispose();
    }
  }
}

interface AdamSlot {
  readonly variable: tf.Variable;
  readonly m: tf.Variable;
  readonly v: tf.Variable;
}

function readFloats(tensor: tf.Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync());
}

function assignFloats(moment: tf.Variable, values: Float32Array): void {
  moment.assign(tf.tensor(values, moment.shape));
}
