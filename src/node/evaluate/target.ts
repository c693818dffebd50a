import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { SplitFile } from '../../core/data/split-schema.js';
import { expected } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';
import { resolveBundleDir } from '../bundle/read.js';
import { readSplitFile } from '../data/split-file.js';
import { readRunStatus } from '../train/run-dir.js';

/** What `lesionlab evaluate` was pointed at: a model bundle, and the training run around it if any. */
export interface EvaluationTarget {
  readonly bundleDir: string;
  /** The training run directory (holding `model/`, `config.json`, `split.json`), when there is one. */
  readonly runDir: string | null;
  /** Dataset root and format recorded in the run's `config.json` (`data.root`, `data.format`). */
  readonly dataRoot: string | null;
  readonly dataFormat: string | null;
  /** The run's `split.json`. */
  readonly split: SplitFile | null;
  /** The run's per-epoch `metrics.json` content, for training curves. */
  readonly history: unknown;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson(path: string): Promise<unknown> {
  if (!(await exists(path))) return null;
  return parseJsonText(await readFile(path, 'utf8'), {
    where: path,
    fix: 'is the run directory intact?',
    code: 'E_RUN',
  });
}

function dataSection(config: unknown): { root: string | null; format: string | null } {
  const data =
    typeof config === 'object' && config !== null ? (config as Record<string, unknown>)['data'] : undefined;
  if (typeof data !== 'object' || data === null) return { root: null, format: null };
  const { root, format } = data as Record<string, unknown>;
  return { root: typeof root === 'string' ? root : null, format: typeof format === 'string' ? format : null };
}

/**
 * Resolves a run directory or a model bundle folder. For a run (a folder whose `model/` is the bundle, or a
 * bundle whose parent holds `config.json`), also reads its config, split and training history.
 */
export async function resolveEvaluationTarget(path: string): Promise<EvaluationTarget> {
  await assertRunHasModel(path);
  const bundleDir = await resolveBundleDir(path);
  const parent = dirname(bundleDir);
  const runDir =
    (await exists(join(parent, 'config.json'))) || (await exists(join(parent, 'split.json'))) ? parent : null;
  if (runDir === null)
    return { bundleDir, runDir, dataRoot: null, dataFormat: null, split: null, history: null };
  const { root, format } = dataSection(await readJson(join(runDir, 'config.json')));
  const splitPath = join(runDir, 'split.json');
  return {
    bundleDir,
    runDir: resolve(runDir),
    dataRoot: root,
    dataFormat: format,
    split: (await exists(splitPath)) ? await readSplitFile(splitPath) : null,
    history: await readJson(join(runDir, 'metrics.json')),
  };
}

/**
 * A training run folder without a model (`model/bundle.json`) gets one line saying why, from its
 * status.json: the run failed (with its error), was interrupted, or is still running or was killed.
 */
async function assertRunHasModel(path: string): Promise<void> {
  const dir = resolve(path);
  const isRun = (await exists(join(dir, 'config.json'))) && !(await exists(join(dir, 'bundle.json')));
  if (!isRun || (await exists(join(dir, 'model', 'bundle.json')))) return;
  const status = await readRunStatus(dir);
  const resume = `lesionlab train --resume ${path}`;
  const [received, fix] =
    status?.state === 'failed'
      ? [
          `a run whose training failed (${status.error?.message ?? 'see its train.log'}) before it saved one`,
          `fix the cause and run ${resume}`,
        ]
      : status?.state === 'interrupted'
        ? ['a run interrupted before it saved one', `continue it with ${resume}`]
        : [
            'a run that has not saved one (still running, or killed)',
            `wait for it, or continue it with ${resume}`,
          ];
  throw expected({
    what: 'a saved model (model/bundle.json)',
    where: `the training run ${path}`,
    received,
    fix,
    code: 'E_RUN',
  });
}
