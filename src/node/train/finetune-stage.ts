import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../core/config/train-config.js';
import type { ImageRecord } from '../../core/data/records.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { batchNormState, copyTailWeights, unfreezeTopBlocks } from '../../core/train/finetune.js';
import type { Head } from '../../core/train/head.js';
import type { LossOptions } from '../../core/train/losses.js';
import { type EpochRecord, type ItemSet, type TrainCheckpoint, trainHead } from '../../core/train/trainer.js';
import type { ImageCache } from '../preprocess/image-cache.js';
import type { LoadedBackbone } from './backbone.js';
import type { PreparedData } from './data.js';
import { backboneBlocks, openPrefixTail, type PrefixTail } from './prefix-tail.js';
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
  readonly onBatch?: ProgressHook;
  readonly onProgress?: ProgressHook;
  readonly interruptAfter?: (epoch: number) => boolean;
  readonly format: (record: EpochRecord) => string;
  /** An already opened split (the bench reuses one cache for several trials); opened here otherwise. */
  readonly prefixTail?: PrefixTail;
}

/** What the fine-tuning stage hands back; `scorer` scores other records through the tuned tail. */
export interface FineTuneResult {
  readonly history: EpochRecord[];
  readonly bestEpoch: number;
  readonly interrupted: boolean;
  /** Images per second of the training steps (forward + backward through the tail and head). */
  readonly trainImagesPerSecond: number;
  readonly scorer: FineTuneScorer;
}

/** Items and feature map to score records through the fine-tuned network; `dispose` closes the split. */
export interface FineTuneScorer {
  itemSet(records: readonly ImageRecord[]): ItemSet;
  readonly features: (maps: tf.Tensor) => tf.Tensor2D;
  dispose(): Promise<void>;
}

/**
 * Fine-tuning after the head converged: splits the backbone below its top `fineTune.blocks` blocks, runs the
 * frozen prefix in ONNX Runtime (activations cached on disk, or on the fly with augmentation), and trains the
 * top `fineTune.trainBlocks` blocks (default all of them) with the head at `fineTune.learningRate` on the
 * training backend; BatchNorm stays in inference mode unless `fineTune.batchNorm` is `train` (its moving
 * statistics are then saved and restored with the weights; `affine` trains its scale and offset only). Checkpoints to
 * checkpoint-finetune.bin (resumable), restores the best epoch's weights and writes the tail's weights back
 * into the backbone, so `buildTrainedClassifier` exports prefix + tail + head as one model.
 */
export async function fineTuneStage(ctx: FineTuneContext): Promise<FineTuneResult> {
  const { config, data, backbone, head, runDir } = ctx;
  const ft = config.fineTune;
  const pt =
    ctx.prefixTail ??
    (await openPrefixTail({
      config,
      backbone,
      images: ctx.images,
      classes: data.classes,
      logger: ctx.logger,
      onProgress: ctx.onProgress,
      trainIds: data.parts.train.map((r) => r.imageId),
    }));
  // `train` runs BatchNorm on batch statistics; `affine` trains scale and offset on the frozen statistics
  const trainBn = ft.batchNorm === 'train';
  const extraVariables = unfreezeTopBlocks(
    pt.split.tail,
    backboneBlocks(backbone),
    ft.trainBlocks ?? ft.blocks,
    ft.batchNorm !== 'frozen',
  );
  // BatchNorm in training mode updates the moving statistics of every tail BatchNorm layer as it steps: they
  // are saved and restored with the weights (best epoch, checkpoints, resume), never trained
  const stateVariables = trainBn ? batchNormState(pt.split.tail) : [];
  ctx.logger.info(
    `fine-tuning: top ${ft.trainBlocks ?? ft.blocks} of ${ft.blocks} tail blocks of ${backbone.name} (${extraVariables.length} weight tensors, BatchNorm ${ft.batchNorm}${stateVariables.length > 0 ? ` with ${stateVariables.length} statistics tensors` : ''}) at lr ${ft.learningRate}${ft.headLearningRate ? ` (head ${ft.headLearningRate})` : ''}, ${ft.warmupEpochs > 0 ? `warm-up over ${ft.warmupEpochs} epoch${ft.warmupEpochs === 1 ? '' : 's'}, then ` : ''}${ft.schedule === 'cosine' ? `cosine decay to ${ft.minLrFactor}x` : 'lowered on validation-loss plateaus'}${ft.mixup > 0 ? `, mixup alpha ${ft.mixup}` : ''}${ft.weightAverage > 0 ? `, weights averaged (decay ${ft.weightAverage})` : ''}`,
  );
  const resume =
    ctx.resume && (await exists(join(runDir, RUN_FILES.fineTuneCheckpoint)))
      ? await loadCheckpoint(runDir, 'finetune')
      : undefined;
  const offset = ctx.headHistory.length;
  const renumber = (rows: readonly EpochRecord[]) => rows.map((r) => ({ ...r, epoch: r.epoch + offset }));
  const t = config.train;
  const train = pt.itemSet(data.parts.train, true);
  let stepSeconds = 0;
  let stepImages = 0;
  let batchBegan = performance.now();
  const result = await trainHead({
    head,
    features: pt.features(false),
    ...(trainBn ? { trainFeatures: pt.features(true) } : {}),
    extraVariables,
    stateVariables,
    train,
    val: pt.itemSet(data.parts.val, false),
    epochs: ft.epochs,
    batchSize: ft.batchSize,
    learningRate: ft.learningRate,
    headLearningRate: ft.headLearningRate,
    weightDecay: t.weightDecay,
    sampling: config.features.sampling,
    tta: config.features.tta,
    loss: ctx.loss,
    earlyStopping: t.earlyStopping,
    reduceLr: t.reduceLr,
    warmupEpochs: ft.warmupEpochs,
    ...(ft.schedule === 'cosine' ? { schedule: { minFactor: ft.minLrFactor } } : {}),
    ...(ft.mixup > 0 ? { mixup: ft.mixup } : {}),
    ...(ft.weightAverage > 0 ? { weightAverage: ft.weightAverage } : {}),
    seed: config.seed + 2,
    resume: resume as TrainCheckpoint | undefined,
    onBatch: (done, total, label) => {
      const now = performance.now();
      stepSeconds += (now - batchBegan) / 1000;
      stepImages += Math.min(ft.batchSize, train.labels.length - (done - 1) * ft.batchSize);
      batchBegan = now;
      ctx.onBatch?.(done, total, label);
    },
    interruptAfter: ctx.interruptAfter ? (epoch) => ctx.interruptAfter!(epoch + offset) : undefined,
    onEpoch: async (record, checkpoint) => {
      batchBegan = performance.now();
      await saveCheckpoint(runDir, checkpoint, 'finetune');
      await writeEpochMetrics(runDir, [...ctx.headHistory, ...renumber(checkpoint.history)]);
      ctx.logger.info(`fine-tune ${ctx.format({ ...record, epoch: record.epoch + offset })}`);
    },
  });
  copyTailWeights(pt.split.tail, backbone.model);
  return {
    history: renumber(result.history),
    bestEpoch: result.bestEpoch + offset,
    interrupted: result.interrupted,
    trainImagesPerSecond: stepImages / Math.max(stepSeconds, 1e-9),
    scorer: {
      itemSet: (records) => pt.itemSet(records, false),
      features: pt.features(false),
      dispose: () => (ctx.prefixTail ? Promise.resolve() : pt.dispose()),
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
