import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from '../../../src/core/config/train-config.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { BackboneLoader } from '../../../src/node/train/backbone.js';
import { RUN_FILES } from '../../../src/node/train/run-dir.js';
import { openRun } from '../../../src/node/train/run-open.js';
import { tinyLoadedBackbone } from '../../support/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'run-open-'));
afterAll(() => rm(work, { recursive: true, force: true }));
const runs = join(work, 'runs');

/** The tiny backbone with two blocks: fine-tuning may unfreeze 1 (the top one, conv_b). */
const tiny: BackboneLoader = async () =>
  tinyLoadedBackbone({
    blocks: [
      { name: 'a', lastLayer: 'conv_a' },
      { name: 'b', lastLayer: 'conv_b' },
    ],
  });

function config(name: string, fineTune: Record<string, unknown>, taps: string[] = []): TrainConfig {
  return parseTrainConfig({
    data: { root: resolve('data/sample/ham10000') },
    model: { backbone: 'mobilenet_v1', taps },
    features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
    fineTune: { enabled: true, prefixEngine: 'tfjs', ...fineTune },
    output: { runsDir: runs, name },
  });
}

const folders = () => readdir(runs).catch(() => [] as string[]);
const open = (input: TrainConfig) => openRun(input, { logger: silentLogger, loadBackbone: tiny });

describe('openRun: a bad fine-tuning split fails before the run folder exists', () => {
  it('refuses fineTune.blocks, taps below the split and fineTune.trainBlocks beyond the tail, leaving no folder', async () => {
    await expect(open(config('ft-blocks', { blocks: 2 }))).rejects.toThrow(
      /^expected a number of blocks from 1 to 1 \(tiny has 2 blocks\) for fineTune\.blocks but received 2/,
    );
    await expect(open(config('ft-taps', { blocks: 1 }, ['conv_a']))).rejects.toThrow(
      /^expected taps above the frozen prefix \(above conv_a\) for model\.taps but received conv_a/,
    );
    const good = config('ft-train-blocks', { blocks: 1 });
    const unchecked = { ...good, fineTune: { ...good.fineTune, trainBlocks: 2 } }; // past the schema
    await expect(open(unchecked)).rejects.toThrow(/for fineTune\.trainBlocks but received 2/);
    expect(await folders()).toEqual([]);
  });

  it('opens a good one (a tap in the tail included) and writes its config', async () => {
    const run = await open(config('ft-good', { blocks: 1, trainBlocks: 1 }, ['conv_b']));
    await run.logger.flush();
    expect(await folders()).toEqual(['ft-good']);
    const saved = JSON.parse(await readFile(join(run.runDir, RUN_FILES.config), 'utf8'));
    expect(saved.fineTune).toMatchObject({ enabled: true, blocks: 1, trainBlocks: 1 });
  });
});
