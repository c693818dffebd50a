import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/cli/flags/train.js';
import { parseTrainConfig, type TrainConfig } from '../../src/core/config/train-config.js';
import type { Logger } from '../../src/core/logger.js';
import { at } from '../../src/core/util/at.js';
import type { BackboneLoader } from '../../src/node/train/backbone.js';
import { trainRun } from '../../src/node/train/pipeline.js';
import { tinyLoadedBackbone } from '../support/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'train-skip-'));
afterAll(() => rm(work, { recursive: true, force: true }));
const root = join(work, 'ham10000');
const tiny: BackboneLoader = async () => tinyLoadedBackbone();
let bad: string;

beforeAll(async () => {
  await cp(resolve('data/sample/ham10000'), root, { recursive: true });
  const part = join(root, 'HAM10000_images_part_1');
  const file = at((await readdir(part)).sort(), 0);
  bad = file.replace(/\.jpg$/, '');
  // a truncated JPEG: its header passes the dataset check, decoding it fails
  const bytes = await readFile(join(part, file));
  await writeFile(join(part, file), bytes.subarray(0, Math.floor(bytes.length * 0.8)));
});

function config(name: string, data: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({
    data: { root, ...data },
    model: { backbone: 'mobilenet_v1' },
    features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
    train: { epochs: 2, batchSize: 16 },
    output: { runsDir: join(work, 'runs'), name },
  });
}

describe('train on a dataset with a truncated JPEG', () => {
  it('stops naming the file and the train flag that skips it', async () => {
    await expect(trainRun(config('strict'), { loadBackbone: tiny })).rejects.toThrow(
      new RegExp(
        `${bad}\\.jpg but received a file it cannot decode \\(.*\\); replace or remove the file, or pass --skip-bad-images \\(config data\\.skipBadImages: true\\) to leave bad images out$`,
      ),
    );
  });

  it('--skip-bad-images (data.skipBadImages) leaves it out and trains on the rest', async () => {
    const flagged = await resolveTrainConfig({ data: root, 'skip-bad-images': true });
    expect(flagged.data.skipBadImages).toBe(true);
    expect((await resolveTrainConfig({ data: root })).data.skipBadImages).toBe(false);
    const warnings: string[] = [];
    const logger: Logger = {
      info: () => {},
      warn: (m) => {
        warnings.push(m);
      },
    };
    const result = await trainRun(config('skip', { skipBadImages: true }), { loadBackbone: tiny, logger });
    expect(result.bundleDir).toBeDefined();
    expect(warnings).toContain(
      `1 undecodable images left out of training, validation and test (data.skipBadImages): ${bad}`,
    );
    expect(result.test?.imageIds ?? []).not.toContain(bad);
  });
});
