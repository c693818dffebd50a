import { defineCommand } from 'citty';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../../src/cli/run-cli.js';
import { checkUnknownFlags, configKey, editDistance } from '../../src/cli/unknown-flags.js';

const main = defineCommand({ meta: { name: 'lesionlab' }, subCommands: COMMANDS });
const refusal = (rawArgs: string[]) =>
  checkUnknownFlags(main, rawArgs).then(
    () => 'accepted',
    (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
  );

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
});

describe('unknown flags are errors naming the closest valid flag', () => {
  it('--dropout=0.5 on train names the config key and the --set that sets it', async () => {
    expect(await refusal(['train', '--dropout=0.5'])).toBe(
      'E_USAGE: expected a known flag for `lesionlab train` but received --dropout; it is the config key model.dropout: write --set model.dropout=0.5 (`lesionlab train --help` lists every flag)',
    );
  });

  it('--bogus on train names the closest flag', async () => {
    expect(await refusal(['train', '--data', 'x', '--bogus'])).toMatch(
      /^E_USAGE: expected a known flag for `lesionlab train` but received --bogus; did you mean --\w[\w-]*\?/,
    );
  });

  it('a typo names the flag it was meant to be', async () => {
    expect(await refusal(['inspect', 'data/sample/ham10000', '--fromat', 'x'])).toContain(
      'but received --fromat; did you mean --format?',
    );
    expect(await refusal(['compare', '--backbone', 'densenet121'])).toContain('did you mean --backbones?');
    expect(await refusal(['train', '--epoch=3'])).toContain('did you mean --epochs?');
  });

  it.each(Object.keys(COMMANDS))('%s refuses --bogus-flag', async (name) => {
    expect(await refusal([name, '--bogus-flag'])).toMatch(
      new RegExp(`^E_USAGE: expected a known flag for \`lesionlab ${name}\` but received --bogus-flag; `),
    );
  });

  it('accepts every spelling citty accepts: kebab and camel case, =value, booleans and their no- form', async () => {
    expect(
      await refusal([
        'train',
        '--epochs',
        '3',
        '--runs-dir=x',
        '--skip-bad-images',
        '--set',
        '--not-a-flag-but-a-value',
      ]),
    ).toBe('accepted');
    // one flag each (a flag given twice is refused: citty would keep only the last)
    expect(await refusal(['train', '--runsDir', 'y', '--no-skip-bad-images'])).toBe('accepted');
    expect(await refusal(['predict', 'run', 'a.jpg', '--', '--bogus'])).toBe('accepted');
    expect(await refusal(['predict', 'run', '-', '--top-k', '-1'])).toBe('accepted'); // stdin, a negative value
  });

  it('through runCli: one line on stderr, exit code 1, the command never runs', async () => {
    const ran = vi.fn();
    const cli = defineCommand({
      meta: { name: 'x' },
      subCommands: { go: defineCommand({ args: { depth: { type: 'string' } }, run: ran }) },
    });
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    await runCli(cli, ['go', '--dpeth', '3']);
    expect(err).toBe(
      'lesionlab: expected a known flag for `lesionlab go` but received --dpeth; did you mean --depth? (`lesionlab go --help` lists every flag) [E_USAGE]\n',
    );
    expect(process.exitCode).toBe(1);
    expect(ran).not.toHaveBeenCalled();
  });
});

describe('helpers', () => {
  it('configKey finds a unique config leaf, not an ambiguous one', async () => {
    expect(await configKey('dropout')).toBe('model.dropout');
    expect(await configKey('weight-decay')).toBe('train.weightDecay');
    expect(await configKey('patience')).toBeUndefined(); // earlyStopping and reduceLr both have one
  });

  it('editDistance is Levenshtein', () => {
    expect(editDistance('fromat', 'format')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('commands with sub-commands of their own', () => {
  it('checks the flags of the sub-command named, and names it in the message', async () => {
    const leaf = defineCommand({ args: { depth: { type: 'string' }, on: { type: 'boolean' } } });
    const tree = defineCommand({
      meta: { name: 'x' },
      subCommands: { group: defineCommand({ subCommands: { leaf } }) },
    });
    expect(await checkUnknownFlags(tree, ['group', 'leaf', '--depth', '2', '--no-on'])).toBeUndefined();
    await expect(checkUnknownFlags(tree, ['group', 'leaf', '--dept', '2'])).rejects.toThrow(
      'expected a known flag for `lesionlab group leaf` but received --dept; did you mean --depth? (`lesionlab group leaf --help` lists every flag)',
    );
    await expect(checkUnknownFlags(tree, ['group', '--bogus'])).rejects.toThrow(
      /^expected a known flag for `lesionlab group` but received --bogus; /,
    );
  });
});
