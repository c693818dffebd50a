import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseTrainConfig, type TrainConfig } from '../../core/config/train-config.js';
import { expected, isLesionlabError } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { featureMaps } from '../../core/train/head.js';
import type { TrainCheckpoint } from '../../core/train/trainer.js';
import { at } from '../../core/util/at.js';
import { writeSplitFile } from '../data/split-file.js';
import { writingTo } from '../fs-errors.js';
import type { BackboneLoader, LoadedBackbone } from './backbone.js';
import { loadRunData, type PreparedData } from './data.js';
import { checkFineTuneSplit } from './prefix-tail.js';
import {
  loadCheckpoint,
  planRunDir,
  RUN_FILES,
  type TeeLogger,
  teeLogger,
  writeJsonAtomic,
  writeRunStatus,
} from './run-dir.js';

/** A run whose data, split and backbone passed their checks, with its folder created and marked running. */
export interface OpenedRun {
  readonly runDir: string;
  /** The run's config: the input, or on resume the one saved in the folder. */
  readonly config: TrainConfig;
  /** The checkpoint to continue from (absent for a new or restarted run). */
  readonly resume?: TrainCheckpoint;
  readonly data: PreparedData;
  readonly backbone: LoadedBackbone;
  /** Logs to the caller's logger and the run's train.log. */
  readonly logger: TeeLogger;
}

/** What {@link openRun} needs besides the config. */
export interface OpenRunOptions {
  readonly logger: Logger;
  readonly loadBackbone: BackboneLoader;
  readonly onProgress?: ProgressHook;
  /** Continue (or, without a checkpoint, restart) the run in this folder with its saved config. */
  readonly resumeDir?: string;
}

interface RunPlan {
  readonly runDir: string;
  readonly config: TrainConfig;
  readonly resume?: TrainCheckpoint;
  /** Why the run starts from the beginning in a folder that already exists (one log line). */
  readonly restart?: string;
  /** The folder exists already (a restart or a resume). */
  readonly existing: boolean;
  /** The config is the one saved in the folder (`--resume`), so are its split and config.json. */
  readonly saved: boolean;
}

/**
 * Opens a run: plans its folder, loads and checks the dataset, the split and the backbone (with its taps and,
 * when fine-tuning, the split at `fineTune.blocks`) BEFORE creating anything, so bad input never leaves a
 * half-made run folder (the config schema has checked each key, augmentation blocks included); then creates
 * the folder, writes config.json (new runs), split.json and `status.json` (`running`). A folder whose earlier attempt
 * left no checkpoint (killed during feature extraction, failed early) is started again, with or without
 * `--resume`, saying so in one log line.
 */
export async function openRun(input: TrainConfig, options: OpenRunOptions): Promise<OpenedRun> {
  const plan = options.resumeDir ? await planResume(options.resumeDir) : await planNew(input);
  const { runDir, config, resume } = plan;
  const logger = teeLogger(options.logger);
  logger.info(`run ${runDir}${resume ? ` (resuming after epoch ${resume.epoch})` : ''}`);
  if (plan.restart) logger.info(plan.restart);
  const ownSplit = join(runDir, RUN_FILES.split);
  const reuseSplit = plan.saved && (resume !== undefined || (await isFile(ownSplit)));
  const data = await loadRunData(config, {
    logger,
    onProgress: options.onProgress,
    splitPath: reuseSplit ? ownSplit : undefined,
  });
  const backbone = await options.loadBackbone(config, logger);
  featureMaps(backbone.model, config.model.taps); // throws E_CONFIG naming an unknown tap
  // fine-tuning's split (blocks, trainBlocks, taps above the prefix): else it would fail after the head stage
  checkFineTuneSplit(config, backbone);
  await createRunFiles(plan, data, logger);
  return { runDir, config, resume, data, backbone, logger };
}

/** Creates the run folder with config.json (new runs), split.json and status; a new folder is removed on failure. */
async function createRunFiles(plan: RunPlan, data: PreparedData, logger: TeeLogger): Promise<void> {
  const { runDir, config } = plan;
  await writingTo(runDir, () => mkdir(runDir, { recursive: true }));
  try {
    if (!plan.saved) await writeJsonAtomic(join(runDir, RUN_FILES.config), config);
    await writeSplitFile(join(runDir, RUN_FILES.split), data.split);
    await writeRunStatus(runDir, 'running');
  } catch (error) {
    // (a disk that is full or read-only now): leave no half-made folder behind
    if (!plan.existing) await rm(runDir, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
  logger.attach(join(runDir, RUN_FILES.log));
}

async function planNew(input: TrainConfig): Promise<RunPlan> {
  const { dir, restart } = await planRunDir(input.output.runsDir, input.model.backbone, input.output.name);
  return {
    runDir: dir,
    config: input,
    existing: restart,
    saved: false,
    ...(restart
      ? { restart: `run ${dir}: an earlier attempt stopped before its first checkpoint; starting it again` }
      : {}),
  };
}

/** The config a run folder saved (`config.json`), as `--resume` continues it; `E_RUN` when it has none. */
export async function readRunConfig(resumeDir: string): Promise<TrainConfig> {
  const runDir = resolve(resumeDir);
  const configPath = join(runDir, RUN_FILES.config);
  const text = await readFile(configPath, 'utf8').catch((error: unknown) => {
    throw expected({
      what: `a run directory with ${RUN_FILES.config}`,
      where: `--resume ${runDir}`,
      received: `a folder without ${RUN_FILES.config}`,
      fix: 'is this a run directory made by lesionlab train?',
      code: 'E_RUN',
      cause: error,
    });
  });
  const json = parseJsonText(text, { where: configPath, fix: 'start a new run instead', code: 'E_RUN' });
  return parseTrainConfig(json, join(basename(runDir), RUN_FILES.config));
}

async function planResume(resumeDir: string): Promise<RunPlan> {
  const runDir = resolve(resumeDir);
  const config = await readRunConfig(runDir);
  if (!(await isFile(join(runDir, RUN_FILES.checkpoint)))) {
    return {
      runDir,
      config,
      existing: true,
      saved: true,
      restart: `run ${runDir}: no checkpoint yet (the earlier attempt stopped before its first epoch ended); starting it from the beginning with its saved config`,
    };
  }
  return { runDir, config, existing: true, saved: true, resume: await loadCheckpoint(runDir) };
}

/**
 * Marks a run that stopped on an error as `failed` in its `status.json` (with the error's code and message)
 * and logs how to go on; never throws (the original error matters more than a failed status write).
 */
export async function markRunFailed(runDir: string, error: unknown, logger: Logger): Promise<void> {
  const code = isLesionlabError(error) ? error.code : ((error as NodeJS.ErrnoException)?.code ?? 'ERROR');
  const message = error instanceof Error ? at(error.message.split('\n'), 0) : String(error);
  await writeRunStatus(runDir, 'failed', { code, message }).catch(() => {});
  logger.warn(`run ${runDir} failed (${message}); fix the cause and run lesionlab train --resume ${runDir}`);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
