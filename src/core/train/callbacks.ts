/** Named float arrays: a snapshot of trainable weights (or any tensors) as plain data. */
export type WeightSnapshot = ReadonlyArray<{
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
}>;

/** Early stopping's state; saved with every checkpoint. */
export interface EarlyStoppingState {
  readonly best: number;
  readonly bestEpoch: number;
  readonly wait: number;
  readonly bestWeights: WeightSnapshot | null;
}

/**
 * Early stopping on a monitored value (lower is better) that remembers the best epoch's weights, so the
 * trainer can restore them at the end (Keras `restore_best_weights=True`; TF.js's own callback has no restore).
 */
export class EarlyStopping {
  private state: EarlyStoppingState = {
    best: Number.POSITIVE_INFINITY,
    bestEpoch: -1,
    wait: 0,
    bestWeights: null,
  };

  constructor(
    private readonly patience: number,
    private readonly minDelta: number,
  ) {}

  /**
   * Records one epoch's value; `snapshot` is called only when the value improved. Returns true when training
   * should stop (no improvement larger than minDelta for `patience` epochs).
   */
  update(epoch: number, value: number, snapshot: () => WeightSnapshot): boolean {
    if (Number.isFinite(value) && value < this.state.best - this.minDelta) {
      this.state = { best: value, bestEpoch: epoch, wait: 0, bestWeights: snapshot() };
      return false;
    }
    this.state = { ...this.state, wait: this.state.wait + 1 };
    return this.state.wait >= this.patience;
  }

  /** The best epoch's weights, or null when no epoch produced a finite value. */
  get bestWeights(): WeightSnapshot | null {
    return this.state.bestWeights;
  }

  get bestEpoch(): number {
    return this.state.bestEpoch;
  }

  getState(): EarlyStoppingState {
    return this.state;
  }

  setState(state: EarlyStoppingState): void {
    this.state = state;
  }
}

/** Reduce-on-plateau's state; saved with every checkpoint. */
export interface ReduceLrState {
  readonly best: number;
  readonly wait: number;
}

/** Multiplies the learning rate by `factor` when the monitored value has not improved for `patience` epochs. */
export class ReduceLrOnPlateau {
  private state: ReduceLrState = { best: Number.POSITIVE_INFINITY, wait: 0 };

  constructor(
    private readonly patience: number,
    private readonly factor: number,
    private readonly minLr: number,
    private readonly minDelta = 1e-4,
  ) {}

  /** Returns the learning rate for the next epoch. */
  update(value: number, learningRate: number): number {
    if (Number.isFinite(value) && value < this.state.best - this.minDelta) {
      this.state = { best: value, wait: 0 };
      return learningRate;
    }
    const wait = this.state.wait + 1;
    if (wait < this.patience) {
      this.state = { ...this.state, wait };
      return learningRate;
    }
    this.state = { ...this.state, wait: 0 };
    return Math.max(this.minLr, learningRate * this.factor);
  }

  getState(): ReduceLrState {
    return this.state;
  }

  setState(state: ReduceLrState): void {
    this.state = state;
  }
}
