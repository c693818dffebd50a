import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { describeSchema, exampleOf } from '../../src/cli/flags/describe.js';
import { choiceFlag, defineFlags, intFlag, textFlag } from '../../src/cli/flags/table.js';
import { resolveTrainConfig, TRAIN_FLAGS, trainFlags } from '../../src/cli/flags/train.js';
import { runCommand } from '../../src/cli/run.js';
import { trainCommand } from '../../src/cli/train.js';
import { expected, expectedOneOf, shown } from '../../src/core/errors.js';
import { BACKBONE_NAMES } from '../../src/core/models/registry.js';
import { DIHEDRAL_VIEWS } from '../../src/core/preprocess/views.js';
import { runAndCapture } from '../support/run-command.js';

afterEach(() => vi.restoreAllMocks());

describe('expected()', () => {
  it('says what was expected, for what, what came instead and the fix, with its code', () => {
    const error = expected({
      what: 'an integer',
      where: '--port',
      received: shown('http'),
      fix: 'e.g. --port 8080',
      code: 'E_USAGE',
    });
    expect(error.message).toBe('expected an integer for --port but received "http"; e.g. --port 8080');
    expect(error.code).toBe('E_USAGE');
    expect([shown(undefined), shown(3), shown(['a'])]).toEqual(['nothing', '3', '["a"]']);
  });

  it('expectedOneOf lists the choices and quotes what came', () => {
    const error = expectedOneOf(['csv', 'json'], { where: 'the format', received: 'xml', code: 'E_CONFIG' });
    expect(error.message).toBe('expected one of csv, json for the format but received "xml"');
    expect(error.code).toBe('E_CONFIG');
  });
});

describe('a flag table', () => {
  const flags = defineFlags({
    port: intFlag('TCP port', { min: 0, max: 65535, default: 8080 }),
    k: intFlag('classes', { min: 1 }),
    split: choiceFlag(['test', 'val'], { description: 'part', code: 'E_USAGE' }),
    ratio: textFlag({ description: 'a fraction', schema: z.coerce.number().gt(0).lt(1) }),
  });

  it('gives citty the same kinds, texts and defaults as typed', () => {
    expect(flags.args).toEqual({
      port: { type: 'string', description: 'TCP port', default: '8080' },
      k: { type: 'string', description: 'classes' },
      split: { type: 'string', description: 'part' },
      ratio: { type: 'string', description: 'a fraction' },
    });
  });

  it('converts each value through its schema; an absent flag stays undefined', () => {
    expect(flags.parse({ port: '80', split: 'val', ratio: '0.5' })).toEqual({
      port: 80,
      k: undefined,
      split: 'val',
      ratio: 0.5,
    });
  });

  it('refuses a bad value in the one error style, with the flag and its code', () => {
    expect(() => flags.parse({ port: '65536' })).toThrow(
      'expected an integer from 0 to 65535 for --port but received "65536"; e.g. --port 8080',
    );
    expect(() => flags.parse({ k: '1.5' })).toThrow(
      'expected an integer >= 1 for --k but received "1.5"; e.g. --k 1',
    );
    expect(() => flags.parse({ split: 'train' })).toThrow(
      expect.objectContaining({
        code: 'E_USAGE',
        message: expect.stringMatching(/one of test, val for --split/),
      }),
    );
    expect(() => flags.parse({ ratio: '1' })).toThrow(
      'expected a number > 0 and < 1 for --ratio but received "1"',
    );
  });

  it('describes schemas in words', () => {
    expect(describeSchema(z.number().int().positive().max(8))).toBe('an integer from 1 to 8');
    expect(describeSchema(z.url())).toBe('a URL');
    expect(exampleOf(z.enum(['a', 'b']))).toBe('a');
  });
});

describe('train flags', () => {
  it('list their choices and ranges from the registries, never typed twice', () => {
    expect(trainFlags.args.backbone?.description).toBe(`${BACKBONE_NAMES.join(' | ')} [model.backbone]`);
    expect(TRAIN_FLAGS.views.description).toBe(
      `Exact flip/rotation views per image, 1-${DIHEDRAL_VIEWS.length} [features.views]`,
    );
    expect(TRAIN_FLAGS.weights.description).toBe(
      'auto (ImageNet, else random) | imagenet (required) | random [model.weights]',
    );
  });
});

describe('train flags: values', () => {
  it('keep the text of a text key as typed (--name 2024, --set output.name=007)', async () => {
    expect((await resolveTrainConfig({ name: '2024' })).output.name).toBe('2024');
    expect((await resolveTrainConfig({ 'runs-dir': '10', data: '1e3' })).output.runsDir).toBe('10');
    expect((await resolveTrainConfig({ set: 'output.name=007,train.epochs=3' })).output).toMatchObject({
      name: '007',
    });
    expect((await resolveTrainConfig({ epochs: '3' })).train.epochs).toBe(3);
    const printed = JSON.parse(await runAndCapture(trainCommand, ['--name', '2024', '--print-config']));
    expect(printed.output.name).toBe('2024');
  });
});

describe('train flags with --resume', () => {
  it('refuse flags that would change the config: the run continues with its saved one', async () => {
    const refused = resolveTrainConfig({ resume: 'runs/a', set: 'fineTune.trainBlocks=1', epochs: '3' });
    await expect(refused).rejects.toThrow(
      'expected no config flags with --resume (the run continues with its saved config.json) for --resume runs/a but received --epochs, --set; drop them to continue the run as it was configured, or start a new run (without --resume, another --name) with the changed settings',
    );
    await expect(refused).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(resolveTrainConfig({ resume: 'r', config: 'x.json' })).rejects.toThrow(/received --config;/);
    await expect(resolveTrainConfig({ resume: 'r', 'skip-bad-images': true })).rejects.toThrow(
      /received --skip-bad-images;/,
    );
    await expect(runAndCapture(trainCommand, ['--resume', 'runs/a', '--name', 'b'])).rejects.toThrow(
      /received --name;/,
    );
    await expect(runAndCapture(runCommand, ['--resume', 'runs/a', '--views', '1'])).rejects.toThrow(
      /received --views;/,
    );
  });

  it("take --resume alone (and --print-config): the run's saved config", async () => {
    const run = await mkdtemp(join(tmpdir(), 'lesionlab-resume-'));
    try {
      await writeFile(join(run, 'config.json'), JSON.stringify({ seed: 7, train: { epochs: 3 } }));
      expect((await resolveTrainConfig({ resume: run })).train.epochs).toBe(3);
      const printed = JSON.parse(await runAndCapture(trainCommand, ['--resume', run, '--print-config']));
      expect(printed).toMatchObject({ seed: 7, train: { epochs: 3 } });
      await expect(resolveTrainConfig({ resume: join(run, 'none') })).rejects.toMatchObject({
        code: 'E_RUN',
      });
    } finally {
      await rm(run, { recursive: true, force: true });
    }
  });
});
