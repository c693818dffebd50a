import { access } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../core/config/train-config.js';
import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { unfreezeTopBlocks } from '../../core/train/finetune.js';
import { type FeatureSource, featureMaps, type Head, poolFeatures } from '../../core/train/head.js';
import type { LossOptions } from '../../core/train/losses.js';
import { type EpochRecord, type TrainCheckpoint, trainHead } from '../../core/train/trainer.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import type { LoadedBackbone } from './backbone.js';
import type { PreparedData } from './data.js';
import { pixelItemSet } from './item-sets.js';
import { loadCheckpoint, RUN_FILES, saveCheckpoint, writeEpochMetrics } from './run-dir.js';

/** Where the fine-tuning stage reports and checkpoints. */
export interface FineTuneContext {
  readonly config: TrainConfig;
  readonly data: PreparedData;
  readonly images: ImageCache;
  readonly backbone: LoadedBackbone;
  readonly head: Head;
  readonly loss: LossOptions;
  readonly runDir: string;
  readonly logger: Logger;
  /** Epoch rows of the head stage (fine-tuning rows are numbered after them). */
  readonly headHistory: readonly EpochRecord[];
  readonly resume: boolean;
  readonly onBatch?: (done: number, total: number, label?: string) => void;
  readonly interruptAfter?: (epoch: number) => boolean;
  readonly format: (record: EpochRecord) => string;
}

/** Maps a batch of images through the (partly trainable) backbone to pooled features (taps included). */
export function backboneFeatures(
  backbone: LoadedBackbone,
  source: FeatureSource,
): (x: tf.Tensor) => tf.Tensor2D {
  // A multi-output view of the same layers (shared weights), so unfrozen layers train through every tap.
  const maps =
    source.taps.length > 0
      ? tf.model({ inputs: backbone.model.inputs, outputs: featureMaps(backbone.model, source.taps) })
      : backbone.model;
  return (x) =>
    poolFeatures(maps.apply(x, { training: false }) as tf.Tensor4D | tf.Tensor4D[], source.pooling);
}

/**
 * Fine-tuning after the head converged: unfreezes the top `fineTune.blocks` blocks and trains them with the
 * head at `fineTune.learningRate` on images through the backbone (TF.js; practical only with a native
 * backend, correct on cpu). Checkpoints to checkpoint-finetune.bin; restores the best epoch's weights.
 */
export async function fineTuneStage(
  ctx: FineTuneContext,
): Promise<{ history: EpochRecord[]; bestEpoch: number; interrupted: boolean }> {
  const { config, data, backbone, head, runDir } = ctx;
  const ft = config.fineTune;
  const blocks = backbone.blocks ?? backbone.spec?.blocks;
  if (!blocks)
    throw new LesionlabError(
      'E_CONFIG',
      `fineTune.enabled: backbone ${backbone.name} lists no blocks to unfreeze; disable fine-tuning`,
    );
  const extraVariables = unfreezeTopBlocks(backbone.model, blocks, ft.blocks);
  ctx.logger.info(
    `fine-tuning: top ${ft.blocks} blocks of ${backbone.name} (${extraVariables.length} weight tensors) at lr ${ft.learningRate}`,
  );
  const resume =
    ctx.resume && (await exists(join(runDir, RUN_FILES.fineTuneCheckpoint)))
      ? await loadCheckpoint(runDir, 'finetune')
      : undefined;
  const offset = ctx.headHistory.length;
  const renumber = (rows: readonly EpochRecord[]) => rows.map((r) => ({ ...r, epoch: r.epoch + offset }));
  const t = config.train;
  const result = await trainHead({
    head,
    features: backboneFeatures(backbone, config.model),
    extraVariables,
    train: pixelItemSet(ctx.images, data.parts.train, data.classes),
    val: pixelItemSet(ctx.images, data.parts.val, data.classes),
    epochs: ft.epochs,
    batchSize: ft.batchSize,
    learningRate: ft.learningRate,
    weightDecay: t.weightDecay,
    tta: false,
    loss: ctx.loss,
    earlyStopping: t.earlyStopping,
    reduceLr: t.reduceLr,
    seed: config.seed + 2,
    resume: resume as TrainCheckpoint | undefined,
    onBatch: ctx.onBatch,
    interruptAfter: ctx.interruptAfter ? (epoch) => ctx.interruptAfter!(epoch + offset) : undefined,
    onEpoch: async (record, checkpoint) => {
      await saveCheckpoint(runDir, checkpoint, 'finetune');
      await writeEpochMetrics(runDir, [...ctx.headHistory, ...renumber(checkpoint.history)]);
      ctx.logger.info(`fine-tune ${ctx.format({ ...record, epoch: record.epoch + offset })}`);
    },
  });
  return {
    history: renumber(result.history),
    bestEpoch: result.bestEpoch + offset,
    interrupted: result.interrupted,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
