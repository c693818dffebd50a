import { MultiBar, Presets } from 'cli-progress';
import type { TrainConfig } from '../core/config/train-config.js';
import type { ProgressHook } from '../core/logger.js';
import { type TrainRunOptions, type TrainRunResult, trainRun } from '../node/train/pipeline.js';
import { consoleLogger } from './console-logger.js';
import { flagCommand } from './flags/table.js';
import { printConfigIfAsked, resolveTrainConfig, trainFlags } from './flags/train.js';
import { withEstimates } from './progress.js';
import { trainDescription } from './train-help.js';

/**
 * Runs training with progress bars with ETA on a TTY (feature extraction, epochs), one summary line per epoch and,
 * before feature extraction's long work, one line estimating its time from a measured warm-up.
 */
export async function trainWithProgress(config: TrainConfig, resumeDir?: string): Promise<TrainRunResult> {
  const bars = process.stderr.isTTY
    ? new MultiBar(
        {
          stream: process.stderr,
          clearOnComplete: true,
          format: ' {label} [{bar}] {value}/{total} ETA {eta_formatted}',
        },
        Presets.shades_classic,
      )
    : undefined;
  let current: { label: string; bar: ReturnType<MultiBar['create']> } | undefined;
  const progress: ProgressHook = (done, total, label = '') => {
    if (!bars) return;
    if (current?.label !== label) {
      if (current) bars.remove(current.bar);
      current = { label, bar: bars.create(total, 0, { label }) };
    }
    current.bar.setTotal(total);
    current.bar.update(done, { label });
  };
  const logger = bars ? { ...consoleLogger, info: (m: string) => bars.log(`${m}\n`) } : consoleLogger;
  const options: TrainRunOptions = {
    logger,
    onProgress: withEstimates(progress, logger.info), // feature extraction: an estimate after a warm-up
    onBatch: (done, total) => progress(done, total, 'epoch'),
    resumeDir,
  };
  try {
    return await trainRun(config, options);
  } finally {
    bars?.stop();
  }
}

/** `lesionlab train`: dataset + split + backbone → trained classifier bundle in a run folder. */
export const trainCommand = flagCommand(trainFlags, {
  meta: {
    name: 'train',
    description: trainDescription('Train a classifier (frozen backbone, cached features) into a run folder.'),
  },
  async run(a, args) {
    const config = await resolveTrainConfig(args);
    if (printConfigIfAsked(args, config)) return;
    const result = await trainWithProgress(config, a.resume);
    consoleLogger.info(`best epoch ${result.bestEpoch}; model bundle: ${result.bundleDir ?? '(none)'}`);
    consoleLogger.info(`run: ${result.runDir}`);
  },
});
