import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Head, type NamedVariable, poolFeatures } from '../../../src/core/train/head.js';
import { cosineFactor } from '../../../src/core/train/lr-schedule.js';
import { Prng } from '../../../src/core/train/prng.js';
import {
  type ItemSet,
  predictSet,
  type TrainCheckpoint,
  type TrainHeadOptions,
  trainHead,
} from '../../../src/core/train/trainer.js';
import { at } from '../../../src/core/util/at.js';
import { baseOptions, makeHead, stripSeconds, syntheticSet } from '../../support/train-set.js';

const WIDTH = 12;
const train = syntheticSet(90, WIDTH, 3, 2, 1);
const val = syntheticSet(30, WIDTH, 3, 2, 2);

/** Runs `options` interrupted after `epoch`, then resumes a fresh head from that checkpoint to the end. */
async function interruptAndResume(
  options: (head: Head) => TrainHeadOptions,
  fresh: () => Head,
  epoch: number,
): Promise<{
  resumed: Awaited<ReturnType<typeof trainHead>>;
  interrupted: Awaited<ReturnType<typeof trainHead>>;
  checkpoints: TrainCheckpoint[];
  heads: Head[];
}> {
  const checkpoints: TrainCheckpoint[] = [];
  const first = fresh();
  const interrupted = await trainHead({
    ...options(first),
    onEpoch: (_record, checkpoint) => {
      checkpoints.push(checkpoint);
    },
    interruptAfter: (e) => e === epoch,
  });
  const second = fresh();
  const resumed = await trainHead({ ...options(second), resume: checkpoints[epoch - 1] });
  return { resumed, interrupted, checkpoints, heads: [first, second] };
}

/**
 * Interrupts `options` after `epoch` and resumes it; expects the uninterrupted run's history and final weights
 * (`reference`, `full`). Returns both heads of the interrupted pair, for the caller to dispose.
 */
async function expectResumesExactly(
  options: (head: Head) => TrainHeadOptions,
  reference: Awaited<ReturnType<typeof trainHead>>,
  full: Head,
  epoch: number,
): Promise<Head[]> {
  const { resumed, heads } = await interruptAndResume(options, () => makeHead(WIDTH), epoch);
  expect(stripSeconds(resumed.history)).toEqual(stripSeconds(reference.history));
  expect(at(heads, 1).snapshot()).toEqual(full.snapshot());
  return heads;
}

describe('trainHead', () => {
  it('learns separable clusters and records one metrics row per epoch', async () => {
    const head = makeHead(WIDTH, 8);
    const result = await trainHead({ ...baseOptions(head, train, val), epochs: 8 });
    // one row per epoch run, numbered from 1: all 8, or up to where early stopping ended the run
    const epochs = result.history.map((r) => r.epoch);
    expect(epochs).toEqual(epochs.map((_, i) => i + 1));
    expect(epochs.length === 8 || result.stoppedEarly).toBe(true);
    expect(epochs.length).toBeGreaterThanOrEqual(result.bestEpoch);
    const last = at(result.history, result.history.length - 1);
    expect(Object.keys(last).sort()).toEqual(
      ['epoch', 'loss', 'lr', 'seconds', 'val_accuracy', 'val_balanced_accuracy', 'val_loss'].sort(),
    );
    expect(Math.max(...result.history.map((r) => r.val_accuracy))).toBeGreaterThan(0.8);
    expect(at(result.history, 0).loss).toBeGreaterThan(last.loss);
    head.dispose();
  });

  it('is deterministic for a seed and differs for another seed', async () => {
    const run = async (seed: number) => {
      const head = makeHead(WIDTH);
      const result = await trainHead({ ...baseOptions(head, train, val), seed, sampling: 'one' });
      const weights = head.snapshot();
      head.dispose();
      return { history: stripSeconds(result.history), weights };
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b).toEqual(a);
    expect(c.history).not.toEqual(a.history);
  });

  it('restores the best epoch weights when early stopping ends the run', async () => {
    const head = makeHead(WIDTH, 0, 0);
    // A large learning rate makes validation loss bounce, so the last epoch is rarely the best.
    const result = await trainHead({
      ...baseOptions(head, train, val),
      learningRate: 2,
      epochs: 30,
      earlyStopping: { patience: 2, minDelta: 0 },
      reduceLr: { patience: 100, factor: 0.5, minLr: 0 },
    });
    const best = at(result.history, result.bestEpoch - 1);
    const losses = result.history.map((r) => r.val_loss);
    expect(best.val_loss).toBe(Math.min(...losses));
    expect(result.stoppedEarly).toBe(true);
    expect(result.bestEpoch).toBeLessThan(result.history.length);
    const { loss } = await predictSet(head, val, { loss: baseOptions(head, train, val).loss });
    expect(loss).toBeCloseTo(best.val_loss, 5);
    head.dispose();
  });

  it('resumes from an interrupted epoch to the same final metrics and weights', async () => {
    const full = makeHead(WIDTH, 6);
    const reference = await trainHead({ ...baseOptions(full, train, val), epochs: 5 });
    const { resumed, interrupted, checkpoints, heads } = await interruptAndResume(
      (head) => ({ ...baseOptions(head, train, val), epochs: 5 }),
      () => makeHead(WIDTH, 6),
      2,
    );
    expect(interrupted.interrupted).toBe(true);
    expect(checkpoints.length).toBe(2);
    expect(stripSeconds(resumed.history)).toEqual(stripSeconds(reference.history));
    expect(at(heads, 1).snapshot()).toEqual(full.snapshot());
    tf.dispose([...full.variables, ...heads.flatMap((h) => h.variables)].map((v) => v.variable));
  });

  it('follows a warm-up + cosine schedule step by step, and resumes on the same curve', async () => {
    // 90 items in batches of 16: 6 steps an epoch, 24 in all, the first 6 warm up; `lr` is the last step's
    const options = (head: Head): TrainHeadOptions => ({
      ...baseOptions(head, train, val),
      epochs: 4,
      earlyStopping: { patience: 100, minDelta: 0 },
      warmupEpochs: 1,
      schedule: { minFactor: 0 },
    });
    const full = makeHead(WIDTH);
    const reference = await trainHead(options(full));
    const expected = [5, 11, 17, 23].map((step) => 0.01 * cosineFactor(step, 24, 6, 0));
    expect(reference.history.map((r) => r.lr)).toEqual(expected);
    expect(expected[0]).toBe(0.01);
    const heads = await expectResumesExactly(options, reference, full, 2);
    // the schedule changes training: the same run on the plateau rule ends elsewhere
    const plateau = makeHead(WIDTH);
    await trainHead({ ...options(plateau), schedule: undefined, warmupEpochs: undefined });
    expect(plateau.snapshot()).not.toEqual(full.snapshot());
    for (const head of [full, ...heads, plateau]) head.dispose();
  });

  it('warms up step by step before the plateau rule takes over, and resumes mid warm-up', async () => {
    // 6 steps an epoch, 12 of warm-up: the first epoch ends at 6/12 of the rate, the second at the rate
    const options = (head: Head): TrainHeadOptions => ({
      ...baseOptions(head, train, val),
      epochs: 4,
      earlyStopping: { patience: 100, minDelta: 0 },
      warmupEpochs: 2,
    });
    const full = makeHead(WIDTH);
    const reference = await trainHead(options(full));
    expect(reference.history.slice(0, 2).map((r) => r.lr)).toEqual([0.005, 0.01]);
    const heads = await expectResumesExactly(options, reference, full, 1);
    const plain = makeHead(WIDTH);
    await trainHead({ ...options(plain), warmupEpochs: 0 });
    expect(plain.snapshot()).not.toEqual(full.snapshot());
    for (const head of [full, ...heads, plain]) head.dispose();
  });

  it('trains with mixup: seeded, resumable, and not the run without it', async () => {
    const options = (head: Head): TrainHeadOptions => ({
      ...baseOptions(head, train, val),
      epochs: 4,
      earlyStopping: { patience: 100, minDelta: 0 },
      mixup: 0.4,
    });
    const full = makeHead(WIDTH);
    const reference = await trainHead(options(full));
    // still learns the clusters (chance: 1/3)
    expect(Math.max(...reference.history.map((r) => r.val_accuracy))).toBeGreaterThan(0.6);
    const again = makeHead(WIDTH);
    await trainHead(options(again));
    expect(again.snapshot()).toEqual(full.snapshot());
    const heads = await expectResumesExactly(options, reference, full, 2);
    const plain = makeHead(WIDTH);
    await trainHead({ ...options(plain), mixup: 0 });
    expect(plain.snapshot()).not.toEqual(full.snapshot());
    for (const head of [full, again, ...heads, plain]) head.dispose();
  });

  it("keeps a moving average of the weights: validates it, resumes it, and ends with the best epoch's average", async () => {
    const decay = 0.8;
    const options = (head: Head): TrainHeadOptions => ({
      ...baseOptions(head, train, val),
      epochs: 4,
      earlyStopping: { patience: 100, minDelta: 0 },
      weightAverage: decay,
    });
    // the average computed here from the weights after every step, kept at each epoch's end
    const full = makeHead(WIDTH);
    let expected = full.snapshot().map((w) => Float32Array.from(w.values));
    const perEpoch: Float32Array[][] = [];
    const checkpoints: TrainCheckpoint[] = [];
    const reference = await trainHead({
      ...options(full),
      onBatch: () => {
        const live = full.snapshot();
        expected = expected.map((a, i) =>
          a.map((x, j) => decay * x + (1 - decay) * at(at(live, i).values, j)),
        );
      },
      onEpoch: (_record, checkpoint) => {
        perEpoch.push(expected);
        checkpoints.push(checkpoint);
      },
    });
    // largest difference from the expected average, over every value of every variable
    const gap = (actual: readonly { values: Float32Array }[] | undefined, want: Float32Array[]) => {
      if (!actual || actual.length !== want.length) return Number.POSITIVE_INFINITY;
      return Math.max(
        ...actual.flatMap((w, i) => Array.from(w.values, (x, j) => Math.abs(x - at(at(want, i), j)))),
      );
    };
    expect(gap(at(checkpoints, 3).weightAverage, at(perEpoch, 3))).toBeLessThan(1e-5);
    expect(gap(full.snapshot(), at(perEpoch, reference.bestEpoch - 1))).toBeLessThan(1e-5);
    // resumable, and the average changes what is validated and kept
    const heads = await expectResumesExactly(options, reference, full, 2);
    const plain = makeHead(WIDTH);
    const plainRun = await trainHead({ ...options(plain), weightAverage: undefined });
    expect(plainRun.history.map((r) => r.val_loss)).not.toEqual(reference.history.map((r) => r.val_loss));
    // decay 0: the average is the last step's weights, the plain run exactly
    const zero = makeHead(WIDTH);
    const zeroRun = await trainHead({ ...options(zero), weightAverage: 0 });
    expect(stripSeconds(zeroRun.history)).toEqual(stripSeconds(plainRun.history));
    expect(zero.snapshot()).toEqual(plain.snapshot());
    // a checkpoint without the average cannot resume a run that averages
    await expect(
      trainHead({ ...options(makeHead(WIDTH)), resume: { ...at(checkpoints, 1), weightAverage: undefined } }),
    ).rejects.toThrow(/no weight average/);
    for (const head of [full, ...heads, plain, zero]) head.dispose();
  });

  it('leaks no tensors across a whole training run', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const head = makeHead(WIDTH, 4);
      await trainHead({ ...baseOptions(head, train, val), epochs: 2, sampling: 'all', weightDecay: 1e-3 });
      await trainHead({ ...baseOptions(head, train, val), epochs: 1, mixup: 0.2 });
      await trainHead({ ...baseOptions(head, train, val), epochs: 1, weightAverage: 0.9 });
      await predictSet(head, val);
      head.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** 3x3x2 maps; the label is the first two values' sum above 4, flipped in `flip` sets (val loss then rises). */
function mapSet(n: number, rng: Prng, flip: boolean): ItemSet {
  const x = rng.uniform(n * 18, 0, 4);
  const labels = Int32Array.from({ length: n }, (_, i) => {
    const y = at(x, i * 18) + at(x, i * 18 + 1) > 4 ? 1 : 0;
    return flip ? 1 - y : y;
  });
  return {
    labels,
    views: 1,
    batch: (indices) => {
      const rows = new Float32Array(indices.length * 18);
      indices.forEach((i, r) => {
        rows.set(x.subarray(i * 18, i * 18 + 18), r * 18);
      });
      return tf.tensor4d(rows, [indices.length, 3, 3, 2]);
    },
  };
}

/**
 * A tail conv → BatchNorm trained with BatchNorm in training mode (what `fineTune.batchNorm: train` does):
 * the training steps move the moving statistics, which are state variables, not trained ones.
 */
function bnTail() {
  const input = tf.input({ shape: [3, 3, 2] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: 'ones', name: 'c' });
  const bn = tf.layers.batchNormalization({ momentum: 0.9, name: 'bn' });
  const model = tf.model({
    inputs: input,
    outputs: bn.apply(conv.apply(input)) as tf.SymbolicTensor,
  });
  const head = Head.create({ inputWidth: 4, hidden: 0, numClasses: 2, dropout: 0 }, new Prng(1));
  const extraVariables = model.layers.flatMap((l) =>
    l.trainableWeights.map((w, i) => ({
      name: `backbone/${l.name}/${i}`,
      variable: w.read() as tf.Variable,
    })),
  );
  const stateVariables: NamedVariable[] = ['moving_mean', 'moving_variance'].map((name, i) => ({
    name: `backbone/bn/${name}`,
    variable: at(bn.weights, 2 + i).read() as tf.Variable,
  }));
  const features = (training: boolean) => (maps: tf.Tensor) =>
    poolFeatures(model.apply(maps, { training }) as tf.Tensor4D, 'avg');
  const stats = () => bn.getWeights().map((w) => Array.from(w.dataSync()));
  const options = (rest: Partial<TrainHeadOptions> & { epochs: number }): TrainHeadOptions => ({
    head,
    extraVariables,
    stateVariables,
    features: features(false),
    trainFeatures: features(true),
    train: bnTrain,
    val: bnVal,
    batchSize: 8,
    learningRate: 0.05,
    loss: { classWeights: Float32Array.from([1, 1]), kind: 'cross-entropy', focalGamma: 0 },
    earlyStopping: { patience: 100, minDelta: 0 },
    reduceLr: { patience: 100, factor: 0.5, minLr: 0 },
    seed: 3,
    ...rest,
  });
  const dispose = () => {
    model.dispose();
    head.dispose();
  };
  return { head, model, extraVariables, stateVariables, features, stats, options, dispose };
}
const mapRng = new Prng(7);
const bnTrain = mapSet(40, mapRng, false);
const bnVal = mapSet(20, mapRng, true);

describe('trainHead with state variables (BatchNorm statistics trained in training mode)', () => {
  it('restores the best epoch with its statistics: the restored model scores the recorded best loss', async () => {
    const s = bnTail();
    const initial = s.stats();
    const checkpoints: TrainCheckpoint[] = [];
    const result = await trainHead(s.options({ epochs: 6, onEpoch: (_r, c) => void checkpoints.push(c) }));
    // the case this guards: training moved the statistics, and the best epoch is not the last
    expect(at(s.stats(), 2)).not.toEqual(at(initial, 2));
    expect(result.bestEpoch).toBeLessThan(result.history.length);
    const best = at(result.history, result.bestEpoch - 1);
    const { loss } = await predictSet(s.head, bnVal, {
      features: s.features(false),
      loss: s.options({ epochs: 1 }).loss,
    });
    expect(loss).toBeCloseTo(best.val_loss, 5);
    // the statistics are checkpointed and snapshotted, never trained: Adam holds the head's and tail's weights only
    const last = at(checkpoints, checkpoints.length - 1);
    expect(last.state?.map((w) => w.name)).toEqual([
      'backbone/bn/moving_mean',
      'backbone/bn/moving_variance',
    ]);
    expect(last.adam.m).toHaveLength(s.head.variables.length + s.extraVariables.length);
    expect(last.weights.map((w) => w.name)).not.toContain('backbone/bn/moving_mean');
    expect(last.earlyStopping.bestWeights?.map((w) => w.name)).toContain('backbone/bn/moving_variance');
    s.dispose();
  });

  it('resumes with the checkpointed statistics to the same metrics and weights as an uninterrupted run', async () => {
    const full = bnTail();
    const reference = await trainHead(full.options({ epochs: 4 }));
    const first = bnTail();
    let saved: TrainCheckpoint | undefined;
    await trainHead(
      first.options({
        epochs: 4,
        onEpoch: (_r, c) => {
          saved = c;
        },
        interruptAfter: (epoch) => epoch === 2,
      }),
    );
    // a fresh process: the tail starts again from the backbone's statistics
    const second = bnTail();
    const resumed = await trainHead(second.options({ epochs: 4, resume: saved }));
    expect(stripSeconds(resumed.history)).toEqual(stripSeconds(reference.history));
    expect(second.stats()).toEqual(full.stats());
    expect(second.head.snapshot()).toEqual(full.head.snapshot());
    for (const s of [full, first, second]) s.dispose();
  });

  it('resumes a checkpoint without state (written before state variables): statistics stay as loaded', async () => {
    const first = bnTail();
    let saved: TrainCheckpoint | undefined;
    await trainHead(
      first.options({
        epochs: 3,
        onEpoch: (_r, c) => {
          saved = c;
        },
        interruptAfter: (epoch) => epoch === 2,
      }),
    );
    const { state: _state, ...current } = saved!;
    const bestWeights = current.earlyStopping.bestWeights!.filter((w) => !w.name.includes('/moving_'));
    const old: TrainCheckpoint = { ...current, earlyStopping: { ...current.earlyStopping, bestWeights } };
    // nothing left to train: the best weights come back, the statistics stay the backbone's
    const second = bnTail();
    const loaded = second.stats();
    const finished = await trainHead(second.options({ epochs: 2, resume: old }));
    expect(stripSeconds(finished.history)).toEqual(stripSeconds(saved!.history));
    expect(second.stats().slice(2)).toEqual(loaded.slice(2));
    expect(second.stats().slice(0, 2)).not.toEqual(loaded.slice(0, 2));
    const third = bnTail();
    const resumed = await trainHead(third.options({ epochs: 3, resume: old }));
    expect(resumed.history).toHaveLength(3);
    for (const s of [first, second, third]) s.dispose();
  });

  it('writes no state into checkpoints without state variables', async () => {
    const head = makeHead(WIDTH);
    let saved: TrainCheckpoint | undefined;
    await trainHead({
      ...baseOptions(head, train, val),
      epochs: 1,
      onEpoch: (_r, c) => {
        saved = c;
      },
    });
    expect(saved).toBeDefined();
    expect('state' in saved!).toBe(false);
    head.dispose();
  });
});
