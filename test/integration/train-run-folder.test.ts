import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from '../../src/core/config/train-config.js';
import { evaluateModel } from '../../src/node/evaluate/evaluate.js';
import type { BackboneLoader } from '../../src/node/train/backbone.js';
import { trainRun } from '../../src/node/train/pipeline.js';
import { RUN_FILES, readRunStatus, writeRunStatus } from '../../src/node/train/run-dir.js';
import { recordingLogger } from '../support/recording-logger.js';
import { tinyLoadedBackbone } from '../support/tiny-loaded-backbone.js';

const SAMPLE = resolve('data/sample/ham10000');
const work = await mkdtemp(join(tmpdir(), 'train-run-folder-'));
afterAll(() => rm(work, { recursive: true, force: true }));
const runs = join(work, 'runs');

const tiny: BackboneLoader = async () => tinyLoadedBackbone();

function config(name: string, extra: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({
    data: { root: SAMPLE },
    model: { backbone: 'mobilenet_v1' },
    features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
    train: { epochs: 2, batchSize: 16 },
    output: { runsDir: runs, name },
    ...extra,
  });
}

/** Fails the run during feature extraction, after its folder exists (as a kill there would leave it). */
const failDuringExtraction = (_done: number, _total: number, label?: string) => {
  if (label === 'features') throw new Error('extraction blew up');
};

const folders = () => readdir(runs).catch(() => [] as string[]);

describe('trainRun: run folders that can always be resumed or restarted', () => {
  it('checks data, split, backbone and taps before it creates the run folder', async () => {
    await expect(
      trainRun(config('bad-data', { data: { root: join(work, 'nowhere') } }), { loadBackbone: tiny }),
    ).rejects.toThrow(/for the dataset root but received .*nowhere, which does not exist/);
    await expect(
      trainRun(config('bad-split', { data: { root: SAMPLE, splitFile: join(work, 'none.json') } }), {
        loadBackbone: tiny,
      }),
    ).rejects.toThrow(/none\.json: cannot read the split file/);
    await expect(
      trainRun(config('bad-tap', { model: { backbone: 'mobilenet_v1', taps: ['nope'] } }), {
        loadBackbone: tiny,
      }),
    ).rejects.toThrow(
      /^expected a feature-map layer of the backbone "tiny" for model\.taps but received "nope"; use layer names such as /,
    );
    await expect(
      trainRun(config('bad-weights'), {
        loadBackbone: async () => {
          throw new Error('weights file is damaged');
        },
      }),
    ).rejects.toThrow(/weights file is damaged/);
    expect(await folders()).toEqual([]);
  });

  it('marks a run that failed after its folder exists; evaluate says so; it starts again with or without --resume', async () => {
    const failed = await trainRun(config('broken'), {
      loadBackbone: tiny,
      onProgress: failDuringExtraction,
    }).catch((e: Error) => e);
    expect((failed as Error).message).toBe('extraction blew up');
    const runDir = join(runs, 'broken');
    expect(await readRunStatus(runDir)).toMatchObject({
      state: 'failed',
      error: { code: 'ERROR', message: 'extraction blew up' },
    });
    await expect(access(join(runDir, RUN_FILES.checkpoint))).rejects.toThrow();
    expect(await readFile(join(runDir, RUN_FILES.log), 'utf8')).toMatch(
      /rows as ham10000[\s\S]*run .*broken failed \(extraction blew up\); fix the cause and run lesionlab train --resume/,
    );
    await expect(evaluateModel({ target: runDir, screenshot: false })).rejects.toThrow(
      `expected a saved model (model/bundle.json) for the training run ${runDir} but received a run whose training failed (extraction blew up) before it saved one; fix the cause and run lesionlab train --resume ${runDir}`,
    );
    await writeRunStatus(runDir, 'running');
    await expect(evaluateModel({ target: runDir, screenshot: false })).rejects.toThrow(
      /but received a run that has not saved one \(still running, or killed\); wait for it/,
    );

    // the same name again (no --resume): started again, in the same folder
    const logger = recordingLogger();
    const again = await trainRun(config('broken'), { loadBackbone: tiny, logger });
    expect(again.runDir).toBe(runDir);
    expect(again.bundleDir).toBeDefined();
    expect(logger.lines).toContain(
      `run ${runDir}: an earlier attempt stopped before its first checkpoint; starting it again`,
    );
    expect((await readRunStatus(runDir))?.state).toBe('complete');

    // --resume on a folder without a checkpoint: started from the beginning with its saved config
    // (another feature cache, so that extraction runs, and fails, again)
    const fresh = { features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache-2') } };
    await expect(
      trainRun(config('broken-2', fresh), { loadBackbone: tiny, onProgress: failDuringExtraction }),
    ).rejects.toThrow('extraction blew up');
    const resumeLog = recordingLogger();
    const resumed = await trainRun(config('ignored'), {
      loadBackbone: tiny,
      logger: resumeLog,
      resumeDir: join(runs, 'broken-2'),
    });
    expect(resumed.runDir).toBe(join(runs, 'broken-2'));
    expect(resumed.history).toHaveLength(2);
    expect(resumeLog.lines.join('\n')).toMatch(/no checkpoint yet .*starting it from the beginning/);
    expect(await folders()).toEqual(['broken', 'broken-2']);
  });
});
