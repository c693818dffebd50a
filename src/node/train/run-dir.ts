import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { expected } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { WeightSnapshot } from '../../core/train/callbacks.js';
import type { EpochRecord, TrainCheckpoint } from '../../core/train/trainer.js';
import { writingTo } from '../fs-errors.js';
import { writeFileAtomic } from '../write-atomic.js';

/** Files of a run directory. */
export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  metricsCsv: 'metrics.csv',
  metricsJson: 'metrics.json',
  checkpoint: 'checkpoint.bin',
  fineTuneCheckpoint: 'checkpoint-finetune.bin',
  log: 'train.log',
  bundle: 'model',
  results: 'results.json',
  status: 'status.json',
} as const;

/** Where a run stands: `running` (or killed), `interrupted` (stopped on purpose), `failed`, `complete`. */
export type RunState = 'running' | 'interrupted' | 'failed' | 'complete';

/** The run's `status.json`: its state and, when it failed, the error's code and one-line message. */
export interface RunStatus {
  readonly state: RunState;
  readonly updatedAt: string;
  readonly pid?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** `YYYYMMDD-HHMMSS` in UTC. */
export function runTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * Where a new run goes, `<runsDir>/<name>` (default name `<timestamp>-<backbone>`), without creating it. A
 * folder holding a run that got as far as a checkpoint or a model is refused (resume it, or pick another
 * name); one whose earlier attempt stopped before that (killed during feature extraction, failed early) may
 * be started again: `restart` says so.
 */
export async function planRunDir(
  runsDir: string,
  backbone: string,
  name?: string,
): Promise<{ dir: string; restart: boolean }> {
  const dir = resolve(runsDir, name ?? `${runTimestamp()}-${backbone}`);
  if (!(await exists(join(dir, RUN_FILES.config)))) return { dir, restart: false };
  if (await hasProgress(dir)) {
    throw expected({
      what: 'a folder without a started run',
      where: 'the new run',
      received: `${dir}, where a run already exists`,
      fix: `continue it with \`lesionlab train --resume ${dir}\` (no other config flags), or pick another --name`,
      code: 'E_RUN',
    });
  }
  return { dir, restart: true };
}

/** Creates the folder of a new run (see {@link planRunDir}); returns its path. */
export async function createRunDir(runsDir: string, backbone: string, name?: string): Promise<string> {
  const { dir } = await planRunDir(runsDir, backbone, name);
  await writingTo(dir, () => mkdir(dir, { recursive: true }));
  return dir;
}

/** True when a run folder holds something worth resuming or keeping: a checkpoint, a model or results. */
export async function hasProgress(dir: string): Promise<boolean> {
  for (const file of [RUN_FILES.checkpoint, RUN_FILES.bundle, RUN_FILES.results]) {
    if (await exists(join(dir, file))) return true;
  }
  return false;
}

/** Records the run's state in `status.json` (atomically). */
export async function writeRunStatus(
  dir: string,
  state: RunState,
  error?: { code: string; message: string },
): Promise<void> {
  const status: RunStatus = {
    state,
    updatedAt: new Date().toISOString(),
    ...(state === 'running' ? { pid: process.pid } : {}),
    ...(error ? { error } : {}),
  };
  await writeJsonAtomic(join(dir, RUN_FILES.status), status);
}

/** The run's `status.json`, or null when it has none (a run from before status files, or not a run). */
export async function readRunStatus(dir: string): Promise<RunStatus | null> {
  const text = await readFile(join(dir, RUN_FILES.status), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as RunStatus;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes JSON atomically (pretty-printed). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

const COLUMNS = [
  'epoch',
  'loss',
  'val_loss',
  'val_accuracy',
  'val_balanced_accuracy',
  'lr',
  'seconds',
] as const;

/** metrics.csv and metrics.json of the epochs so far (each rewritten atomically). */
export async function writeEpochMetrics(dir: string, history: readonly EpochRecord[]): Promise<void> {
  const rows = history.map((r) => COLUMNS.map((c) => formatNumber(r[c])).join(','));
  await writeFileAtomic(join(dir, RUN_FILES.metricsCsv), `${[COLUMNS.join(','), ...rows].join('\n')}\n`);
  await writeJsonAtomic(join(dir, RUN_FILES.metricsJson), history);
}

/** A metrics cell: integers as they are, other finite numbers to 6 digits, `NaN`/`Infinity`/`-Infinity` by name. */
function formatNumber(value: number): string {
  if (typeof value !== 'number') return ''; // a missing value: an empty cell
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(6);
}

/** A history row for the JSON header: non-finite numbers (a diverged loss) as strings, as JSON has none. */
function encodeRecord(record: EpochRecord): Record<string, number | string> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
    ]),
  );
}

/**
 * A history row back from the header: strings are the non-finite numbers {@link encodeRecord} wrote; null is
 * what checkpoints written before it hold for them (JSON.stringify turned NaN and ±Infinity into null), read
 * as NaN.
 */
function decodeRecord(row: Record<string, unknown>): EpochRecord {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      typeof value === 'string' ? Number(value) : value === null ? Number.NaN : value,
    ]),
  ) as unknown as EpochRecord;
}

/**
 * Saves a training checkpoint as one file (4-byte header length, JSON header, float32 blobs), atomically:
 * an interrupted save leaves the previous checkpoint intact. Non-finite numbers go into the header as strings;
 * `state` (BatchNorm statistics) and `weightAverage` only when the checkpoint has them, so older readers and files
 * stay compatible.
 */
export async function saveCheckpoint(
  dir: string,
  checkpoint: TrainCheckpoint,
  stage: 'head' | 'finetune' = 'head',
): Promise<void> {
  const blobs: Float32Array[] = [];
  const put = (values: Float32Array) => {
    blobs.push(values);
    return blobs.length - 1;
  };
  const snapshot = (s: WeightSnapshot) =>
    s.map((w) => ({ name: w.name, shape: w.shape, blob: put(w.values) }));
  const header = {
    format: 'lesionlab-checkpoint',
    version: 1,
    stage,
    epoch: checkpoint.epoch,
    done: checkpoint.done,
    rngState: checkpoint.rngState,
    learningRate: checkpoint.learningRate,
    weights: snapshot(checkpoint.weights),
    ...(checkpoint.state ? { state: snapshot(checkpoint.state) } : {}),
    ...(checkpoint.weightAverage ? { weightAverage: snapshot(checkpoint.weightAverage) } : {}),
    adam: { step: checkpoint.adam.step, m: checkpoint.adam.m.map(put), v: checkpoint.adam.v.map(put) },
    earlyStopping: {
      ...checkpoint.earlyStopping,
      best: String(checkpoint.earlyStopping.best),
      bestWeights: checkpoint.earlyStopping.bestWeights
        ? snapshot(checkpoint.earlyStopping.bestWeights)
        : null,
    },
    reduceLr: { ...checkpoint.reduceLr, best: String(checkpoint.reduceLr.best) },
    history: checkpoint.history.map(encodeRecord),
    blobs: blobs.map((b) => b.length),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const size = 4 + json.length + blobs.reduce((n, b) => n + b.byteLength, 0);
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  let at = 4 + json.length;
  for (const blob of blobs) {
    bytes.set(new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), at);
    at += blob.byteLength;
  }
  await writeFileAtomic(
    join(dir, stage === 'head' ? RUN_FILES.checkpoint : RUN_FILES.fineTuneCheckpoint),
    bytes,
  );
}

interface SnapshotHeader {
  name: string;
  shape: number[];
  blob: number;
}

/** Reads the checkpoint of a run directory; E_RUN when there is none or it is damaged. */
export async function loadCheckpoint(
  dir: string,
  stage: 'head' | 'finetune' = 'head',
): Promise<TrainCheckpoint & { stage: string }> {
  const path = join(dir, stage === 'head' ? RUN_FILES.checkpoint : RUN_FILES.fineTuneCheckpoint);
  const bytes = await readFile(path).catch((error: unknown) => {
    throw expected({
      what: 'a checkpoint',
      where: path,
      received: 'none: the run stopped before its first epoch ended',
      fix: 'start it again without --resume',
      code: 'E_RUN',
      cause: error,
    });
  });
  try {
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
    const blobs: Float32Array[] = [];
    let offset = bytes.byteOffset + 4 + length;
    for (const count of header.blobs as number[]) {
      blobs.push(new Float32Array(bytes.buffer.slice(offset, offset + count * 4)));
      offset += count * 4;
    }
    const blob = (index: number): Float32Array => {
      const values = blobs[index];
      if (!values) throw new Error(`the header names blob ${index} of ${blobs.length}`);
      return values;
    };
    const snapshot = (s: SnapshotHeader[]) =>
      s.map((w) => ({ name: w.name, shape: w.shape, values: blob(w.blob) }));
    return {
      stage: header.stage,
      epoch: header.epoch,
      done: header.done,
      rngState: header.rngState,
      learningRate: header.learningRate,
      weights: snapshot(header.weights),
      // absent from checkpoints without state variables (and from those written before them)
      ...(header.state ? { state: snapshot(header.state) } : {}),
      ...(header.weightAverage ? { weightAverage: snapshot(header.weightAverage) } : {}),
      adam: {
        step: header.adam.step,
        m: header.adam.m.map(blob),
        v: header.adam.v.map(blob),
      },
      earlyStopping: {
        ...header.earlyStopping,
        best: Number(header.earlyStopping.best),
        bestWeights: header.earlyStopping.bestWeights ? snapshot(header.earlyStopping.bestWeights) : null,
      },
      reduceLr: { ...header.reduceLr, best: Number(header.reduceLr.best) },
      history: (header.history as Record<string, unknown>[]).map(decodeRecord),
    };
  } catch (error) {
    throw expected({
      what: 'a readable checkpoint',
      where: path,
      received: `a damaged one (${(error as Error).message})`,
      fix: 'start the run again without --resume',
      code: 'E_RUN',
      cause: error,
    });
  }
}

/** A logger that also appends every line to a run's log file; see {@link teeLogger}. */
export interface TeeLogger extends Logger {
  /** Starts writing to `logPath`, beginning with the lines logged so far. */
  attach(logPath: string): void;
  /** Resolves when every line so far is written. */
  flush(): Promise<void>;
}

/**
 * A logger that also appends every line (with a timestamp) to the run's log file. Without `logPath` the lines
 * are kept until {@link TeeLogger.attach} names the file, so what a run logs before its folder exists (dataset
 * checks, backbone loading) still reaches its train.log.
 */
export function teeLogger(inner: Logger, logPath?: string): TeeLogger {
  let chain: Promise<void> = Promise.resolve();
  let path = logPath;
  const pending: string[] = [];
  const append = (text: string, to: string) => {
    chain = chain.then(() => appendFile(to, text)).catch(() => {});
  };
  const write = (level: string, message: string) => {
    const line = `${new Date().toISOString()} ${level} ${message}\n`;
    if (path === undefined) pending.push(line);
    else append(line, path);
  };
  return {
    attach: (to) => {
      path = to;
      if (pending.length > 0) append(pending.splice(0).join(''), to);
    },
    info: (m) => {
      write('info', m);
      inner.info(m);
    },
    warn: (m) => {
      write('warn', m);
      inner.warn(m);
    },
    debug: (m) => {
      write('debug', m);
      inner.debug?.(m);
    },
    flush: () => chain,
  };
}
