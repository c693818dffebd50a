import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { predictSet, type TrainCheckpoint, trainHead } from '../../../src/core/train/trainer.js';
import { at } from '../../../src/core/util/at.js';
import { baseOptions, makeHead, stripSeconds, syntheticSet } from '../../support/train-set.js';

const WIDTH = 12;
const train = syntheticSet(90, WIDTH, 3, 2, 1);
const val = syntheticSet(30, WIDTH, 3, 2, 2);

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
    const checkpoints: TrainCheckpoint[] = [];
    const first = makeHead(WIDTH, 6);
    const interrupted = await trainHead({
      ...baseOptions(first, train, val),
      epochs: 5,
      onEpoch: (_record, checkpoint) => {
        checkpoints.push(checkpoint);
      },
      interruptAfter: (epoch) => epoch === 2,
    });
    expect(interrupted.interrupted).toBe(true);
    expect(checkpoints.length).toBe(2);
    const second = makeHead(WIDTH, 6);
    const resumed = await trainHead({
      ...baseOptions(second, train, val),
      epochs: 5,
      resume: checkpoints[1],
    });
    expect(stripSeconds(resumed.history)).toEqual(stripSeconds(reference.history));
    expect(second.snapshot()).toEqual(full.snapshot());
    tf.dispose([...full.variables, ...first.variables, ...second.variables].map((v) => v.variable));
  });

  it('leaks no tensors across a whole training run', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const head = makeHead(WIDTH, 4);
      await trainHead({ ...baseOptions(head, train, val), epochs: 2, sampling: 'all', weightDecay: 1e-3 });
      await predictSet(head, val);
      head.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
