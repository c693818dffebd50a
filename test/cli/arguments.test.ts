import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { defineFlags, isVariadic, positional, positionalList } from '../../src/cli/flags/table.js';
import { collectInputs } from '../../src/cli/predict.js';
import { runCli } from '../../src/cli/run-cli.js';
import { checkUnknownFlags } from '../../src/cli/unknown-flags.js';
import { copySampleImages } from '../support/cli.js';
import { writeTinyBundle } from '../support/tiny-model.js';

const main = defineCommand({ meta: { name: 'lesionlab' }, subCommands: COMMANDS });
const refusal = (rawArgs: string[]) =>
  checkUnknownFlags(main, rawArgs).then(
    () => 'accepted',
    (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
  );

let dir: string;
let images: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-arguments-'));
  images = (await copySampleImages(join(dir, 'imgs'), 3)).map((name) => join(dir, 'imgs', name));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
});

describe('a flag given twice is refused (citty would keep only the last)', () => {
  it('names it, with one --set for several keys', async () => {
    expect(await refusal(['train', '--set', 'seed=3', '--set', 'train.epochs=2'])).toBe(
      'E_USAGE: expected --set once for `lesionlab train` but received it twice (--set again), and only the last would count; give every key in one --set a=1,b=2',
    );
    expect(await refusal(['predict', 'm', 'a.jpg', '--density', '--no-density'])).toMatch(
      /^E_USAGE: expected --density once .* keep one --density$/,
    );
    expect(await refusal(['train', '--set', 'seed=3,train.epochs=2'])).toBe('accepted');
  });
});

describe('arguments beyond the positionals are refused, naming the extras', () => {
  it('inspect takes one dataset', async () => {
    expect(await refusal(['inspect', 'data/sample/ham10000', 'extra'])).toBe(
      'E_USAGE: expected at most 1 argument (ROOT) for `lesionlab inspect` but received 2: "extra" is extra; ROOT takes one value: dataset folder (or its metadata CSV); remove the extra, or quote a path that has spaces (`lesionlab inspect --help` lists the arguments)',
    );
    expect(await refusal(['inspect', 'data/sample/ham10000', '--format', 'ham10000'])).toBe('accepted');
  });

  it('a command without positionals takes none; values of text flags are not arguments', async () => {
    expect(await refusal(['train', '--data', 'x', 'stray', 'two'])).toBe(
      'E_USAGE: expected no arguments for `lesionlab train` but received 2: "stray" "two" are extra; remove the extra, or quote a path that has spaces (`lesionlab train --help` lists the arguments)',
    );
    expect(await refusal(['train', '--data', 'x', '--set', 'seed=1'])).toBe('accepted');
  });

  it('queue submit takes one input: the message says what it is (a folder or a CSV for several)', async () => {
    expect(await refusal(['queue', 'submit', 'model', 'a.jpg', 'b.jpg', 'c.jpg'])).toBe(
      'E_USAGE: expected at most 2 arguments (MODEL INPUT) for `lesionlab queue submit` but received 4: "b.jpg" "c.jpg" are extra; INPUT takes one value: an image, a folder of images, or a CSV; remove the extra, or quote a path that has spaces (`lesionlab queue submit --help` lists the arguments)',
    );
  });

  it('arguments after `--` count too', async () => {
    expect(await refusal(['inspect', 'data/sample/ham10000', '--', '--json'])).toMatch(
      /^E_USAGE: expected at most 1 argument \(ROOT\) .* but received 2: "--json" is extra; /,
    );
  });

  it('predict takes one or more inputs', async () => {
    expect(await refusal(['predict', 'run', 'a.jpg', 'b.jpg', 'c.jpg', '--format', 'csv'])).toBe('accepted');
  });

  it('flags before the command name are checked against the main command', async () => {
    expect(await refusal(['--bogus', 'inspect', 'data/sample/ham10000'])).toMatch(
      /^E_USAGE: expected a known flag for `lesionlab` but received --bogus; /,
    );
  });

  it('through runCli: one line, exit code 1, the command never runs', async () => {
    const ran = vi.fn();
    const cli = defineCommand({
      meta: { name: 'x' },
      subCommands: { go: defineCommand({ args: { root: { type: 'positional' } }, run: ran }) },
    });
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    await runCli(cli, ['go', 'a', 'b']);
    expect(err).toBe(
      'lesionlab: expected at most 1 argument (ROOT) for `lesionlab go` but received 2: "b" is extra; ROOT takes one value; remove the extra, or quote a path that has spaces (`lesionlab go --help` lists the arguments) [E_USAGE]\n',
    );
    expect(process.exitCode).toBe(1);
    expect(ran).not.toHaveBeenCalled();
  });
});

describe('yes/no flags take true or false only', () => {
  it('--flag=<x> is refused unless x is true or false (citty read anything else as true)', async () => {
    for (const value of ['0', 'no', 'off', 'FALSE', '']) {
      expect(await refusal(['predict', 'run', 'a.jpg', `--density=${value}`])).toBe(
        `E_USAGE: expected true or false for --density but received "${value}"; write --density alone to turn it on, --no-density to turn it off`,
      );
    }
    expect(await refusal(['predict', 'run', 'a.jpg', '--density=false', '--check-images=true'])).toMatch(
      /received --check-images/, // unknown on predict; =true/=false themselves are fine
    );
    expect(await refusal(['inspect', 'x', '--check-images=false', '--json=true'])).toBe('accepted');
  });

  it('--no-flag=<x> is refused (citty ignored it)', async () => {
    expect(await refusal(['inspect', 'x', '--no-check-images=1'])).toBe(
      'E_USAGE: expected no value (--no-check-images is a yes/no flag) for `lesionlab inspect` but received "1"; write --check-images alone to turn it on, --no-check-images to turn it off',
    );
  });

  it('a separate true or false after a yes/no flag is an extra argument, with the no- form as the fix', async () => {
    expect(await refusal(['predict', 'run', 'a.jpg', '--density', 'false'])).toBe(
      'E_USAGE: expected no value after the yes/no flag --density for `lesionlab predict` but received an extra argument "false"; use --no-density to turn it off',
    );
    expect(await refusal(['inspect', 'x', '--json', 'true'])).toBe(
      'E_USAGE: expected no value after the yes/no flag --json for `lesionlab inspect` but received an extra argument "true"; write --json alone to turn it on',
    );
    expect(await refusal(['inspect', '--json', 'x'])).toBe('accepted'); // a path after a yes/no flag
  });
});

describe('a positional list (predict)', () => {
  const flags = defineFlags({ model: positional('model'), input: positionalList('inputs') });

  it('is marked for the argument check and parses to every positional from its place on', () => {
    expect(isVariadic(flags.args.input ?? { type: 'string' })).toBe(true);
    expect(isVariadic(flags.args.model ?? { type: 'string' })).toBe(false);
    expect(flags.parse({ _: ['m', 'a', 'b'], model: 'm', input: 'a' })).toEqual({
      model: 'm',
      input: ['a', 'b'],
    });
    expect(flags.parse({ model: 'm', input: 'a' }).input).toEqual(['a']);
  });

  it('collectInputs joins several inputs in order; a CSV keeps its metadata on its own rows', async () => {
    const [a, b, c] = images as [string, string, string];
    const one = await collectInputs([a]);
    expect(one).toMatchObject({ paths: [a], single: true });
    const csv = join(dir, 'imgs', 'list.csv');
    await writeFile(csv, `path,age,sex\n${c},45,male\n`);
    const several = await collectInputs([a, csv, b]);
    expect(several.paths).toEqual([a, c, b]);
    expect(several.single).toBe(false);
    expect(several.metadata).toEqual([{}, { age: 45, sex: 'male' }, {}]);
    expect((await collectInputs([a, b])).metadata).toBeUndefined();
  });

  it('predict MODEL a.jpg b.jpg c.jpg classifies all three', async () => {
    const bundle = join(dir, 'bundle');
    await writeTinyBundle(bundle);
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await runCli(main, ['predict', bundle, ...images, '--format', 'csv']);
    vi.restoreAllMocks();
    const rows = out.trim().split('\n').slice(1);
    expect(rows.map((r) => r.split(',')[0])).toEqual(images);
    expect(process.exitCode ?? 0).toBe(0);
  });
});
