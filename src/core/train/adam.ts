import * as tf from '@tensorflow/tfjs';

/** Adam's moment estimates and step count as plain arrays: part of a training checkpoint. */
export interface AdamState {
  readonly step: number;
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

/**
 * Adam (Kingma & Ba) over an explicit list of variables, with a learning rate that callbacks may change
 * between steps and a state that can be saved and restored exactly (tf.train.adam exposes neither cleanly).
 */
export class Adam {
  learningRate: number;
  private step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    private readonly variables: readonly tf.Variable[],
    learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.learningRate = learningRate;
    this.m = variables.map((variable) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
    this.v = variables.map((variable) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
  }

  /** Applies one update; `grads[i]` belongs to `variables[i]`. Does not dispose the gradients. */
  apply(grads: readonly tf.Tensor[]): void {
    this.step += 1;
    const correction1 = 1 - this.beta1 ** this.step;
    const correction2 = 1 - this.beta2 ** this.step;
    const rate = (this.learningRate * Math.sqrt(correction2)) / correction1;
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const m = this.m[i].mul(this.beta1).add(grads[i].mul(1 - this.beta1));
        const v = this.v[i].mul(this.beta2).add(grads[i].square().mul(1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        variable.assign(variable.sub(m.mul(rate).div(v.sqrt().add(this.epsilon))));
      });
    });
  }

  getState(): AdamState {
    return { step: this.step, m: this.m.map(readFloats), v: this.v.map(readFloats) };
  }

  setState(state: AdamState): void {
    this.step = state.step;
    tf.tidy(() => {
      state.m.forEach((values, i) => {
        this.m[i].assign(tf.tensor(values, this.m[i].shape));
      });
      state.v.forEach((values, i) => {
        this.v[i].assign(tf.tensor(values, this.v[i].shape));
      });
    });
  }

  dispose(): void {
    for (const variable of [...this.m, ...this.v]) variable.dispose();
  }
}

function readFloats(tensor: tf.Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync());
}
