import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainCheckpoint } from '../../../src/core/train/trainer.js';
import {
  createRunDir,
  loadCheckpoint,
  planRunDir,
  RUN_FILES,
  readRunStatus,
  runTimestamp,
  saveCheckpoint,
  writeEpochMetrics,
  writeRunStatus,
} from '../../../src/node/train/run-dir.js';

const root = await mkdtemp(join(tmpdir(), 'run-dir-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const record = {
  epoch: 1,
  loss: 1.5,
  val_loss: 1.25,
  val_accuracy: 0.5,
  val_balanced_accuracy: 0.25,
  lr: 0.001,
  seconds: 0.5,
};
const weights = [{ name: 'dense_0/kernel', shape: [2, 2], values: Float32Array.from([1, 2, 3, 4]) }];
const checkpoint: TrainCheckpoint = {
  epoch: 1,
  done: false,
  rngState: 123456,
  learningRate: 0.001,
  weights,
  adam: { step: 7, m: [Float32Array.from([0.1, 0.2, 0.3, 0.4])], v: [Float32Array.from([1, 1, 1, 1])] },
  earlyStopping: { best: 1.25, bestEpoch: 1, wait: 0, bestWeights: weights },
  reduceLr: { best: Number.POSITIVE_INFINITY, wait: 2 },
  history: [record],
};

describe('run directories', () => {
  it('names runs <timestamp>-<backbone>, restarts one without a checkpoint and refuses to overwrite one with', async () => {
    expect(runTimestamp(new Date('2026-01-02T03:04:05Z'))).toBe('20260102-030405');
    const dir = await createRunDir(root, 'mobilenet_v1');
    expect(dir).toMatch(/\d{8}-\d{6}-mobilenet_v1$/);
    const name = dir.split('/').pop();
    await writeFile(join(dir, RUN_FILES.config), '{}');
    expect(await planRunDir(root, 'x', name)).toEqual({ dir, restart: true });
    await saveCheckpoint(dir, checkpoint);
    await expect(createRunDir(root, 'x', name)).rejects.toThrow(
      `expected a folder without a started run for the new run but received ${dir}, where a run already exists; continue it with \`lesionlab train --resume ${dir}\` (no other config flags), or pick another --name`,
    );
  });

  it('records the run state in status.json', async () => {
    const dir = await createRunDir(root, 'm', 'status');
    expect(await readRunStatus(dir)).toBeNull();
    await writeRunStatus(dir, 'running');
    expect(await readRunStatus(dir)).toMatchObject({ state: 'running', pid: process.pid });
    await writeRunStatus(dir, 'failed', { code: 'E_BAD_IMAGE', message: 'x.jpg: cannot decode' });
    expect(await readRunStatus(dir)).toMatchObject({
      state: 'failed',
      error: { code: 'E_BAD_IMAGE', message: 'x.jpg: cannot decode' },
    });
  });

  it('writes metrics.csv and metrics.json', async () => {
    const dir = await createRunDir(root, 'm', 'metrics');
    await writeEpochMetrics(dir, [record, { ...record, epoch: 2 }]);
    const csv = await readFile(join(dir, RUN_FILES.metricsCsv), 'utf8');
    expect(csv.split('\n')[0]).toBe('epoch,loss,val_loss,val_accuracy,val_balanced_accuracy,lr,seconds');
    expect(csv.split('\n')[2]).toBe('2,1.50000,1.25000,0.500000,0.250000,0.00100000,0.500000');
    expect(JSON.parse(await readFile(join(dir, RUN_FILES.metricsJson), 'utf8'))).toHaveLength(2);
  });

  it('round-trips a checkpoint exactly (Infinity included) and leaves no temp files', async () => {
    const dir = await createRunDir(root, 'm', 'ckpt');
    await saveCheckpoint(dir, checkpoint);
    await saveCheckpoint(dir, { ...checkpoint, epoch: 2 });
    const loaded = await loadCheckpoint(dir);
    expect(loaded).toEqual({ ...checkpoint, epoch: 2, stage: 'head' });
    expect(await readdir(dir)).toEqual([RUN_FILES.checkpoint]);
  });

  it('round-trips the state (BatchNorm statistics) of a checkpoint, and reads one without it as before', async () => {
    const dir = await createRunDir(root, 'm', 'ckpt-state');
    const state = [{ name: 'backbone/bn/moving_mean', shape: [2], values: Float32Array.from([0.5, -2]) }];
    const withState: TrainCheckpoint = {
      ...checkpoint,
      state,
      earlyStopping: { ...checkpoint.earlyStopping, bestWeights: [...weights, ...state] },
    };
    await saveCheckpoint(dir, withState, 'finetune');
    expect(await loadCheckpoint(dir, 'finetune')).toEqual({ ...withState, stage: 'finetune' });
    await saveCheckpoint(dir, checkpoint, 'finetune');
    const without = await loadCheckpoint(dir, 'finetune');
    expect('state' in without).toBe(false);
    expect('weightAverage' in without).toBe(false);
  });

  it('round-trips the moving average of the weights of a checkpoint', async () => {
    const dir = await createRunDir(root, 'm', 'ckpt-average');
    const weightAverage = weights.map((w) => ({ ...w, values: w.values.map((x) => x / 2) }));
    const averaged: TrainCheckpoint = { ...checkpoint, weightAverage };
    await saveCheckpoint(dir, averaged, 'finetune');
    expect(await loadCheckpoint(dir, 'finetune')).toEqual({ ...averaged, stage: 'finetune' });
  });

  it('round-trips non-finite losses in the history, and resumes writing metrics after them', async () => {
    const dir = await createRunDir(root, 'm', 'ckpt-nan');
    const diverged = { ...record, loss: Number.POSITIVE_INFINITY, val_loss: Number.NaN };
    const history = [diverged, { ...record, epoch: 2, loss: Number.NEGATIVE_INFINITY }];
    await saveCheckpoint(dir, { ...checkpoint, history });
    const loaded = await loadCheckpoint(dir);
    expect(loaded.history).toEqual(history);
    await writeEpochMetrics(dir, [...loaded.history, { ...record, epoch: 3 }]);
    const csv = await readFile(join(dir, RUN_FILES.metricsCsv), 'utf8');
    expect(csv.split('\n').slice(1, 4)).toEqual([
      '1,Infinity,NaN,0.500000,0.250000,0.00100000,0.500000',
      '2,-Infinity,1.25000,0.500000,0.250000,0.00100000,0.500000',
      '3,1.50000,1.25000,0.500000,0.250000,0.00100000,0.500000',
    ]);
  });

  it('reads the nulls a checkpoint from before held for non-finite losses as NaN', async () => {
    const dir = await createRunDir(root, 'm', 'ckpt-null');
    await saveCheckpoint(dir, checkpoint);
    // rewrite the header's history the way JSON.stringify wrote a NaN loss: null
    const path = join(dir, RUN_FILES.checkpoint);
    const bytes = await readFile(path);
    const length = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8'));
    header.history = [{ ...record, val_loss: null }];
    const json = Buffer.from(JSON.stringify(header));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(json.length, 0);
    await writeFile(path, Buffer.concat([size, json, bytes.subarray(4 + length)]));
    const loaded = await loadCheckpoint(dir);
    expect(loaded.history).toEqual([{ ...record, val_loss: Number.NaN }]);
    expect(loaded.weights).toEqual(checkpoint.weights);
    await writeEpochMetrics(dir, loaded.history);
    const csv = await readFile(join(dir, RUN_FILES.metricsCsv), 'utf8');
    expect(csv.split('\n')[1]).toBe('1,1.50000,NaN,0.500000,0.250000,0.00100000,0.500000');
  });

  it('explains a missing or damaged checkpoint', async () => {
    const dir = await createRunDir(root, 'm', 'broken');
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      `expected a checkpoint for ${join(dir, RUN_FILES.checkpoint)} but received none: the run stopped before its first epoch ended; start it again without --resume`,
    );
    await writeFile(join(dir, RUN_FILES.checkpoint), Uint8Array.from([200, 0, 0, 0, 1, 2]));
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      /^expected a readable checkpoint for .*broken\/\S+ but received a damaged one \(.+\); start the run again without --resume$/,
    );
  });
});
