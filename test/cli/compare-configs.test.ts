import { describe, expect, it } from 'vitest';
import { compareConfigs } from '../../src/cli/compare-configs.js';
import { silentLogger } from '../../src/core/logger.js';

const refusal = (files: string[], extra: Record<string, unknown> = {}) =>
  compareConfigs(files, { out: 'tmp/never-written', logger: silentLogger, ...extra }).then(
    () => 'ran',
    (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
  );

describe('compare --configs: refuses before any work', () => {
  it('fewer than two configs', async () => {
    expect(await refusal(['configs/seed-densenet121.json'])).toMatch(
      /^E_CONFIG: expected at least two config files for --configs but received 1; e\.g\. --configs /,
    );
  });

  it('two files with one name (their runs would share a folder)', async () => {
    expect(await refusal(['configs/seed-densenet121.json', './configs/seed-densenet121.json'])).toBe(
      'E_CONFIG: expected files with different names (each names its run folder) for --configs but received two files named seed-densenet121.json; rename one',
    );
  });

  it('a config that fails the schema, naming the file and key', async () => {
    expect(await refusal(['configs/seed-densenet121.json', 'package.json'])).toMatch(
      /^E_CONFIG: expected only the keys seed, data, .* for package\.json \(root\) but received the keys "name"/,
    );
  });

  it('a bad --epochs is a config error naming the key', async () => {
    expect(
      await refusal(['configs/seed-densenet121.json', 'configs/best-mobilenet-v1.json'], {
        epochs: -1,
        data: 'data/sample/ham10000',
      }),
    ).toMatch(
      /^E_CONFIG: expected a number > 0 for configs\/seed-densenet121\.json train\.epochs but received -1/,
    );
  });
});
