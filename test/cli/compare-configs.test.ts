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
      /^E_CONFIG: --configs: got 1 file\(s\); name at least two/,
    );
  });

  it('two files with one name (their runs would share a folder)', async () => {
    expect(await refusal(['configs/seed-densenet121.json', './configs/seed-densenet121.json'])).toBe(
      'E_CONFIG: --configs: two files are named seed-densenet121.json; rename one',
    );
  });

  it('a config that fails the schema, naming the file and key', async () => {
    expect(await refusal(['configs/seed-densenet121.json', 'package.json'])).toMatch(
      /^E_CONFIG: package\.json (\(root\)|name)/,
    );
  });

  it('a bad --epochs is a config error naming the key', async () => {
    expect(
      await refusal(['configs/seed-densenet121.json', 'configs/best-mobilenet-v1.json'], {
        epochs: -1,
        data: 'data/sample/ham10000',
      }),
    ).toMatch(/^E_CONFIG: configs\/seed-densenet121\.json train\.epochs/);
  });
});
