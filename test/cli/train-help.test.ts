import { readFile } from 'node:fs/promises';
import { renderUsage } from 'citty';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { trainCommand } from '../../src/cli/train.js';
import { parseTrainConfig } from '../../src/core/config/train-config.js';
import { runAndCapture } from '../support/run-command.js';

afterEach(() => vi.restoreAllMocks());
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips citty's ANSI colours
const plain = (text: string) => text.replace(/\u001b\[\d+m/g, '');

describe('train --print-config', () => {
  it('prints the resolved config (file + flags + every default) as JSON, which parses back to itself', async () => {
    const file = 'configs/seed-inception-resnet-v2.json';
    const out = await runAndCapture(trainCommand, ['--config', file, '--epochs', '3', '--print-config']);
    const printed = JSON.parse(out);
    const expected = parseTrainConfig({
      ...JSON.parse(await readFile(file, 'utf8')),
      train: { ...JSON.parse(await readFile(file, 'utf8')).train, epochs: 3 },
    });
    expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(printed.train).toMatchObject({
      epochs: 3,
      reduceLr: { patience: 3 },
      focalGamma: 2,
      effectiveBeta: 0.999,
    }); // defaults filled
    expect(parseTrainConfig(printed)).toEqual(expected);
  });

  it('run --print-config shows the main job defaults and trains nothing', async () => {
    const printed = JSON.parse(await runAndCapture(runCommand, ['--print-config']));
    expect(printed.model.backbone).toBe('mobilenet_v2');
    expect(printed.data.root).toBe('data/sample/ham10000');
  });
});

describe('train --help', () => {
  it('names the optimizer and the loss, lists every config section with its keys, and --print-config', async () => {
    const usage = plain(await renderUsage(trainCommand));
    expect(usage).toContain('Adam optimizer');
    expect(usage).toContain('sparse categorical cross-entropy');
    expect(usage).toContain('early stopping on validation loss that restores the best weights');
    for (const line of [
      'model: backbone, weights, weightsPath, pooling, taps, standardize, hidden, dropout',
      'train: epochs, batchSize, learningRate',
      'data: root',
      'features: engine, views, randomViews, augment',
      'fineTune: enabled',
      'output: runsDir, name',
    ])
      expect(usage).toContain(line);
    expect(usage).toContain('--print-config');
  });
});
