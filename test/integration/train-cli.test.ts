import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/cli/flags/train.js';

const dir = await mkdtemp(join(tmpdir(), 'train-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lesionlab train: config file + flags', () => {
  it('deep-merges defaults, the JSON file and flags (flags win)', async () => {
    const file = join(dir, 'run.json');
    await writeFile(
      file,
      JSON.stringify({ train: { epochs: 10, learningRate: 0.01 }, model: { hidden: 64 } }),
    );
    const config = await resolveTrainConfig(
      { config: file, epochs: '3', views: '8', set: 'train.batchSize=8,features.tta=false' },
      { train: { batchSize: 32, classWeightPower: 0.5 }, features: { views: 4 } },
    );
    expect(config.train).toMatchObject({
      epochs: 3,
      learningRate: 0.01,
      batchSize: 8,
      classWeightPower: 0.5,
    });
    expect(config.features).toMatchObject({ views: 8, tta: false });
    expect(config.model.hidden).toBe(64);
  });

  it('reads a config file saved with a UTF-8 byte-order mark', async () => {
    const file = join(dir, 'bom.json');
    await writeFile(file, `\uFEFF${JSON.stringify({ train: { epochs: 4 } })}`);
    expect((await resolveTrainConfig({ config: file })).train.epochs).toBe(4);
  });

  it('names the file and key of a bad config', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ train: { epoch: 3 } }));
    await expect(resolveTrainConfig({ config: file })).rejects.toThrow(
      /^expected only the keys epochs, .* for .*bad\.json train but received the key "epoch"/,
    );
    await expect(resolveTrainConfig({ config: join(dir, 'none.json') })).rejects.toThrow(
      /expected a readable JSON file for --config but received .*none\.json, which cannot be read \(ENOENT\); check the --config path/,
    );
    await expect(resolveTrainConfig({ set: 'train.epochs' })).rejects.toThrow(
      /^expected key=value for --set/,
    );
  });
});
